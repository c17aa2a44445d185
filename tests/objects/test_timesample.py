"""G3TimesampleMap: vectors, the reference, behaviour and bad input."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vectorfiles import vector_entries

from g3stream import G3Frame, G3FrameType
from g3stream.cereal import decode_object, encode_object_bytes
from g3stream.codec.container import encode_frame_bytes
from g3stream.codec.decoder import FrameDecoder
from g3stream.errors import G3FormatError, UnsupportedVersionError
from g3stream.jsonform import object_from_json
from g3stream.objects.scalars import G3Int
from g3stream.objects.timesample import G3TimesampleMap
from g3stream.objects.vectors import (
    G3VectorBool,
    G3VectorDouble,
    G3VectorInt,
    G3VectorString,
    G3VectorTime,
)

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


ENTRIES = vector_entries("timesample")


@pytest.mark.parametrize("key,blob,entry", ENTRIES, ids=[e[0] for e in ENTRIES])
def test_vector_round_trip(key: str, blob: bytes, entry: dict[str, Any]) -> None:
    obj = decode_object(blob)
    assert isinstance(obj, G3TimesampleMap)
    assert json.dumps(obj._json_payload()) == json.dumps(entry["value"]["value"])
    assert entry["encode_exact"]
    assert encode_object_bytes(object_from_json(entry["value"])) == blob
    assert encode_object_bytes(obj) == blob


def test_fields_and_times() -> None:
    m = G3TimesampleMap()
    m.times = [1, 2, 3]
    assert isinstance(m.times, G3VectorTime) and np.asarray(m.times).tolist() == [1, 2, 3]
    m["zeta"] = G3VectorDouble([1.0, 2.0, 3.0])
    m["alpha"] = G3VectorString(["a", "b", "c"])
    assert list(m) == ["alpha", "zeta"] and len(m) == 2 and "zeta" in m
    assert str(m) == "<co-sampled vectors with 3 samples>{alpha, zeta}"
    with pytest.raises(ValueError, match="same length"):
        m["short"] = G3VectorInt([1])
    with pytest.raises(TypeError):
        m["plain"] = [1.0, 2.0, 3.0]
    m.check()
    with pytest.raises(ValueError, match="conflicts"):  # at once, as in spt3g
        m.times = [1, 2]
    assert len(m.times) == 3
    m["zeta"].append(4.0)  # a member changed in place is caught by check()
    with pytest.raises(ValueError):
        m.check()
    m["zeta"].pop()
    m.times = [1, 2, 3]
    back = decode_object(encode_object_bytes(m))
    assert back == m and back.copy() == m
    del m["zeta"]
    assert list(m) == ["alpha"]


@st.composite
def samples(draw: Any) -> tuple[list[int], dict[str, tuple[str, list[Any]]]]:
    n = draw(st.integers(0, 12))
    times = draw(st.lists(st.integers(-(2**62), 2**62), min_size=n, max_size=n))
    names = draw(
        st.lists(
            st.text(st.characters(exclude_categories=["Cs"]), max_size=5), unique=True, max_size=4
        )
    )
    fields = {}
    for name in names:
        kind = draw(st.sampled_from(["double", "int", "bool", "string"]))
        elem = {
            "double": st.floats(allow_nan=False),
            "int": st.integers(-(2**63), 2**63 - 1),
            "bool": st.booleans(),
            "string": st.text(st.characters(exclude_categories=["Cs"]), max_size=4),
        }[kind]
        fields[name] = (kind, draw(st.lists(elem, min_size=n, max_size=n)))
    return times, fields


MINE = {
    "double": G3VectorDouble,
    "int": G3VectorInt,
    "bool": G3VectorBool,
    "string": G3VectorString,
}


@SETTINGS
@given(spec=samples())
def test_frames_equal_reference(tmp_path_factory: Any, spec: Any) -> None:
    core = pytest.importorskip("spt3g.core")
    times, fields = spec
    ref_types = {
        "double": core.G3VectorDouble,
        "int": core.G3VectorInt,
        "bool": core.G3VectorBool,
        "string": core.G3VectorString,
    }
    ref = core.G3TimesampleMap()
    ref.times = core.G3VectorTime([core.G3Time(t) for t in times])
    mine = G3TimesampleMap()
    mine.times = times
    for name, (kind, values) in fields.items():
        ref[name] = ref_types[kind](values)
        mine[name] = MINE[kind](values)
    assert str(mine) == str(ref)
    frame = core.G3Frame(core.G3FrameType.Housekeeping)
    frame["tsm"] = ref
    path = tmp_path_factory.mktemp("tsamp") / "ref.g3"
    writer = core.G3Writer(str(path))
    writer(frame)
    del writer
    theirs = path.read_bytes()
    ours = G3Frame(G3FrameType.Housekeeping)
    ours["tsm"] = mine
    assert encode_frame_bytes(ours) == theirs
    dec = FrameDecoder()
    dec.feed(theirs)
    (back,) = dec.frames()
    assert back["tsm"] == mine


def test_reference_reads_what_is_written_here(tmp_path: Path) -> None:
    core = pytest.importorskip("spt3g.core")
    m = G3TimesampleMap(times=[10, 20])
    m["v"] = G3VectorDouble([0.5, -1.5])
    m["s"] = G3VectorString(["x", "y"])
    f = G3Frame(G3FrameType.Housekeeping)
    f["m"] = m
    path = tmp_path / "mine.g3"
    path.write_bytes(encode_frame_bytes(f))
    (ref,) = list(core.G3File(str(path)))
    assert [t.time for t in ref["m"].times] == [10, 20]
    assert list(ref["m"]["v"]) == [0.5, -1.5] and list(ref["m"]["s"]) == ["x", "y"]


def test_bad_input() -> None:
    m = G3TimesampleMap(times=[1, 2])
    m["i"] = G3VectorInt([5, 6])
    m["n"] = G3Int(3)  # any frame object is storable; only sized ones are checked
    blob = encode_object_bytes(m)
    for cut in range(1, len(blob)):
        with pytest.raises(G3FormatError):
            decode_object(blob[:cut])
    at = 1 + 4 + 8 + len("G3TimesampleMap") + 4
    assert struct.unpack_from("<I", blob, at)[0] == 0
    bad = bytearray(blob)
    bad[at] = 1  # version 1 does not exist
    with pytest.raises(UnsupportedVersionError):
        decode_object(bytes(bad))


def test_concatenate_and_sort_match_reference() -> None:
    core = pytest.importorskip("spt3g.core")
    a = G3TimesampleMap(times=[3, 1])
    a["x"] = G3VectorDouble([3.0, 1.0])
    a["s"] = G3VectorString(["c", "a"])
    b = G3TimesampleMap(times=[2])
    b["x"] = G3VectorDouble([2.0])
    b["s"] = G3VectorString(["b"])
    ra = core.G3TimesampleMap()
    ra.times = core.G3VectorTime([core.G3Time(3), core.G3Time(1)])
    ra["x"], ra["s"] = core.G3VectorDouble([3.0, 1.0]), core.G3VectorString(["c", "a"])
    rb = core.G3TimesampleMap()
    rb.times = core.G3VectorTime([core.G3Time(2)])
    rb["x"], rb["s"] = core.G3VectorDouble([2.0]), core.G3VectorString(["b"])
    c, rc = a.concatenate(b), ra.concatenate(rb)
    for m, r in ((c, rc),):
        assert np.asarray(m.times).tolist() == [t.time for t in r.times]
        assert list(m["x"]) == list(r["x"]) and list(m["s"]) == list(r["s"])
    c.sort()
    rc.sort()
    assert np.asarray(c.times).tolist() == [t.time for t in rc.times] == [1, 2, 3]
    assert list(c["x"]) == list(rc["x"]) and list(c["s"]) == list(rc["s"])
    assert isinstance(c["x"], G3VectorDouble)
    other = G3TimesampleMap(times=[5])
    other["y"] = G3VectorDouble([1.0])
    with pytest.raises(RuntimeError):
        a.concatenate(other)
    wrong = G3TimesampleMap(times=[5])
    wrong["x"] = G3VectorInt([1])
    wrong["s"] = G3VectorString(["z"])
    with pytest.raises(ValueError):
        a.concatenate(wrong)
