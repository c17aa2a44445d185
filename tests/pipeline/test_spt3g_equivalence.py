"""Differential tests: the same module chains on spt3g's G3Pipeline and on ours.

Every case builds its input frames and its modules from whichever ``core``
it is given (``spt3g.core`` or ``g3stream``), runs a pipeline whose first
module hands out the input frames one at a time and whose last module
records what reaches it, and compares the two records: frame types, keys
and values, in order.  PipelineInfo frames are compared with the parts that
must differ masked (the time key, the software version, the package part of
library module names and of argument reprs).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

import g3stream

spt3g = pytest.importorskip("spt3g")
from spt3g import core as spt3g_core  # noqa: E402

CORES = {"spt3g": spt3g_core, "g3stream": g3stream}
TIME_KEY = re.compile(r"^\d{1,2}-[A-Z][a-z]{2}-\d{4}:\d\d:\d\d:\d\d\.\d{9}$")

Spec = list[tuple[str, dict[str, Any]]]
Chain = Callable[[Any], list[tuple[Any, dict[str, Any]]]]


# -- running one chain on one implementation ------------------------------------------


def _last_part(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _mask_repr(text: str) -> str:
    return text.replace("spt3g.core.", "")


def _info(value: Any) -> tuple:
    """A G3PipelineInfo with what must differ between implementations masked."""
    modules = []
    for mc in value.modules:
        same_name = mc.instancename == mc.modname
        args = tuple((k, _arg(mc[k])) for k in mc.keys())
        modules.append((_modname(mc.modname), "=" if same_name else mc.instancename, args))
    return ("G3PipelineInfo", value.hostname, value.user, tuple(modules))


def _modname(name: str) -> str:
    """A recorded module name: in full for the tests' own callables, else its last part."""
    if name.startswith(("spt3g.", "g3stream.")):
        return _last_part(name)
    return name


def _arg(value: Any) -> Any:
    """A recorded module argument: literals as they are, other reprs reduced to their kind."""
    if type(value).__name__ == "G3FrameType":  # ours reads frame types back as frame types
        return _mask_repr(repr(value))
    if isinstance(value, str):
        if value.startswith("<") and value.endswith(">"):
            return "<object repr>"  # e.g. <spt3g.core.G3Frame object at 0x...>
        return _mask_repr(value)
    if value is None or isinstance(value, int | float | tuple | list | dict):
        return value
    return ("frame object", type(value).__name__)


def _value(value: Any) -> Any:
    if isinstance(value, bool | int | float | str):
        return (type(value).__name__, value)
    if hasattr(value, "modules") and hasattr(value, "vcs_url"):
        return _info(value)
    return ("other", type(value).__name__)


def snapshot(frame: Any) -> tuple:
    """A frame as comparable plain data: type code and sorted (key, value) pairs."""
    items = []
    for key in frame.keys():
        shown = "<time>" if TIME_KEY.match(key) else key
        items.append((shown, _value(frame[key])))
    return (int(frame.type), tuple(sorted(items)))


def make_frames(core: Any, spec: Spec) -> list[Any]:
    frames = []
    for type_name, items in spec:
        frame = core.G3Frame(getattr(core.G3FrameType, type_name))
        for key, value in items.items():
            frame[key] = value
        frames.append(frame)
    return frames


def run_chain(
    core: Any, spec: Spec, chain: Chain, **run_kwargs: Any
) -> tuple[list[tuple], type[BaseException] | None, str]:
    """Run source -> chain -> recorder; return the record, the exception type and its text."""
    pending = make_frames(core, spec)

    def source(frame: Any) -> Any:
        if pending:
            return pending.pop(0)
        return []

    record: list[tuple] = []

    def recorder(frame: Any) -> None:
        record.append(snapshot(frame))

    pipe = core.G3Pipeline()
    pipe.Add(source)
    for module, kwargs in chain(core):
        pipe.Add(module, **kwargs)
    pipe.Add(recorder)
    try:
        pipe.Run(**run_kwargs)
    except Exception as exc:  # the error type is part of the behaviour compared
        return record, type(exc), str(exc)
    return record, None, ""


