"""Object blobs: cut, corrupted and hostile archives, and big-endian archives.

Every blob of the vector and map classes is cut at every position and has
random bytes changed: decoding must either succeed or raise a
``G3FormatError`` subclass, never anything else, and never allocate in
proportion to a corrupted count.  Big-endian archives must decode to the
same values as little-endian ones.
"""

from __future__ import annotations

import struct
import time
import tracemalloc
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from g3stream.cereal import decode_object, encode_object_bytes
from g3stream.cereal.archive import ArchiveWriter
from g3stream.errors import (
    G3FormatError,
    InvalidEndianError,
    InvalidLengthError,
    TruncatedFrameError,
    UnknownClassError,
    UnknownTypeCodeError,
    UnsupportedVersionError,
)
from g3stream.objects import G3Double, G3Int, G3String, G3Time, OpaqueFrameObject, Quat
from g3stream.objects.maps import (
    G3MapDouble,
    G3MapFrameObject,
    G3MapInt,
    G3MapMapDouble,
    G3MapQuat,
    G3MapString,
    G3MapTime,
    G3MapVectorBool,
    G3MapVectorComplexDouble,
    G3MapVectorDouble,
    G3MapVectorInt,
    G3MapVectorQuat,
    G3MapVectorString,
    G3MapVectorTime,
    G3MapVectorVectorString,
)
from g3stream.objects.vectors import (
    G3VectorBool,
    G3VectorComplexDouble,
    G3VectorDouble,
    G3VectorFrameObject,
    G3VectorInt,
    G3VectorQuat,
    G3VectorString,
    G3VectorTime,
    G3VectorUnsignedChar,
    G3VectorVectorString,
    same_value,
)


def _samples() -> dict[str, Any]:
    x = G3Int(4)
    return {
        "G3VectorDouble": G3VectorDouble([1.5, -0.0, float("nan")]),
        "G3VectorInt": G3VectorInt([1, -300, 70000]),
        "G3VectorInt64": G3VectorInt([2**40, -1]),
        "G3VectorBool": G3VectorBool([True, False, True]),
        "G3VectorComplexDouble": G3VectorComplexDouble([1 + 2j, -3j]),
        "G3VectorUnsignedChar": G3VectorUnsignedChar(b"\x00\x01\xff"),
        "G3VectorTime": G3VectorTime([G3Time(1), G3Time(-2)]),
        "G3VectorQuat": G3VectorQuat([Quat(1, 2, 3, 4), Quat(0, 0, 0, -1)]),
        "G3VectorString": G3VectorString(["", "é", "abc"]),
        "G3VectorVectorString": G3VectorVectorString([["a"], [], ["b", "c"]]),
        "G3VectorFrameObject": G3VectorFrameObject([x, None, G3Double(2.0), x, G3String("s")]),
        "G3MapDouble": G3MapDouble({"a": 1.0, "b": 2.0}),
        "G3MapInt": G3MapInt({"a": 1, "b": -70000}),
        "G3MapString": G3MapString({"a": "x", "": "y"}),
        "G3MapVectorDouble": G3MapVectorDouble({"a": [1.0], "b": []}),
        "G3MapVectorInt": G3MapVectorInt({"a": [1, 1000], "b": [2**40]}),
        "G3MapVectorBool": G3MapVectorBool({"a": [True, False]}),
        "G3MapVectorComplexDouble": G3MapVectorComplexDouble({"z": [1j]}),
        "G3MapVectorString": G3MapVectorString({"a": ["x", "yy"]}),
        "G3MapMapDouble": G3MapMapDouble({"o": G3MapDouble({"i": 1.0}), "p": G3MapDouble()}),
        "G3MapTime": G3MapTime({"t": G3Time(5), "u": G3Time(6)}),
        "G3MapVectorTime": G3MapVectorTime({"a": [G3Time(1)], "b": [G3Time(2), G3Time(3)]}),
        "G3MapVectorVectorString": G3MapVectorVectorString({"a": [["x"], ["y", "z"]]}),
        "G3MapQuat": G3MapQuat({"q": Quat(1, 0, 0, 0)}),
        "G3MapVectorQuat": G3MapVectorQuat({"q": [Quat(1, 2, 3, 4)]}),
        "G3MapFrameObject": G3MapFrameObject(
            {"i": G3Int(1), "n": None, "m": G3MapFrameObject({"v": G3VectorInt([1])})}
        ),
    }


SAMPLES = _samples()
BLOBS = {name: encode_object_bytes(obj) for name, obj in SAMPLES.items()}


