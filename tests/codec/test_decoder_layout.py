"""Frames that repeat the previous frame's shape take the decoder's short cut: same results."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from g3stream import G3Frame, G3FrameType, G3Time, G3VectorInt
from g3stream.codec.container import decode_frame, encode_frame_bytes
from g3stream.codec.decoder import FrameDecoder
from g3stream.errors import CRCMismatchError
from g3stream.objects.vectors import same_value


def _timepoint(i: int, frame_type: str = "T") -> bytes:
    f = G3Frame(frame_type)
    f["EventHeader"] = G3Time(i)
    f["a"] = i
    f["b"] = -i
    return encode_frame_bytes(f)


def _decode_all(data: bytes, piece: int) -> list[G3Frame]:
    dec = FrameDecoder()
    out: list[G3Frame] = []
    for k in range(0, len(data), piece):
        dec.feed(data[k : k + piece])
        out += dec.frames()
    dec.close()
    return out


def _check(frames: list[bytes], piece: int) -> None:
    data = b"".join(frames)
    got = _decode_all(data, piece)
    assert len(got) == len(frames)
    offset = 0
    for frame, raw in zip(got, frames, strict=True):
        expected = decode_frame(raw, offset)
        assert frame.type == expected.type
        assert frame.stream_offset == offset
        assert list(frame.keys()) == list(expected.keys())
        for key in frame.keys():
            assert same_value(frame[key], expected[key])  # numeric vectors: == is element-wise
        assert bytes(frame.encoded()) == raw
        offset += len(raw)


@pytest.mark.parametrize("piece", [1, 7, 100, 4096, 1 << 20])
def test_same_shape_different_types_and_values(piece: int) -> None:
    frames = [_timepoint(i, random.Random(i).choice("TSHAB")) for i in range(300)]
    _check(frames, piece)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.lists(st.integers(-(2**40), 2**40), max_size=4)),
        min_size=1,
        max_size=40,
    )
)
def test_changing_shapes(spec: list[tuple[int, list[int]]]) -> None:
    frames = []
    for n_keys, values in spec:
        f = G3Frame(G3FrameType.Timepoint)
        for k in range(n_keys):
            f[f"k{k}"] = G3VectorInt(values)  # the value widths change the blob sizes
        frames.append(encode_frame_bytes(f))
    _check(frames, 13)


def test_damaged_frame_of_a_repeated_shape_is_reported_and_skipped() -> None:
    frames = [_timepoint(i) for i in range(50)]
    bad = bytearray(frames[20])
    bad[-10] ^= 0x40  # inside the last blob: same shape, wrong CRC
    frames[20] = bytes(bad)
    dec = FrameDecoder()
    dec.feed(b"".join(frames))
    good: list[G3Frame] = []
    errors = []
    while True:
        try:
            got = dec.frames()
        except CRCMismatchError as exc:
            errors.append(exc.offset)
            continue
        if not got:
            break
        good += got
    assert errors == [sum(len(f) for f in frames[:20])]
    assert [f["a"] for f in good] == [i for i in range(50) if i != 20]
