"""Vector and map frame objects: behaviour, and round trips against the reference.

For every G3Vector* and G3Map* class, random values (hypothesis) are built
both here and in spt3g; the frames both produce must be identical bytes, each
side must decode the other's bytes to the same values, and the text forms
must agree.  The list and dict behaviour is checked against Python lists and
dicts, and the zero-copy promises of the numeric vectors are checked on the
buffers themselves.
"""

from __future__ import annotations

import copy
import pickle
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from g3stream import G3Frame, G3FrameType
from g3stream.cereal import decode_object, encode_object, encode_object_bytes
from g3stream.codec.container import encode_frame_bytes
from g3stream.codec.decoder import FrameDecoder
from g3stream.errors import G3FormatError
from g3stream.objects import (
    G3Double,
    G3Int,
    G3String,
    G3Time,
    OpaqueFrameObject,
    Quat,
)
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
    store_bits,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- strategies -----------------------------------------------------------------

floats = st.floats(allow_nan=True, allow_infinity=True)
int64 = st.one_of(
    st.integers(-128, 127),
    st.integers(-(2**15), 2**15 - 1),
    st.integers(-(2**31), 2**31 - 1),
    st.integers(-(2**63), 2**63 - 1),
)
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
keys = st.text(st.characters(exclude_categories=("Cs",)), max_size=8)
quats = st.tuples(floats, floats, floats, floats)
complexes = st.builds(complex, floats, floats)
small = {"max_size": 20}


def f64(x: float) -> bytes:
    """A float's exact bits (so NaN equals NaN and -0.0 differs from 0.0)."""
    return struct.pack("<d", float(x))


# -- canonical forms: the same Python structure for our objects and the reference's --


def canon_array(dtype: str) -> Callable[[Any], Any]:
    def canon(obj: Any) -> Any:
        arr = np.asarray(obj)
        return (len(obj), arr.astype(dtype).tobytes())

    return canon


def canon_times(obj: Any) -> Any:
    return [t.time for t in obj]


def canon_quats(obj: Any) -> Any:
    return [tuple(f64(x) for x in (q.a, q.b, q.c, q.d)) for q in obj]


def canon_strings(obj: Any) -> Any:
    return list(obj)


def canon_vvs(obj: Any) -> Any:
    return [list(v) for v in obj]


def canon_scalar_object(obj: Any) -> Any:
    name = type(obj).__name__
    if name == "G3Double":
        return (name, f64(obj.value))
    return (name, obj.value)


def canon_vfo(obj: Any) -> Any:
    items = list(obj)
    shared = [next(j for j, o in enumerate(items) if o is x) for x in items]
    return ([canon_scalar_object(x) for x in items], shared)