def _decode_bounded(blob: bytes) -> Any:
    """Decode, asserting the time and memory spent stay small whatever the outcome."""
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        try:
            return decode_object(blob)
        finally:
            _, peak = tracemalloc.get_traced_memory()
            assert peak < 1 << 20, f"{peak} bytes allocated"
            assert time.perf_counter() - t0 < 1.0
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", sorted(BLOBS))
def test_every_cut_raises_a_typed_error(name: str) -> None:
    """Every strict prefix of a blob fails with a format error (never IndexError etc.)."""
    blob = BLOBS[name]
    for n in range(len(blob)):
        with pytest.raises(G3FormatError) as info:
            decode_object(blob[:n])
        assert isinstance(info.value, TruncatedFrameError | InvalidLengthError)
        assert info.value.offset is not None and 0 <= info.value.offset <= n


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(BLOBS)), st.data())
def test_corrupted_blobs_fail_cleanly(name: str, data: st.DataObject) -> None:
    """Random byte changes either still decode or raise a G3FormatError, quickly and small."""
    blob = bytearray(BLOBS[name])
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(blob) - 1))
        blob[i] = data.draw(st.integers(0, 255))
    try:
        _decode_bounded(bytes(blob))
    except G3FormatError:
        pass


def _with_count(prefix_name: str, count_at: int, value: int, fmt: str = "<Q") -> bytes:
    blob = bytearray(BLOBS[prefix_name])
    struct.pack_into(fmt, blob, count_at, value)
    return bytes(blob)


def _count_offset(name: str) -> int:
    # flag + name id + name + pointer id + the class versions (2 x u32)
    return 1 + 4 + 8 + len(name) + 4 + 8


@pytest.mark.parametrize(
    "name",
    [
        "G3VectorDouble",
        "G3VectorBool",
        "G3VectorComplexDouble",
        "G3VectorUnsignedChar",
        "G3VectorTime",
        "G3VectorQuat",
        "G3VectorString",
        "G3VectorVectorString",
        "G3VectorFrameObject",
        "G3MapDouble",
        "G3MapString",
        "G3MapVectorDouble",
        "G3MapTime",
    ],
)
@pytest.mark.parametrize("count", [2**31, 2**60, 2**64 - 1])
def test_hostile_counts_are_refused_before_allocating(name: str, count: int) -> None:
    """A size tag far beyond the blob's length is refused with the offset of the tag."""
    at = _count_offset(name)
    blob = _with_count(name, at, count)
    with pytest.raises(InvalidLengthError) as info:
        _decode_bounded(blob)
    assert info.value.offset == at


@pytest.mark.parametrize("name", ["G3MapFrameObject", "G3MapVectorInt"])
def test_hostile_u32_counts(name: str) -> None:
    """The u32 entry counts of G3MapFrameObject and G3MapVectorInt are checked too."""
    at = _count_offset(name)
    blob = _with_count(name, at, 0xFFFFFFFF, "<I")
    with pytest.raises(InvalidLengthError):
        _decode_bounded(blob)


def test_hostile_nested_archive_size() -> None:
    """A nested archive claiming 2^62 bytes is refused."""
    blob = bytearray(BLOBS["G3MapFrameObject"])
    at = _count_offset("G3MapFrameObject") + 4 + 8 + 1  # count, key length, key "i"
    struct.pack_into("<Q", blob, at, 1 << 62)
    with pytest.raises(InvalidLengthError):
        _decode_bounded(bytes(blob))


def test_bad_store_bits_and_versions() -> None:
    """An integer width other than 8/16/32/64, or a newer class version, is refused."""
    at = _count_offset("G3VectorInt")
    blob = _with_count("G3VectorInt", at, 12, "<i")
    with pytest.raises(UnknownTypeCodeError):
        decode_object(blob)
    blob = _with_count("G3VectorInt", at - 8, 3, "<I")  # ver(G3VectorInt) = 3
    with pytest.raises(UnsupportedVersionError):
        decode_object(blob)
    blob = _with_count("G3MapDouble", _count_offset("G3MapDouble") - 8, 2, "<I")
    with pytest.raises(UnsupportedVersionError):
        decode_object(blob)


