"""Socket helpers: scatter-gather sends (complete and resumed), endpoints, probes."""

from __future__ import annotations

import array
import socket

from g3net_testutil import TIMEOUT, Background, wait_until

from g3stream.net.sockets import _send_rest, endpoint, readiness_probe, send_buffers


def receive(sock: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        assert chunk
        out += chunk
    return out


def test_send_buffers_of_mixed_kinds() -> None:
    ints = array.array("i", [1, 2, 3])
    buffers = [b"head", bytearray(b"-mid-"), memoryview(ints), b"", b"tail"]
    expected = b"head-mid-" + ints.tobytes() + b"tail"
    a, b = socket.socketpair()
    with a, b:
        b.settimeout(TIMEOUT)
        assert send_buffers(a, buffers) == len(expected)
        assert receive(b, len(expected)) == expected
        assert send_buffers(a, buffers, len(expected)) == len(expected)
        assert receive(b, len(expected)) == expected


def test_resuming_after_a_partial_send() -> None:
    buffers = [b"abc", b"defg", b"hi"]
    a, b = socket.socketpair()
    with a, b:
        b.settimeout(TIMEOUT)
        for skip, rest in [(0, b"abcdefghi"), (2, b"cdefghi"), (3, b"defghi"), (5, b"fghi")]:
            assert _send_rest(a, buffers, skip) == len(rest)
            assert receive(b, len(rest)) == rest


def test_large_send_completes_while_peer_reads_slowly() -> None:
    payload = bytes(range(256)) * 40_000  # 10 MB, far more than the socket buffers
    a, b = socket.socketpair()
    with a, b:
        b.settimeout(TIMEOUT)
        reader = Background(receive, b, len(payload))
        assert send_buffers(a, [payload[:7], memoryview(payload)[7:]], len(payload)) == len(payload)
        assert reader.result() == payload


def test_readiness_probe_sees_pending_connection() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        probe = readiness_probe(listener)
        assert not probe()
        with socket.create_connection(listener.getsockname(), timeout=TIMEOUT):
            wait_until(probe)  # a completed handshake waits in the backlog
            listener.settimeout(TIMEOUT)
            conn, _ = listener.accept()
            conn.close()
            assert not probe()


def test_endpoint_brackets_ipv6() -> None:
    assert endpoint("::1", 5) == "[::1]:5"
    assert endpoint("host", 5) == "host:5"
