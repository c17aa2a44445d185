"""Vectors, maps and timestreams behave as spt3g's in Python (issue: API fidelity).

Each case runs on both libraries (see ``differ``): comparisons are
element-wise, in-place operators change the object itself, bitwise and
reflected operators work, the untyped vector names exist and are what
``G3MapVector*`` maps hold, and timestreams take exactly spt3g's sample types.
"""

from __future__ import annotations

import pytest
from fidelity.differ import same_outcome

D = "core.G3VectorDouble"
INT = "core.G3VectorInt"
B = "core.G3VectorBool"

COMPARISONS = [
    f"r = {D}([1, 2]) == {D}([1, 3])",
    f"r = {D}([1, 2]) != {D}([1, 3])",
    f"r = {D}([1, 2]) == [1, 2]",
    f"r = [1, 2] == {D}([1, 2])",
    f"r = {D}([1, 2]) == 1",
    f"r = {D}([1, 2]) == {D}([1])",
    f"r = {D}([1, 2]) == [1, 2, 3]",
    f"r = {D}([1, 2]) == None",
    f"r = {D}([1, 2]) < 2",
    f"r = 2 < {D}([1, 2])",
    f"r = {D}([1, 2]) >= [2, 1]",
    f"r = {INT}([1, 2]) == {D}([1, 3])",
    f"r = {D}([1, 2]) == np.array([1.0, 2.0])",
    "r = core.G3VectorComplexDouble([1j, 2]) == core.G3VectorComplexDouble([1j, 3])",
    f"r = {B}([True, False]) == {B}([True, True])",
    # these compare as lists in spt3g: one bool
    "r = core.G3VectorString(['a']) == core.G3VectorString(['a'])",
    "r = core.G3VectorString(['a']) != ['a']",
    "r = core.G3VectorUnsignedChar(b'ab') == core.G3VectorUnsignedChar(b'ab')",
    "r = core.G3VectorTime([core.G3Time(1)]) == core.G3VectorTime([core.G3Time(1)])",
    "r = core.G3VectorQuat([core.Quat(1, 2, 3, 4)]) == core.G3VectorQuat([core.Quat(1, 2, 3, 4)])",
    # numpy's truth value: `if v == w:` cannot pass silently
    f"r = bool({D}([1, 2]) == {D}([1, 2]))",
    f"r = bool({D}([]))",
    f"r = bool({D}([1.0, 2.0]))",
    "r = bool(core.G3VectorString([]))",
    "r = 1 in core.G3VectorString(['a'])",
]

IN_PLACE = [
    f"v = {D}([1.0]); w = v; v += 1; r = w",
    f"v = {D}([1.0, 2.0]); w = v; v *= {D}([3.0, 4.0]); r = w",
    f"v = {INT}([5, 6]); w = v; v //= 2; r = w",
    f"v = {INT}([5, 6]); w = v; v %= 4; r = w",
    f"v = {INT}([5, 6]); w = v; v **= 2; r = w",
    f"v = {INT}([5, 6]); w = v; v &= 4; r = w",
    f"v = {INT}([5, 6]); w = v; v |= 1; r = w",
    f"v = {INT}([5, 6]); w = v; v ^= 3; r = w",
    f"v = {INT}([5, 6]); w = v; v <<= 1; r = w",
    f"v = {INT}([5, 6]); w = v; v >>= 1; r = w",
    f"v = {INT}([1, 2]); v /= 2; r = v",  # int storage cannot take a float result
    f"v = {B}([True, False]); w = v; v &= {B}([True, True]); r = w",
    "m = core.G3MapVectorDouble({'a': [1.0]}); v = m['a']; v += 1; r = m['a']",
    "ts = core.G3Timestream([1.0, 2.0]); t2 = ts; ts += 1; r = t2",
    "ts = core.G3Timestream(np.array([5, 6], dtype='int64')); t2 = ts; ts //= 2; r = t2",
    "ts = core.G3Timestream(np.array([5, 6], dtype='int64')); t2 = ts; ts %= 4; r = t2",
    "ts = core.G3Timestream(np.array([5, 6], dtype='int32')); t2 = ts; ts &= 4; r = t2",
    "ts = core.G3Timestream(np.array([5, 6], dtype='int32')); t2 = ts; ts <<= 1; r = t2",
]