def map_canon(value_canon: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def canon(obj: Any) -> Any:
        return [(k, value_canon(obj[k])) for k in obj.keys()]

    return canon


# -- builders -----------------------------------------------------------------------


class Spec:
    """One class: its data strategy, how each side builds it, and its canonical form."""

    def __init__(
        self,
        name: str,
        data: st.SearchStrategy[Any],
        ours: Callable[[Any], Any],
        ref: Callable[[Any, Any], Any],
        canon: Callable[[Any], Any],
    ) -> None:
        self.name, self.data, self.ours, self.ref, self.canon = name, data, ours, ref, canon

    def __repr__(self) -> str:
        return self.name


def _scalar_objects(core: Any, data: list[tuple[str, Any]], ours: bool) -> list[Any]:
    made: list[Any] = []
    for kind, v in data:
        if kind == "same":
            if made:
                made.append(made[v % len(made)])
            continue
        if kind == "int":
            made.append(G3Int(v) if ours else core.G3Int(v))
        elif kind == "double":
            made.append(G3Double(v) if ours else core.G3Double(v))
        else:
            made.append(G3String(v) if ours else core.G3String(v))
    return made


frame_objects = st.lists(
    st.one_of(
        st.tuples(st.just("int"), int64),
        st.tuples(st.just("double"), floats),
        st.tuples(st.just("string"), text),
        st.tuples(st.just("same"), st.integers(0, 100)),
    ),
    max_size=8,
)

VECTOR_SPECS = [
    Spec(
        "G3VectorDouble",
        st.lists(floats, **small),
        G3VectorDouble,
        lambda core, d: core.G3VectorDouble(d),
        canon_array("<f8"),
    ),
    Spec(
        "G3VectorInt",
        st.lists(int64, **small),
        G3VectorInt,
        lambda core, d: core.G3VectorInt(d),
        canon_array("<i8"),
    ),
    Spec(
        "G3VectorBool",
        st.lists(st.booleans(), **small),
        G3VectorBool,
        lambda core, d: core.G3VectorBool(d),
        canon_array("bool"),
    ),
    Spec(
        "G3VectorComplexDouble",
        st.lists(complexes, **small),
        G3VectorComplexDouble,
        lambda core, d: core.G3VectorComplexDouble(d),
        canon_array("<c16"),
    ),
    Spec(
        "G3VectorUnsignedChar",
        st.binary(max_size=40),
        G3VectorUnsignedChar,
        lambda core, d: core.G3VectorUnsignedChar(list(d)),
        canon_array("u1"),
    ),
    Spec(
        "G3VectorTime",
        st.lists(st.integers(-(2**63), 2**63 - 1), **small),
        lambda d: G3VectorTime([G3Time(t) for t in d]),
        lambda core, d: core.G3VectorTime([core.G3Time(t) for t in d]),
        canon_times,
    ),
    Spec(
        "G3VectorQuat",
        st.lists(quats, max_size=6),
        lambda d: G3VectorQuat([Quat(*q) for q in d]),
        lambda core, d: core.G3VectorQuat([core.Quat(*q) for q in d]),
        canon_quats,
    ),
    Spec(
        "G3VectorString",
        st.lists(text, **small),
        G3VectorString,
        lambda core, d: core.G3VectorString(d),
        canon_strings,
    ),
    Spec(
        "G3VectorVectorString",
        st.lists(st.lists(text, max_size=4), max_size=6),
        G3VectorVectorString,
        lambda core, d: core.G3VectorVectorString(d),
        canon_vvs,
    ),
    Spec(
        "G3VectorFrameObject",
        frame_objects,
        lambda d: G3VectorFrameObject(_scalar_objects(None, d, True)),
        lambda core, d: core.G3VectorFrameObject(_scalar_objects(core, d, False)),
        canon_vfo,
    ),
]


def _map_spec(
    name: str,
    values: st.SearchStrategy[Any],
    ours: Callable[[dict[str, Any]], Any],
    ref: Callable[[Any, dict[str, Any]], Any],
    value_canon: Callable[[Any], Any],
) -> Spec:
    return Spec(name, st.dictionaries(keys, values, max_size=6), ours, ref, map_canon(value_canon))


MAP_SPECS = [
    _map_spec("G3MapDouble", floats, G3MapDouble, lambda c, d: c.G3MapDouble(d), f64),
    _map_spec("G3MapInt", int64, G3MapInt, lambda c, d: c.G3MapInt(d), int),
    _map_spec("G3MapString", text, G3MapString, lambda c, d: c.G3MapString(d), str),
    _map_spec(
        "G3MapVectorDouble",
        st.lists(floats, max_size=5),
        G3MapVectorDouble,
        lambda c, d: c.G3MapVectorDouble(d),
        canon_array("<f8"),
    ),
    _map_spec(
        "G3MapVectorInt",
        st.lists(int64, max_size=5),
        G3MapVectorInt,
        lambda c, d: c.G3MapVectorInt(d),
        canon_array("<i8"),
    ),
    _map_spec(
        "G3MapVectorBool",
        st.lists(st.booleans(), max_size=5),
        G3MapVectorBool,
        lambda c, d: c.G3MapVectorBool(d),
        canon_array("bool"),
    ),
    _map_spec(
        "G3MapVectorComplexDouble",
        st.lists(complexes, max_size=5),
        G3MapVectorComplexDouble,
        lambda c, d: c.G3MapVectorComplexDouble(d),
        canon_array("<c16"),
    ),
    _map_spec(
        "G3MapVectorString",
        st.lists(text, max_size=5),
        G3MapVectorString,
        lambda c, d: c.G3MapVectorString(d),
        canon_strings,
    ),
    _map_spec(
        "G3MapMapDouble",
        st.dictionaries(keys, floats, max_size=4),
        lambda d: G3MapMapDouble({k: G3MapDouble(v) for k, v in d.items()}),
        lambda c, d: c.G3MapMapDouble({k: c.G3MapDouble(v) for k, v in d.items()}),
        map_canon(f64),
    ),
    _map_spec(
        "G3MapTime",
        st.integers(-(2**63), 2**63 - 1),
        lambda d: G3MapTime({k: G3Time(v) for k, v in d.items()}),
        lambda c, d: c.G3MapTime({k: c.G3Time(v) for k, v in d.items()}),
        lambda t: t.time,
    ),
    _map_spec(
        "G3MapVectorTime",
        st.lists(st.integers(-(2**63), 2**63 - 1), max_size=4),
        lambda d: G3MapVectorTime({k: [G3Time(t) for t in v] for k, v in d.items()}),
        lambda c, d: c.G3MapVectorTime(
            {k: c.G3VectorTime([c.G3Time(t) for t in v]) for k, v in d.items()}
        ),
        canon_times,
    ),
    _map_spec(
        "G3MapVectorVectorString",
        st.lists(st.lists(text, max_size=3), max_size=3),
        G3MapVectorVectorString,
        lambda c, d: c.G3MapVectorVectorString(
            {k: c.G3VectorVectorString(v) for k, v in d.items()}
        ),
        canon_vvs,
    ),
    _map_spec(
        "G3MapQuat",
        quats,
        lambda d: G3MapQuat({k: Quat(*v) for k, v in d.items()}),
        lambda c, d: c.G3MapQuat({k: c.Quat(*v) for k, v in d.items()}),
        lambda q: tuple(f64(x) for x in (q.a, q.b, q.c, q.d)),
    ),
    _map_spec(
        "G3MapVectorQuat",
        st.lists(quats, max_size=3),
        lambda d: G3MapVectorQuat({k: [Quat(*q) for q in v] for k, v in d.items()}),
        lambda c, d: c.G3MapVectorQuat(
            {k: c.G3VectorQuat([c.Quat(*q) for q in v]) for k, v in d.items()}
        ),
        canon_quats,
    ),
    Spec(
        "G3MapFrameObject",
        st.dictionaries(keys, st.tuples(st.sampled_from(["int", "double", "string"]), int64)),
        lambda d: G3MapFrameObject(
            {k: _scalar_objects(None, [_fo(v)], True)[0] for k, v in d.items()}
        ),
        lambda c, d: c.G3MapFrameObject(
            {k: _scalar_objects(c, [_fo(v)], False)[0] for k, v in d.items()}
        ),
        map_canon(canon_scalar_object),
    ),
]


def _fo(v: tuple[str, int]) -> tuple[str, Any]:
    kind, n = v
    if kind == "double":
        return (kind, n / 7.0)
    if kind == "string":
        return (kind, str(n))
    return (kind, n)


ALL_SPECS = VECTOR_SPECS + MAP_SPECS


def our_frame_bytes(obj: Any) -> bytes:
    f = G3Frame(G3FrameType.Scan)
    f["v"] = obj
    return encode_frame_bytes(f)


def our_decode(data: bytes) -> Any:
    dec = FrameDecoder()
    dec.feed(data)
    frame = dec.next_frame()
    assert frame is not None and dec.at_boundary
    return frame["v"]


# -- round trips against the reference ----------------------------------------------


@pytest.mark.reference
@pytest.mark.parametrize("spec", ALL_SPECS, ids=repr)
def test_round_trip_with_reference(spec: Spec) -> None:
    """Same value on both sides: identical bytes, and each side reads the other's bytes."""
    core = pytest.importorskip("spt3g.core")

    @SETTINGS
    @given(spec.data)
    def check(data: Any) -> None:
        ours = spec.ours(data)
        ref = spec.ref(core, data)
        want = spec.canon(ref)
        assert spec.canon(ours) == want
        mine = our_frame_bytes(ours)
        theirs_frame = core.G3Frame(core.G3FrameType.Scan)
        theirs_frame["v"] = ref
        theirs = bytes(theirs_frame._cereal_dumps())
        assert mine == theirs
        # the reference's bytes, read here
        decoded = our_decode(theirs)
        assert type(decoded).__name__ == spec.name
        assert spec.canon(decoded) == want
        # our bytes, read by the reference (and written again from its objects)
        loaded = core.G3Frame()
        loaded._cereal_loads(mine)
        assert spec.canon(loaded["v"]) == want
        loaded.drop_blobs(True)
        assert bytes(loaded._cereal_dumps()) == mine

    check()


# The reference cannot print bytes >= 0x80 (they are not UTF-8) nor times
# before 1970 (it prints garbage); its text forms are compared without them.
TEXT_DATA = {
    "G3VectorUnsignedChar": st.binary(max_size=8).map(lambda b: bytes(c & 0x7F for c in b)),
    "G3VectorTime": st.lists(st.integers(0, 2**62), max_size=8),
    "G3MapTime": st.dictionaries(keys, st.integers(0, 2**62), max_size=6),
}


@pytest.mark.reference
@pytest.mark.parametrize("spec", [s for s in ALL_SPECS if "FrameObject" not in s.name], ids=repr)
def test_text_forms_match_reference(spec: Spec) -> None:
    """``str()`` and ``Summary()`` print like the reference (short and long forms)."""
    core = pytest.importorskip("spt3g.core")

    data = TEXT_DATA.get(spec.name, spec.data)

    @settings(max_examples=30, deadline=None)
    @given(data)
    def check(data: Any) -> None:
        ours = spec.ours(data)
        ref = spec.ref(core, data)
        assert str(ours) == str(ref)
        assert ours.Summary() == ref.Summary()

    check()


@pytest.mark.reference
def test_map_frame_object_text_matches_reference() -> None:
    """G3MapFrameObject summarises as ``N elements`` and describes its values."""
    core = pytest.importorskip("spt3g.core")
    ours = G3MapFrameObject({"a": G3Int(1), "b": G3VectorDouble([1.0, 2.0])})
    ref = core.G3MapFrameObject({"a": core.G3Int(1), "b": core.G3VectorDouble([1.0, 2.0])})
    assert str(ours) == str(ref) == "2 elements"
    assert ours.Description() == ref.Description()


@pytest.mark.reference
def test_legacy_and_nested_against_reference() -> None:
    """A map of nested maps with an unknown class inside is rewritten like the reference."""
    core = pytest.importorskip("spt3g.core")
    inner = core.G3MapFrameObject({"x": core.G3VectorInt([1, 300]), "y": core.G3Time(5)})
    ref = core.G3MapFrameObject({"inner": inner, "s": core.G3String("é")})
    f = core.G3Frame()
    f["m"] = ref
    theirs = bytes(f._cereal_dumps())
    dec = FrameDecoder()
    dec.feed(theirs)
    frame = dec.next_frame()
    assert frame is not None
    frame.drop_blobs()
    assert encode_frame_bytes(frame) == theirs
    assert list(frame["m"]["inner"]["x"]) == [1, 300]


# -- our own round trips, list and dict behaviour -------------------------------------


@pytest.mark.parametrize("spec", ALL_SPECS, ids=repr)
def test_own_round_trip(spec: Spec) -> None:
    """Encoding then decoding gives the same values, and encoding again the same bytes."""

    @SETTINGS
    @given(spec.data)
    def check(data: Any) -> None:
        obj = spec.ours(data)
        blob = encode_object_bytes(obj)
        back = decode_object(blob)
        assert type(back) is type(obj)
        assert spec.canon(back) == spec.canon(obj)
        assert encode_object_bytes(back) == blob
        again = pickle.loads(pickle.dumps(obj))
        assert spec.canon(again) == spec.canon(obj)

    check()


@SETTINGS
@given(st.lists(int64, max_size=30))
def test_store_bits_rule(values: list[int]) -> None:
    """The width is the narrowest of 8/16/32/64 bits holding every value."""
    bits = store_bits(np.array(values, dtype=np.int64))
    assert bits in (8, 16, 32, 64)
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    assert all(lo <= v <= hi for v in values)
    if bits > 8:
        half = bits // 2
        assert any(not -(2 ** (half - 1)) <= v <= 2 ** (half - 1) - 1 for v in values)


@pytest.mark.parametrize(
    ("values", "bits"),
    [([0, 127, -128], 8), ([128], 16), ([-32769], 32), ([2**31], 64), ([], 8), ([-(2**63)], 64)],
)
def test_store_bits_examples(values: list[int], bits: int) -> None:
    """The examples of the format description."""
    assert store_bits(np.array(values, dtype=np.int64)) == bits
    blob = encode_object_bytes(G3VectorInt(values))
    assert list(decode_object(blob)) == values


ops = st.lists(
    st.one_of(
        st.tuples(st.just("append"), floats),
        st.tuples(st.just("extend"), st.lists(floats, max_size=5)),
        st.tuples(st.just("insert"), st.integers(-8, 8), floats),
        st.tuples(st.just("pop"), st.integers(-8, 8)),
        st.tuples(st.just("set"), st.integers(-8, 8), floats),
        st.tuples(st.just("del"), st.integers(-8, 8)),
    ),
    max_size=25,
)


def _bits(values: Any) -> list[bytes]:
    return [f64(x) for x in values]


@SETTINGS
@given(st.lists(floats, max_size=10), ops, st.booleans())
def test_numeric_vector_behaves_like_a_list(
    start: list[float], operations: list[Any], from_blob: bool
) -> None:
    """append/extend/insert/pop/item assignment/del agree with a Python list, also on decoded vectors."""
    vec = G3VectorDouble(start)
    if from_blob:
        vec = decode_object(encode_object_bytes(vec))
    model = list(start)
    for op in operations:
        kind = op[0]
        if kind == "append":
            vec.append(op[1])
            model.append(op[1])
        elif kind == "extend":
            vec.extend(op[1])
            model.extend(op[1])
        elif kind == "insert":
            vec.insert(op[1], op[2])
            model.insert(op[1], op[2])
        elif kind in ("pop", "set", "del"):
            if not -len(model) <= op[1] < len(model):
                continue
            if kind == "pop":
                assert f64(vec.pop(op[1])) == f64(model.pop(op[1]))
            elif kind == "set":
                vec[op[1]] = op[2]
                model[op[1]] = op[2]
            else:
                del vec[op[1]]
                del model[op[1]]
        assert len(vec) == len(model)
    assert _bits(vec) == _bits(model)
    assert _bits(np.asarray(vec)) == _bits(model)
    assert _bits(decode_object(encode_object_bytes(vec))) == _bits(model)


@SETTINGS
@given(st.dictionaries(keys, int64, max_size=10), st.lists(keys, max_size=5))
def test_map_behaves_like_a_dict_with_byte_ordered_keys(
    d: dict[str, int], removed: list[str]
) -> None:
    """Dict protocol, byte-ordered iteration, deletions, and the written order."""
    m = G3MapInt(d)
    for k in removed:
        if k in d:
            del d[k]
            del m[k]
    assert dict(m) == d
    assert m == d
    assert list(m) == sorted(d, key=lambda k: k.encode("utf-8"))
    assert len(m) == len(d)
    back = decode_object(encode_object_bytes(m))
    assert list(back.items()) == list(m.items())


def test_map_keys_sort_by_bytes() -> None:
    """``"" < "0" < "10" < "9" < "B" < "_" < "a" < "é"``, as on the wire."""
    m = G3MapDouble({k: 1.0 for k in ["é", "a", "_", "B", "9", "10", "0", ""]})
    assert list(m) == ["", "0", "10", "9", "B", "_", "a", "é"]
    assert m.Description() == "{, 0, 10, 9, B, _, a, é, }"
    assert str(m) == "8 elements"


def test_vector_list_api() -> None:
    """Indexing, slicing, iteration, membership, count/index/remove, equality, copies."""
    v = G3VectorInt([1, 2, 3, 2])
    assert v[0] == 1 and v[-1] == 2
    assert isinstance(v[0], int)
    assert isinstance(v[1:3], G3VectorInt) and list(v[1:3]) == [2, 3]
    assert list(v) == [1, 2, 3, 2]
    assert 3 in v and 7 not in v
    assert v.count(2) == 2 and v.index(3) == 2
    v.remove(2)
    assert list(v) == [1, 3, 2]
    assert list(v == [1, 3, 2]) == [True, True, True]  # element-wise, as in spt3g
    assert not same_value(v, [1, 3])
    assert not same_value(v, G3VectorDouble([1.0, 3.0, 2.0]))
    c = copy.copy(v)
    c.append(9)
    assert list(v) == [1, 3, 2] and list(c) == [1, 3, 2, 9]
    v.clear()
    assert len(v) == 0
    with pytest.raises(IndexError):
        v.pop()
    with pytest.raises(OverflowError):
        G3VectorInt([2**63])
    with pytest.raises(TypeError):
        G3VectorString([1])
    s = G3VectorString(["a"])
    s.extend(["b", "c"])
    s.insert(0, "z")
    assert s == ["z", "a", "b", "c"] and s.pop() == "c"
    assert str(G3VectorDouble(range(100))) == "100 elements"
    assert G3VectorDouble([1, 2.5, 3]).Description() == "[1, 2.5, 3]"
    assert repr(G3VectorInt([1])) == "G3VectorInt([1])"


def test_vector_element_types() -> None:
    """Elements come back as the Python types the reference gives."""
    assert isinstance(G3VectorDouble([1])[0], float)
    assert G3VectorBool([1, 0])[0] is True
    assert G3VectorComplexDouble([1j])[0] == 1j
    assert G3VectorUnsignedChar(b"ab")[1] == 98 and G3VectorUnsignedChar(b"ab").tobytes() == b"ab"
    assert G3VectorTime([G3Time(5)])[0] == G3Time(5)
    assert G3VectorQuat([Quat(1, 2, 3, 4)])[0] == Quat(1, 2, 3, 4)
    assert np.asarray(G3VectorQuat([Quat(1, 2, 3, 4)])).shape == (1, 4)
    assert np.asarray(G3VectorTime([G3Time(5)])).tolist() == [5]
    vvs = G3VectorVectorString([["a"], []])
    assert isinstance(vvs[0], G3VectorString) and vvs == [["a"], []]


def test_map_values_are_objects_changed_in_place() -> None:
    """Vector values of maps are vector objects; changing one changes the map."""
    m = G3MapVectorDouble({"a": [1.0]})
    m["a"].append(2.0)
    assert list(decode_object(encode_object_bytes(m))["a"]) == [1.0, 2.0]
    mm = G3MapMapDouble({"x": {"b": 1.0}})
    assert isinstance(mm["x"], G3MapDouble)
    with pytest.raises(TypeError):
        G3MapString({"a": 1})
    with pytest.raises(TypeError):
        G3MapDouble({1: 1.0})
    with pytest.raises(OverflowError):
        G3MapInt({"a": 2**63})


# -- zero copy ------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [G3VectorDouble, G3VectorInt, G3VectorComplexDouble])
def test_large_vector_decodes_without_copy(cls: Any) -> None:
    """A large vector read from a frame is a view of the frame's bytes (and read-only).

    (Integers are only viewed when they were stored 64 bits wide.)
    """
    values = (np.arange(200_000) * 2**40).astype(cls._dtype)
    data = our_frame_bytes(cls(values))
    dec = FrameDecoder()
    dec.feed(data)
    frame = dec.next_frame()
    assert frame is not None
    vec = frame["v"]
    arr = np.asarray(vec)
    raw = frame.original_bytes
    assert raw is not None
    assert np.shares_memory(arr, np.frombuffer(raw, dtype=np.uint8))
    assert np.asarray(vec) is not None and np.shares_memory(np.asarray(vec), arr)
    assert not arr.flags.writeable
    assert np.array_equal(arr, values)
    # changing the vector copies it first: the frame's bytes stay intact
    vec[0] = 42
    assert vec[0] == 42 and bytes(raw) == data


def test_asarray_is_not_a_copy_and_encoding_passes_views() -> None:
    """``numpy.asarray`` gives the storage itself; the encoder hands large arrays through."""
    v = G3VectorDouble(np.linspace(0, 1, 100_000))
    a = np.asarray(v)
    assert np.shares_memory(a, np.asarray(v))
    a[3] = -1.0
    assert v[3] == -1.0
    parts = encode_object(v)
    assert any(
        isinstance(p, memoryview) and np.shares_memory(np.frombuffer(p, dtype=np.uint8), a)
        for p in parts
    )


# -- G3VectorFrameObject and G3MapFrameObject specifics ----------------------------


def test_vector_frame_object_shared_pointer_bytes() -> None:
    """The worked example of shared pointers, byte for byte, and decoded as one object."""
    x = G3Int(1)
    blob = encode_object_bytes(G3VectorFrameObject([x, G3Double(2.0), x]))
    want = bytes.fromhex(
        "01 01000080 1300000000000000"
        + b"G3VectorFrameObject".hex()
        + "01000080 01000000 01000000 0300000000000000"
        + "02000080 0500000000000000"
        + b"G3Int".hex()
        + "02000080 01000000 0100000000000000"
        + "03000080 0800000000000000"
        + b"G3Double".hex()
        + "03000080 01000000 0000000000000040"
        + "02000000 02000000"
    )
    assert blob == want
    back = decode_object(blob)
    assert back[0] is back[2] and back[0] == 1 and back[1] == 2.0


def test_vector_frame_object_nulls_and_plain_values() -> None:
    """Null elements survive; plain Python values are wrapped like frame values."""
    v = G3VectorFrameObject([1, None, "s", 2.5])
    assert [type(x).__name__ for x in v] == ["G3Int", "NoneType", "G3String", "G3Double"]
    back = decode_object(encode_object_bytes(v))
    assert back[1] is None and back[2] == "s"


def test_map_frame_object_keeps_unknown_classes_byte_exact() -> None:
    """A nested value of an unknown class is kept as an opaque object and written back as it was."""
    nested = bytearray(encode_object_bytes(G3Int(7)))
    name = b"G3Int"
    i = nested.index(name)
    nested[i : i + len(name)] = b"Xy9Zq"  # same length: an unknown class name
    opaque = decode_object(bytes(nested))
    assert isinstance(opaque, OpaqueFrameObject)
    m = G3MapFrameObject({"u": opaque, "n": None, "k": G3Int(3)})
    blob = encode_object_bytes(m)
    assert bytes(nested) in blob
    back = decode_object(blob)
    assert isinstance(back["u"], OpaqueFrameObject) and back["u"].blob == bytes(nested)
    assert back["n"] is None and back["k"] == 3
    assert encode_object_bytes(back) == blob


def test_nested_archive_errors_name_absolute_offsets() -> None:
    """A corrupt nested archive raises a format error whose offset points into it."""
    m = G3MapFrameObject({"a": G3Int(3)})
    blob = bytearray(encode_object_bytes(m))
    at = blob.index(encode_object_bytes(G3Int(3)))
    blob[at] = 7  # the nested archive's endianness byte
    with pytest.raises(G3FormatError) as info:
        decode_object(bytes(blob), base_offset=1000)
    assert info.value.offset == 1000 + at


# -- arithmetic ----------------------------------------------------------------------


@SETTINGS
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=10), st.floats(-10, 10))
def test_arithmetic_is_elementwise(values: list[float], k: float) -> None:
    """``v * k``, ``v + v``, ``k - v``, ``-v``, ``v > k`` act element-wise and keep vector types."""
    v = G3VectorDouble(values)
    a = np.array(values)
    for got, want in [(v * k, a * k), (v + v, a + a), (k - v, k - a), (-v, -a), (abs(v), abs(a))]:
        assert isinstance(got, G3VectorDouble)
        assert _bits(got) == _bits(want)
    gt = v > k
    assert isinstance(gt, G3VectorBool) and list(gt) == list(a > k)
    i = G3VectorInt([int(x) for x in values])
    assert isinstance(i * 2, G3VectorInt) and isinstance(i / 2, G3VectorDouble)
    assert list(i * 2) == [2 * int(x) for x in values]


