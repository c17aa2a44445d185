"""Single-value blobs decoded by their fixed layout agree with the general archive reader."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from g3stream import G3Bool, G3Double, G3Int, G3Time
from g3stream.cereal import decode_object, encode_object_bytes
from g3stream.cereal.archive import ArchiveReader


def _general(blob: bytes) -> object:
    return ArchiveReader(blob).pointer()


def _same(a: object, b: object) -> bool:
    if type(a) is not type(b):
        return False
    va = getattr(a, "value", getattr(a, "time", None))
    vb = getattr(b, "value", getattr(b, "time", None))
    if isinstance(va, float) and isinstance(vb, float):
        return math.copysign(1, va) == math.copysign(1, vb) and (
            va == vb or (math.isnan(va) and math.isnan(vb))
        )
    return bool(va == vb)


@given(st.integers(-(2**63), 2**63 - 1))
def test_int_and_time(v: int) -> None:
    for obj in (G3Int(v), G3Time(v)):
        blob = encode_object_bytes(obj)
        assert _same(decode_object(blob), _general(blob))
        assert _same(decode_object(blob), obj)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_double(v: float) -> None:
    blob = encode_object_bytes(G3Double(v))
    assert _same(decode_object(blob), _general(blob))


def test_bool_and_a_blob_with_a_trailing_byte() -> None:
    for v in (False, True):
        blob = encode_object_bytes(G3Bool(v))
        assert _same(decode_object(blob), _general(blob))
    # one byte more: no longer the fixed layout, the general reader ignores the tail
    blob = encode_object_bytes(G3Int(5)) + b"\x00"
    assert decode_object(blob) == G3Int(5)
