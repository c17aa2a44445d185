"""Frames and readers shared by the NATS tests."""

from __future__ import annotations

import time
from collections.abc import Iterator

from g3stream.codec.container import decode_frame
from g3stream.frame import G3Frame, G3FrameType
from g3stream.nats import NatsSource


def numbered(i: int, ftype: G3FrameType | str = G3FrameType.Timepoint, **extra: object) -> G3Frame:
    """A frame of ``ftype`` holding its sequence number ``i`` (and any ``extra`` values)."""
    f = G3Frame(ftype)
    f["i"] = i
    for k, v in extra.items():
        f[k] = v
    return f


def deliveries(source: NatsSource, count: int, timeout: float = 60.0) -> Iterator[G3Frame]:
    """``count`` frames from ``source`` (each with ``.delivery``), or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    got = 0
    while got < count:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out: {got} of {count} frames arrived")
        d = source.next_delivery(min(left, 1.0))
        if d is None:
            continue
        got += 1
        yield decode_frame(d.data)


def read_numbers(source: NatsSource, count: int, timeout: float = 60.0) -> list[int]:
    """The ``i`` values of the next ``count`` frames of ``source``."""
    return [int(f["i"]) for f in deliveries(source, count, timeout)]
