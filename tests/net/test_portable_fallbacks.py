"""The portable paths of the network layer, forced on here so that CI runs them.

Linux has ``MSG_DONTWAIT``, libc's ``poll()`` and epoll; Windows has none of
them and macOS only some. Each test below switches the fast path off and
runs the fallback the other platforms take, over real loopback sockets.
"""

from __future__ import annotations

import selectors
import socket
from collections.abc import Iterator

import pytest
from g3net_testutil import (
    TIMEOUT,
    Background,
    C,
    T,
    connect_client,
    decode_all,
    make_frame,
    recv_all,
    seqs,
    types,
    wait_until,
)

from g3stream import G3Frame, G3FrameType
from g3stream.net import G3NetworkSender, sockets


@pytest.fixture
def portable(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No MSG_DONTWAIT, no libc poll(), and the plain select() selector."""
    monkeypatch.setattr(sockets, "MSG_DONTWAIT", None)
    monkeypatch.setattr(sockets, "_POLL", None)
    monkeypatch.setattr(sockets, "SELECTOR", selectors.SelectSelector)
    yield


def test_readiness_probe_without_libc_poll(portable: None) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        probe = sockets.readiness_probe(listener)
        assert not probe()
        with socket.create_connection(listener.getsockname()):
            wait_until(probe)
            conn, _ = listener.accept()
            conn.close()
        assert not probe()


def test_nonblocking_helpers_without_msg_dontwait(portable: None) -> None:
    a, b = socket.socketpair()
    with a, b:
        a.settimeout(TIMEOUT)
        assert sockets.recv_nowait(a, 100) is None  # nothing there: no wait
        assert sockets.send_nowait(b, b"abc") is None  # cannot send without waiting here
        b.sendall(b"abc")
        got = bytearray()

        def received_all() -> bool:
            got.extend(sockets.recv_nowait(a, 100) or b"")
            return got == b"abc"

        wait_until(received_all)
        b.shutdown(socket.SHUT_WR)
        wait_until(lambda: sockets.recv_nowait(a, 100) == b"")


def test_nonblocking_helpers_with_msg_dontwait() -> None:
    if sockets.MSG_DONTWAIT is None:
        pytest.skip("no MSG_DONTWAIT on this platform")
    a, b = socket.socketpair()
    with a, b:
        assert sockets.recv_nowait(a, 100) is None
        assert sockets.send_nowait(b, b"abc") == 3
        wait_until(lambda: sockets.recv_nowait(a, 100) == b"abc")


def test_listen_mode_sender_on_the_portable_paths(portable: None) -> None:
    sender = G3NetworkSender("*", 0, close_timeout=TIMEOUT)
    try:
        sender(make_frame(C, 0))
        first = connect_client(sender.port)
        second = connect_client(sender.port)
        wait_until(lambda: sender.statistics().connected_clients == 2)
        second.sendall(b"ignored input" * 1000)  # read and discarded by the sender
        second.shutdown(socket.SHUT_WR)  # a half-closed client still receives
        readers = [Background(recv_all, s) for s in (first, second)]
        for i in range(1, 200):
            sender(make_frame(T, i))
    finally:
        sender(G3Frame(G3FrameType.EndProcessing))
    for reader in readers:
        frames = decode_all(reader.result())
        assert types(frames)[0] == int(C)
        assert seqs(frames) == list(range(200))
    stats = sender.statistics()
    assert stats.frames_dropped == 0 and stats.clients_accepted == 2


def test_connect_mode_sender_on_the_portable_paths(portable: None) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(TIMEOUT)
        sender = G3NetworkSender("127.0.0.1", listener.getsockname()[1], close_timeout=TIMEOUT)
        conn, _ = listener.accept()
        conn.settimeout(TIMEOUT)
        reader = Background(recv_all, conn)
        try:
            for i in range(50):
                sender(make_frame(T, i))
                # A frame after a pause takes the producer's direct-send path,
                # which here leaves it to the writer thread.
                wait_until(lambda: sender.statistics().queue_frames == 0)
        finally:
            sender(G3Frame(G3FrameType.EndProcessing))
        assert seqs(decode_all(reader.result())) == list(range(50))