@pytest.mark.reference
def test_arithmetic_result_types_match_reference() -> None:
    """Result classes of a few operations are those spt3g gives."""
    core = pytest.importorskip("spt3g.core")
    ours, ref = G3VectorDouble([1.0, 2.0]), core.G3VectorDouble([1.0, 2.0])
    for op in (lambda v: v * 2, lambda v: v + v, lambda v: -v, lambda v: v > 1, abs):
        a, b = op(ours), op(ref)
        assert type(a).__name__ == type(b).__name__
        assert str(a) == str(b)


def test_element_conversion_is_strict() -> None:
    """Integers stay integers, and an undecoded object cannot go inside a vector archive."""
    with pytest.raises(TypeError):
        G3VectorInt([1.5])
    v = G3VectorInt([1])
    with pytest.raises(TypeError):
        v.append(2.0)
    assert G3VectorDouble([1, True])[0] == 1.0
    opaque = OpaqueFrameObject("SomethingElse", b"\x01\x00\x00\x00\x00")
    with pytest.raises(TypeError):
        G3VectorFrameObject([opaque])


# -- the JSON form ----------------------------------------------------------------------


@pytest.mark.parametrize("spec", ALL_SPECS, ids=repr)
def test_json_form_round_trip(spec: Spec) -> None:
    """Object -> JSON text -> object gives the same JSON and bytes, shared pointers included."""
    import json

    from g3stream.jsonform import object_from_json, object_to_json

    @SETTINGS
    @given(spec.data)
    def check(data: Any) -> None:
        obj = spec.ours(data)
        text = json.dumps(object_to_json(obj), allow_nan=False)
        back = object_from_json(json.loads(text))
        assert type(back) is type(obj)
        assert json.dumps(object_to_json(back), allow_nan=False) == text
        if '"nan"' not in text:  # the JSON form keeps no NaN payload or sign
            assert encode_object_bytes(back) == encode_object_bytes(obj)

    check()


def test_json_form_marks_repeated_objects() -> None:
    """An object met again in one archive carries ptr_ref; across nested archives it does not."""
    from g3stream.jsonform import object_to_json

    x = G3Int(7)
    v = object_to_json(G3VectorFrameObject([x, G3Double(1.0), x]))
    assert "ptr_ref" not in v["value"][0] and v["value"][2]["ptr_ref"] == 2
    assert v["value"][2]["value"] == 7
    m = object_to_json(G3MapFrameObject({"a": x, "b": x}))
    assert all("ptr_ref" not in value for _, value in m["value"])
