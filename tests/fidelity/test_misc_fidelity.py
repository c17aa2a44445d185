"""Frames, object hashes, constants, the global logger and pipeline graphs as spt3g's."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from fidelity.differ import reference, same_outcome

FRAME = (
    "f = core.G3Frame(core.G3FrameType.Scan); f['a'] = 1; f['b'] = core.G3VectorDouble([1.0, 2.0]);"
    " f['s'] = 'text'; f['t'] = core.G3Timestream([1.0, 2.0, 3.0]);"
)


@pytest.mark.parametrize(
    "code",
    [
        FRAME + " r = f.hash",
        FRAME + " r = f.hash()",  # a property in spt3g 1.0.2: calling its bytes fails
        FRAME + " f.drop_objects(); r = (list(f['b']), f['a'], sorted(f.keys()))",
        FRAME + " f.generate_blobs(); r = f.hash",
        FRAME + " f.generate_blobs(drop_objects=True); r = (f.hash, list(f['b']))",
        "r = core.G3Frame().hash",
        "r = core.G3Int(5).hash",
        "r = core.G3VectorInt([1, 300]).hash",
        "r = core.G3MapVectorDouble({'a': [1.0, 2.0]}).hash",
        "r = core.G3Timestream([1.0, 2.0]).hash",
        "r = core.G3Time(7).hash",
        "r = core.G3VectorQuat([core.Quat(1, 2, 3, 4)]).hash",
        "r = core.G3TimestreamMap(['a'], np.ones((1, 3))).hash",
    ],
)
def test_frame_and_object_hash(code: str) -> None:
    same_outcome(code)


def test_frame_read_back_drop_objects(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """drop_objects on a frame read from a file: values come back from the kept bytes."""
    path = tmp_path / "f.g3"
    same_outcome(
        FRAME
        + f" w = core.G3Writer({str(path)!r}); w(f); w(core.G3Frame(core.G3FrameType.EndProcessing));"
        " del w; g = list(core.G3File(" + repr(str(path)) + "))[0]; v = g['b'];"
        " g.drop_objects(); r = (list(g['b']), g.hash == f.hash)"
    )


@pytest.mark.parametrize("name", ["G", "Tcmb", "c", "e", "g0", "h", "hbar", "k", "kb"])
def test_constants(name: str) -> None:
    same_outcome(f"r = core.G3Constants.{name}")


@pytest.mark.parametrize(
    "code",
    [
        "r = core.G3LogLevel.values[2].name",
        "r = core.G3LogLevel.names['LOG_WARN'].value",
        "r = core.parse_pipeline_graph.uniquify_list([3, 1, 3, 2, 1])",
        "r = core.parse_pipeline_graph.frame_type_str_to_color('Scan')",
        "r = core.parse_pipeline_graph.frame_type_str_to_color('Bogus')",
        "r = callable(core.plot_frame_processing_info)",
    ],
)
def test_logging_levels_and_graph_helpers(code: str) -> None:
    same_outcome(code)


def test_global_logger_is_a_logger_object() -> None:
    """Read before anything is assigned: spt3g's default printf logger (child processes,
    so that neither library's global logging state leaks into this one)."""
    reference()
    script = (
        "import sys\n"
        "core = __import__(sys.argv[1] + '.core', fromlist=['core'])\n"
        "log = core.G3Logger.global_logger\n"
        "print(type(log).__name__, isinstance(log, core.G3Logger), log.global_logger is log)\n"
    )
    outs = [
        subprocess.run(
            [sys.executable, "-c", script, lib], capture_output=True, text=True, timeout=60
        ).stdout
        for lib in ("spt3g", "g3stream")
    ]
    assert outs[0] == outs[1] == "G3PrintfLogger True True\n"


GRAPH_PIPELINE = """
import json, sys
core = __import__(sys.argv[1] + '.core', fromlist=['core'])
n = [0]
def source(frame):
    if n[0] < 3:
        n[0] += 1
        return core.G3Frame(core.G3FrameType.Scan if n[0] != 2 else core.G3FrameType.Calibration)
    return []
def drop_calibration(frame):
    return frame.type != core.G3FrameType.Calibration
p = core.G3Pipeline()
p.Add(source)
p.Add(drop_calibration)
p.Add(lambda frame: None)
p.Run(graph=True)
print(json.dumps(json.loads(p.GetGraphInfo())))
"""


def test_pipeline_graph_matches() -> None:
    reference()
    outs = [
        subprocess.run(
            [sys.executable, "-c", GRAPH_PIPELINE, lib], capture_output=True, text=True, timeout=60
        ).stdout
        for lib in ("spt3g", "g3stream")
    ]
    theirs, mine = (json.loads(o) for o in outs)
    assert mine == theirs
    from g3stream.pipeline import parse_pipeline_graph as ppg

    segments = ppg.processing_segments(mine)
    assert len(segments) == 2 * len(mine["Processing List"])
    assert {kind for kind, *_ in segments} == {"wait", "move"}