def compare(spec: Spec, chain: Chain, **run_kwargs: Any) -> list[tuple]:
    """Run on both implementations, assert the same outcome, return ours."""
    ref, ref_exc, ref_msg = run_chain(spt3g_core, spec, chain, **run_kwargs)
    ours, our_exc, our_msg = run_chain(g3stream, spec, chain, **run_kwargs)
    assert ours == ref
    if ref_exc is None:
        assert our_exc is None, our_msg
    else:
        assert our_exc is not None, f"spt3g raised {ref_exc.__name__}: {ref_msg}"
        assert (
            issubclass(our_exc, ref_exc)
            or ref_exc is RuntimeError
            and issubclass(our_exc, RuntimeError)
        ), (our_exc, ref_exc, ref_msg)
        # the module spt3g names in its message is named in ours too
        named = re.findall(r'module "([^"]+)"', ref_msg)
        for name in named:
            assert _last_part(name) in our_msg
    return ours


def scans(n: int, start: int = 0) -> Spec:
    return [("Scan", {"i": start + k}) for k in range(n)]


# -- return values ----------------------------------------------------------------------


def chain_return_values(core: Any) -> list:
    T = core.G3FrameType

    def annotate(frame: Any, label: str = "x", scale: float = 1.0) -> None:
        if frame.type == T.Scan:
            frame["label"] = label
            frame["scaled"] = frame["i"] * scale

    def drop_odd(frame: Any) -> Any:
        if frame.type == T.Scan and frame["i"] % 2:
            return False
        return True

    def replace_third(frame: Any) -> Any:
        if frame.type == T.Scan and frame["i"] == 4:
            out = core.G3Frame(T.Timepoint)
            out["replaced"] = 4
            return out
        return None

    def duplicate_as_list(frame: Any) -> Any:
        if frame.type == T.Scan and frame["i"] == 2:
            extra = core.G3Frame(T.Housekeeping)
            extra["from"] = 2
            return [frame, extra]
        return None

    def empty_list_for_six(frame: Any) -> Any:
        if frame.type == T.Scan and frame["i"] == 6:
            return []
        return None

    def tuple_and_generator(frame: Any) -> Any:
        if frame.type == T.Timepoint:
            return (f for f in (frame,))
        if frame.type == T.Housekeeping:
            return (frame,)
        return None

    def integers(frame: Any) -> Any:
        if frame.type == T.Scan and frame["i"] == 8:
            return 0  # false: dropped
        return 1  # true: passed

    return [
        (annotate, {"label": "é-label", "scale": 0.5}),
        (drop_odd, {}),
        (replace_third, {}),
        (duplicate_as_list, {}),
        (empty_list_for_six, {}),
        (tuple_and_generator, {}),
        (integers, {}),
    ]


def test_return_value_semantics() -> None:
    out = compare(scans(10), chain_return_values)
    assert len(out) > 5


def test_false_on_end_processing_passes_it() -> None:
    def chain(core: Any) -> list:
        return [(lambda frame: False, {})]

    out = compare(scans(3), chain)
    assert [t for t, _ in out] == [ord("Z")]  # everything dropped but EndProcessing


# -- classes, instances and segments ---------------------------------------------------------


def chain_classes(core: Any) -> list:
    T = core.G3FrameType

    class Counter(core.G3Module):
        def __init__(self, key: str = "count", every: int = 1) -> None:
            super().__init__()
            self.key = key
            self.every = every
            self.n = 0

        def Process(self, frame: Any) -> Any:
            if frame.type != T.Scan:
                return None
            self.n += 1
            if self.n % self.every:
                return False
            frame[self.key] = self.n
            return None

    class Tagger:
        def __init__(self, tag: str = "t") -> None:
            self.tag = tag

        def __call__(self, frame: Any) -> None:
            if frame.type == T.Scan:
                frame["tag"] = self.tag

    class Splitter:
        def __init__(self) -> None:
            self.seen = 0

        def split(self, frame: Any) -> Any:
            if frame.type == T.Scan:
                self.seen += 1
                marker = core.G3Frame(T.Observation)
                marker["seen"] = self.seen
                return [marker, frame]
            return None

    return [
        (Counter, {"key": "c1"}),
        (Counter(key="c2", every=2), {}),
        (Tagger, {"tag": "class"}),
        (Tagger("instance"), {"name": "named-tagger"}),
        (Splitter().split, {}),
    ]


