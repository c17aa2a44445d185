"""G3SuperTimestream (so3g's format, read only): vectors, the reference's reader, bad input.

Besides the crafted vectors, random objects are written here byte by byte
following FORMAT.md section 11 (every time and data compression mode, every
per-channel block code, all four sample types, gaps in the time vector);
this package must decode them to the values they were built from, and to
exactly what the reference's reader returns for the same bytes.
"""

from __future__ import annotations

import bz2
import json
import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vectorfiles import VECTORS, vector_entries

from g3stream import G3Frame, G3FrameType
from g3stream.cereal import OpaqueFrameObject, decode_object, encode_object_bytes
from g3stream.codec.container import encode_frame_bytes
from g3stream.errors import G3FormatError, InvalidLengthError, UnknownTypeCodeError
from g3stream.objects.flac import encode_flac
from g3stream.objects.supertimestream import G3SuperTimestream
from g3stream.objects.timestream import G3Timestream
from g3stream.objects.timestreammap import G3TimestreamMap

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TYPE_NUMS = {
    np.dtype("int32"): 5,
    np.dtype("int64"): 7,
    np.dtype("float32"): 11,
    np.dtype("float64"): 12,
}


ENTRIES = vector_entries("supertimestream")


@pytest.mark.parametrize("key,blob,entry", ENTRIES, ids=[e[0] for e in ENTRIES])
def test_vector_decodes(key: str, blob: bytes, entry: dict[str, Any]) -> None:
    m = decode_object(blob)
    assert isinstance(m, G3TimestreamMap)
    assert m.source_class == "G3SuperTimestream"
    assert m._source is not None and m._source[1] == entry["value"]["encoding"]
    assert json.dumps(m._json_payload()) == json.dumps(entry["value"]["value"])


@pytest.mark.parametrize("key,blob,entry", ENTRIES, ids=[e[0] for e in ENTRIES])
def test_decoded_map_is_written_as_a_timestream_map(
    key: str, blob: bytes, entry: dict[str, Any]
) -> None:
    m = decode_object(blob)
    again = decode_object(encode_object_bytes(m))
    assert type(again) is G3TimestreamMap and again.source_class == "G3TimestreamMap"
    assert again == m


def test_raw_blocks_are_not_copied() -> None:
    (blob,) = [b for k, b, _ in ENTRIES if k == "f64_raw"]
    buf = bytearray(blob)
    m = decode_object(memoryview(buf))
    arr = np.asarray(m["r"])
    assert np.shares_memory(arr, np.frombuffer(buf, dtype=np.uint8))
    assert not arr.flags.writeable


def test_not_constructible() -> None:
    with pytest.raises(TypeError):
        G3SuperTimestream()


# -- a writer for the so3g layout (test side only) ------------------------------------


def _string(s: str) -> bytes:
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def craft(
    names: list[str],
    times: np.ndarray,
    blocks: np.ndarray | list[bytes],
    dtype: np.dtype,
    times_algo: int,
    data_algo: int,
    quanta: list[float] | None = None,
    flac_level: int = 1,
    shape_junk: int = 0,
) -> bytes:
    """A G3SuperTimestream blob: ``blocks`` is the raw 2-D array (data_algo 0) or channel blocks."""
    out = bytearray(b"\x01")
    out += (
        struct.pack("<I", 0x80000001) + _string("G3SuperTimestream") + struct.pack("<I", 0x80000001)
    )
    out += struct.pack("<II", 0, 1)  # ver(G3SuperTimestream), ver(G3FrameObject)
    out += struct.pack("<bbb", flac_level, 30, times_algo)
    n = len(times)
    if times_algo == 0:
        out += struct.pack("<IQ", 1, n)  # ver(G3VectorTime), count
        if n:
            out += struct.pack("<I", 1) + np.asarray(times, dtype="<i8").tobytes()
    else:
        comp = bz2.compress(np.asarray(times, dtype="<i8").tobytes())
        out += struct.pack("<iI", n, len(comp)) + comp
    out += struct.pack("<IQ", 1, len(names)) + b"".join(_string(s) for s in names)
    shape = [len(names), n] + [shape_junk] * 30
    nbytes = len(names) * n * dtype.itemsize
    out += struct.pack("<qq", TYPE_NUMS[dtype], 2) + struct.pack("<32q", *shape)
    out += struct.pack("<qb", nbytes, data_algo)
    if data_algo == 0:
        assert isinstance(blocks, np.ndarray)
        out += blocks.astype(dtype.newbyteorder("<")).tobytes()
        return bytes(out)
    q = quanta or []
    out += struct.pack("<Q", len(q)) + struct.pack(f"<{len(q)}d", *q)
    offsets = [0]
    for b in blocks:
        offsets.append(offsets[-1] + len(b))
    out += struct.pack("<Q", len(offsets)) + struct.pack(f"<{len(offsets)}i", *offsets)
    payload = b"".join(blocks)
    out += struct.pack("<i", len(payload)) + payload
    return bytes(out)


