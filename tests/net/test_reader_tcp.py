"""G3Reader over TCP: listen and connect modes, lists, truncation, timeouts, reconnects."""

from __future__ import annotations

import logging
import signal
import socket
from pathlib import Path

import pytest
from g3net_testutil import (
    TIMEOUT,
    Background,
    C,
    T,
    finish,
    make_frame,
    seqs,
    spawn_python,
)

from g3stream import G3Frame, G3FrameType
from g3stream.errors import G3FormatError, TruncatedFrameError
from g3stream.io.reader import G3Reader
from g3stream.net import G3ConnectionRefusedError, G3NetworkSender

END = G3FrameType.EndProcessing


def read_all(reader: G3Reader) -> list[G3Frame]:
    try:
        return list(reader)
    finally:
        reader.close()


def write_g3(path: Path, frames: list[G3Frame]) -> Path:
    path.write_bytes(b"".join(bytes(f.encoded()) for f in frames))
    return path


def test_listening_reader_port_known_before_first_read() -> None:
    reader = G3Reader("tcp://*:0", timeout=TIMEOUT)
    assert isinstance(reader.port, int) and reader.port > 0
    sender = G3NetworkSender("localhost", reader.port)  # connects at once, no waiting
    frames = [make_frame(T, i, 100) for i in range(10)]
    for frame in frames:
        sender(frame)
    sender(G3Frame(END))
    got = read_all(reader)
    assert seqs(got) == list(range(10))
    assert [bytes(f.encoded()) for f in got] == [bytes(f.encoded()) for f in frames]


def test_connecting_reader(tmp_path: Path) -> None:
    sender = G3NetworkSender("*", 0)
    reader = G3Reader(f"tcp://127.0.0.1:{sender.port}", timeout=TIMEOUT)
    feeder = Background(
        lambda: [sender(make_frame(T, i)) for i in range(5)] and sender(G3Frame(END))
    )
    assert seqs(read_all(reader)) == list(range(5))
    feeder.result()


def test_ipv6_literal_url() -> None:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    sender = G3NetworkSender("*", 0)
    reader = G3Reader(f"tcp://[::1]:{sender.port}", timeout=TIMEOUT)
    sender(make_frame(T, 7))
    sender(G3Frame(END))
    assert seqs(read_all(reader)) == [7]


def test_list_mixes_files_and_streams_in_order(tmp_path: Path) -> None:
    cal = write_g3(tmp_path / "cal.g3", [make_frame(C, 0), make_frame(C, 1)])
    tail = write_g3(tmp_path / "tail.g3", [make_frame(T, 99)])
    sender = G3NetworkSender("*", 0)
    reader = G3Reader([str(cal), f"tcp://127.0.0.1:{sender.port}", str(tail)], timeout=TIMEOUT)
    feeder = Background(
        lambda: [sender(make_frame(T, i)) for i in range(10, 13)] and sender(G3Frame(END))
    )
    assert seqs(read_all(reader)) == [0, 1, 10, 11, 12, 99]
    feeder.result()


def test_refused_address_names_host_and_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        with pytest.raises(G3ConnectionRefusedError, match=f"127.0.0.1:{port}"):
            G3Reader(f"tcp://127.0.0.1:{port}")


def test_listen_timeout_ends_source() -> None:
    reader = G3Reader("tcp://*:0", timeout=0.2)
    assert Background(read_all, reader).result() == []


def test_sender_killed_mid_frame_is_truncation() -> None:
    reader = G3Reader("tcp://*:0", timeout=TIMEOUT)
    code = """
import socket, sys
from g3stream import G3Frame, G3FrameType
frames = []
for i in range(3):
    f = G3Frame(G3FrameType.Timepoint); f['seq'] = i; frames.append(bytes(f.encoded()))
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
s.sendall(b''.join(frames) + frames[0][:20])   # three frames and the start of a fourth
print('cut', flush=True)
sys.stdin.read()                               # wait to be killed
"""
    proc = spawn_python(code, str(reader.port))
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"cut"
        got: list[G3Frame] = []
        collector = Background(lambda: [got.append(f) for f in reader])
        proc.send_signal(signal.SIGKILL)
        with pytest.raises(TruncatedFrameError):
            collector.result()
        assert seqs(got) == [0, 1, 2]
    finally:
        proc.kill()
        finish(proc)
        reader.close()