def test_classes_instances_and_methods() -> None:
    compare(scans(6), chain_classes)


def chain_segments(core: Any) -> list:
    T = core.G3FrameType

    def put(frame: Any, key: str = "k", value: int = 0) -> None:
        if frame.type == T.Scan:
            frame[key] = value

    @core.pipesegment
    def inner(pipe: Any, base: int = 10) -> None:
        pipe.Add(put, key="inner", value=base)

    @core.pipesegment
    def outer(pipe: Any, base: int = 1, drop: bool = False) -> None:
        pipe.Add(put, key="outer", value=base)
        pipe.Add(inner, base=base * 100)
        if drop:
            pipe.Add(lambda frame: frame.type != T.Scan or frame["i"] != 1)

    return [(outer, {"base": 3, "drop": True}), (outer, {"base": 5, "name": "second"})]


def test_segments_add_their_modules_in_place() -> None:
    def chain(core: Any) -> list:
        links = chain_segments(core)
        # the second use would put keys again: rename its keys first
        return [links[0], (core.Rename, {"keys": {"outer": "o1", "inner": "i1"}}), links[1]]

    compare(scans(3), chain)


def test_segment_as_first_module_gets_pipeline_info_after_it() -> None:
    def run(core: Any) -> list[tuple]:
        T = core.G3FrameType
        pending = make_frames(core, [("Observation", {"o": 1}), *scans(2)])

        @core.pipesegment
        def source_segment(pipe: Any) -> None:
            pipe.Add(lambda frame: pending.pop(0) if pending else [])
            pipe.Add(lambda frame: frame.type != T.Scan or frame["i"] != 0)

        record: list[tuple] = []
        pipe = core.G3Pipeline()
        pipe.Add(source_segment)
        pipe.Add(lambda frame: record.append(snapshot(frame)))
        pipe.Run()
        return record

    assert run(g3stream) == run(spt3g_core)


# -- EndProcessing rules --------------------------------------------------------------------


def _on_end(action: str) -> Chain:
    def chain(core: Any) -> list:
        T = core.G3FrameType

        def on_end(frame: Any) -> Any:
            if frame.type != T.EndProcessing:
                return None
            if action == "swallow":
                return []
            if action == "replace":
                return core.G3Frame(T.Scan)
            if action == "append":
                return [frame, core.G3Frame(T.Scan)]
            if action == "prepend":
                extra = core.G3Frame(T.Scan)
                extra["flushed"] = True
                return [extra, frame]
            if action == "new-end":
                return [core.G3Frame(T.EndProcessing)]
            if action == "none":
                return None
            if action == "empty-string":
                return ""
            raise AssertionError(action)

        return [(on_end, {})]

    return chain


@pytest.mark.parametrize(
    "action", ["swallow", "replace", "append", "prepend", "new-end", "none", "empty-string"]
)
def test_end_processing_rules(action: str) -> None:
    compare(scans(2), _on_end(action))


def test_end_processing_in_the_middle_of_a_stream() -> None:
    spec: Spec = [("Observation", {"o": 1}), ("EndProcessing", {}), *scans(2)]
    compare(spec, _on_end("prepend"))
    compare(spec, _on_end("swallow"))


# -- errors -----------------------------------------------------------------------------------


def test_exception_in_a_module_keeps_its_type() -> None:
    def chain(core: Any) -> list:
        T = core.G3FrameType

        def explode(frame: Any) -> None:
            if frame.type == T.Scan and frame["i"] == 2:
                raise KeyError("boom")

        return [(explode, {})]

    compare(scans(4), chain)


def test_non_frame_outputs_are_errors() -> None:
    def chain(core: Any) -> list:
        T = core.G3FrameType
        return [(lambda frame: [1, 2] if frame.type == T.Scan else None, {})]

    compare(scans(2), chain)


