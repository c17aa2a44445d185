"""Large frames sent without a private copy still go out exactly as they were given.

Both modes send a new large frame from the frame's own arrays, frozen
(read-only) while the frame is queued, and return at once: the next frame
is encoded while this one is sent (see test_sender_frozen.py for the
freezing rules). Arrays that cannot be frozen are copied by a listening
sender; a connecting sender does not copy them but returns only once the
socket has taken the frame. Either way, a module that changes the frame
after the sender returned it must not change the bytes a receiver gets.
"""

from __future__ import annotations

import socket
import struct
import time

import numpy as np
import pytest
from g3net_testutil import (
    Background,
    S,
    connect_client,
    decode_all,
    recv_all,
    small_buffer_listener,
    wait_until,
)

from g3stream import G3Frame, G3FrameType, G3TimestreamMap, G3VectorDouble
from g3stream.codec.container import encode_frame_bytes
from g3stream.frame import encode_frame
from g3stream.net import G3ConnectionLostError, G3NetworkSender
from g3stream.net.fanout import byte_length
from g3stream.net.frozen import COPY_ALWAYS_BELOW, frozen_parts
from g3stream.net.sender import FROZEN_READ_AHEAD_BYTES, ZERO_COPY_MIN_BYTES

VALUES = 2 * ZERO_COPY_MIN_BYTES // 8  # float64 values: a frame sent without a copy


def large_frame(seq: int, values: int = VALUES) -> G3Frame:
    frame = G3Frame(S)
    frame["seq"] = seq
    frame["data"] = G3VectorDouble(np.arange(values, dtype=np.float64) + seq)
    return frame


def scribble(frame: G3Frame) -> None:
    """What a later module might do: change the frame's array in place."""
    np.asarray(frame["data"])[:] = -1.0


def test_changing_the_array_changes_the_encoding() -> None:
    # The premise of the tests below: the array written in place is the one encoded.
    frame = large_frame(0)
    before = encode_frame_bytes(frame)
    scribble(frame)
    assert encode_frame_bytes(frame) != before


def test_connect_mode_returns_before_a_frozen_frame_is_sent_and_it_arrives_unchanged() -> None:
    with small_buffer_listener() as listener:
        sender = G3NetworkSender("127.0.0.1", listener.getsockname()[1], close_timeout=20)
        conn, _ = listener.accept()
        conn.settimeout(20)
        expected = []
        try:
            frames = [large_frame(seq, 3 * VALUES) for seq in range(4)]  # 24 MB in all
            for frame in frames:
                expected.append(encode_frame_bytes(frame))
                assert sender(frame) == [frame]
            # the peer has read nothing, and socket buffers hold a few MB at most:
            # the sender returned with frames still queued, none was waited for
            stats = sender.statistics()
            assert stats.queue_frames >= 2 and stats.frames_sent + stats.queue_frames == 4
            for frame in frames[-2:]:  # downstream, after the sender returned them
                with pytest.raises(ValueError, match="read-only"):
                    scribble(frame)
                frame["data"][0] = -2.0  # through the object: a copy of its own
            reader = Background(recv_all, conn)
        finally:
            sender(G3Frame(G3FrameType.EndProcessing))
        data = reader.result()
    assert data == b"".join(expected)
    received = decode_all(data)
    assert [f["seq"] for f in received] == [0, 1, 2, 3]
    assert np.asarray(received[3]["data"])[0] == 3
    stats = sender.statistics()
    assert stats.frames_sent == 4 and stats.frames_dropped == 0
    scribble(frames[0])  # every byte is out: the array is writable again


def viewing_frame(seq: int, rows: np.ndarray) -> G3Frame:
    """A frame whose timestreams view rows of the caller's array: they cannot be frozen."""
    frame = G3Frame(S)
    frame["seq"] = seq
    frame["ts"] = G3TimestreamMap([f"det{j}" for j in range(len(rows))], rows, copy_data=False)
    return frame


