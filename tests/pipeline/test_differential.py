"""Differential tests: the same module chains on spt3g's G3Pipeline and on ours.

Each case feeds the same input frames through the same chain of modules
(written once, against whichever ``core`` they are given) on both
implementations and compares the output frames, in order, entry by entry
(serialized bytes).  PipelineInfo contents are masked where they must
differ: the time key, the software version and library module names.
Errors must have the same type, and the same message up to spt3g's C++
location suffix.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from g3stream import core as g3core
from g3stream.codec.container import decode_frame, encode_frame_bytes
from g3stream.objects.pipelineinfo import G3PipelineInfo

spt3g_core = pytest.importorskip("spt3g.core")

pytestmark = pytest.mark.reference

TIME_KEY = re.compile(r"^\d{2}-[A-Z][a-z]{2}-\d{4}:\d{2}:\d{2}:\d{2}\.\d{9}$")

# -- harness ---------------------------------------------------------------------

Spec = list[tuple[str, dict[str, Any]]]


def build_frame(core: Any, type_name: str, content: dict[str, Any]) -> Any:
    """A frame of ``core`` with plain values; ``"__info__"`` makes an input G3PipelineInfo."""
    frame = core.G3Frame(core.G3FrameType.names[type_name]) if len(type_name) > 2 else None
    if frame is None:
        frame = core.G3Frame(type_name)
    for key, value in content.items():
        if value == "__info__":
            info = core.G3PipelineInfo()
            info.vcs_branch = "input-branch"
            info.hostname = "input-host"
            info.user = "input-user"
            frame[key] = info
        else:
            frame[key] = value
    return frame


def make_source(core: Any, spec: Spec) -> Callable[[Any], Any]:
    frames = iter([build_frame(core, t, c) for t, c in spec])

    def source(frame):
        for f in frames:
            return f
        return []

    return source


def _short(name: str) -> str:
    """A module name without the library's package path (``spt3g.core.util.Dump`` -> ``Dump``)."""
    return (
        name.split("/")[-1].rsplit(".", 1)[-1] if name.startswith(("spt3g.", "g3stream.")) else name
    )


def _masked_repr(text: str) -> str:
    if " at 0x" in text or text.startswith("<"):
        return "<object>"
    return text.replace("spt3g.core.", "")


def _masked_info(info: G3PipelineInfo) -> tuple[Any, ...]:
    modules = tuple(
        (
            _short(m.modname),
            _short(m.instancename),
            tuple((k, _masked_repr(arg.repr)) for k, arg in m.args()),
        )
        for m in info.modules
    )
    if info.hostname == "input-host":  # made by the test: compare everything
        return ("input", info.vcs_branch, info.user, modules)
    return ("added", info.hostname, info.user, modules)


def canonical(raw: bytes) -> tuple[Any, ...]:
    """A frame's type and entries (masked where the implementations must differ)."""
    frame = decode_frame(raw)
    entries = []
    for key in frame.keys():
        masked_key = "<time>" if TIME_KEY.match(key) else key
        value = frame[key]
        if isinstance(value, G3PipelineInfo):
            entries.append((masked_key, _masked_info(value)))
        else:
            entries.append((masked_key, bytes(frame.blob(key))))
    return (int(frame.type), tuple(sorted(entries, key=repr)))


def run(core: Any, spec: Spec | None, chain: Callable[[Any, Any], None]) -> dict[str, Any]:
    """Run source + chain + collector on ``core``; the outputs and any error."""
    out: list[bytes] = []
    serialize = (lambda f: bytes(f.hash)) if core is spt3g_core else encode_frame_bytes

    def collect(frame):
        out.append(serialize(frame))

    pipe = core.G3Pipeline()
    if spec is not None:
        pipe.Add(make_source(core, spec))
    chain(core, pipe)
    pipe.Add(collect)
    error = None
    try:
        pipe.Run()
    except Exception as exc:  # compared below
        error = (type(exc), str(exc))
    return {"frames": [canonical(f) for f in out], "error": error}


def assert_same(spec: Spec | None, chain: Callable[[Any, Any], None]) -> dict[str, Any]:
    ref = run(spt3g_core, spec, chain)
    ours = run(g3core, spec, chain)
    assert ours["frames"] == ref["frames"]
    if ref["error"] is None:
        assert ours["error"] is None
    else:
        assert ours["error"] is not None, f"spt3g raised {ref['error']}"
        assert issubclass(ours["error"][0], ref["error"][0])
        # spt3g appends the C++ function where the error was raised
        assert ref["error"][1].startswith(ours["error"][1]), (ref["error"], ours["error"])
    return ours