def test_http_peer_gives_format_error_at_first_frame() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        reader = G3Reader(f"tcp://127.0.0.1:{server.getsockname()[1]}", timeout=TIMEOUT)
        server.settimeout(TIMEOUT)
        conn, _ = server.accept()
        with conn:
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n")
        with pytest.raises(G3FormatError) as info:
            read_all(reader)
    assert info.value.offset is not None


SENDER_SCRIPT = """
import signal, sys
from g3stream import G3Frame, G3FrameType
from g3stream.net import G3NetworkSender
host, port, first, count, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
frames = []
for i in range(first, first + count):
    f = G3Frame(G3FrameType.Timepoint); f['seq'] = i; frames.append(f)
sender = G3NetworkSender(host, port)
print(sender.port, flush=True)
if host == '*':
    # wait (bounded by the test's hard limit) for the reader to (re)connect
    import threading
    ready = threading.Event()
    while sender.statistics().connected_clients == 0:
        ready.wait(0.005)
for f in frames:
    sender(f)
if end == 'end':
    sender(G3Frame(G3FrameType.EndProcessing))
else:
    while sender.statistics().queue_frames:
        threading.Event().wait(0.005)
    print('sent', flush=True)
    sys.stdin.read()   # killed here
"""


def test_reconnecting_listen_reader_across_sender_restart(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    reader = G3Reader("tcp://*:0", reconnect=True, n_frames_to_read=13)
    code = """
import socket, sys
from g3stream import G3Frame, G3FrameType
data = b''
for i in range(5):
    f = G3Frame(G3FrameType.Timepoint); f['seq'] = i; data += bytes(f.encoded())
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
s.sendall(data + data[:30])
print('cut', flush=True)
sys.stdin.read()
"""
    first = spawn_python(code, str(reader.port))
    got: list[G3Frame] = []
    collector = Background(lambda: [got.append(f) for f in reader])
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == b"cut"
        first.send_signal(signal.SIGKILL)  # the data-acquisition side dies mid-frame
        finish(first)
        # ... and is restarted: a g3stream sender connecting to the same reader.
        second = spawn_python(SENDER_SCRIPT, "127.0.0.1", str(reader.port), "100", "8", "end")
        out, err = finish(second)
        assert second.returncode == 0, err
        collector.result()
    finally:
        first.kill()
        reader.close()
    assert seqs(got) == [0, 1, 2, 3, 4, 100, 101, 102, 103, 104, 105, 106, 107]
    assert any("discarded 30 bytes" in r.getMessage() for r in caplog.records)


def test_reconnecting_connect_reader_across_listening_sender_restart() -> None:
    first = spawn_python(SENDER_SCRIPT, "*", "0", "0", "5", "die")
    second = None
    try:
        assert first.stdout is not None
        port = int(first.stdout.readline())
        reader = G3Reader(
            f"tcp://127.0.0.1:{port}",
            reconnect=True,
            n_frames_to_read=10,
            initial_backoff=0.01,
            max_backoff=0.1,
        )
        got: list[G3Frame] = []
        collector = Background(lambda: [got.append(f) for f in reader])
        assert first.stdout.readline().strip() == b"sent"
        first.send_signal(signal.SIGKILL)
        finish(first)
        second = spawn_python(SENDER_SCRIPT, "*", str(port), "100", "5", "end")
        out, err = finish(second)
        assert second.returncode == 0, err
        collector.result()
        reader.close()
    finally:
        first.kill()
        if second is not None:
            second.kill()
    assert seqs(got) == [0, 1, 2, 3, 4, 100, 101, 102, 103, 104]


def test_waiting_reader_leaves_other_threads_running() -> None:
    import time

    reader = G3Reader("tcp://*:0", timeout=TIMEOUT)
    waiting = Background(read_all, reader)  # blocks in accept, then in recv
    count = 0
    end = time.monotonic() + 0.2
    while time.monotonic() < end:
        count += 1
    assert count > 10_000 and not waiting.done.is_set()
    sender = G3NetworkSender("127.0.0.1", reader.port)
    sender(make_frame(T, 1))
    sender(G3Frame(END))
    assert seqs(waiting.result()) == [1]
