"""Listen mode sends a new large frame from its own arrays, frozen while clients hold them.

The guarantee under test: whatever a later module does to the frame after
the sender returned it, clients receive the bytes the frame had when it was
sent. Changes made through the frame's objects change a private copy; a
direct write into a frozen array raises numpy's ``ValueError``
("read-only") until every client has the bytes; arrays that cannot be
frozen (views of a caller's array, arrays with other views) are copied, so
writes through those views succeed and change nothing sent.
"""

from __future__ import annotations

import time
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from g3net_testutil import (
    TIMEOUT,
    Background,
    S,
    connect_client,
    decode_all,
    recv_all,
    wait_until,
)

from g3stream import G3Frame, G3FrameType, G3Timestream, G3TimestreamMap, G3VectorDouble
from g3stream.codec.container import encode_frame_bytes
from g3stream.frame import encode_frame
from g3stream.net import G3NetworkSender
from g3stream.net import frozen as frozen_module
from g3stream.net.frozen import frozen_parts
from g3stream.net.sender import ZERO_COPY_MIN_BYTES

# float64 values: a frame sent without a copy, larger than socket buffers hold (4 MiB at most)
VALUES = 6 * ZERO_COPY_MIN_BYTES // 8
END = G3FrameType.EndProcessing


def vector_frame(seq: int) -> G3Frame:
    frame = G3Frame(S)
    frame["seq"] = seq
    frame["data"] = G3VectorDouble(np.arange(VALUES, dtype=np.float64) + seq)
    return frame