def scans(n: int, **extra: Any) -> Spec:
    return [("Scan", {"i": i, **extra}) for i in range(n)]


# -- module chains ------------------------------------------------------------


def chain_functions(core, pipe):
    def tag(frame, label="x", scale=1.0):
        if frame.type == core.G3FrameType.Scan:
            frame["label"] = label
            frame["scaled"] = frame["i"] * scale

    def drop_odd(frame):
        if frame.type == core.G3FrameType.Scan and frame["i"] % 2:
            return False

    def replace_three(frame):
        if frame.type == core.G3FrameType.Scan and frame["i"] == 2:
            new = core.G3Frame(core.G3FrameType.Housekeeping)
            new["replaced"] = 2
            return new
        return True

    def split(frame):
        if frame.type == core.G3FrameType.Scan:
            extra = core.G3Frame(core.G3FrameType.Timepoint)
            extra["from"] = frame["i"]
            return [extra, frame]

    pipe.Add(tag, label="é", scale=0.5)
    pipe.Add(drop_odd)
    pipe.Add(replace_three)
    pipe.Add(split)


def chain_return_kinds(core, pipe):
    def as_tuple(frame):
        return (frame,)

    def as_generator(frame):
        return (f for f in [frame])

    def truthy_int(frame):
        return 5

    def empty_on_timepoint(frame):
        if frame.type == core.G3FrameType.Timepoint:
            return []

    def zero_on_four(frame):
        if frame.type == core.G3FrameType.Scan and frame["i"] == 4:
            return 0

    pipe.Add(as_tuple)
    pipe.Add(as_generator)
    pipe.Add(truthy_int)
    pipe.Add(empty_on_timepoint)
    pipe.Add(zero_on_four)


def chain_classes(core, pipe):
    class Scale(core.G3Module):
        def __init__(self, factor=2, key="x"):
            super().__init__()
            self.factor = factor
            self.key = key

        def Process(self, frame):
            if frame.type == core.G3FrameType.Scan:
                frame[self.key] = frame["i"] * self.factor

    class Counter:
        def __init__(self, start=0, key="n"):
            self.n = start
            self.key = key

        def __call__(self, frame):
            self.n += 1
            frame[self.key] = self.n

        def method(self, frame):
            frame[self.key + "_m"] = self.n * 10

    class Keeper(core.G3Module):
        def Process(self, frame):
            if frame.type == core.G3FrameType.Scan and frame["i"] == 1:
                return False
            return None

    counter = Counter(100, "instance")
    pipe.Add(Scale, factor=3)
    pipe.Add(Scale(5, "y"), name="fixed-scale")  # an instance: arguments already bound
    pipe.Add(Counter, start=10, key="made")
    pipe.Add(counter)
    pipe.Add(counter.method)
    pipe.Add(Keeper)


def chain_segments(core, pipe):
    def add_key(frame, key="k", value=0):
        if frame.type != core.G3FrameType.EndProcessing:
            frame[key] = value

    @core.pipesegment
    def inner(pipe, value=1):
        pipe.Add(add_key, key=f"inner{value}", value=value)

    @core.pipesegment
    def outer(pipe, a=1, b="b"):
        pipe.Add(add_key, key="a", value=a)
        pipe.Add(inner, value=a * 2)
        pipe.Add(add_key, key="b", value=b, name="named")

    pipe.Add(outer, a=7, b="bee")
    pipe.Add(inner, value=3)


def chain_end_processing(core, pipe):
    def false_on_end(frame):
        if frame.type == core.G3FrameType.EndProcessing:
            return False

    def flush_before_end(frame):
        if frame.type == core.G3FrameType.EndProcessing:
            summary = core.G3Frame(core.G3FrameType.Statistics)
            summary["done"] = True
            return [summary, frame]

    def new_end(frame):
        if frame.type == core.G3FrameType.EndProcessing:
            end = core.G3Frame(core.G3FrameType.EndProcessing)
            end["fresh"] = 1
            return end

    def two_ends(frame):
        if frame.type == core.G3FrameType.EndProcessing:
            return [core.G3Frame(core.G3FrameType.EndProcessing), frame]

    pipe.Add(false_on_end)
    pipe.Add(flush_before_end)
    pipe.Add(new_end)
    pipe.Add(two_ends)