def test_frozen_parts_without_copy_keep_views_of_memory_that_may_change() -> None:
    rows = np.tile(np.arange(VALUES // 4, dtype=np.float64), (4, 1))
    frame = viewing_frame(0, rows)
    expected = encode_frame_bytes(frame)
    parts, frozen = frozen_parts(encode_frame(frame), copy=False)
    assert frozen.exposed and len(frozen) == 0
    assert b"".join(bytes(p) for p in parts) == expected
    large = [p for p in parts if byte_length(p) >= COPY_ALWAYS_BELOW]
    assert len(large) == len(rows)  # each row's samples, not copied
    assert all(np.shares_memory(np.asarray(p), rows) for p in large)
    assert all(type(p) is bytes for p in parts if byte_length(p) < COPY_ALWAYS_BELOW)
    copied, frozen = frozen_parts(encode_frame(frame))  # the default: a private copy
    assert not frozen.exposed
    assert not any(np.shares_memory(np.asarray(p), rows) for p in copied)


def test_connect_mode_waits_for_a_frame_it_cannot_freeze_instead_of_copying_it() -> None:
    rows = np.tile(np.arange(VALUES // 4, dtype=np.float64), (4, 1))
    with small_buffer_listener() as listener:
        sender = G3NetworkSender("127.0.0.1", listener.getsockname()[1], close_timeout=20)
        conn, _ = listener.accept()
        conn.settimeout(20)
        reader = Background(recv_all, conn)  # a peer slower than the sender
        expected = []
        try:
            for seq in range(3):
                frame = viewing_frame(seq, rows)
                expected.append(encode_frame_bytes(frame))
                assert sender(frame) == [frame]
                assert sender.statistics().frames_sent == seq + 1  # sent before returning
                rows[:] = -1.0 - seq  # downstream: the caller's array changes
        finally:
            sender(G3Frame(G3FrameType.EndProcessing))
        data = reader.result()
    assert data == b"".join(expected)
    assert [f["seq"] for f in decode_all(data)] == [0, 1, 2]


def test_listen_mode_frame_changed_before_client_reads_arrives_unchanged() -> None:
    sender = G3NetworkSender("*", 0, close_timeout=20)
    try:
        client = connect_client(sender.port, rcvbuf=4096)
        wait_until(lambda: sender.statistics().connected_clients == 1)
        frame = large_frame(7)
        expected = encode_frame_bytes(frame)
        sender(frame)
        frame["data"][0] = -1.0  # through the object: it changes a copy of its own
        reader = Background(recv_all, client)
    finally:
        sender(G3Frame(G3FrameType.EndProcessing))
    assert reader.result() == expected


def test_connect_mode_frames_queued_when_the_peer_vanishes_are_reported_and_released() -> None:
    with small_buffer_listener() as listener:
        sender = G3NetworkSender("127.0.0.1", listener.getsockname()[1], close_timeout=20)
        conn, _ = listener.accept()
        frames = [large_frame(seq, 3 * VALUES) for seq in range(3)]
        for frame in frames:
            sender(frame)  # queued, frozen: the peer reads nothing
        assert not np.asarray(frames[-1]["data"]).flags.writeable
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()  # a reset: the queued frames can never be delivered
        late = large_frame(99)
        with pytest.raises(G3ConnectionLostError, match="127.0.0.1"):
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:  # the next frames report the loss
                sender(late)
        sender.Close()
    stats = sender.statistics()
    assert stats.frames_sent + stats.frames_dropped == 3 and stats.frames_dropped >= 1
    for frame in [*frames, late]:  # no client holds them any more: writable again
        scribble(frame)


def test_connect_mode_keeps_only_a_few_frozen_frames_queued() -> None:
    frames = [large_frame(seq, 3 * VALUES) for seq in range(12)]  # 6 MB each, 72 MB in all
    size = len(encode_frame_bytes(frames[0]))
    with small_buffer_listener() as listener:
        sender = G3NetworkSender("127.0.0.1", listener.getsockname()[1], close_timeout=20)
        conn, _ = listener.accept()
        conn.settimeout(20)
        expected = b"".join(encode_frame_bytes(f) for f in frames)
        producer = Background(lambda: [sender(f) for f in frames])
        try:
            # the peer reads nothing: the producer stops once the read-ahead is full,
            # well before max_pending_bytes (128 MiB), which all 12 frames fit under
            link = sender._connected_client
            assert link is not None
            wait_until(lambda: link.producer_waiting)  # it waits for room, queueing no more
            stats = sender.statistics()
            assert stats.queue_bytes >= FROZEN_READ_AHEAD_BYTES - size
            assert stats.queue_bytes <= FROZEN_READ_AHEAD_BYTES + size
            assert stats.frames_offered < len(frames)
            reader = Background(recv_all, conn)
            producer.result()
        finally:
            sender(G3Frame(G3FrameType.EndProcessing))
        assert reader.result() == expected
    scribble(frames[-1])  # sent and released