def channel_block(values: np.ndarray, algo: int, itype: np.dtype, level: int) -> bytes:
    """A channel block whose parts add up to ``values`` (integers of ``itype``)."""
    v = values.astype(itype)
    if algo == 0:
        return b"\x00" + v.astype(itype.newbyteorder("<")).tobytes()
    rest = v.copy()
    const = None
    if algo & 4:
        const = v[0] if v.size else itype.type(0)
        rest = rest - const
    block = bytes([algo])
    if algo & 1:
        low = ((rest.astype(np.int64) << 40) >> 40).astype(np.int32)  # low 24 bits, signed
        if not algo & 2:
            assert np.array_equal(low.astype(itype), rest), "FLAC alone must hold the values"
        flac = encode_flac(low, level, 24)
        block += struct.pack("<i", len(flac)) + flac
        rest = rest - low.astype(itype)
    if algo & 2:
        comp = bz2.compress(rest.astype(itype.newbyteorder("<")).tobytes())
        block += struct.pack("<i", len(comp)) + comp
    else:
        assert not rest.any()
    if algo & 4:
        block += np.asarray([const], dtype=itype.newbyteorder("<")).tobytes()
    return block


@st.composite
def super_specs(draw: Any) -> dict[str, Any]:
    dtype = np.dtype(draw(st.sampled_from(["int32", "int64", "float32", "float64"])))
    itype = np.dtype("int32") if dtype.itemsize == 4 else np.dtype("int64")
    n_det = draw(st.integers(0, 4))
    n = draw(st.integers(2, 300))
    steps = draw(st.lists(st.sampled_from([1, 1, 1, 1, 2, 3]), min_size=n - 1, max_size=n - 1))
    if not draw(st.booleans()):
        steps = [1] * (n - 1)
    t0 = draw(st.integers(0, 2**60))
    dt = draw(st.integers(1, 10**6))
    times = t0 + dt * np.concatenate(([0], np.cumsum(steps))).astype(np.int64)
    data_algo = draw(st.sampled_from([0, 1, 2, 3]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    names = [f"det{i:02d}" for i in range(n_det)]
    wide = 2**40 if itype.itemsize == 8 else 2**30
    channels, algos = [], []
    for _ in range(n_det):
        if data_algo == 0:
            algo = 0
        else:
            algo = draw(st.sampled_from([0, 1, 3, 5, 7, 2, 6, 4]))
            if data_algo == 1 and algo & 2:
                algo &= ~2
                algo = algo or 1
        if algo == 1:  # FLAC without BZ: the values must fit in 24 bits
            vals = rng.integers(-(2**23), 2**23, n)
        elif algo == 5:  # ... and so must their offsets from the constant
            vals = rng.integers(-(2**22), 2**22, n)
        elif algo in (4,):
            vals = np.full(n, rng.integers(-wide, wide))
        else:
            vals = rng.integers(-wide, wide, n)
        channels.append(vals)
        algos.append(algo)
    ints = np.array(channels, dtype=itype).reshape(n_det, n)
    return {
        "dtype": dtype,
        "itype": itype,
        "times": times,
        "names": names,
        "ints": ints,
        "algos": algos,
        "data_algo": data_algo,
        "times_algo": draw(st.sampled_from([0, 2])),
        "level": draw(st.integers(1, 9)),
        "quanta": [float(draw(st.sampled_from([1.0, 0.5, 1e-3, 0.1, 3.0]))) for _ in names],
    }


def expected_values(spec: dict[str, Any]) -> np.ndarray:
    """The decoded channel values (before gap filling), computed from the integers."""
    dtype, ints = spec["dtype"], spec["ints"]
    if dtype.kind == "i":
        return ints.astype(dtype)
    if spec["data_algo"] == 0:
        return ints.astype(dtype)  # the raw block is written from these floats
    out = np.empty(ints.shape, dtype=dtype)
    for i, q in enumerate(spec["quanta"]):
        out[i] = (ints[i].astype(dtype).astype(np.float64) * q).astype(dtype)
    return out


def build(spec: dict[str, Any]) -> bytes:
    dtype, itype = spec["dtype"], spec["itype"]
    if spec["data_algo"] == 0:
        return craft(
            spec["names"],
            spec["times"],
            spec["ints"].astype(dtype),
            dtype,
            spec["times_algo"],
            0,
            flac_level=spec["level"],
            shape_junk=12345,
        )
    blocks = []
    for vals, algo in zip(spec["ints"], spec["algos"], strict=True):
        if algo == 0 and dtype.kind == "f":
            # a raw float channel: its bit patterns are what gets rescaled
            raw = vals.astype(dtype)
            blocks.append(b"\x00" + raw.astype(dtype.newbyteorder("<")).tobytes())
        else:
            blocks.append(channel_block(vals, algo, itype, spec["level"]))
    quanta = spec["quanta"] if dtype.kind == "f" else []
    return craft(
        spec["names"],
        spec["times"],
        blocks,
        dtype,
        spec["times_algo"],
        spec["data_algo"],
        quanta=quanta,
        flac_level=spec["level"],
    )


def gap_layout(times: np.ndarray) -> tuple[np.ndarray, int]:
    """Positions of the samples after filling gaps, and the filled length (FORMAT.md 11.4)."""
    d = np.diff(times).astype(np.float64)
    dt = np.sort(d)[(len(times) - 1) // 2]
    pos, at = [0], 0
    for x in d:
        q = x / dt - 1
        m = int(np.floor(q + 0.5)) if q >= 0 else int(np.ceil(q - 0.5))
        at += max(m, 0) + 1
        pos.append(at)
    return np.array(pos), at + 1


@SETTINGS
@given(spec=super_specs())
def test_random_objects_decode_to_their_values(spec: dict[str, Any]) -> None:
    m = decode_object(build(spec))
    assert isinstance(m, G3TimestreamMap)
    values = expected_values(spec)
    if spec["dtype"].kind == "f" and spec["data_algo"]:
        raw = [i for i, a in enumerate(spec["algos"]) if a == 0]
        for i in raw:  # raw float bits read as integers, then scaled (reference quirk)
            bits = spec["ints"][i].astype(spec["dtype"]).view(spec["itype"])
            values[i] = (bits.astype(spec["dtype"]).astype(np.float64) * spec["quanta"][i]).astype(
                spec["dtype"]
            )
    pos, total = gap_layout(spec["times"])
    gaps = total != len(spec["times"])
    # integer data with gaps get a "_nanmask" member, even without channels (as the reference)
    expected_keys = spec["names"] + (["_nanmask"] if gaps and spec["dtype"].kind == "i" else [])
    assert list(m) == expected_keys
    level = spec["level"] if spec["dtype"] == np.int32 else 0
    for i, name in enumerate(spec["names"]):
        ts = m[name]
        assert isinstance(ts, G3Timestream) and ts.dtype == spec["dtype"]
        assert (ts.start.time, ts.stop.time) == (int(spec["times"][0]), int(spec["times"][-1]))
        assert ts.compression_level == level and ts.bit_depth == 32 and int(ts.units) == 0
        got = np.asarray(ts)
        assert len(got) == total
        np.testing.assert_array_equal(got[pos], values[i])
        if gaps:
            holes = np.ones(total, bool)
            holes[pos] = False
            fill = got[holes]
            assert np.isnan(fill).all() if spec["dtype"].kind == "f" else not fill.any()
    if "_nanmask" in expected_keys:
        mask = np.asarray(m["_nanmask"])
        assert mask.dtype == spec["dtype"] and mask.sum() == total - len(pos)
        assert not mask[pos].any()


def _reference_defined(spec: dict[str, Any], blob: bytes) -> bool:
    """Whether the reference's reader gives a defined result for these bytes.

    Not when a channel has BZ or CONST without FLAC (it adds to uninitialised
    memory), nor BZ together with CONST (it does not step over the bzip2 block,
    so it takes the constant from the block's first bytes), nor when a bzip2
    block is longer than the samples it holds (it hands bzip2 only that many
    bytes and aborts).  so3g never writes any of these.
    """
    if spec["data_algo"] == 0:
        return True
    for a in spec["algos"]:
        if a and (not a & 1 or (a & 6) == 6 or (a & 2 and not spec["data_algo"] & 2)):
            return False
    n_bytes = len(spec["times"]) * spec["itype"].itemsize
    pos = 0
    while (i := blob.find(b"BZh", pos)) >= 0:
        (k,) = struct.unpack_from("<i", blob, i - 4)
        if 0 < k < len(blob) and k > n_bytes:
            return False
        pos = i + 3
    return True


@SETTINGS
@given(spec=super_specs())
def test_random_objects_match_the_reference_reader(
    tmp_path_factory: Any, spec: dict[str, Any]
) -> None:
    core = pytest.importorskip("spt3g.core")
    blob = build(spec)
    if not _reference_defined(spec, blob):
        return
    frame = G3Frame(G3FrameType.Scan)
    frame["st"] = OpaqueFrameObject("G3SuperTimestream", blob)
    path = tmp_path_factory.mktemp("super") / "crafted.g3"
    path.write_bytes(encode_frame_bytes(frame))
    (ref_frame,) = list(core.G3File(str(path)))
    ref = ref_frame["st"]
    mine = decode_object(blob)
    assert list(mine) == list(ref.keys())
    for k in mine:
        a, b = np.asarray(mine[k]), np.asarray(ref[k])
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes() or np.array_equal(a, b, equal_nan=True)
        assert (mine[k].start.time, mine[k].stop.time) == (ref[k].start.time, ref[k].stop.time)
        assert mine[k].compression_level == ref[k].compression_level


def test_vectors_match_the_reference_reader() -> None:
    core = pytest.importorskip("spt3g.core")
    meta = json.loads((VECTORS / "supertimestream.json").read_text(encoding="utf-8"))
    (ref_frame,) = list(core.G3File(str(VECTORS / meta["file"])))
    for key, blob, entry in ENTRIES:
        if entry.get("reference_undefined"):
            continue
        mine, ref = decode_object(blob), ref_frame[key]
        assert list(mine) == list(ref.keys())
        for k in mine:
            assert np.asarray(mine[k]).tobytes() == np.asarray(ref[k]).tobytes()


# -- bad input -----------------------------------------------------------------------

SIMPLE = {
    "dtype": np.dtype("int32"),
    "itype": np.dtype("int32"),
    "times": np.arange(50, dtype=np.int64) * 1000,
    "names": ["a", "b"],
    "ints": np.arange(100, dtype=np.int32).reshape(2, 50),
    "algos": [3, 5],
    "data_algo": 3,
    "times_algo": 2,
    "level": 3,
    "quanta": [1.0, 1.0],
}


def test_every_truncation_is_a_typed_error() -> None:
    for spec in (SIMPLE, dict(SIMPLE, data_algo=0, times_algo=0)):
        blob = build(spec)
        assert decode_object(blob) is not None
        for cut in range(1, len(blob)):
            with pytest.raises(G3FormatError):
                decode_object(blob[:cut])


def _replace(blob: bytes, old: bytes, new: bytes) -> bytes:
    assert blob.count(old) == 1
    return blob.replace(old, new)


def test_bad_fields_are_typed_errors() -> None:
    blob = build(SIMPLE)
    with pytest.raises(UnknownTypeCodeError):  # numpy type number 6 is not supported
        decode_object(_replace(blob, struct.pack("<qq", 5, 2), struct.pack("<qq", 6, 2)))
    with pytest.raises(InvalidLengthError):  # three dimensions
        decode_object(_replace(blob, struct.pack("<qq", 5, 2), struct.pack("<qq", 5, 3)))
    with pytest.raises(UnknownTypeCodeError):  # times_algo 1
        decode_object(_replace(blob, struct.pack("<bbb", 3, 30, 2), struct.pack("<bbb", 3, 30, 1)))
    offsets = struct.pack(
        "<Q3i",
        3,
        *struct.unpack_from(
            "<3i", blob, blob.index(struct.pack("<Q", 3) + b"\x00\x00\x00\x00") + 8
        ),
    )
    bad = blob.replace(offsets, offsets[:-4] + struct.pack("<i", 10**6))
    with pytest.raises(InvalidLengthError):
        decode_object(bad)
    raw = build(dict(SIMPLE, data_algo=0))
    wrong_size = _replace(raw, struct.pack("<qb", 400, 0), struct.pack("<qb", 404, 0))
    with pytest.raises(InvalidLengthError):
        decode_object(wrong_size)


def test_corrupt_compressed_blocks() -> None:
    spec = dict(SIMPLE, algos=[2, 2], times_algo=0)
    blob = build(spec)
    i = blob.index(b"BZh")
    bad = bytearray(blob)
    bad[i + 20] ^= 0xFF
    with pytest.raises(G3FormatError):
        decode_object(bytes(bad))
    spec = dict(SIMPLE, algos=[1, 1], times_algo=0)
    blob = build(spec)
    i = blob.index(b"fLaC")
    (k,) = struct.unpack_from("<i", blob, i - 4)
    bad = bytearray(blob)
    bad[i + k - 3] ^= 0xFF  # inside the audio frame (the vendor string is not checked)
    with pytest.raises(G3FormatError):
        decode_object(bytes(bad))


def test_huge_gap_is_refused() -> None:
    times = np.array([0, 1, 2, 3, 10**15], dtype=np.int64)
    spec = dict(SIMPLE, times=times, ints=np.zeros((2, 5), np.int32), data_algo=0, times_algo=0)
    with pytest.raises(InvalidLengthError):
        decode_object(build(spec))


FUZZ_BLOBS = [blob for _, blob, _ in ENTRIES]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.integers(0, len(FUZZ_BLOBS) - 1),
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4),
)
def test_damaged_blobs_raise_typed_errors(which: int, edits: list[tuple[int, int]]) -> None:
    blob = bytearray(FUZZ_BLOBS[which])
    for pos, value in edits:
        blob[pos % len(blob)] = value
    try:
        decode_object(bytes(blob))
    except G3FormatError:
        pass
