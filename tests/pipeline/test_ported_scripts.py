"""Scripts written for spt3g run unchanged with ``from g3stream import core``.

Each scenario is a small script body taking ``core`` (``spt3g.core`` or
``g3stream.core``) and a scratch directory, and returning what it observed.
Both implementations must observe the same, and the values spt3g users rely
on are asserted explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from g3stream import core as g3core

spt3g = pytest.importorskip("spt3g")
from spt3g import core as spt3g_core  # noqa: E402

CORES = [pytest.param(g3core, id="g3stream"), pytest.param(spt3g_core, id="spt3g")]


def stamp(frame: Any, arg: Any = None) -> None:
    """Store ``arg`` in every Timepoint frame (a module recorded in PipelineInfo)."""
    if frame.type == frame.type.__class__.Timepoint:
        frame["arg"] = arg


def _write_provenance_file(core: Any, path: Path) -> None:
    pipe = core.G3Pipeline()
    pipe.Add(core.G3InfiniteSource, n=10, type=core.G3FrameType.Timepoint)
    pipe.Add(stamp, arg=core.G3VectorInt([1, 2, 3]))
    pipe.Add(core.G3Writer, filename=str(path))
    pipe.Run()


def _pipeline_info_frames(core: Any, filenames: Any, before_info: bool = False) -> list[int]:
    """Run a reader over ``filenames``; return the number of keys of each PipelineInfo frame."""
    sizes: list[int] = []
    pipe = core.G3Pipeline()
    pipe.Add(core.G3Reader, filename=filenames)

    def count(frame: Any) -> None:
        if frame.type == core.G3FrameType.PipelineInfo:
            sizes.append(len(frame))

    pipe.Add(count)
    pipe.Run()
    return sizes


def provenance_scenario(core: Any, tmp: Path) -> dict[str, Any]:
    first, second = tmp / "first.g3", tmp / "second.g3"
    _write_provenance_file(core, first)
    frames = list(core.G3File(str(first)))
    (info_frame,) = [f for f in frames if f.type == core.G3FrameType.PipelineInfo]
    info = list(info_frame.values())[0]
    source_args = dict(info.modules[0])
    stamped = info.modules[1]["arg"]

    # a later module puts an Observation frame in front of the PipelineInfo frame
    pipe = core.G3Pipeline()
    pipe.Add(core.G3Reader, filename=str(first))

    def header(frame: Any) -> Any:
        if frame.type == core.G3FrameType.PipelineInfo:
            return [core.G3Frame(core.G3FrameType.Observation), frame]
        return None

    pipe.Add(header)
    pipe.Add(core.G3Writer, filename=str(second))
    pipe.Run()

    return {
        "frames in file": len(frames),
        "source args": source_args,
        "stamp arg is a G3VectorInt": isinstance(stamped, core.G3VectorInt),
        "stamp arg": list(stamped),
        "second pass": _pipeline_info_frames(core, str(first)),
        "after the header": _pipeline_info_frames(core, str(second)),
        "same file twice": _pipeline_info_frames(core, [str(second), str(second)]),
        "different files": _pipeline_info_frames(core, [str(first), str(second)]),
    }


@pytest.mark.parametrize("core", CORES)
def test_provenance_scenario_values(core: Any, tmp_path: Path) -> None:
    seen = provenance_scenario(core, tmp_path)
    assert seen["frames in file"] == 11
    args = seen["source args"]
    assert sorted(args) == ["n", "type"] and args["n"] == 10
    if core is g3core:
        assert args["type"] == core.G3FrameType.Timepoint
    else:  # spt3g evaluates the repr in __main__, which under pytest has no spt3g
        assert args["type"] in (core.G3FrameType.Timepoint, "spt3g.core.G3FrameType.Timepoint")
    assert seen["stamp arg is a G3VectorInt"]
    assert seen["stamp arg"] == [1, 2, 3]
    assert seen["second pass"] == [2]  # the file's entry plus this run's
    assert seen["after the header"] == [3]
    assert seen["same file twice"] == [3]  # the repeat is dropped
    # different PipelineInfo frames are not dropped; only the first one gets this run's entry
    assert seen["different files"] == [2, 2]


def test_provenance_scenario_is_the_same(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ours = provenance_scenario(g3core, tmp_path / "a")
    ref = provenance_scenario(spt3g_core, tmp_path / "b")
    for seen in (ours, ref):
        seen["source args"] = {k: str(v).rsplit(".")[-1] for k, v in seen["source args"].items()}
    assert ours == ref


def test_recorded_pipeline_runs_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _write_provenance_file(g3core, tmp_path / "first.g3")
    (info_frame,) = [
        f
        for f in g3core.G3File(str(tmp_path / "first.g3"))
        if f.type == g3core.G3FrameType.PipelineInfo
    ]
    info = list(info_frame.values())[0]
    (tmp_path / "first.g3").unlink()
    info.Run()  # rebuilds source -> stamp -> writer from the recorded configuration
    frames = list(g3core.G3File(str(tmp_path / "first.g3")))
    assert len(frames) == 11
    assert list(frames[1]["arg"]) == [1, 2, 3]


def counting_scenario(core: Any) -> list[int]:
    ids: list[int] = []
    count = [0]
    pipe = core.G3Pipeline()
    pipe.Add(core.G3InfiniteSource, type=core.G3FrameType.Timepoint, n=10)

    def number(frame: Any) -> None:
        if frame.type != core.G3FrameType.Timepoint:
            return
        frame["count"] = count[0]
        count[0] += 1

    pipe.Add(number)
    pipe.Add(lambda frame: "count" in frame and frame["count"] > 5)

    def collect(frame: Any) -> None:
        if frame.type == core.G3FrameType.Timepoint:
            ids.append(frame["count"])

    pipe.Add(collect)
    pipe.Run()
    return ids


def test_boolean_expression_modules_filter_frames() -> None:
    assert counting_scenario(g3core) == counting_scenario(spt3g_core) == [6, 7, 8, 9]


def callable_classes_scenario(core: Any) -> list[tuple[int, dict]]:
    class OneFrame:
        def __init__(self) -> None:
            self.done = False

        def __call__(self, frame: Any) -> Any:
            if self.done:
                return []
            self.done = True
            out = core.G3Frame(core.G3FrameType.Timepoint)
            out["Foo"] = 5
            return out

    class ReturnsNothing:
        def __call__(self, frame: Any) -> None:
            return None

    class ReturnsTheFrame:
        def __call__(self, frame: Any) -> Any:
            return frame

    seen: list[tuple[int, dict]] = []
    pipe = core.G3Pipeline()
    pipe.Add(OneFrame)
    pipe.Add(ReturnsNothing)
    pipe.Add(ReturnsTheFrame)
    pipe.Add(lambda frame: seen.append((int(frame.type), dict(frame))) and None)
    pipe.Run()
    return [(t, d) for t, d in seen if t != ord("P")]


def test_callable_classes() -> None:
    ours = callable_classes_scenario(g3core)
    assert ours == callable_classes_scenario(spt3g_core)
    assert ours == [(ord("T"), {"Foo": 5}), (ord("Z"), {})]


@pytest.mark.parametrize("core", CORES)
def test_end_processing_checks(core: Any) -> None:
    def pipe_with(module: Any) -> Any:
        pipe = core.G3Pipeline()
        pipe.Add(core.G3InfiniteSource, type=core.G3FrameType.Timepoint, n=10)
        pipe.Add(module)
        return pipe

    pipe_with(lambda frame: True).Run()
    with pytest.raises(RuntimeError):
        pipe_with(lambda frame: []).Run()
    with pytest.raises(RuntimeError):
        pipe_with(lambda frame: [frame, core.G3Frame(core.G3FrameType.Scan)]).Run()