OPERATORS = [
    f"r = {INT}([1, 2]) & {INT}([1, 3])",
    f"r = {INT}([1, 2]) | 1",
    f"r = {INT}([1, 2]) ^ 1",
    f"r = {INT}([1, 2]) << 1",
    f"r = {INT}([4, 8]) >> 1",
    f"r = ~{INT}([1, 2])",
    f"r = {B}([1, 0]) & {B}([1, 1])",
    f"r = {B}([1, 0]) | {B}([0, 0])",
    f"r = ~{B}([1, 0])",
    f"r = -{B}([1, 0])",
    f"r = {D}([1.0]) & {D}([1.0])",
    f"r = 5.0 % {D}([2.0, 3.0])",
    f"r = 2 ** {D}([1.0, 2.0])",
    f"r = 5 // {D}([2.0, 3.0])",
    f"r = 5 % {INT}([2, 3])",
    f"r = 2 ** {INT}([2, 3])",
    f"r = 1 & {INT}([1, 2])",
    f"r = 1 | {INT}([1, 2])",
    f"r = 1 ^ {INT}([1, 2])",
    f"r = 1 << {INT}([1, 2])",
    f"r = 8 >> {INT}([1, 2])",
    f"r = {INT}([1, 2]) / 2",
    f"r = {INT}([1, 2]) + 1.5",
    f"r = {INT}([1, 2]) + {D}([1, 2])",
    f"r = {D}([1, 2]) + {D}([1])",
    f"r = abs({INT}([-1, 2]))",
    "r = abs(core.G3VectorComplexDouble([1j, -2]))",
    f"r = {D}([1, 2]) + [1, 1]",
    f"r = [1, 1] + {D}([1, 2])",
    f"r = np.ones(2) + {D}([1, 2])",
    "r = 5 // core.G3Timestream([2.0, 3.0])",
    "r = 5.0 % core.G3Timestream([2.0, 3.0])",
    "r = 2 ** core.G3Timestream([1.0, 2.0])",
    "r = 1 & core.G3Timestream(np.array([1, 2], dtype='int32'))",
    "r = core.G3Timestream(np.array([1, 2], dtype='int64')) | 4",
    "r = ~core.G3Timestream(np.array([1, 2], dtype='int64'))",
    "r = core.G3Timestream([1.0, 2.0]) == core.G3Timestream([1.0, 3.0])",
    "r = core.G3Timestream([1.0, 2.0]) < 2",
    "r = bool(core.G3Timestream([1.0, 2.0]))",
    # the result keeps the left operand's units; scalars promote as 0-d arrays
    "a = core.G3Timestream([1.0, 2.0]); a.units = core.G3TimestreamUnits.Counts;"
    " b = core.G3Timestream([1.0, 2.0]); r = (b * a, a * b, a / a)",
    "a = core.G3Timestream([1.0, 2.0]); a.units = core.G3TimestreamUnits.Counts;"
    " b = core.G3Timestream([1.0, 2.0]); b.units = core.G3TimestreamUnits.Power; r = a + b",
    "r = core.G3Timestream(np.array([1, 2], dtype='int32')) + 1",
    "r = 1 + core.G3Timestream(np.array([1, 2], dtype='int32'))",
    "r = core.G3Timestream(np.array([1, 2], dtype='float32')) * 2.0",
    "r = core.G3Timestream(np.array([1, 2], dtype='int32')) == 1",
    "r = core.G3Timestream([1.0, 2.0]) + core.G3VectorDouble([1, 2])",
    "r = core.G3VectorDouble([1, 2]) + core.G3Timestream([1.0, 2.0])",
    "r = np.array([1, 2]) * core.G3Timestream([1.0, 2.0])",
    f"r = {D}([1, 2]) == 'ab'",
]

UNTYPED = [
    "BoolVector",
    "ComplexDoubleVector",
    "ComplexFloatVector",
    "DoubleVector",
    "FloatVector",
    "FrameObjectVector",
    "FrameTypeVector",
    "FrameVector",
    "Int64Vector",
    "IntVector",
    "ModuleConfigVector",
    "QuatVector",
    "StringVector",
    "UInt64Vector",
    "UIntVector",
    "UnsignedCharVector",
    "G3TimeVector",
    "G3VectorStringVector",
    "G3LoggerVector",
]

