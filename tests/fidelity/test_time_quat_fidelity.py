"""G3Time, quaternions and frame types behave as spt3g's (issue: API fidelity).

Every string form spt3g reads gives spt3g's tick; ``GetFileFormatString``
is spt3g's file-name form; time arithmetic with arrays and times gives
spt3g's types; quaternion arithmetic gives spt3g's bits, on ``Quat`` and
element-wise on ``G3VectorQuat`` / ``G3TimestreamQuat``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from fidelity.differ import same_outcome

TIME_STRINGS = [
    "20170101_000000",
    "20170101_123456",
    "20170101_123456.5",
    "170101_123456",
    "690101_000000",
    "680101_000000",
    "17011_000000",
    "170101 12:34:56",
    "170101 12:34:56.25",
    "20170101 12:34:56",
    "01-Jan-2017:12:34:56",
    "01-jan-2017:12:34:56",
    "1-Jan-2017:0:0:0",
    "01-January-2017:12:34:56",
    "01-Jan-17:12:34:56",
    "01-Jan-2017:12:34:56.123456789",
    "01-Jan-2017:12:34:56.1234567891",
    "01-Jan-2017:00:00:00.29",
    "01-Jan-2017:00:00:00.000000019",
    "01-Jan-2017:00:00:60",
    "01-Jan-2017:00:00:61",
    "01-Jan-2017:00:00:62",
    "01-Jan-2017:00:60:00",
    "01-Feb-2017:25:00:00",
    "32-Jan-2017:00:00:00",
    "31-Apr-2017:00:00:00",
    "01-Jan-2017:00:00:00Z",
    "2017-01-01T12:34:56",
    "2017-01-01T12:34:56.5",
    "2017-01-01T12:34:56Z",
    "2017-01-01T12:34:56+01:00",
    "2017-01-01T12:34:56-0130",
    "2017-01-01T12:34:56+01",
    "2017-01-01T12:34:56 +01:00",
    "2017-01-01T00:00:00.29+01:00",
    "2017-01-01T00:00:00+1:00",
    "2017-02-30T00:00:00",
    "2017-13-01T00:00:00",
    "2017-1-1T0:0:0",
    "2017-01-01 12:34:56+02:00",
    "2017-01-01T00:00:00.",
    "2017-01-01T00:00:00.5.5",
    " 20170101_000000",
    "20170101_000000 trailing",
    "20171301_000000",
    "01-Foo-2017:00:00:00",
    "2017-01-01",
    "20170101T000000",
    "",
    "garbage",
]


@pytest.mark.parametrize("text", TIME_STRINGS)
def test_time_strings_parse_to_the_same_tick(text: str) -> None:
    same_outcome(f"r = core.G3Time({text!r}).time")


def random_times(n: int = 40) -> list[int]:
    rng = np.random.default_rng(7)
    return [int(t) for t in rng.integers(-(10**17), 4 * 10**17, n)]


@pytest.mark.parametrize("ticks", random_times())
def test_times_written_in_every_form_read_back_the_same(ticks: int) -> None:
    """Each spt3g form of a random time (before 1970 too), with and without a fraction."""
    when = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=ticks // 100)
    frac = f".{ticks % 10**8:08d}"
    forms = [
        when.strftime("%Y%m%d_%H%M%S"),
        when.strftime("%y%m%d_%H%M%S") + frac,
        when.strftime("%y%m%d %H:%M:%S") + frac[:4],
        when.strftime("%d-%b-%Y:%H:%M:%S") + frac,
        when.strftime("%Y-%m-%dT%H:%M:%S") + frac,
        when.strftime("%Y-%m-%dT%H:%M:%S+05:30"),
    ]
    for text in forms:
        same_outcome(f"r = core.G3Time({text!r}).time")


@pytest.mark.parametrize("ticks", [0, 148322880012345678, -3, -(10**8) - 5, *random_times(10)])
def test_file_format_string(ticks: int) -> None:
    same_outcome(f"r = core.G3Time({ticks}).GetFileFormatString()")


@pytest.mark.parametrize(
    "code",
    [
        "r = core.G3Time(0) + np.arange(3)",
        "r = np.arange(3) + core.G3Time(0)",
        "r = core.G3Time(5) - np.arange(3)",
        "r = np.arange(3) - core.G3Time(5)",
        "r = core.G3Time(0) + np.array([1.5, 2.7])",
        "r = core.G3Time(0) + np.arange(3, dtype=np.int32)",
        "r = core.G3Time(10) - core.G3Time(3)",
        "r = core.G3Time(3) - core.G3Time(10)",
        "r = core.G3Time(10) + core.G3Time(3)",
        "r = core.G3Time(10) + 2.7",
        "r = core.G3Time(10) - 2.7",
        "r = 2 + core.G3Time(10)",
        "r = core.G3Time(5) + np.int64(3)",
        "r = core.G3Time(5) + core.G3VectorInt([1, 2])",
        "r = np.asarray(core.G3Time(5))",
        "r = core.G3Time(5.7).time",
        "r = core.G3Time(10) * 2",
        "r = 2 - core.G3Time(10)",
        "r = core.G3Time(10) == core.G3Time(10)",
        "r = str(core.G3Time(148322880012345678))",
        "r = core.G3Time(148322880012345678).isoformat()",
    ],
)
def test_time_arithmetic(code: str) -> None:
    same_outcome(code)


def random_quats(n: int) -> list[tuple[float, ...]]:
    rng = np.random.default_rng(11)
    return [tuple(float(x) for x in rng.normal(size=4)) for _ in range(n)]


QUAT_EXPRESSIONS = [
    "q + p",
    "q - p",
    "q * p",
    "q / p",
    "q ** 2",
    "q ** 3",
    "q ** 7",
    "q ** 0",
    "q ** -1",
    "q ** -3",
    "q ** 0.5",
    "-q",
    "~q",
    "+q",
    "q.real",
    "q.unreal",
    "q.norm()",
    "q.vnorm()",
    "abs(q)",
    "q.abs()",
    "q.dot3(p)",
    "q.cross3(p)",
    "q / 2",
    "2.5 / q",
    "2 * q",
    "q * 2",
    "q + 1",
    "q == core.Quat(*A)",
    "q != p",
    "np.asarray(q)",
    "core.Quat(np.asarray(A))",
    "core.Quat(q)",
]


@pytest.mark.parametrize("expr", QUAT_EXPRESSIONS)
@pytest.mark.parametrize("pair", range(4))
def test_quaternion_arithmetic(expr: str, pair: int) -> None:
    a, b = random_quats(8)[2 * pair : 2 * pair + 2]
    same_outcome(f"A = {a!r}; q = core.Quat(*A); p = core.Quat(*{b!r}); r = {expr}")


def test_quaternion_in_place() -> None:
    a, b = random_quats(2)
    for op in ("+=", "-=", "*=", "/="):
        same_outcome(f"q = core.Quat(*{a!r}); w = q; q {op} core.Quat(*{b!r}); r = (q, w)")
    same_outcome(f"q = core.Quat(*{a!r}); q /= 3; r = q")


VECTOR_QUAT_EXPRESSIONS = [
    "v * w",
    "v / w",
    "v * 2",
    "v / 2",
    "2 * v",
    "2 / v",
    "v ** 2",
    "v ** 5",
    "v ** -1",
    "-v",
    "~v",
    "abs(v)",
    "v.abs()",
    "v.real",
    "v.norm()",
    "v.vnorm()",
    "v.dot3(q)",
    "v.cross3(q)",
    "v.dot3(w)",
    "v * q",
    "q * v",
    "v / q",
    "q / v",
    "v + w",
    "v == w",
    "v != w",
]


@pytest.mark.parametrize("expr", VECTOR_QUAT_EXPRESSIONS)
@pytest.mark.parametrize("kind", ["G3VectorQuat", "G3TimestreamQuat"])
def test_quaternion_vectors_element_wise(expr: str, kind: str) -> None:
    quats = random_quats(7)
    setup = (
        f"v = core.{kind}([core.Quat(*x) for x in {quats[:3]!r}]);"
        f" w = core.G3VectorQuat([core.Quat(*x) for x in {quats[3:6]!r}]);"
        f" q = core.Quat(*{quats[6]!r});"
    )
    if kind == "G3TimestreamQuat":
        setup += " v.start = core.G3Time(10); v.stop = core.G3Time(30);"
    same_outcome(f"{setup} r = {expr}")


def test_quaternion_vectors_in_place() -> None:
    quats = random_quats(3)
    for kind in ("G3VectorQuat", "G3TimestreamQuat"):
        for op in ("*= core.Quat(*Q)", "/= 2", "*= 3", "/= core.Quat(*Q)"):
            same_outcome(
                f"Q = {quats[2]!r}; v = core.{kind}([core.Quat(*x) for x in {quats[:2]!r}]);"
                f" w = v; v {op}; r = w"
            )


FRAME_TYPES = [
    "Timepoint",
    "Housekeeping",
    "Observation",
    "Scan",
    "Map",
    "InstrumentStatus",
    "Wiring",
    "Calibration",
    "GcpSlow",
    "PipelineInfo",
    "Ephemeris",
    "LightCurve",
    "Statistics",
    "EndProcessing",
    "none",
]


@pytest.mark.parametrize("name", FRAME_TYPES)
def test_frame_type_key_and_value(name: str) -> None:
    same_outcome(
        f"t = core.G3FrameType.{name}; r = (t.key, t.value, t.name, str(t), int(t),"
        " core.G3FrameType.values[t.value] == t, core.G3FrameType.names[t.name] == t)"
    )