def test_abort_after_n_frames() -> None:
    def chain(core: Any) -> list:
        return [(core.AbortAfterNFrames, {"type": core.G3FrameType.Scan, "n_frames": 2})]

    compare(scans(5), chain)


def test_last_frame_is_the_one_being_processed() -> None:
    def run(core: Any) -> tuple:
        T = core.G3FrameType

        def explode(frame: Any) -> None:
            if frame.type == T.Scan and frame["i"] == 1:
                raise ValueError("bad")

        pipe = core.G3Pipeline()
        pipe.Add(core.G3InfiniteSource, type=T.Scan, n=3)
        pipe.Add(lambda frame: frame.__setitem__("i", 1) if frame.type == T.Scan else None)
        pipe.Add(explode)
        with pytest.raises(ValueError):
            pipe.Run()
        return snapshot(pipe.last_frame)

    assert run(g3stream) == run(spt3g_core)


def test_pipeline_misuse_errors() -> None:
    for core in CORES.values():
        with pytest.raises(RuntimeError):
            core.G3Pipeline().Run()
        pipe = core.G3Pipeline()
        pipe.Add(core.G3InfiniteSource, n=1)
        pipe.Run()
        with pytest.raises(RuntimeError):
            pipe.Run()
        # keyword arguments for an instance: spt3g raises RuntimeError, ours may
        # use the more precise TypeError
        with pytest.raises((RuntimeError, TypeError)):
            core.G3Pipeline().Add(print, end="")


# -- utility modules ----------------------------------------------------------------------


def test_key_utilities() -> None:
    spec: Spec = [
        ("Observation", {"a": 1, "b": 2, "c": 3}),
        ("Scan", {"a": 1, "b": 2, "c": 3, "d": 4}),
    ]

    def chain(core: Any) -> list:
        T = core.G3FrameType
        return [
            (core.Delete, {"keys": ["a", "zz"]}),
            (core.Rename, {"keys": {"b": "bee"}, "type": T.Scan}),
            (core.Keep, {"keys": ["bee", "c", "b"], "type": T.Scan}),
            (core.Delete, {"keys": ["c"], "type": T.Observation}),
        ]

    compare(spec, chain)


def test_inject_frame() -> None:
    def chain(core: Any) -> list:
        T = core.G3FrameType
        injected = core.G3Frame(T.Calibration)
        injected["cal"] = 1.5
        return [(core.InjectFrame, {"frame": injected})]

    compare(scans(3), chain)


def test_metadata_utilities() -> None:
    spec: Spec = [
        ("Calibration", {"c": 1}),
        ("Wiring", {"w": 1}),
        ("Calibration", {"c": 1}),
        ("Calibration", {"c": 2}),
        ("Scan", {"i": 0}),
        ("Calibration", {"c": 2}),
        ("Wiring", {"w": 1}),
        ("Wiring", {"w": 2}),
        ("Timepoint", {"t": 0}),
        ("Observation", {"o": 5}),
        ("Observation", {"o": 6}),
    ]

    def dedup(core: Any) -> list:
        return [(core.DeduplicateMetadata, {})]

    def orphans(core: Any) -> list:
        return [(core.DropOrphanMetadata, {})]

    def both_scan_only(core: Any) -> list:
        data = [core.G3FrameType.Scan]
        return [
            (core.DeduplicateMetadata, {"dataframetype": data}),
            (core.DropOrphanMetadata, {"dataframetype": data}),
        ]

    compare(spec, dedup)
    compare(spec, orphans)
    compare(spec, both_scan_only)


def test_dump_passes_frames(capsys: pytest.CaptureFixture[str]) -> None:
    def chain(core: Any) -> list:
        return [
            (core.Dump, {}),
            (core.Dump, {"type": core.G3FrameType.Scan, "added_message": "hi"}),
        ]

    compare(scans(2), chain)