MAP_VALUES = [
    "r = core.G3MapVectorDouble({'a': [1.0]})['a']",
    "r = core.G3MapVectorInt({'a': [1, 300]})['a']",
    "r = core.G3MapVectorBool({'a': [True]})['a']",
    "r = core.G3MapVectorString({'a': ['x']})['a']",
    "r = core.G3MapVectorComplexDouble({'a': [1j]})['a']",
    "r = core.G3MapVectorTime({'a': [core.G3Time(1)]})['a']",
    "r = core.G3MapVectorQuat({'a': [core.Quat(1, 0, 0, 0)]})['a']",
    "r = core.G3MapVectorVectorString({'a': [['x']]})['a']",
    "r = core.DoubleVector([1.0, 2.0]) + 1",
    "r = core.Int64Vector([1, 2]) / 2",
    "r = core.DoubleVector([1.0]) == core.DoubleVector([1.0])",
    "r = core.G3VectorDouble(core.DoubleVector([1.0]))",
    "r = isinstance(core.G3VectorDouble([1.0]), core.DoubleVector)",
    "r = isinstance(core.G3VectorInt([1]), core.Int64Vector)",
    "r = isinstance(core.G3VectorString(['a']), core.StringVector)",
    "r = isinstance(core.G3VectorTime([]), core.G3TimeVector)",
    "f = core.G3Frame(); f['x'] = core.DoubleVector([1.0])",
]

SAMPLE_TYPES = [
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "longdouble",
    "complex64",
    "complex128",
    "bool",
    "object",
    "U1",
]

TIMESTREAM_MAPS = [
    "m = core.G3TimestreamMap(['a', 'b'], np.array([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]]),"
    " core.G3Time(0), core.G3Time(200)); r = (m.std(), m.var(), m.elapsed,"
    " m.var(ddof=1), m.times, m.std(axis=0))",
    # along the samples spt3g computes in C++ (its rounding may differ in the last bit)
    "m = core.G3TimestreamMap(['a', 'b'], np.array([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]]));"
    " r = (np.round(m.std(axis=1), 12), np.round(m.var(axis=-1, ddof=1), 12))",
    "m = core.G3TimestreamMap(); r = (m.elapsed, m.times)",
    "ts = core.G3Timestream([1.0, 2.0, 3.0]); ts.start = core.G3Time(0);"
    " ts.stop = core.G3Time(7); r = ts.elapsed",
]


@pytest.mark.parametrize("code", COMPARISONS)
def test_comparisons_are_element_wise(code: str) -> None:
    same_outcome(code)


@pytest.mark.parametrize("code", IN_PLACE)
def test_in_place_operators_change_the_object(code: str) -> None:
    same_outcome(code)


@pytest.mark.parametrize("code", OPERATORS)
def test_bitwise_and_reflected_operators(code: str) -> None:
    same_outcome(code)


@pytest.mark.parametrize("name", UNTYPED)
def test_untyped_vector_names(name: str) -> None:
    same_outcome(f"r = core.{name}.__name__")


@pytest.mark.parametrize("code", MAP_VALUES)
def test_map_values_are_the_untyped_vectors(code: str) -> None:
    same_outcome(code)


@pytest.mark.parametrize("dtype", SAMPLE_TYPES)
def test_timestream_sample_types(dtype: str) -> None:
    same_outcome(f"r = core.G3Timestream(np.ones(3, dtype={dtype!r})).dtype.str")


@pytest.mark.parametrize(
    "code",
    [
        "r = core.G3Timestream([1, 2, 3])",
        "r = core.G3Timestream([True, False])",
        "r = core.G3Timestream([1j])",
        "r = core.G3Timestream(['a'])",
        "r = core.G3Timestream(np.array([], dtype='int16'))",
        "r = core.G3Timestream(core.G3VectorInt([1, 2]))",
        "r = core.G3Timestream(core.G3VectorDouble([1.0, 2.0]))",
    ],
)
def test_timestream_construction(code: str) -> None:
    same_outcome(code)


@pytest.mark.parametrize("code", TIMESTREAM_MAPS)
def test_timestream_map_statistics(code: str) -> None:
    same_outcome(code)


@pytest.mark.parametrize(
    "code",
    [
        "m = core.G3TimesampleMap(); m.times = core.G3VectorTime([core.G3Time(1), core.G3Time(2)]);"
        " m['a'] = core.G3VectorDouble([1.0, 2.0]); m.times = core.G3VectorTime([core.G3Time(1)])",
        "m = core.G3TimesampleMap(); m.times = core.G3VectorTime([core.G3Time(1), core.G3Time(2)]);"
        " m['a'] = core.G3VectorDouble([1.0, 2.0]); m.times = [core.G3Time(3), core.G3Time(4)];"
        " r = m.times",
        "m = core.G3TimesampleMap(); m.times = core.G3VectorTime([core.G3Time(1)]); r = m.times",
    ],
)
def test_timesample_times_length(code: str) -> None:
    same_outcome(code)