def map_frame(seq: int, rows: np.ndarray | None = None) -> G3Frame:
    frame = G3Frame(S)
    frame["seq"] = seq
    if rows is None:
        tsm = G3TimestreamMap()
        for j in range(8):
            tsm[f"det{j}"] = G3Timestream(np.arange(VALUES // 8, dtype=np.float64) * j + seq)
    else:  # members are views of the caller's array: they cannot be frozen
        tsm = G3TimestreamMap([f"det{j}" for j in range(len(rows))], rows, copy_data=False)
    frame["ts"] = tsm
    return frame


def slow_clients(sender: G3NetworkSender, n: int) -> list:
    """``n`` clients that read nothing until told, with tiny receive buffers."""
    socks = [connect_client(sender.port, rcvbuf=4096) for _ in range(n)]
    wait_until(lambda: sender.statistics().connected_clients == n)
    return socks


def test_frozen_parts_equal_the_encoding_and_freeze_only_what_nothing_else_views() -> None:
    frame = vector_frame(1)
    expected = encode_frame_bytes(frame)
    parts, frozen = frozen_parts(encode_frame(frame))
    assert b"".join(bytes(p) for p in parts) == expected
    assert len(frozen) == 1 and not np.asarray(frame["data"]).flags.writeable
    frozen.release()
    assert np.asarray(frame["data"]).flags.writeable
    outside = np.asarray(frame["data"])  # a view kept by someone: no freezing now
    parts, frozen = frozen_parts(encode_frame(frame))
    assert len(frozen) == 0 and b"".join(bytes(p) for p in parts) == expected
    outside[:] = 0.0
    assert b"".join(bytes(p) for p in parts) == expected  # it was copied


def test_listen_mode_frames_changed_while_slow_clients_read_arrive_as_sent() -> None:
    sender = G3NetworkSender("*", 0, close_timeout=TIMEOUT)
    try:
        socks = slow_clients(sender, 2)
        frames = [vector_frame(0), map_frame(1), vector_frame(2)]
        expected = b"".join(encode_frame_bytes(f) for f in frames)
        for frame in frames:
            assert sender(frame) == [frame]
        # Downstream modules, while no client has read anything yet:
        for frame in frames:
            for key in ("data", "ts"):
                if key not in frame:
                    continue
                value = frame[key]
                member = value if key == "data" else value["det3"]
                with pytest.raises(ValueError, match="read-only"):
                    np.asarray(member)[:] = -1.0  # a direct write into bytes being sent
                member[0] = -2.0  # through the object: a copy of its own
                member *= 3.0
                assert np.asarray(member)[0] == -6.0 and np.asarray(member)[1] != -1.0
        frames[0]["data"].append(5.0)
        readers = [Background(recv_all, s) for s in socks]
    finally:
        sender(G3Frame(END))
    for reader in readers:
        assert reader.result() == expected
    stats = sender.statistics()
    assert stats.frames_sent == 6 and stats.frames_dropped == 0


def test_frames_encoded_by_serializer_threads_are_sent_from_their_arrays_too() -> None:
    sender = G3NetworkSender("*", 0, n_serializers=2, close_timeout=TIMEOUT)
    try:
        socks = slow_clients(sender, 2)
        large = [vector_frame(0), map_frame(1), vector_frame(2)]
        sent = list(large)
        downstream: list[G3Frame] = []
        for frame in large:
            downstream += sender(frame)
        # serialized frames pass downstream in order; small frames carry the queue on
        deadline = time.monotonic() + TIMEOUT
        while not all(any(f is g for g in downstream) for f in large):
            assert time.monotonic() < deadline
            tick = G3Frame(G3FrameType.Timepoint)
            tick["seq"] = 100 + len(sent)
            sent.append(tick)
            downstream += sender(tick)
            time.sleep(0.001)  # polling: the serializers finish on their own
        expected = b"".join(encode_frame_bytes(f) for f in sent)
        data = np.asarray(large[0]["data"])
        assert not data.flags.writeable  # sent without a copy, frozen meanwhile
        with pytest.raises(ValueError, match="read-only"):
            data[:] = -1.0
        large[1]["ts"]["det3"] *= 5.0  # through the object: a copy of its own
        large[2]["data"][0] = -7.0
        readers = [Background(recv_all, s) for s in socks]
    finally:
        sender(G3Frame(END))
    for reader in readers:
        assert reader.result() == expected


def test_arrays_are_writable_again_once_every_client_has_the_frame() -> None:
    sender = G3NetworkSender("*", 0, close_timeout=TIMEOUT)
    try:
        (sock,) = slow_clients(sender, 1)
        frame = vector_frame(3)
        sender(frame)
        assert not np.asarray(frame["data"]).flags.writeable
        reader = Background(recv_all, sock)
        wait_until(lambda: sender.statistics().queue_frames == 0)
        wait_until(lambda: np.asarray(frame["data"]).flags.writeable)
        np.asarray(frame["data"])[:] = 0.0  # no longer held by any client
    finally:
        sender(G3Frame(END))
    assert seqs_of(reader.result()) == [3]


def test_arrays_are_released_when_no_client_takes_the_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    released: list[int] = []
    release = frozen_module.Frozen.release

    def counted(self: frozen_module.Frozen) -> None:
        released.append(len(self))
        release(self)

    monkeypatch.setattr(frozen_module.Frozen, "release", counted)
    sender = G3NetworkSender("*", 0, max_queue_size=1, close_timeout=TIMEOUT)
    try:
        frame = vector_frame(4)
        sender(frame)  # no client: nobody holds it
        assert released == [1]  # the array was frozen, and let go at once
        assert np.asarray(frame["data"]).flags.writeable
    finally:
        sender(G3Frame(END))


def test_arrays_that_cannot_be_frozen_are_copied_and_stay_writable() -> None:
    rows = np.tile(np.arange(VALUES // 8, dtype=np.float64), (8, 1))
    sender = G3NetworkSender("*", 0, close_timeout=TIMEOUT)
    try:
        socks = slow_clients(sender, 1)
        viewing = map_frame(5, rows)  # members view the caller's array
        watched = vector_frame(6)
        outside = np.asarray(watched["data"])  # a view someone kept before sending
        expected = encode_frame_bytes(viewing) + encode_frame_bytes(watched)
        sender(viewing)
        sender(watched)
        rows[:] = -1.0  # both writes succeed and change nothing sent
        outside[:] = -3.0
        reader = Background(recv_all, socks[0])
    finally:
        sender(G3Frame(END))
    assert reader.result() == expected


def seqs_of(data: bytes) -> list[int]:
    return [f["seq"] for f in decode_all(data)]


def test_views_of_immutable_bytes_are_kept_and_other_memory_is_copied() -> None:
    raw = np.arange(4, dtype=np.float64).tobytes()
    readonly_view = np.frombuffer(raw, dtype=np.float64)  # memory of a bytes object
    mutable = bytearray(raw)
    parts, frozen = frozen_parts(
        [b"head", memoryview(readonly_view).cast("B"), memoryview(mutable), bytearray(b"tail")]
    )
    assert len(frozen) == 0
    assert isinstance(parts[1], memoryview) and parts[1].obj is readonly_view  # kept
    assert [type(p) for p in parts[2:]] == [bytes, bytes]  # copied
    mutable[:] = bytes(len(mutable))
    assert b"".join(bytes(p) for p in parts) == b"head" + raw + raw + b"tail"


def test_without_reference_counts_every_array_is_copied(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frozen_module, "_COUNTED", False)  # as on an interpreter without them
    frame = vector_frame(7)
    expected = encode_frame_bytes(frame)
    parts, frozen = frozen_parts(encode_frame(frame))
    assert len(frozen) == 0 and np.asarray(frame["data"]).flags.writeable
    np.asarray(frame["data"])[:] = 0.0
    assert b"".join(bytes(p) for p in parts) == expected


class KeepingExecutor(Executor):
    """Runs each task at once and keeps its arguments, as an executor may for a while."""

    def __init__(self) -> None:
        self.kept: list[tuple[Any, ...]] = []

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.kept.append(args)
        future: Future[Any] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def test_frames_checksummed_with_a_helper_can_still_be_frozen() -> None:
    # the helper's task must hold no view of the arrays once the checksum is
    # known, or they could not be frozen (a copy in listen mode, a wait in
    # connect mode), however long the executor keeps the task's arguments
    for helper in (KeepingExecutor(), ThreadPoolExecutor(1)):
        for seq in range(20):
            frame = vector_frame(seq)
            expected = encode_frame_bytes(frame)
            parts, frozen = frozen_parts(encode_frame(frame, helper), copy=False)
            assert len(frozen) == 1 and not frozen.exposed
            assert b"".join(bytes(p) for p in parts) == expected
            frozen.release()
        helper.shutdown()