def test_infinite_source() -> None:
    def run(core: Any, **kwargs: Any) -> list[tuple]:
        record: list[tuple] = []
        pipe = core.G3Pipeline()
        pipe.Add(core.G3InfiniteSource, **kwargs)
        pipe.Add(lambda frame: record.append(snapshot(frame)))
        pipe.Run()
        return record

    for kwargs in (
        {"n": 3},
        {"n": 0},
        {"type": g3stream.G3FrameType.Timepoint, "n": 2},
    ):
        ref_kwargs = dict(kwargs)
        if "type" in ref_kwargs:
            ref_kwargs["type"] = spt3g_core.G3FrameType.Timepoint
        assert run(g3stream, **kwargs) == run(spt3g_core, **ref_kwargs)


def test_infinite_source_in_the_middle_replaces_its_input() -> None:
    def chain(core: Any) -> list:
        return [(core.G3InfiniteSource, {"type": core.G3FrameType.Timepoint, "n": 2})]

    compare(scans(4), chain)


# -- PipelineInfo placement ----------------------------------------------------------------


PLACEMENT_CASES: dict[str, Spec] = {
    "leading-metadata": [
        ("Observation", {"a": 1}),
        ("Wiring", {"b": 1}),
        ("Calibration", {"c": 1}),
        ("Observation", {"a": 2}),
        ("Scan", {"s": 1}),
        ("Observation", {"a": 3}),
        ("Scan", {"s": 2}),
    ],
    "only-metadata": [("Observation", {"a": 1}), ("Wiring", {"b": 1})],
    "housekeeping-first": [("Housekeeping", {"h": 1}), ("Observation", {"a": 1})],
    "empty": [],
    "leading-pipelineinfo": [
        ("Calibration", {"c": 1}),
        ("PipelineInfo", {"x": "a"}),
        ("Scan", {"s": 1}),
        ("PipelineInfo", {"x": "b"}),
        ("PipelineInfo", {"y": "b"}),
        ("Scan", {"s": 2}),
    ],
    "repeated-two-key-pipelineinfo": [
        ("PipelineInfo", {"x": "a", "y": "b"}),
        ("Scan", {"s": 1}),
        ("PipelineInfo", {"y": "c", "x": "d"}),
        ("PipelineInfo", {"x": "e", "y": "f"}),
    ],
    # same keys, another insertion order, same hash-table order: spt3g drops it
    "repeated-pipelineinfo-other-insertion-order": [
        ("PipelineInfo", {k: "1" for k in "abcde"}),
        ("Scan", {"s": 1}),
        ("PipelineInfo", {k: "2" for k in "abced"}),
        ("PipelineInfo", {k: "3" for k in "edcba"}),
    ],
    "later-pipelineinfo": [
        ("Scan", {"s": 1}),
        ("PipelineInfo", {"x": "a"}),
        ("PipelineInfo", {"x": "a"}),
    ],
}


@pytest.mark.parametrize("case", sorted(PLACEMENT_CASES))
def test_pipeline_info_placement(case: str) -> None:
    def chain(core: Any) -> list:
        return []

    out = compare(PLACEMENT_CASES[case], chain)
    infos = [f for f in out if f[0] == ord("P") and any(k == "<time>" for k, _ in f[1])]
    assert len(infos) == 1


def test_pipeline_info_records_the_modules() -> None:
    def chain(core: Any) -> list:
        T = core.G3FrameType

        def configured(frame: Any, n: int = 0, names: tuple = (), flag: Any = None) -> None:
            pass

        return [
            (configured, {"n": 3, "names": ("x", "y"), "flag": None}),
            (configured, {"name": "custom", "n": -1}),
            (core.Delete, {"keys": ["a"], "type": T.Scan}),
            (core.Dump, {}),
        ]

    out = compare(scans(1), chain)
    (info,) = [v for f in out for k, v in f[1] if k == "<time>"]
    modules = info[3]
    names = [_last_part(m[0]) for m in modules]
    assert names == ["source", "configured", "configured", "Delete", "Dump", "recorder"]
    assert modules[1][2] == (("flag", None), ("n", 3), ("names", ("x", "y")))
    assert modules[2][1] == "custom"


