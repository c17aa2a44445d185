"""netcat (Debian's netcat-openbsd) as the other end: the wire format is the file format."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from g3net_testutil import (
    SUBPROCESS_TIMEOUT,
    TIMEOUT,
    C,
    T,
    decode_all,
    finish,
    free_port,
    make_frame,
    netcat,
    read_source,
    seqs,
    spawn_python,
    wait_until,
)

from g3stream import G3Frame, G3FrameType
from g3stream.errors import G3ConnectionError
from g3stream.net import G3NetworkSender, TcpSource

NC = netcat()
pytestmark = pytest.mark.skipif(
    NC is None,
    reason="nc not found: install Debian's netcat-openbsd (apt-get install netcat-openbsd)",
)


def run_nc(
    *args: str, stdin: object = subprocess.DEVNULL, stdout: object = None
) -> subprocess.Popen[bytes]:
    assert NC is not None
    return subprocess.Popen([NC, *args], stdin=stdin, stdout=stdout, stderr=subprocess.DEVNULL)


def wait(proc: subprocess.Popen[bytes]) -> None:
    try:
        proc.wait(timeout=SUBPROCESS_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        raise AssertionError("nc did not finish in time") from None


def test_stream_captured_by_nc_is_a_g3_file_spt3g_reads(tmp_path: Path) -> None:
    capture = tmp_path / "capture.g3"
    port = free_port()
    with capture.open("wb") as out:
        nc = run_nc("-d", "-l", "127.0.0.1", str(port), stdout=out)
        try:
            holder: list[G3NetworkSender] = []

            def connected() -> bool:
                try:
                    holder.append(G3NetworkSender("127.0.0.1", port))
                except G3ConnectionError:
                    assert nc.poll() is None, "nc exited early"
                    return False
                return True

            wait_until(connected)
            sender = holder[0]
            frames = [make_frame(C, 0)] + [make_frame(T, i, 500) for i in range(1, 30)]
            for frame in frames:
                sender(frame)
            sender(G3Frame(G3FrameType.EndProcessing))  # closes the connection: nc exits
            wait(nc)
        finally:
            nc.kill()
    data = capture.read_bytes()
    assert data == b"".join(bytes(f.encoded()) for f in frames)
    assert seqs(decode_all(data)) == list(range(30))

    pytest.importorskip("spt3g")
    code = (
        "import sys\nfrom spt3g import core\n"
        "print([int(f['seq']) for f in core.G3File(sys.argv[1])])\n"
    )
    stdout, stderr = finish(spawn_python(code, str(capture)))
    assert stdout.strip() == str(list(range(30))), stderr


def test_file_piped_by_nc_into_listening_reader(tmp_path: Path, vectors_dir: Path) -> None:
    for path in (vectors_dir / "test-le.g3", vectors_dir / "bigendian.g3"):
        raw = path.read_bytes()
        source = TcpSource("tcp://*:0", timeout=TIMEOUT)
        with path.open("rb") as stdin:
            nc = run_nc("-N", "127.0.0.1", str(source.port), stdin=stdin)
            try:
                got = read_source(source)
                wait(nc)
            finally:
                nc.kill()
                source.close()
        assert b"".join(bytes(f.encoded()) for f in got) == raw
        assert len(got) == len(decode_all(raw)) > 0


def test_nc_client_of_a_listening_sender_gets_replay_and_frames(tmp_path: Path) -> None:
    sender = G3NetworkSender("*", 0)
    out = tmp_path / "client.g3"
    sender(make_frame(C, 1))
    sender(make_frame(T, 2))
    with out.open("wb") as stdout:
        nc = run_nc("-d", "127.0.0.1", str(sender.port), stdout=stdout)
        try:
            wait_until(lambda: sender.statistics().connected_clients == 1)
            sender(make_frame(T, 3))
            sender(G3Frame(G3FrameType.EndProcessing))
            wait(nc)
        finally:
            nc.kill()
            sender.Close()
    assert seqs(decode_all(out.read_bytes())) == [1, 3]
