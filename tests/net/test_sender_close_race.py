"""A client accepted just before Close() receives its queue like any other.

The race: the service thread accepts a connection under the sender's lock
and starts its writer thread only after releasing it. If Close() ran in that
gap, it saw the new client, "joined" a writer thread that had not started
(``Thread.join`` returns at once for a thread never started), took it for
finished, stopped the service thread, which then cut the client off: the
reader got no frame at all (``frames_sent=0``, ``frames_dropped=5``,
``disconnects={CUT_AT_CLOSE: 1}``) although it connected before the first
frame and ``close_timeout`` had not passed. Under CPU load the gap is wide
enough to hit now and then. A link is now over only once its writer has
run to its end (or could not be started), so Close() waits for it.

The tests hold the writer's start open with a hook around the real
:meth:`ClientConnection.start`, so the interleaving is forced, not hoped for.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
from g3net_testutil import TIMEOUT, T, connect_client, decode_all, make_frame, recv_all, seqs

from g3stream import G3Frame, G3FrameType
from g3stream.frame import encode_frame_bytes
from g3stream.net import G3NetworkSender
from g3stream.net.client import ClientConnection
from g3stream.net.fanout import DisconnectReason, FanOut, WhenFull

FRAMES = 5
#: How long the hook holds a writer back when nothing releases it (seconds).
HOLD = 1.0


def test_link_not_started_yet_is_not_over() -> None:
    fanout = FanOut(when_full=WhenFull.CUT)
    lock = threading.Lock()
    ours, theirs = socket.socketpair()
    theirs.settimeout(TIMEOUT)
    finished: list[ClientConnection] = []
    with lock:
        client = fanout.add_client("peer", replay=False)
        assert client is not None
        for seq in range(FRAMES):
            fanout.offer(int(T), encode_frame_bytes(make_frame(T, seq)))
        fanout.finish()
    link = ClientConnection(
        ours, "peer", client, fanout, lock, send_timeout=None, on_finished=finished.append
    )
    try:
        # Accepted, queue ready, writer not started: it still has everything to send.
        assert link.join(0) is False
        assert link.alive
        link.start()
        assert link.join(TIMEOUT) is True
        assert not link.alive
        assert finished == [link]
        assert client.reason is DisconnectReason.FINISHED
        assert seqs(decode_all(recv_all(theirs))) == list(range(FRAMES))
    finally:
        link.close_socket()
        theirs.close()


def test_client_accepted_while_closing_receives_its_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sender = G3NetworkSender("*", 0, close_timeout=TIMEOUT)
    stopped_while_held: list[bool] = []
    real_start = ClientConnection.start

    def held_start(link: ClientConnection) -> None:
        # Runs in the service thread, between accepting the client (under the
        # lock) and starting its writer: keep that gap open until the sender
        # tells the service thread to stop, or HOLD at most.
        deadline = time.monotonic() + HOLD
        pause = threading.Event()
        while not sender._stopping and time.monotonic() < deadline:
            pause.wait(0.005)
        stopped_while_held.append(sender._stopping)
        real_start(link)

    monkeypatch.setattr(ClientConnection, "start", held_start)
    try:
        reader = connect_client(sender.port)
        deadline = time.monotonic() + TIMEOUT
        while sender.statistics().clients_accepted < 1:  # accepted, writer held
            assert time.monotonic() < deadline, "client never accepted"
            threading.Event().wait(0.005)
        frames = [make_frame(T, seq) for seq in range(FRAMES)]
        for frame in frames:
            assert sender(frame) == [frame]
        sender(G3Frame(G3FrameType.EndProcessing))  # Close() while the writer is held
        received = decode_all(recv_all(reader))
    finally:
        sender.Close()
    stats = sender.statistics()
    # Close() waited for the held writer instead of stopping around it.
    assert stopped_while_held == [False]
    assert seqs(received) == list(range(FRAMES))
    assert stats.frames_sent == FRAMES
    assert stats.frames_dropped == 0
    assert stats.disconnects == {DisconnectReason.FINISHED: 1}