def test_pipeline_repr_lists_the_adds() -> None:
    def build(core: Any) -> str:
        pipe = core.G3Pipeline()
        pipe.Add(core.G3InfiniteSource, n=2, type=core.G3FrameType.Scan)

        def configured(frame: Any, a: int = 0, b: str = "") -> None:
            pass

        pipe.Add(configured, a=5, b="x", name="mine")
        return repr(pipe)

    def masked(text: str) -> list[str]:
        lines = text.splitlines()
        return [
            re.sub(r"pipe.Add\([\w.]*?(\w+),", r"pipe.Add(\1,", _mask_repr(x)) for x in lines[1:]
        ]

    assert masked(build(g3stream)) == masked(build(spt3g_core))


# -- halting, profiling and graphs ------------------------------------------------------------


def test_halt_processing_finishes_frames_in_flight() -> None:
    def run(core: Any) -> list[tuple]:
        T = core.G3FrameType
        calls = [0]

        def source(frame: Any) -> Any:
            calls[0] += 1
            if calls[0] > 10:
                return []
            return [core.G3Frame(T.Scan), core.G3Frame(T.Timepoint)]

        record: list[tuple] = []

        def halt_on_second(frame: Any) -> None:
            if calls[0] == 2 and frame.type == T.Scan:
                core.G3Pipeline.halt_processing()

        pipe = core.G3Pipeline()
        pipe.Add(source)
        pipe.Add(halt_on_second)
        pipe.Add(lambda frame: record.append(snapshot(frame)))
        pipe.Run()
        return [*record, ("source calls", calls[0])]

    assert run(g3stream) == run(spt3g_core)


def test_graph_records_the_same_control_flow() -> None:
    def run(core: Any) -> tuple[list[tuple], str]:
        T = core.G3FrameType
        record: list[tuple] = []
        pipe = core.G3Pipeline()
        pending = make_frames(core, [("Observation", {"o": 1}), *scans(2)])
        pipe.Add(lambda frame: pending.pop(0) if pending else [], name="src")
        pipe.Add(lambda frame: frame.type != T.Scan or frame["i"] != 1, name="drop")
        pipe.Add(lambda frame: record.append(snapshot(frame)), name="rec")
        pipe.Run(graph=True)
        return record, pipe.GetGraphInfo()

    ours, our_graph = run(g3stream)
    ref, ref_graph = run(spt3g_core)
    assert ours == ref
    assert our_graph == ref_graph


def test_profile_lists_every_module(capfd: pytest.CaptureFixture[str]) -> None:
    def profile_lines(core: Any) -> list[tuple[str, int]]:
        pipe = core.G3Pipeline()
        pipe.Add(core.G3InfiniteSource, n=3, name="src")
        pipe.Add(lambda frame: None, name="noop")
        capfd.readouterr()
        pipe.Run(profile=True)
        text = capfd.readouterr().out
        assert "Pipeline profiling results:" in text
        assert re.search(r"^Total: \d+\.\d{6} user, \d+\.\d{6} system$", text, re.M)
        assert re.search(r"^Peak memory consumption \(\d+\.\d MB\) in module .*$", text, re.M)
        found = re.findall(r"^(.+): \d+\.\d{6} user, \d+\.\d{6} system, (\d+) frames", text, re.M)
        return [(name, int(n)) for name, n in found]

    assert profile_lines(g3stream) == profile_lines(spt3g_core)


def test_exception_is_logged_naming_the_module(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    def run(core: Any) -> None:
        pipe = core.G3Pipeline()
        pipe.Add(core.G3InfiniteSource, type=core.G3FrameType.Scan, n=2)

        def explode(frame: Any) -> None:
            raise ZeroDivisionError("no")

        pipe.Add(explode, name="the-exploding-module")
        with pytest.raises(ZeroDivisionError):
            pipe.Run()

    run(spt3g_core)
    assert 'Exception in module "the-exploding-module"' in capfd.readouterr().err
    with caplog.at_level("WARNING", logger="g3stream"):
        run(g3stream)
    (record,) = [r for r in caplog.records if "the-exploding-module" in r.getMessage()]
    assert record.levelname == "WARNING"
    assert 'Exception in module "the-exploding-module"' in record.getMessage()
    assert "ZeroDivisionError" in record.getMessage()
