"""G3Reader over tcp://: listening, connecting, lists mixing files and streams.

The peers here are plain sockets driven from a helper thread; no test
waits for a fixed time: listening readers are bound at construction and
connecting readers connect to a socket that already listens.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from g3stream import G3Reader, InvalidEndianError, TruncatedFrameError
from g3stream.codec.container import encode_frame_bytes

pytestmark = pytest.mark.timeout(30)


@contextmanager
def in_thread(fn: Callable[[], None]) -> Iterator[None]:
    """Run ``fn`` in a thread for the duration of the block; re-raise its error."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # reported in the test's thread
            errors.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    try:
        yield
    finally:
        t.join(20)
    assert not t.is_alive()
    if errors:
        raise errors[0]


def send_to(port: int, data: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)


@contextmanager
def serving(*payloads: bytes) -> Iterator[int]:
    """A listening socket on 127.0.0.1 that sends each payload to one client, then closes it."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(15)

    def serve() -> None:
        with server:
            for payload in payloads:
                conn, _ = server.accept()
                with conn:
                    conn.sendall(payload)

    with in_thread(serve):
        yield server.getsockname()[1]


def test_listening_reader_is_bound_at_construction(make_frame, stream_of) -> None:
    data = stream_of([make_frame(i) for i in range(5)])
    reader = G3Reader("tcp://*:0", timeout=15)
    assert isinstance(reader.port, int) and reader.port > 0
    with in_thread(lambda: send_to(reader.port, data)):
        frames = list(reader)
    assert [f["index"] for f in frames] == list(range(5))
    assert b"".join(bytes(f.original_bytes) for f in frames) == data


def test_a_list_mixes_files_and_streams_in_order(tmp_path: Path, make_frame, stream_of) -> None:
    first = tmp_path / "cal.g3"
    first.write_bytes(stream_of([make_frame(0), make_frame(1)]))
    big = make_frame(3, size=500_000)  # several socket reads, and more than buffersize
    with serving(stream_of([make_frame(2), big, make_frame(4)])) as port:
        reader = G3Reader([str(first), f"tcp://127.0.0.1:{port}"], timeout=15, buffersize=65536)
        assert reader.port == port
        frames = list(reader)
    assert [f["index"] for f in frames] == [0, 1, 2, 3, 4]
    assert bytes(frames[3].original_bytes) == encode_frame_bytes(big)


def test_stream_closed_inside_a_frame_is_a_typed_error(make_frame, stream_of) -> None:
    frames = [make_frame(i) for i in range(3)]
    data = stream_of(frames)
    third = len(data) - len(encode_frame_bytes(frames[2]))
    with serving(data[:-10]) as port:
        url = f"tcp://127.0.0.1:{port}"
        reader = G3Reader(url, timeout=15)
        assert [reader(None)[0]["index"] for _ in range(2)] == [0, 1]
        with pytest.raises(TruncatedFrameError) as info:
            reader(None)
    assert info.value.offset == third
    assert url in str(info.value)


def test_a_peer_that_is_not_g3_is_rejected_at_the_first_frame() -> None:
    reply = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
    with serving(reply) as port:
        with pytest.raises(InvalidEndianError) as info:
            list(G3Reader(f"tcp://127.0.0.1:{port}", timeout=15))
    assert info.value.offset == 0
    assert str(port) in str(info.value)


def test_reconnecting_reader_discards_a_cut_frame(
    make_frame, stream_of, caplog: pytest.LogCaptureFixture
) -> None:
    first = stream_of([make_frame(0)])
    cut = encode_frame_bytes(make_frame(1))[:30]
    second = stream_of([make_frame(2), make_frame(3)])
    reader = G3Reader("tcp://*:0", reconnect=True, timeout=15)

    def senders() -> None:
        send_to(reader.port, first + cut)  # the sender dies inside frame 1
        send_to(reader.port, second)  # ... and a new one takes over

    with caplog.at_level(logging.WARNING, logger="g3stream.io.reader"):
        with in_thread(senders):
            got = [reader(None)[0]["index"] for _ in range(3)]
    reader.close()
    assert got == [0, 2, 3]
    assert any("discarded 30 bytes" in r.getMessage() for r in caplog.records)
    assert reader(None) == []


def test_close_from_another_thread_ends_a_wait() -> None:
    reader = G3Reader("tcp://*:0")  # no timeout: waits for a sender forever
    result: list[object] = []
    waiter = threading.Thread(target=lambda: result.append(reader(None)), daemon=True)
    waiter.start()
    reader.close()
    waiter.join(20)
    assert not waiter.is_alive()
    assert result == [[]]