def chain_utilities(core, pipe):
    injected = core.G3Frame(core.G3FrameType.Observation)
    injected["obs"] = "o"
    pipe.Add(core.InjectFrame, frame=injected)
    pipe.Add(core.Delete, keys=["drop", "absent"], type=core.G3FrameType.Scan)
    pipe.Add(core.Rename, keys={"old": "new"})
    pipe.Add(core.Keep, keys=["i", "new", "obs", "w"], type=core.G3FrameType.Scan)


def chain_metadata(core, pipe):
    pipe.Add(core.DeduplicateMetadata)
    pipe.Add(core.DropOrphanMetadata)


def chain_infinite_source(core, pipe):
    pipe.Add(core.G3InfiniteSource, type=core.G3FrameType.Timepoint, n=3)

    def stamp(frame, value=0):
        if frame.type == core.G3FrameType.Timepoint:
            frame["v"] = value

    pipe.Add(stamp, value=4)


def chain_swallow_end(core, pipe):
    def swallow(frame):
        if frame.type == core.G3FrameType.EndProcessing:
            return []

    pipe.Add(swallow)


def chain_end_not_last(core, pipe):
    def bad_end(frame):
        if frame.type == core.G3FrameType.EndProcessing:
            return [frame, core.G3Frame(core.G3FrameType.Scan)]

    pipe.Add(bad_end)


def chain_raises(core, pipe):
    def explode(frame, at=2):
        if frame.type == core.G3FrameType.Scan and frame["i"] == at:
            raise ValueError(f"bad frame {at}")

    pipe.Add(explode, at=2)


def chain_error_in_segment(core, pipe):
    @core.pipesegment
    def seg(pipe):
        def fail_on_end(frame):
            if frame.type == core.G3FrameType.EndProcessing:
                return core.G3Frame(core.G3FrameType.Scan)

        pipe.Add(fail_on_end, name="finisher")

    pipe.Add(seg)


def chain_abort(core, pipe):
    pipe.Add(core.AbortAfterNFrames, type=core.G3FrameType.Scan, n_frames=2)


def chain_halt(core, pipe):
    def halt_at_two(frame):
        if frame.type == core.G3FrameType.Scan and frame["i"] == 2:
            core.G3Pipeline.halt_processing()
            frame["halting"] = True

    pipe.Add(halt_at_two)


def chain_cached_data(core, pipe):
    @core.cache_frame_data(type=core.G3FrameType.Scan, cal="Cal")
    def use_cal(frame, cal=None, offset=0, out="got"):
        frame[out] = (cal if cal is not None else -1) + offset

    @core.scan_func_cache_data(wiring="W")
    def use_wiring(frame, wiring=None):
        frame["wired"] = wiring is not None

    pipe.Add(use_cal, offset=10)
    pipe.Add(use_cal, cal="Other", out="got_other")
    pipe.Add(use_wiring)


def chain_halted_before_run(core, pipe):
    core.G3Pipeline.halt_processing()


def chain_empty_infinite_source(core, pipe):
    pipe.Add(core.G3InfiniteSource, type=core.G3FrameType.Scan, n=0)


def chain_subprocesses(core, pipe):
    def mark(frame, label="x", key="label"):
        if frame.type == core.G3FrameType.Scan:
            frame[key] = label

    def fan_out(frame):
        if frame.type == core.G3FrameType.Scan and frame["i"] % 3 == 0:
            return [frame, core.G3Frame(core.G3FrameType.Timepoint)]
        if frame.type == core.G3FrameType.Scan and frame["i"] % 3 == 1:
            return False

    pipe.Add(mark, label="child", subprocess=True)
    pipe.Add(fan_out, subprocess=True)
    pipe.Add(mark, label="parent", key="again", name="in-parent")


def chain_nothing(core, pipe):
    pass


# -- cases ---------------------------------------------------------------------


def test_functions_drops_and_replacements():
    ours = assert_same(scans(6), chain_functions)
    # PipelineInfo, two split pairs, the replacement, EndProcessing
    assert len(ours["frames"]) == 1 + 2 + 1 + 2 + 1


def test_return_value_kinds():
    spec = scans(5) + [("Timepoint", {"t": 1})] + scans(2)
    assert_same(spec, chain_return_kinds)


def test_classes_instances_and_methods():
    assert_same(scans(4), chain_classes)


def test_segments():
    assert_same(scans(3), chain_segments)


def test_end_processing_handling():
    assert_same(scans(2), chain_end_processing)


def test_utility_modules():
    spec = [
        ("Wiring", {"w": 1}),
        ("Scan", {"i": 0, "drop": 1, "old": 2, "other": 3}),
        ("Scan", {"i": 1, "old": "x"}),
        ("Calibration", {"drop": 5}),
    ]
    assert_same(spec, chain_utilities)


