"""TcpSource, the tcp:// byte source, driven with a FrameDecoder as G3Reader drives it."""

from __future__ import annotations

import logging
import socket
import threading
import time
import tracemalloc

import numpy as np
import pytest
from g3net_testutil import (
    TIMEOUT,
    Background,
    S,
    T,
    free_port,
    make_frame,
    read_source,
    seqs,
)

from g3stream import G3Frame, G3FrameType, G3Reader, G3VectorDouble
from g3stream.codec.container import encode_frame_bytes
from g3stream.errors import CRCMismatchError, G3FormatError, TruncatedFrameError
from g3stream.net import (
    G3ConnectionRefusedError,
    G3HostUnresolvableError,
    TcpSource,
)


def stream_bytes(n: int, start: int = 0, payload: int = 16) -> list[bytes]:
    return [bytes(make_frame(T, start + i, payload).encoded()) for i in range(n)]


def ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def serve_once(listener: socket.socket, data: bytes, linger: bool = False) -> None:
    """Accept one connection, send ``data``, close."""
    listener.settimeout(TIMEOUT)
    conn, _ = listener.accept()
    with conn:
        conn.sendall(data)


# -- listen mode ---------------------------------------------------------------


def test_listen_binds_at_construction_and_reads_first_sender() -> None:
    with TcpSource("tcp://*:0", timeout=TIMEOUT) as src:
        assert src.listening and src.port > 0
        frames = stream_bytes(5)
        # The port is bound already: a sender connects without any waiting.
        with socket.create_connection(("127.0.0.1", src.port), timeout=TIMEOUT) as sender:
            sender.sendall(b"".join(frames))
        got = read_source(src)
    assert seqs(got) == [0, 1, 2, 3, 4]
    assert [bytes(f.encoded()) for f in got] == frames


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_listen_accepts_ipv6_senders() -> None:
    with TcpSource("tcp://*:0", timeout=TIMEOUT) as src:
        with socket.create_connection(("::1", src.port), timeout=TIMEOUT) as sender:
            sender.sendall(b"".join(stream_bytes(2)))
        assert seqs(read_source(src)) == [0, 1]


def test_listen_only_first_sender_is_read() -> None:
    with TcpSource("tcp://*:0", timeout=TIMEOUT) as src:
        first = socket.create_connection(("127.0.0.1", src.port), timeout=TIMEOUT)
        first.sendall(stream_bytes(1)[0])
        assert len(read_source(src, limit=1)) == 1
        # The listening socket is gone: a second sender is refused outright.
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", src.port), timeout=TIMEOUT)
        first.close()
        assert read_source(src) == []


def test_listen_timeout_bounds_wait_for_sender() -> None:
    src = TcpSource("tcp://*:0", timeout=0.2)
    start = time.monotonic()
    assert src.read(100) == b""
    assert time.monotonic() - start < TIMEOUT
    assert src.read(100) == b""  # ended for good


def test_bind_address_option() -> None:
    with TcpSource("tcp://*:0", bind_address="127.0.0.1", timeout=TIMEOUT) as src:
        with socket.create_connection(("127.0.0.1", src.port), timeout=TIMEOUT) as sender:
            sender.sendall(stream_bytes(1)[0])
        assert len(read_source(src)) == 1


# -- connect mode ---------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_connect_by_name_ipv4_and_ipv6(host: str) -> None:
    family = socket.AF_INET6 if host.startswith("[") else socket.AF_INET
    if family == socket.AF_INET6 and not ipv6_loopback():
        pytest.skip("no IPv6 loopback on this machine")
    bind = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    with socket.create_server((bind, 0), family=family) as listener:
        port = listener.getsockname()[1]
        if host == "localhost" and family == socket.AF_INET:
            # localhost may resolve to ::1 first; accept both by serving IPv4 only
            # (create_connection falls back through every resolved address).
            pass
        frames = stream_bytes(3, payload=1000)
        src = TcpSource(f"tcp://{host}:{port}", timeout=TIMEOUT)
        server = Background(serve_once, listener, b"".join(frames))
        got = read_source(src)
        server.result()
    assert [bytes(f.encoded()) for f in got] == frames


def test_connect_refused_names_host_and_port() -> None:
    port = free_port()
    with pytest.raises(G3ConnectionRefusedError, match=f"127.0.0.1:{port}"):
        TcpSource(f"tcp://127.0.0.1:{port}")


def test_connect_unresolvable_host() -> None:
    with pytest.raises(G3HostUnresolvableError, match="no-such-host.invalid"):
        TcpSource("tcp://no-such-host.invalid:4536")


def test_connect_timeout_ends_stream_when_data_stops() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        src = TcpSource(f"tcp://127.0.0.1:{listener.getsockname()[1]}", timeout=0.3)
        listener.settimeout(TIMEOUT)
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"".join(stream_bytes(2)))
            # The connection stays open but silent: the source ends after the timeout.
            got = Background(read_source, src).result()
    assert seqs(got) == [0, 1]


