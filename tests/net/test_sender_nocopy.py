"""Large frames sent without a private copy still go out exactly as they were given.

A connecting sender sends a new large frame from the frame's own arrays and
returns only once the socket has taken it; a listening sender sends it from
the arrays too, frozen until no client holds them (see test_sender_frozen.py).
Either way, a module that changes the frame after the sender returned it
must not change the bytes a receiver gets.
"""

from __future__ import annotations

import numpy as np
from g3net_testutil import (
    Background,
    S,
    connect_client,
    decode_all,
    recv_all,
    small_buffer_listener,
    wait_until,
)

from g3stream import G3Frame, G3FrameType, G3VectorDouble
from g3stream.codec.container import encode_frame_bytes
from g3stream.net import G3NetworkSender
from g3stream.net.sender import ZERO_COPY_MIN_BYTES

VALUES = 2 * ZERO_COPY_MIN_BYTES // 8  # float64 values: a frame sent without a copy


def large_frame(seq: int) -> G3Frame:
    frame = G3Frame(S)
    frame["seq"] = seq
    frame["data"] = G3VectorDouble(np.arange(VALUES, dtype=np.float64) + seq)
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


def test_connect_mode_frame_changed_after_send_arrives_unchanged() -> None:
    with small_buffer_listener() as listener:
        sender = G3NetworkSender("127.0.0.1", listener.getsockname()[1], close_timeout=20)
        conn, _ = listener.accept()
        conn.settimeout(20)
        reader = Background(recv_all, conn)  # a peer slower than the sender
        expected = []
        try:
            for seq in range(4):
                frame = large_frame(seq)
                expected.append(encode_frame_bytes(frame))
                assert sender(frame) == [frame]
                scribble(frame)  # downstream, after the sender returned it
        finally:
            sender(G3Frame(G3FrameType.EndProcessing))
        data = reader.result()
    assert data == b"".join(expected)
    received = decode_all(data)
    assert [f["seq"] for f in received] == [0, 1, 2, 3]
    assert np.asarray(received[3]["data"])[-1] == VALUES - 1 + 3
    stats = sender.statistics()
    assert stats.frames_sent == 4 and stats.frames_dropped == 0


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