def test_metadata_modules():
    spec = [
        ("Calibration", {"c": 1}),
        ("Wiring", {"w": 1}),
        ("Scan", {"i": 0}),
        ("Calibration", {"c": 1}),
        ("Calibration", {"c": 2}),
        ("Wiring", {"w": 1}),
        ("Scan", {"i": 1}),
        ("Calibration", {"c": 2}),
        ("Wiring", {"w": 2}),
    ]
    ours = assert_same(spec, chain_metadata)
    assert len(ours["frames"]) > 3


def test_cache_frame_data():
    spec = [
        ("Scan", {"i": 0}),
        ("Calibration", {"Cal": 5}),
        ("Scan", {"i": 1}),
        ("Wiring", {"W": "w"}),
        ("Calibration", {"Cal": 6, "Other": 7}),
        ("Scan", {"i": 2}),
    ]
    ours = assert_same(spec, chain_cached_data)
    assert ours["error"] is None


def test_modules_in_subprocesses():
    ours = assert_same(scans(12), chain_subprocesses)
    assert ours["error"] is None and len(ours["frames"]) == 1 + 4 * 2 + 4 + 1


def test_infinite_source():
    assert_same(None, chain_infinite_source)


@pytest.mark.parametrize(
    "chain",
    [chain_swallow_end, chain_end_not_last, chain_raises, chain_error_in_segment, chain_abort],
    ids=lambda c: c.__name__,
)
def test_errors(chain):
    ours = assert_same(scans(4), chain)
    assert ours["error"] is not None


def test_halt_requested_before_run():
    ours = assert_same(scans(3), chain_halted_before_run)
    assert len(ours["frames"]) == 2  # the source is never called: PipelineInfo, EndProcessing


def test_source_with_nothing_to_give():
    ours = assert_same(None, chain_empty_infinite_source)
    assert len(ours["frames"]) == 2


def test_halt_processing_from_a_module():
    ours = assert_same(scans(6), chain_halt)
    assert len(ours["frames"]) == 1 + 3 + 1


PLACEMENT_SPECS = {
    "empty": [],
    "leading-metadata": [
        ("Observation", {"o": 1}),
        ("Wiring", {"w": 1}),
        ("Calibration", {"c": 1}),
        ("Scan", {"i": 0}),
        ("Calibration", {"c": 2}),
    ],
    "only-metadata": [("Observation", {"o": 1}), ("Wiring", {"w": 1})],
    "housekeeping-stops-holding": [
        ("Observation", {"o": 1}),
        ("Housekeeping", {"h": 1}),
        ("Wiring", {"w": 1}),
    ],
    "leading-pipelineinfo": [
        ("Observation", {"o": 1}),
        ("PipelineInfo", {"old": "__info__"}),
        ("Scan", {"i": 0}),
        ("PipelineInfo", {"old": "__info__"}),
        ("Scan", {"i": 1}),
        ("PipelineInfo", {"other": "__info__"}),
        ("PipelineInfo", {}),
    ],
    "empty-leading-pipelineinfo": [("PipelineInfo", {}), ("Scan", {"i": 0}), ("PipelineInfo", {})],
    "later-pipelineinfo": [("Scan", {"i": 0}), ("PipelineInfo", {"old": "__info__"})],
    "adhoc-and-none": [("AB", {"a": 1}), ("none", {}), ("Scan", {"i": 0})],
    "endprocessing-from-source": [("EndProcessing", {}), ("Scan", {"i": 0})],
}


@pytest.mark.parametrize("spec", list(PLACEMENT_SPECS.values()), ids=list(PLACEMENT_SPECS))
def test_pipelineinfo_placement(spec):
    assert_same(spec, chain_nothing)


def test_recorded_configuration_matches():
    def chain(core, pipe):
        pipe.Add(core.Delete, keys=["a"], type=core.G3FrameType.Scan)
        chain_functions(core, pipe)
        chain_segments(core, pipe)

    ours = assert_same(scans(2), chain)
    info_frames = [f for f in ours["frames"] if f[0] == ord("P")]
    (entry,) = [e for e in info_frames[0][1] if e[0] == "<time>"]
    modules = entry[1][3]
    assert [m[0].rsplit(".", 1)[-1] for m in modules] == [
        "source",
        "Delete",
        "tag",
        "drop_odd",
        "replace_three",
        "split",
        "outer",
        "inner",
        "collect",
    ]