def test_connection_closed_inside_frame_is_truncation() -> None:
    frames = stream_bytes(3)
    data = b"".join(frames)[: -len(frames[-1]) // 2]
    with socket.create_server(("127.0.0.1", 0)) as listener:
        src = TcpSource(f"tcp://127.0.0.1:{listener.getsockname()[1]}", timeout=TIMEOUT)
        serve_once(listener, data)
        with pytest.raises(TruncatedFrameError):
            read_source(src)


@pytest.mark.parametrize(
    "garbage",
    [
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello",
        bytes(range(256)) * 8,
        b"\xff" * 64,
    ],
)
def test_non_g3_peer_gives_typed_error_without_big_allocation(garbage: bytes) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        src = TcpSource(f"tcp://127.0.0.1:{listener.getsockname()[1]}", timeout=TIMEOUT)
        serve_once(listener, garbage)
        tracemalloc.start()
        try:
            with pytest.raises(G3FormatError) as info:
                read_source(src)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert info.value.offset is not None and info.value.offset <= len(garbage)
    # A bogus length field must not be trusted: nothing near its claimed size.
    assert peak < (4 << 20)


# -- waiting, cancellation ------------------------------------------------------------


def test_waiting_does_not_block_other_threads() -> None:
    src = TcpSource("tcp://*:0", timeout=TIMEOUT)
    waiter = Background(src.read, 100)
    count = 0
    end = time.monotonic() + 0.2
    while time.monotonic() < end:
        count += 1
    assert not waiter.done.is_set()
    assert count > 10_000
    src.close()  # cancels the wait
    assert waiter.result() == b""


def test_close_cancels_wait_for_data() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        src = TcpSource(f"tcp://127.0.0.1:{listener.getsockname()[1]}")
        listener.settimeout(TIMEOUT)
        conn, _ = listener.accept()
        with conn:
            waiter = Background(src.read, 100)
            src.close()
            assert waiter.result() == b""


def test_unknown_option_is_rejected() -> None:
    with pytest.raises(TypeError, match="bogus"):
        TcpSource("tcp://*:0", bogus=1)


# -- reconnecting mode ------------------------------------------------------------


def test_reconnect_survives_sender_restart(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="g3stream.net")
    first = stream_bytes(3, payload=200)
    second = stream_bytes(2, start=10)
    cut = first[2][: len(first[2]) // 2]
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    src = TcpSource(
        f"tcp://127.0.0.1:{port}", reconnect=True, initial_backoff=0.01, max_backoff=0.05
    )
    restarts: list[int] = []
    reader = Background(read_source, src, restarts, 4)
    # First run of the sender: two frames and half of a third, then it dies.
    serve_once(listener, first[0] + first[1] + cut)
    listener.close()
    # The restarted sender binds the same port; the reader finds it by retrying.
    with socket.create_server(("127.0.0.1", port)) as listener2:
        serve_once(listener2, b"".join(second))
        got = reader.result()
    src.close()
    assert seqs(got) == [0, 1, 10, 11]
    assert restarts == [len(cut)]
    # (a retry may reach the dying listener first, hence "at least")
    assert src.outages >= 1 and src.connections >= 2
    assert any("connection closed" in r.getMessage() for r in caplog.records)


def test_reconnect_waits_for_sender_that_is_not_up_yet() -> None:
    port = free_port()
    src = TcpSource(
        f"tcp://127.0.0.1:{port}", reconnect=True, initial_backoff=0.01, max_backoff=0.05
    )
    reader = Background(read_source, src, None, 2)
    with socket.create_server(("127.0.0.1", port)) as listener:
        serve_once(listener, b"".join(stream_bytes(2)))
        assert seqs(reader.result()) == [0, 1]
    src.close()


def test_reconnect_timeout_still_ends_the_source() -> None:
    src = TcpSource(
        f"tcp://127.0.0.1:{free_port()}", timeout=0.2, reconnect=True, initial_backoff=0.01
    )
    assert Background(src.read, 10).result() == b""


def test_reconnect_listen_mode_accepts_next_sender() -> None:
    src = TcpSource("tcp://*:0", reconnect=True)
    restarts: list[int] = []
    reader = Background(read_source, src, restarts, 3)
    frames = stream_bytes(4)
    with socket.create_connection(("127.0.0.1", src.port), timeout=TIMEOUT) as s1:
        s1.sendall(frames[0] + frames[1][:10])
    with socket.create_connection(("127.0.0.1", src.port), timeout=TIMEOUT) as s2:
        s2.sendall(frames[2] + frames[3])
    got = reader.result()
    src.close()
    assert seqs(got) == [0, 2, 3]
    assert restarts == [10]


def test_threads_can_close_while_reconnecting() -> None:
    src = TcpSource(f"tcp://127.0.0.1:{free_port()}", reconnect=True, initial_backoff=5.0)
    waiter = Background(src.read, 10)
    started = threading.Event()
    started.set()
    src.close()
    assert waiter.result() == b""


def test_frame_types_survive() -> None:
    frame = make_frame(G3FrameType("Ab"), 1)
    with TcpSource("tcp://*:0", timeout=TIMEOUT) as src:
        with socket.create_connection(("127.0.0.1", src.port), timeout=TIMEOUT) as sender:
            sender.sendall(bytes(frame.encoded()) + bytes(make_frame(S, 2).encoded()))
        got = read_source(src)
    assert [int(f.type) for f in got] == [0x4162, int(S)]


def test_huge_read_request_allocates_only_what_arrives() -> None:
    with TcpSource("tcp://*:0", timeout=TIMEOUT) as src:
        with socket.create_connection(("127.0.0.1", src.port), timeout=TIMEOUT) as sender:
            sender.sendall(b"x" * 100)
            tracemalloc.start()
            try:
                data = src.read(1 << 40)  # as if a length field claimed a terabyte
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
    assert data == b"x" * 100
    assert peak <= (16 << 20) + (1 << 20)


def test_readinto_receives_into_a_caller_buffer() -> None:
    frames = stream_bytes(3, payload=5000)
    data = b"".join(frames)
    with TcpSource("tcp://*:0", timeout=TIMEOUT) as src:
        with socket.create_connection(("127.0.0.1", src.port), timeout=TIMEOUT) as sender:
            sender.sendall(data)
        buffer = bytearray(len(data) + 10)
        view = memoryview(buffer)
        got = 0
        while True:
            n = src.readinto(view[got:])
            if not n:
                break
            got += n
        assert bytes(buffer[:got]) == data
        assert src.readinto(view) == 0  # ended for good
        assert src.readinto(bytearray()) == 0


def _send_in_pieces(port: int, data: bytes, pieces: int) -> threading.Thread:
    """A sender thread writing ``data`` in ``pieces`` parts, pausing between them, then closing."""

    def run() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
            step = -(-len(data) // pieces)
            for i in range(0, len(data), step):
                sock.sendall(data[i : i + step])
                time.sleep(0.005)  # lets the reader see the parts arrive one by one

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.skipif(not hasattr(socket, "MSG_WAITALL"), reason="no MSG_WAITALL here")
def test_readinto_all_waits_until_the_buffer_is_full() -> None:
    data = bytes(range(256)) * 4096  # 1 MB
    with TcpSource("tcp://*:0") as src:  # no timeout: the kernel waits for the whole buffer
        sender = _send_in_pieces(src.port, data + b"tail", 16)
        buffer = bytearray(len(data))
        assert src.readinto_all(buffer) == len(data)  # one call, though it came in 16 parts
        assert buffer == data
        rest = bytearray(100)
        # the stream ends first: what arrived comes back, then the end
        assert src.readinto_all(rest) == 4
        assert rest[:4] == b"tail"
        assert src.readinto_all(rest) == 0
        sender.join(TIMEOUT)


def test_readinto_all_with_a_timeout_returns_what_arrived() -> None:
    data = bytes(range(256)) * 1024
    with TcpSource("tcp://*:0", timeout=TIMEOUT) as src:
        sender = _send_in_pieces(src.port, data, 8)
        buffer = memoryview(bytearray(len(data)))
        got = 0
        while n := src.readinto_all(buffer[got:]):
            got += n
        assert got == len(data) and buffer == data
        sender.join(TIMEOUT)


def test_large_frames_over_tcp_arrive_whole_and_a_bad_crc_is_located() -> None:
    def large(seed: int) -> bytes:
        frame = G3Frame("S")
        frame["v"] = G3VectorDouble(np.random.default_rng(seed).standard_normal(400_000))
        return bytes(encode_frame_bytes(frame))  # 3.2 MB: several pieces of its own buffer

    good = [large(i) for i in range(3)]
    bad = bytearray(good[1])
    bad[len(bad) // 2] ^= 0x10  # inside the values, in a piece checksummed mid-frame
    stream = good[0] + bytes(bad) + good[2]
    reader = G3Reader("tcp://*:0", timeout=TIMEOUT)
    assert reader.port
    sender = _send_in_pieces(reader.port, stream + good[2][:-10], 40)  # the last one cut short
    got: list[bytes] = []
    errors: list[BaseException] = []
    while len(errors) < 2:
        try:
            frames = reader.Process(None)
        except (CRCMismatchError, TruncatedFrameError) as exc:
            errors.append(exc)
            continue
        assert frames, "the stream ended without the expected errors"
        got += [bytes(f.encoded()) for f in frames]
    sender.join(TIMEOUT)
    assert got == [good[0], good[2]]  # nothing lost beside the bad frame
    assert isinstance(errors[0], CRCMismatchError)
    assert errors[0].offset == len(good[0])
    assert isinstance(errors[1], TruncatedFrameError)
    assert errors[1].offset == len(stream)
