"""G3TimestreamMap and G3TimestreamQuat: vectors, the reference, behaviour, bad input."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from vectorfiles import vector_entries

from g3stream import G3Frame, G3FrameType
from g3stream.cereal import decode_object, encode_object_bytes
from g3stream.cereal.archive import ArchiveWriter
from g3stream.codec.container import encode_frame_bytes
from g3stream.codec.decoder import FrameDecoder
from g3stream.errors import G3FormatError, UnknownTypeCodeError
from g3stream.objects import Quat
from g3stream.objects.scalars import G3Int
from g3stream.objects.time import G3Time
from g3stream.objects.timestream import G3Timestream, G3TimestreamUnits
from g3stream.objects.timestreammap import G3TimestreamMap
from g3stream.objects.timestreamquat import G3TimestreamQuat
from g3stream.objects.vectors import G3VectorFrameObject, G3VectorQuat

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CLASSES = ("G3TimestreamMap", "G3TimestreamQuat")


ENTRIES = [
    e
    for name in ("timestream_maps", "legacy", "bigendian")
    for e in vector_entries(name, qualified=True)
    if e[2]["value"] and e[2]["value"]["class"] in CLASSES
]
ENCODABLE = [e for e in ENTRIES if e[2].get("encode_exact") or e[2].get("encode_exact_except_flac")]


def dumps(payload: Any) -> str:
    """A strict text form of a JSON payload (NaN, -0.0 and exact floats preserved)."""
    return json.dumps(payload, sort_keys=True)


def strip_refs(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_refs(v) for k, v in value.items() if k != "ptr_ref"}
    if isinstance(value, list):
        return [strip_refs(v) for v in value]
    return value


def encode_like(obj: Any, blob: bytes) -> bytes:
    w = ArchiveWriter(little=blob[0] == 1)
    w.pointer(obj)
    return w.getvalue()


def adopt_payloads(obj: Any, blob: bytes) -> None:
    """Give every FLAC member the payload the reference wrote (in member order)."""
    pos = 0
    unique = {id(ts): ts for ts in obj.values()}
    for ts in unique.values():
        if ts.compression_level:
            i = blob.index(b"fLaC", pos)
            (n,) = struct.unpack_from("<Q", blob, i - 8)
            ts._adopt_flac_payload(blob[i : i + n])
            pos = i + n


# -- vectors -------------------------------------------------------------------------


@pytest.mark.parametrize("key,blob,entry", ENTRIES, ids=[e[0] for e in ENTRIES])
def test_vector_decodes(key: str, blob: bytes, entry: dict[str, Any]) -> None:
    obj = decode_object(blob)
    assert type(obj).__name__ == entry["value"]["class"]
    assert dumps(obj._json_payload()) == dumps(strip_refs(entry["value"]["value"]))


@pytest.mark.parametrize("key,blob,entry", ENCODABLE, ids=[e[0] for e in ENCODABLE])
def test_vector_encodes_exactly(key: str, blob: bytes, entry: dict[str, Any]) -> None:
    from g3stream.jsonform import object_from_json

    obj = object_from_json(entry["value"])
    if isinstance(obj, G3TimestreamMap):
        adopt_payloads(obj, blob)
    assert encode_like(obj, blob) == blob
    # and a decoded object is written back unchanged
    assert encode_like(decode_object(blob), blob) == blob


def test_shared_member_decodes_to_one_object() -> None:
    (blob,) = [b for k, b, _ in ENTRIES if k.endswith("/tsm_shared_pointer")]
    m = decode_object(blob)
    assert m["first"] is m["second"] and m["third"] is not m["first"]
    assert encode_object_bytes(m) == blob


def test_named_reference_to_a_direct_member() -> None:
    (entry,) = [
        e
        for k, _, e in vector_entries("timestream_maps", qualified=True)
        if k.endswith("vfo_map_and_member")
    ]
    blob = [
        b
        for k, b, _ in vector_entries("timestream_maps", qualified=True)
        if k.endswith("vfo_map_and_member")
    ][0]
    vfo = decode_object(blob)
    assert isinstance(vfo, G3VectorFrameObject)
    tsm, member = list(vfo)
    assert member is tsm["third"] and tsm["first"] is tsm["second"]
    assert encode_object_bytes(vfo) == blob
    assert entry["encode_exact"]


def test_legacy_versions_copy_start_and_stop() -> None:
    (blob,) = [b for k, b, _ in ENTRIES if k.endswith("/tsm_v1")]
    m = decode_object(blob)
    assert [k for k in m] == sorted(m)
    assert {(ts.start.time, ts.stop.time) for ts in m.values()} == {(1000, 2000)}
    # rewritten in the current version, which the reference reads back alike
    again = decode_object(encode_object_bytes(m))
    assert again == m


# -- behaviour ---------------------------------------------------------------------


def make_map(keys: list[str]) -> G3TimestreamMap:
    m = G3TimestreamMap()
    for i, k in enumerate(keys):
        m[k] = G3Timestream(np.arange(4.0) + i, start=10, stop=40)
    return m


def test_insertion_order_and_dict_behaviour() -> None:
    m = make_map(["z", "a", "m"])
    assert list(m) == ["z", "a", "m"] == m.names
    assert str(m) == "[z, a, m]" == m.Description() == m.Summary()
    del m["a"]
    m["a"] = G3Timestream([7.0, 7.0, 7.0, 7.0], start=10, stop=40)
    assert list(m.keys()) == ["z", "m", "a"]
    assert "a" in m and len(m) == 3 and m.get("nope") is None
    popped = m.pop("z")
    assert isinstance(popped, G3Timestream) and list(m) == ["m", "a"]
    m["list"] = [1.0, 2.0, 3.0, 4.0]
    assert isinstance(m["list"], G3Timestream)
    with pytest.raises(TypeError):
        m[3] = G3Timestream([1.0])  # type: ignore[index]
    assert list(decode_object(encode_object_bytes(m))) == ["m", "a", "list"]


def test_aligned_properties_and_flac_settings() -> None:
    m = make_map(["b", "a"])
    assert m.CheckAlignment() and m.n_samples == 4 and m.start == G3Time(10)
    assert m.stop == G3Time(40) and m.sample_rate == 3 / 30 and m.dtype == np.float64
    m.units = G3TimestreamUnits.Counts
    m.SetFLACCompression(4)
    m.SetFLACBitDepth(24)
    assert all(ts.compression_level == 4 and ts.bit_depth == 24 for ts in m.values())
    back = decode_object(encode_object_bytes(m))
    assert back.compression_level == 4 and back.bit_depth == 24
    np.testing.assert_array_equal(np.asarray(back["a"]), np.arange(4.0) + 1)
    m["odd"] = G3Timestream(np.arange(5.0))
    assert not m.CheckAlignment()
    with pytest.raises(ValueError):
        m.Compactify()


def test_empty_map_defaults() -> None:
    m = G3TimestreamMap()
    assert m.start == G3Time(0) and m.stop == G3Time(0) and m.sample_rate == 0.0
    assert m.n_samples == 0 and m.units == getattr(G3TimestreamUnits, "None")
    assert m.compression_level == 0 and m.bit_depth == 0 and m.times is None
    assert m.CheckAlignment() and str(m) == "[]"
    assert decode_object(encode_object_bytes(m)) == m


def test_from_2d_array_and_compact_views() -> None:
    d = np.arange(12.0).reshape(3, 4)
    m = G3TimestreamMap(["x", "y", "z"], d, 5, 9, G3TimestreamUnits.Counts, 3, copy_data=False)
    assert m["y"].compression_level == 3 and m["y"].units == G3TimestreamUnits.Counts
    d[1, 2] = -1.0
    assert m["y"][2] == -1.0
    assert np.shares_memory(np.asarray(m), d) and np.asarray(m).shape == d.shape
    copied = G3TimestreamMap(["x", "y", "z"], d)
    d[0, 0] = 123.0
    assert copied["x"][0] == 0.0
    loose = make_map(["p", "q"])
    block = np.asarray(loose)
    assert block.shape == (2, 4)
    block[1, 0] = 50.0
    assert loose["q"][0] == 50.0  # after compaction the members are views of the block
    with pytest.raises(ValueError):
        G3TimestreamMap(["only"], d)


def test_copy_keeps_sharing() -> None:
    m = make_map(["a"])
    m["b"] = m["a"]
    c = m.copy()
    assert c["a"] is c["b"] and c["a"] is not m["a"] and c == m


# -- against the reference ---------------------------------------------------------

keys = st.text(st.characters(exclude_categories=["Cs"]), min_size=0, max_size=6)


@st.composite
def map_specs(draw: Any) -> list[tuple[str, np.ndarray, int]]:
    names = draw(st.lists(keys, unique=True, max_size=6))
    # small members are inlined, members of 4 kB and more are written as views
    n = draw(st.integers(0, 40) | st.sampled_from([511, 512, 1500]))
    dtypes = st.sampled_from([np.float64, np.float32, np.int32, np.int64])
    return [(k, draw(hnp.arrays(draw(dtypes), n)), draw(st.integers(0, 12))) for k in names]


def build_both(spec: list[tuple[str, np.ndarray, int]], share: bool) -> tuple[Any, Any]:
    core = pytest.importorskip("spt3g.core")
    ref = core.G3TimestreamMap()
    mine = G3TimestreamMap()
    for k, data, units in spec:
        r = core.G3Timestream(data)
        r.units = core.G3TimestreamUnits.values[units]
        r.start, r.stop = core.G3Time(3), core.G3Time(300)
        ref[k] = r
        mine[k] = G3Timestream(data, units, 3, 300)
    if share and len(spec) >= 2:
        ref[spec[-1][0]] = ref[spec[0][0]]
        mine[spec[-1][0]] = mine[spec[0][0]]
    return mine, ref


@SETTINGS
@given(spec=map_specs(), share=st.booleans())
def test_frames_equal_reference(tmp_path_factory: Any, spec: Any, share: bool) -> None:
    core = pytest.importorskip("spt3g.core")
    mine, ref = build_both(spec, share)
    path = tmp_path_factory.mktemp("tsm") / "ref.g3"
    frame = core.G3Frame(core.G3FrameType.Scan)
    frame["m"] = ref
    writer = core.G3Writer(str(path))
    writer(frame)
    del writer
    theirs = path.read_bytes()
    ours = G3Frame(G3FrameType.Scan)
    ours["m"] = mine
    assert encode_frame_bytes(ours) == theirs
    dec = FrameDecoder()
    dec.feed(theirs)
    (back,) = dec.frames()
    assert back["m"] == mine
    assert str(back["m"]) == str(ref)
    if share and len(spec) >= 2:
        assert back["m"][spec[-1][0]] is back["m"][spec[0][0]]


def reference_bytes(core: Any, tsm: Any, path: Path) -> bytes:
    frame = core.G3Frame(core.G3FrameType.Scan)
    frame["m"] = tsm
    writer = core.G3Writer(str(path))
    writer(frame)
    del writer
    return path.read_bytes()


def test_members_of_every_layout_match_reference(tmp_path: Path) -> None:
    """Contiguous or strided, large or small, shared, with distinct times: as spt3g writes them."""
    core = pytest.importorskip("spt3g.core")
    block = np.asfortranarray(np.arange(3000.0).reshape(3, 1000))
    rows = G3TimestreamMap(["row0", "row1", "row2"], block, 7, 8, "Voltage", copy_data=False)
    assert not np.asarray(rows["row1"]).flags.c_contiguous  # members are strided views
    members = [
        ("big", np.linspace(0, 1, 2000)),
        ("small32", np.arange(7, dtype=np.float32)),
        ("i64", np.arange(900, dtype=np.int64)),
        ("i32", np.arange(1200, dtype=np.int32)),
    ]
    ref, mine = core.G3TimestreamMap(), G3TimestreamMap()
    for i, (key, data) in enumerate(members):
        r = core.G3Timestream(data)
        r.units = core.G3TimestreamUnits.values[i % 3]
        r.start, r.stop = core.G3Time(10 * i), core.G3Time(10 * i + 5)
        ref[key] = r
        mine[key] = G3Timestream(data, i % 3, 10 * i, 10 * i + 5)
        if i == 1:  # strided rows between contiguous members
            for name in ("row0", "row1"):
                r = core.G3Timestream(np.ascontiguousarray(rows[name]))
                r.units = core.G3TimestreamUnits.Voltage
                r.start, r.stop = core.G3Time(7), core.G3Time(8)
                ref[name] = r
                mine[name] = rows[name]
    ref["again"], mine["again"] = ref["big"], mine["big"]
    ref["last"] = core.G3Timestream(np.ones(600))
    mine["last"] = G3Timestream(np.ones(600))
    ours = G3Frame(G3FrameType.Scan)
    ours["m"] = mine
    assert encode_frame_bytes(ours) == reference_bytes(core, ref, tmp_path / "ref.g3")


@pytest.mark.parametrize("level", [0, 5])
def test_members_viewing_big_endian_samples_are_written(tmp_path: Path, level: int) -> None:
    """Rows of a big-endian block (``copy_data=False``) are written little-endian, as spt3g reads."""
    core = pytest.importorskip("spt3g.core")
    block = (np.arange(3000, dtype=np.int32).reshape(3, 1000) % 251).astype(">i4")
    m = G3TimestreamMap(["a", "b", "c"], block, 1, 2, "Counts", level, copy_data=False)
    assert np.asarray(m["b"]).dtype.str == ">i4"  # the members are views of the block
    f = G3Frame(G3FrameType.Scan)
    f["m"] = m
    path = tmp_path / "be.g3"
    path.write_bytes(encode_frame_bytes(f))
    (back,) = list(core.G3File(str(path)))
    for key, row in zip("abc", block, strict=True):
        np.testing.assert_array_equal(np.asarray(back["m"][key]), row)


def test_plain_members_after_a_compressed_one(tmp_path: Path) -> None:
    """A FLAC member first, plain ones after it: spt3g reads back every value."""
    core = pytest.importorskip("spt3g.core")
    counts = G3Timestream(np.arange(3000, dtype=np.int32) % 97, "Counts", 1, 2)
    counts.SetFLACCompression(5)
    m = G3TimestreamMap()
    m["flac"] = counts
    m["plain"] = G3Timestream(np.linspace(-1, 1, 3000), "Power", 3, 4)
    m["flac again"] = counts
    m["plain32"] = G3Timestream(np.arange(5000, dtype=np.float32), None, 5, 6)
    f = G3Frame(G3FrameType.Scan)
    f["m"] = m
    path = tmp_path / "mine.g3"
    path.write_bytes(encode_frame_bytes(f))
    (back,) = list(core.G3File(str(path)))
    assert list(back["m"].keys()) == list(m.keys())
    for key, ts in m.items():
        np.testing.assert_array_equal(np.asarray(back["m"][key]), np.asarray(ts))
        assert (back["m"][key].start.time, back["m"][key].stop.time) == (
            ts.start.time,
            ts.stop.time,
        )
    assert str(back["m"]["plain"].units) == "Power"


def test_reference_reads_maps_written_here(tmp_path: Path) -> None:
    core = pytest.importorskip("spt3g.core")
    m = make_map(["b", "a"])
    m["c"] = m["a"]
    f = G3Frame(G3FrameType.Scan)
    f["m"] = m
    path = tmp_path / "mine.g3"
    path.write_bytes(encode_frame_bytes(f))
    (ref,) = list(core.G3File(str(path)))
    assert list(ref["m"].keys()) == ["b", "a", "c"]
    np.testing.assert_array_equal(np.asarray(ref["m"]["c"]), np.arange(4.0) + 1)


def test_empty_map_matches_reference() -> None:
    core = pytest.importorskip("spt3g.core")
    ref, mine = core.G3TimestreamMap(), G3TimestreamMap()
    assert (mine.start.time, mine.stop.time) == (ref.start.time, ref.stop.time)
    assert (mine.n_samples, mine.sample_rate) == (ref.n_samples, ref.sample_rate)
    assert (mine.compression_level, mine.bit_depth) == (ref.compression_level, ref.bit_depth)
    assert str(mine) == str(ref)


# -- G3TimestreamQuat -------------------------------------------------------------------


def test_quat_basics() -> None:
    q = G3TimestreamQuat([Quat(1, 0, 0, 0), Quat(0, 1, 0, 0)], start=1, stop=100)
    assert isinstance(q, G3VectorQuat)
    assert len(q) == q.n_samples == 2 and q[1] == Quat(0, 1, 0, 0)
    assert q.start == G3Time(1) and q.stop == G3Time(100) and q.sample_rate == 1 / 99
    arr = np.asarray(q)
    assert arr.shape == (2, 4) and np.shares_memory(arr, np.asarray(q))
    arr[0, 0] = 0.5
    assert q[0] == Quat(0.5, 0, 0, 0)
    arr[0, 0] = 1.0
    back = decode_object(encode_object_bytes(q))
    assert isinstance(back, G3TimestreamQuat) and back == q
    c = q.copy()
    assert c == q and c.start == q.start
    empty = G3TimestreamQuat()
    assert str(empty) == "0 quaternions at inf Hz"
    assert decode_object(encode_object_bytes(empty)) == empty


@SETTINGS
@given(
    comps=hnp.arrays(np.float64, st.tuples(st.integers(0, 20), st.just(4))),
    start=st.integers(-(2**40), 2**40),
    span=st.integers(0, 2**40),
)
def test_quat_equals_reference(comps: np.ndarray, start: int, span: int) -> None:
    core = pytest.importorskip("spt3g.core")
    ref = core.G3TimestreamQuat([core.Quat(*row) for row in comps])
    ref.start, ref.stop = core.G3Time(start), core.G3Time(start + span)
    mine = G3TimestreamQuat(comps, start, start + span)
    w = ArchiveWriter()
    w.begin(mine._g3_chain, mine._g3_write_versions)
    mine._g3_write(w)
    assert w.getvalue() == bytes(ref._cereal_dumps())
    assert str(mine) == str(ref)
    back = core.G3TimestreamQuat()
    back._cereal_loads(w.getvalue())
    assert np.asarray(back).tobytes() == np.asarray(mine).tobytes()
    assert (back.start.time, back.stop.time) == (start, start + span)


# -- bad input ---------------------------------------------------------------------------


def test_every_truncation_is_a_typed_error() -> None:
    m = make_map(["a", "b"])
    m["c"] = m["a"]
    m.units = G3TimestreamUnits.Counts
    m["a"].SetFLACCompression(2)
    for blob in (encode_object_bytes(m), encode_object_bytes(G3TimestreamQuat(np.ones((3, 4))))):
        for cut in range(1, len(blob)):
            with pytest.raises(G3FormatError):
                decode_object(blob[:cut])


def _map_with_raw_member(member: bytes) -> bytes:
    """A version-3 map blob whose single member is the given raw pointer bytes."""
    head = b"\x01" + struct.pack("<I", 0x80000001) + struct.pack("<Q", 15) + b"G3TimestreamMap"
    head += struct.pack("<III", 0x80000001, 3, 1) + struct.pack("<Q", 1)
    return head + struct.pack("<Q", 1) + b"k" + member


def test_member_must_be_a_timestream() -> None:
    with pytest.raises(UnknownTypeCodeError, match="null"):
        decode_object(_map_with_raw_member(struct.pack("<I", 0)))
    w = ArchiveWriter()
    w.pointer(G3Int(5))
    named_int = w.getvalue()[1:]  # the pointer to a G3Int, as a member
    with pytest.raises(UnknownTypeCodeError, match="G3Int"):
        decode_object(_map_with_raw_member(named_int))
    # a named (non-direct) pointer to a timestream is accepted: new name id 2,
    # new pointer id 2, ver(G3Timestream) only (G3FrameObject's was given by the map)
    member = struct.pack("<I", 0x80000002) + struct.pack("<Q", 12) + b"G3Timestream"
    member += struct.pack("<III", 0x80000002, 4, 0)  # pointer id, version, units
    member += struct.pack("<IqqBI", 1, 0, 0, 0, 0)  # ver(G3Time), start, stop, level, type
    member += struct.pack("<Qdd", 2, 1.0, 2.0)
    m = decode_object(_map_with_raw_member(member))
    np.testing.assert_array_equal(np.asarray(m["k"]), [1.0, 2.0])


def test_astype_data_and_concatenate() -> None:
    m = make_map(["b", "a"])
    ints = m.astype(np.int32)
    assert ints.dtype == np.int32 and list(ints) == ["b", "a"] and m.dtype == np.float64
    block = m.data
    assert block.shape == (2, 4)
    block[0, 0] = -5.0  # the data property is a view, as in the reference
    assert m["b"][0] == -5.0
    later = G3TimestreamMap()
    for k in ("a", "b", "extra"):
        later[k] = G3Timestream(np.full(2, 9.0), start=50, stop=60)
    with pytest.raises(ValueError):
        G3TimestreamMap.concatenate([m, later])
    joined = G3TimestreamMap.concatenate([m, later], skip_missing=True)
    assert list(joined) == ["b", "a"] and joined.n_samples == 6
    assert (joined.start.time, joined.stop.time) == (10, 60)
    np.testing.assert_array_equal(np.asarray(joined["a"]), [1.0, 2.0, 3.0, 4.0, 9.0, 9.0])


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


def test_frame_listing_line_matches_reference() -> None:
    """A frame listing shows a timestream map the way the reference's listing does."""
    core = pytest.importorskip("spt3g.core")
    import g3stream

    cases = [
        [(500, 4, 10), (400, 1, 10)],
        [(1, 4, 10)],
        [(500, 0, 5)],
        [],
    ]
    for members in cases:
        lines = []
        for mod in (core, g3stream):
            m = mod.G3TimestreamMap()
            for i, (n, units, seconds) in enumerate(members):
                ts = mod.G3Timestream(np.zeros(n))
                ts.start = mod.G3Time(0)
                ts.stop = mod.G3Time(seconds * 10**8)
                ts.units = mod.G3TimestreamUnits.values[units]
                m[f"d{i}"] = ts
            f = mod.G3Frame()
            f["m"] = m
            lines.append(str(f).splitlines()[1].split("=>")[1])
        assert lines[0] == lines[1]


def test_concatenate_timestreams_matches_reference() -> None:
    """spt3g's concatenate_timestreams, for timestreams and for maps."""
    core = pytest.importorskip("spt3g.core")
    import g3stream

    results = []
    for mod in (core, g3stream):
        pieces, maps = [], []
        for i in range(3):
            ts = mod.G3Timestream(np.arange(10.0) + 10 * i)
            ts.start = mod.G3Time(i * 10 * 10**8)
            ts.stop = mod.G3Time((i * 10 + 9) * 10**8)
            pieces.append(ts)
            m = mod.G3TimestreamMap()
            m["a"] = ts
            maps.append(m)
        joined = mod.concatenate_timestreams(pieces)
        joined_map = mod.concatenate_timestreams(maps)
        results.append(
            (np.asarray(joined).tolist(), joined.stop.time, np.asarray(joined_map["a"]).tolist())
        )
    assert results[0] == results[1]
