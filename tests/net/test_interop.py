"""Interoperability with the real spt3g, which always runs in a separate process.

spt3g's listen-mode sender never closes its client sockets before the process
exits, and its listen-mode reader blocks holding the GIL, so every spt3g peer
runs in a subprocess with a hard time limit. Frames are compared value by
value, and byte by byte against what spt3g itself writes to a file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from g3net_testutil import (
    TIMEOUT,
    S,
    T,
    decode_all,
    finish,
    free_port,
    make_frame,
    read_source,
    spawn_python,
    wait_until,
)

from g3stream import G3Frame, G3FrameType
from g3stream.errors import G3ConnectionError
from g3stream.net import G3NetworkSender, TcpSource

pytest.importorskip("spt3g")

pytestmark = pytest.mark.reference

W, C = G3FrameType.Wiring, G3FrameType.Calibration
N = 40
PAYLOAD = 1000

# Frames built identically on both sides: 'seq' and a vector 'data' = arange + seq.
SPT3G_COMMON = f"""
import json, sys
import numpy as np
from spt3g import core
TYPES = {{int(t): t for t in core.G3FrameType.__members__.values()}}
def make(code, seq, payload={PAYLOAD}):
    f = core.G3Frame(TYPES[code])
    f['seq'] = seq
    if payload:
        f['data'] = core.G3VectorDouble(np.arange(payload, dtype=np.float64) + seq)
    return f
def summary(f):
    data = np.asarray(f['data']).tolist() if 'data' in f else None
    return [int(f.type), int(f['seq']), data]
def plan(n):
    out = [({int(W)}, 0, 0)]
    for i in range(1, n):
        out.append(({int(S)} if i % 5 == 0 else {int(T)}, i, {PAYLOAD}))
    return out
"""

SPT3G_READER = (
    SPT3G_COMMON
    + """
url, path = sys.argv[1], sys.argv[2]
reader = core.G3Reader(url, timeout=30)
writer = core.G3Writer(path)
got = []
while True:
    frames = reader(None)
    if not frames:
        break
    for f in frames:
        got.append(summary(f))
        writer(f)
writer(core.G3Frame(core.G3FrameType.EndProcessing))
print(json.dumps(got))
"""
)

SPT3G_SENDER = (
    SPT3G_COMMON
    + """
host, port, path, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
frames = [make(*p) for p in plan(n)]          # built before any sending
sender = core.G3NetworkSender(hostname=host, port=port)
writer = core.G3Writer(path)
print('ready', flush=True)
if host == '*':
    sys.stdin.readline()                      # wait until the test's reader connected
for f in frames:
    sender(f)
    writer(f)
end = core.G3Frame(core.G3FrameType.EndProcessing)
sender(end)
writer(end)
"""
)


def plan(n: int = N) -> list[tuple[int, int, int]]:
    out = [(int(W), 0, 0)]
    for i in range(1, n):
        out.append((int(S) if i % 5 == 0 else int(T), i, PAYLOAD))
    return out


def our_frames(n: int = N) -> list[G3Frame]:
    return [make_frame(code, seq, payload) for code, seq, payload in plan(n)]


def expected_summary(frames: list[G3Frame]) -> list[list[object]]:
    out: list[list[object]] = []
    for f in frames:
        data = np.asarray(f["data"]).tolist() if "data" in f else None
        out.append([int(f.type), int(f["seq"]), data])
    return out


def as_rewritten_by_a_reader(frames: list[G3Frame]) -> bytes:
    """The bytes a reader that re-writes what it received produces.

    spt3g (like g3stream) may change the entry order when it re-serializes a
    frame it has read (FORMAT.md section 6), so the bytes spt3g writes after
    receiving our stream are compared with g3stream's own re-serialization
    of the frames decoded from that stream.
    """
    stream = b"".join(bytes(f.encoded()) for f in frames)
    out = []
    for frame in decode_all(stream):
        frame.drop_blobs()  # forget the received bytes: encode again
        out.append(bytes(frame.encoded()))
    return b"".join(out)


def connect_when_listening(port: int, proc: object) -> G3NetworkSender:
    """Connect to a peer that is starting up, retrying while it is not yet listening."""
    holder: list[G3NetworkSender] = []

    def attempt() -> bool:
        try:
            holder.append(G3NetworkSender("127.0.0.1", port))
        except G3ConnectionError:
            assert proc.poll() is None, "reference reader exited early"  # type: ignore[attr-defined]
            return False
        return True

    wait_until(attempt, timeout=TIMEOUT)
    return holder[0]


def test_g3stream_connecting_sender_to_spt3g_listening_reader(tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "spt3g.g3"
    proc = spawn_python(SPT3G_READER, f"tcp://*:{port}", str(out))
    try:
        sender = connect_when_listening(port, proc)
        frames = our_frames()
        for frame in frames:
            assert sender(frame) == [frame]
        sender(G3Frame(G3FrameType.EndProcessing))
        stdout, stderr = finish(proc)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert json.loads(stdout) == expected_summary(frames)
    assert out.read_bytes() == as_rewritten_by_a_reader(frames)


def test_g3stream_listening_sender_to_spt3g_reader_with_late_replay(tmp_path: Path) -> None:
    sender = G3NetworkSender("*", 0)
    out = tmp_path / "spt3g.g3"
    before = [make_frame(W, 100), make_frame(C, 101), make_frame(T, 102, 10), make_frame(C, 103)]
    for frame in before:
        sender(frame)
    proc = spawn_python(SPT3G_READER, f"tcp://localhost:{sender.port}", str(out))
    try:
        wait_until(lambda: sender.statistics().connected_clients == 1)
        after = our_frames()
        for frame in after:
            sender(frame)
        sender(G3Frame(G3FrameType.EndProcessing))
        stdout, stderr = finish(proc)
    finally:
        proc.kill()
        sender.Close()
    assert proc.returncode == 0, stderr
    expected = [before[0], before[3], *after]  # latest Wiring, latest Calibration, live
    assert json.loads(stdout) == expected_summary(expected)
    assert out.read_bytes() == as_rewritten_by_a_reader(expected)


def test_spt3g_listening_sender_to_g3stream_reader(tmp_path: Path) -> None:
    port = free_port()
    path = tmp_path / "sent.g3"
    proc = spawn_python(SPT3G_SENDER, "*", str(port), str(path), str(N))
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == b"ready"
        source = TcpSource(f"tcp://127.0.0.1:{port}", timeout=TIMEOUT)
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
        got = read_source(source)  # ends when the spt3g process exits
        _, stderr = finish(proc)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert expected_summary(got) == expected_summary(our_frames())
    assert b"".join(bytes(f.encoded()) for f in got) == path.read_bytes()


def test_spt3g_connecting_sender_to_g3stream_listening_reader(tmp_path: Path) -> None:
    source = TcpSource("tcp://*:0", timeout=TIMEOUT)
    path = tmp_path / "sent.g3"
    proc = spawn_python(SPT3G_SENDER, "127.0.0.1", str(source.port), str(path), str(N))
    try:
        got = read_source(source)
        _, stderr = finish(proc)
    finally:
        proc.kill()
        source.close()
    assert proc.returncode == 0, stderr
    assert expected_summary(got) == expected_summary(our_frames())
    assert b"".join(bytes(f.encoded()) for f in got) == path.read_bytes()
    assert decode_all(path.read_bytes())[-1]["seq"] == N - 1
