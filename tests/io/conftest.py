"""Fixtures for the file-layer tests: small frames and streams built with g3stream."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from g3stream import G3Frame, G3FrameType, G3Time, G3VectorDouble
from g3stream.codec.container import encode_frame_bytes


def build_frame(i: int, ftype: G3FrameType = G3FrameType.Scan, size: int = 16) -> G3Frame:
    """A frame with scalars, a time and a vector, all derived from ``i``."""
    f = G3Frame(ftype)
    f["index"] = i
    f["value"] = i * 0.5
    f["label"] = f"frame {i}"
    f["when"] = G3Time(1_700_000_000 * 100_000_000 + i)
    f["samples"] = G3VectorDouble(np.arange(size, dtype=np.float64) + i)
    return f


@pytest.fixture
def make_frame() -> Callable[..., G3Frame]:
    """``make_frame(i, ftype=Scan, size=16)``: a deterministic test frame."""
    return build_frame


@pytest.fixture
def stream_of() -> Callable[[list[G3Frame]], bytes]:
    """The G3 byte stream of a list of frames (concatenated encodings)."""

    def join(frames: list[G3Frame]) -> bytes:
        return b"".join(encode_frame_bytes(f) for f in frames)

    return join
