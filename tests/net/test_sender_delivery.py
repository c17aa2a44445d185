"""No frame lost in silence: send timeouts, shutdown deadlines, frames after Close, cut-offs."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest
from g3net_testutil import (
    TIMEOUT,
    Background,
    T,
    connect_client,
    decode_all,
    make_frame,
    recv_all,
    seqs,
    small_buffer_listener,
    wait_until,
)

from g3stream import G3Frame, G3FrameType
from g3stream.errors import G3ConnectionError
from g3stream.net import G3NetworkSender
from g3stream.net.errors import G3SenderClosedError, G3SendTimeoutError
from g3stream.net.fanout import DisconnectReason

END = G3FrameType.EndProcessing


def test_connect_mode_peer_that_stops_reading_times_out(
    senders: list[G3NetworkSender],
) -> None:
    with small_buffer_listener() as listener:
        sender = G3NetworkSender(
            "127.0.0.1",
            listener.getsockname()[1],
            max_pending_bytes=256 << 10,
            send_timeout=0.5,
        )
        senders.append(sender)
        conn, _ = listener.accept()  # and never reads
        start = time.monotonic()
        sent = 0
        with pytest.raises(G3SendTimeoutError, match="127.0.0.1") as info:
            for i in range(100_000):
                sender(make_frame(T, i, 1024))
                sent += 1
        assert isinstance(info.value, G3ConnectionError)
        assert time.monotonic() - start < 0.5 + 10
        stats = sender.statistics()
        assert stats.disconnects == {DisconnectReason.SEND_TIMEOUT: 1}
        assert stats.clients_lost == 1
        # Every frame accepted was either sent or counted as dropped.
        assert stats.frames_sent + stats.frames_dropped == sent
        assert stats.frames_dropped > 0
        conn.close()


def test_connect_mode_frames_not_delivered_at_close_raise(
    senders: list[G3NetworkSender],
) -> None:
    with small_buffer_listener() as listener:
        sender = G3NetworkSender(
            "127.0.0.1", listener.getsockname()[1], close_timeout=0.3, send_timeout=-1
        )
        senders.append(sender)
        conn, _ = listener.accept()  # and never reads
        for i in range(200):
            sender(make_frame(T, i, 8192))  # 13 MB: under the byte cap, over the buffers
        with pytest.raises(G3SendTimeoutError, match="not delivered") as info:
            sender(G3Frame(END))
        stats = sender.statistics()
        assert stats.frames_dropped > 0
        assert str(stats.frames_dropped) in str(info.value)
        assert stats.frames_sent + stats.frames_dropped == 200
        assert stats.clients_cut_at_close == 1
        sender.Close()  # already closed: no second error
        conn.close()


def test_connect_mode_frame_after_close_from_another_thread_raises(
    senders: list[G3NetworkSender],
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(TIMEOUT)
        sender = G3NetworkSender("127.0.0.1", listener.getsockname()[1])
        senders.append(sender)
        conn, _ = listener.accept()
        reader = Background(recv_all, conn)
        sender(make_frame(T, 1))
        closer = threading.Thread(target=sender.Close)
        closer.start()
        closer.join(TIMEOUT)
        with pytest.raises(G3SenderClosedError):
            sender(make_frame(T, 2))
        assert sender.statistics().frames_after_finish == 1
        end = G3Frame(END)
        assert sender(end) == [end]  # EndProcessing after Close passes quietly
        assert seqs(decode_all(reader.result())) == [1]


def test_listen_mode_frames_after_close_are_counted(senders: list[G3NetworkSender]) -> None:
    sender = G3NetworkSender("*", 0)
    senders.append(sender)
    sender.Close()
    for i in range(3):
        frame = make_frame(T, i)
        assert sender(frame) == [frame]
    assert sender.statistics().frames_after_finish == 3


def test_listen_mode_client_over_the_byte_cap_sees_a_clean_end_of_stream(
    senders: list[G3NetworkSender], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="g3stream.net")
    sender = G3NetworkSender("*", 0, max_pending_bytes=1 << 20)  # max_queue_size=0
    senders.append(sender)
    slow = connect_client(sender.port, rcvbuf=4096)  # does not read for now
    slow_peer = f"127.0.0.1:{slow.getsockname()[1]}"
    fast = Background(recv_all, connect_client(sender.port))
    wait_until(lambda: sender.statistics().connected_clients == 2)
    fast_peer = [p for p in sender.statistics().clients if p != slow_peer][0]

    def fast_client_caught_up() -> bool:
        client = sender.statistics().clients.get(fast_peer)
        return client is None or client.queue_frames == 0

    frames = [make_frame(T, i, 8192) for i in range(100)]  # 6.5 MB
    for frame in frames:
        sender(frame)
        wait_until(fast_client_caught_up)  # paced by the fast client, as by a DAQ
    got = recv_all(slow)  # reads now: the frame in progress, then a clean EOF
    received = decode_all(got)  # raises if the stream ended inside a frame
    assert 0 < len(received) < len(frames)
    assert seqs(received) == list(range(len(received)))  # a prefix: nothing skipped
    sender(G3Frame(END))
    assert seqs(decode_all(fast.result())) == list(range(100))
    stats = sender.statistics()
    assert stats.clients_overflowed == 1
    # What was queued for it at the cut is counted; later frames were no longer its.
    assert 0 < stats.frames_dropped <= len(frames) - len(received)
    messages = [r.getMessage() for r in caplog.records]
    assert any("too slow" in m for m in messages)


def test_cut_off_client_that_never_reads_is_disconnected_after_close_timeout(
    senders: list[G3NetworkSender],
) -> None:
    sender = G3NetworkSender("*", 0, max_pending_bytes=1 << 20, close_timeout=0.3)
    senders.append(sender)
    stuck = connect_client(sender.port, rcvbuf=4096)
    wait_until(lambda: sender.statistics().connected_clients == 1)
    for i in range(100):
        sender(make_frame(T, i, 8192))
    wait_until(lambda: sender.statistics().connected_clients == 0)
    assert sender.statistics().clients_overflowed == 1
    stuck.close()