def test_unknown_and_undefined_references() -> None:
    """Unknown class names, undefined name ids and dangling pointer ids are typed errors."""
    # an unknown class inside a vector of frame objects cannot be skipped
    vfo = bytearray(encode_object_bytes(G3VectorFrameObject([G3Int(1)])))
    i = vfo.index(b"G3Int")
    vfo[i : i + 5] = b"G3Inx"
    with pytest.raises(UnknownClassError):
        decode_object(bytes(vfo))
    # at the root it becomes an opaque object that keeps the bytes
    root = bytearray(encode_object_bytes(G3Int(1)))
    root[13:18] = b"G3Inx"
    opaque = decode_object(bytes(root))
    assert isinstance(opaque, OpaqueFrameObject) and opaque.blob == bytes(root)
    # a name id and a pointer id that were never defined
    x = G3Int(1)
    blob = bytearray(encode_object_bytes(G3VectorFrameObject([x, x])))
    struct.pack_into("<I", blob, len(blob) - 8, 9)
    with pytest.raises(UnknownTypeCodeError):
        decode_object(bytes(blob))
    blob = bytearray(encode_object_bytes(G3VectorFrameObject([x, x])))
    struct.pack_into("<I", blob, len(blob) - 4, 9)
    with pytest.raises(UnknownTypeCodeError):
        decode_object(bytes(blob))
    with pytest.raises(InvalidEndianError):
        decode_object(b"\x05" + BLOBS["G3VectorDouble"][1:])


def test_duplicate_map_keys_keep_the_first() -> None:
    """A crafted map holding one key twice keeps the first value, like std::map."""
    head = bytes.fromhex("01 01000080 0800000000000000") + b"G3MapInt"
    head += bytes.fromhex("01000080 02000000 01000000")
    body = struct.pack("<iQ", 8, 2) + struct.pack("<Q", 1) + b"k\x05"
    body += struct.pack("<Q", 1) + b"k\x07"
    m = decode_object(head + body)
    assert dict(m) == {"k": 5}


# -- big-endian archives -------------------------------------------------------------


def _big_endian(obj: Any) -> bytes:
    w = ArchiveWriter(little=False)
    w.pointer(obj)
    return w.getvalue()


@pytest.mark.parametrize("name", sorted(BLOBS))
def test_big_endian_blobs_decode_to_the_same_values(name: str) -> None:
    """The same object in a big-endian archive decodes to the same values.

    Re-encoding the big-endian reading little-endian gives the little-endian blob.
    """
    be = _big_endian(SAMPLES[name])
    assert be[0] == 0 and be != BLOBS[name]
    back = decode_object(be)
    assert encode_object_bytes(back) == BLOBS[name]
    assert _big_endian(back) == be


floats = st.floats(allow_nan=False)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(floats, max_size=10),
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=10),
    st.lists(st.builds(complex, floats, floats), max_size=5),
    st.dictionaries(st.text(max_size=5), st.lists(st.integers(-(2**31), 2**31), max_size=4)),
)
def test_big_endian_property(
    d: list[float], i: list[int], c: list[complex], mvi: dict[str, list[int]]
) -> None:
    """Random numeric vectors and integer maps survive a big-endian archive, element by element."""
    for obj in (G3VectorDouble(d), G3VectorInt(i), G3VectorComplexDouble(c), G3MapVectorInt(mvi)):
        back = decode_object(_big_endian(obj))
        assert same_value(back, obj)  # numeric vectors: == is element-wise
        if not isinstance(obj, G3MapVectorInt):
            assert np.asarray(back).dtype.isnative


def _deep_vector_frame_object(depth: int) -> bytes:
    name = b"G3VectorFrameObject"
    b = bytearray(b"\x01" + struct.pack("<IQ", 0x80000001, len(name)) + name)
    b += struct.pack("<IIIQ", 0x80000001, 1, 1, 1)
    for i in range(depth):
        b += struct.pack("<IIQ", 1, 0x80000000 | (i + 2), 1)
    b += struct.pack("<I", 0)
    return bytes(b)


def _deep_map_frame_object(depth: int) -> bytes:
    inner = encode_object_bytes(G3MapFrameObject())
    null = struct.pack("<Q", 5) + b"\x01\x00\x00\x00\x00"
    for _ in range(depth):
        outer = encode_object_bytes(G3MapFrameObject({"a": None}))
        at = outer.rindex(null)
        inner = outer[:at] + struct.pack("<Q", len(inner)) + inner
    return inner


def test_moderate_nesting_decodes() -> None:
    """Nesting a few dozen levels deep is fine."""
    v = decode_object(_deep_vector_frame_object(40))
    for _ in range(41):  # the root and 40 levels inside it
        (v,) = v
    assert v is None
    m = decode_object(_deep_map_frame_object(40))
    for _ in range(40):
        m = m["a"]
    assert len(m) == 0


@pytest.mark.parametrize("make", [_deep_vector_frame_object, _deep_map_frame_object])
def test_hostile_nesting_is_a_format_error(make: Any) -> None:
    """Thousands of nested objects give a typed error, not a RecursionError."""
    with pytest.raises(InvalidLengthError):
        decode_object(make(5000))
