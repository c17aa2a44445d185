"""G3Pipeline behaviour that needs no reference: errors, profiling, graphs, Ctrl-C, naming."""

from __future__ import annotations

import json
import logging
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import g3stream
from g3stream import G3Frame, G3FrameType, G3Int
from g3stream.pipeline import (
    G3InfiniteSource,
    G3Module,
    G3ModuleArgumentError,
    G3Pipeline,
    G3PipelineError,
    pipesegment,
)

SRC = Path(__file__).resolve().parents[2] / "src"


def scan_source(n):
    frames = iter(range(n))

    def source(frame):
        for i in frames:
            f = G3Frame(G3FrameType.Scan)
            f["i"] = i
            return f
        return []

    return source


def collect_into(out):
    def collect(frame):
        out.append(frame)

    return collect


def test_frames_flow_depth_first():
    seen = []

    def split(frame):
        if frame.type == G3FrameType.Scan:
            a, b = G3Frame("A"), G3Frame("B")
            a["i"] = b["i"] = frame["i"]
            return [a, b]

    def record(frame):
        seen.append((str(frame.type), frame.get("i")))

    pipe = G3Pipeline()
    pipe.Add(scan_source(2))
    pipe.Add(split)
    pipe.Add(record)
    pipe.Run()
    assert seen == [
        ("PipelineInfo", None),
        ("A", 0),
        ("B", 0),
        ("A", 1),
        ("B", 1),
        ("EndProcessing", None),
    ]


def test_runs_once_and_needs_modules():
    with pytest.raises(G3PipelineError, match="No mods present"):
        G3Pipeline().Run()
    pipe = G3Pipeline()
    pipe.Add(scan_source(1))
    pipe.Run()
    with pytest.raises(G3PipelineError, match="already been run"):
        pipe.Run()
    with pytest.raises(G3PipelineError):
        pipe.Add(scan_source(1))


def test_first_module_must_produce_frames():
    def lazy_source(frame):
        return None

    pipe = G3Pipeline()
    pipe.Add(lazy_source)
    with pytest.raises(G3PipelineError, match="lazy_source") as err:
        pipe.Run()
    assert err.value.module.endswith("lazy_source")


def test_module_exception_keeps_type_is_logged_and_recorded(caplog):
    class Boom(Exception):
        pass

    def explode(frame):
        if frame.type == G3FrameType.Scan and frame["i"] == 1:
            raise Boom("no good")

    pipe = G3Pipeline()
    pipe.Add(scan_source(3))
    pipe.Add(explode, name="exploder")
    with caplog.at_level(logging.WARNING, logger="g3stream"), pytest.raises(Boom, match="no good"):
        pipe.Run()
    assert 'Exception in module "exploder"' in caplog.text
    assert pipe.last_frame["i"] == 1


def test_bad_return_values_name_the_module():
    def returns_text(frame):
        return "frames?"

    def returns_numbers(frame):
        return [frame, 3]

    for bad in (returns_text, returns_numbers):
        pipe = G3Pipeline()
        pipe.Add(scan_source(1))
        pipe.Add(bad)
        with pytest.raises(G3PipelineError, match=bad.__name__) as err:
            pipe.Run()
        assert isinstance(err.value, RuntimeError)


def test_end_processing_rules_name_the_module():
    def swallow(frame):
        if frame.type == G3FrameType.EndProcessing:
            return []

    pipe = G3Pipeline()
    pipe.Add(scan_source(1))
    pipe.Add(swallow, name="eater")
    with pytest.raises(G3PipelineError, match='No output on EndProcessing frame in module "eater"'):
        pipe.Run()
    assert pipe.last_frame.type == G3FrameType.EndProcessing


def test_module_call_returns_output_frames():
    class Twice(G3Module):
        def Process(self, frame):
            return [frame, frame]

    class Dropper(G3Module):
        def Process(self, frame):
            return False

    f = G3Frame(G3FrameType.Scan)
    assert Twice()(f) == [f, f]
    assert Dropper()(f) == []
    assert Dropper()(G3Frame(G3FrameType.EndProcessing))[0].type == G3FrameType.EndProcessing
    assert len(G3InfiniteSource(G3FrameType.Scan, 2)(None)) == 1
    with pytest.raises(NotImplementedError):
        G3Module()(f)


def test_add_rejects_arguments_it_cannot_pass():
    class Mod(G3Module):
        def Process(self, frame):
            pass

    pipe = G3Pipeline()
    with pytest.raises(G3ModuleArgumentError) as err:
        pipe.Add(Mod(), factor=2)
    assert isinstance(err.value, TypeError) and isinstance(err.value, RuntimeError)
    with pytest.raises(TypeError):
        pipe.Add(42)
    # failed additions leave no trace in the recorded configuration
    assert pipe.pipeline_info is None or pipe.pipeline_info.modules == []
    pipe.Add(G3InfiniteSource, n=1)
    assert [m.modname.rsplit(".", 1)[-1] for m in pipe.pipeline_info.modules] == [
        "G3InfiniteSource"
    ]


def test_names_prefixes_and_recorded_configuration():
    def work(frame, amount=0):
        pass

    @pipesegment
    def seg(pipe, amount=1):
        pipe.Add(work, amount=amount)
        pipe.Add(work, amount=amount + 1, name="second")
        return "segment result"

    pipe = G3Pipeline()
    pipe.Add(G3InfiniteSource, type=G3FrameType.Timepoint, n=2)
    assert pipe.Add(seg, amount=5, name="S") == "segment result"
    pipe.Add(work, amount=G3Int(3))
    prefix = __name__
    assert pipe.module_names == [
        "g3stream.pipeline.sources.G3InfiniteSource",
        "_pipelineinfo",
        f"S/{prefix}.work",
        "S/second",
        f"{prefix}.work",
    ]
    info = pipe.pipeline_info
    assert info.hostname == socket.gethostname()
    assert info.vcs_fullversion == f"g3stream {g3stream.__version__}"
    assert [(m.modname.rsplit(".", 1)[-1], m.instancename) for m in info.modules] == [
        ("G3InfiniteSource", "g3stream.pipeline.sources.G3InfiniteSource"),
        ("seg", "S"),
        ("work", f"{prefix}.work"),
    ]
    assert info.modules[0]["n"] == 2
    assert info.modules[1]["amount"] == 5
    assert info.modules[2].config["amount"].object == G3Int(3)
    assert repr(pipe).splitlines()[2] == f"pipe.Add({prefix}.seg, amount=5, name=S)"


def test_profile_prints_a_line_per_module(capsys):
    pipe = G3Pipeline()
    pipe.Add(scan_source(3))
    pipe.Add(collect_into([]), name="sink")
    pipe.Run(profile=True)
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0] == "Pipeline profiling results:"
    line = re.compile(
        r"^(.+): \d+\.\d{6} user, \d+\.\d{6} system, (\d+) frames \((\S+) s per input frame\)$"
    )
    counts = {}
    for row in lines[1:4]:
        m = line.match(row)
        assert m, row
        counts[m.group(1)] = int(m.group(2))
    # the source is called 4 times (3 frames, then none); the sink sees PI + 3 + EndProcessing
    assert counts == {f"{__name__}.source": 4, "_pipelineinfo": 4, "sink": 5}
    assert re.match(r"^Total: \d+\.\d{6} user, \d+\.\d{6} system$", lines[4])
    assert lines[5].startswith("Peak memory consumption (")


def test_graph_records_every_visit():
    pipe = G3Pipeline()
    pipe.Add(scan_source(2))
    out = []
    pipe.Add(collect_into(out))
    pipe.Run(graph=True)
    graph = json.loads(pipe.GetGraphInfo())
    assert graph["Module List"] == [
        [0, f"{__name__}.source"],
        [1, "_pipelineinfo"],
        [2, f"{__name__}.collect"],
    ]
    assert graph["Processing List"] == [
        [0, 1, 0, "Scan"],
        [1, 2, 1, "PipelineInfo"],
        [2, 2, 0, "Scan"],
        [3, 1, 2, "Scan"],
        [4, 2, 2, "Scan"],
        [5, 1, 3, "EndProcessing"],
        [6, 2, 3, "EndProcessing"],
    ]
    assert [f["_G3GraphingFrameId"] for f in out] == [1, 0, 2, 3]


def test_graph_matches_the_reference():
    core = pytest.importorskip("spt3g.core")

    def graph_of(lib):
        frames = iter(range(3))

        def source(frame):
            for i in frames:
                f = lib.G3Frame(lib.G3FrameType.Scan)
                f["i"] = i
                return f
            return []

        def split_even(frame):
            if frame.type == lib.G3FrameType.Scan and frame["i"] % 2 == 0:
                return [frame, lib.G3Frame(lib.G3FrameType.Timepoint)]
            if frame.type == lib.G3FrameType.Scan:
                return False

        pipe = lib.G3Pipeline()
        pipe.Add(source)
        pipe.Add(split_even)
        pipe.Add(lambda frame: None, name="tail")
        pipe.Run(graph=True)
        return pipe.GetGraphInfo()

    assert graph_of(g3stream) == graph_of(core)


def test_halt_processing_stops_the_source_but_ends_cleanly():
    out = []
    scans = []

    def halter(frame):
        if frame.type == G3FrameType.Scan:
            scans.append(frame)
            if len(scans) == 2:
                G3Pipeline.halt_processing()

    pipe = G3Pipeline()
    pipe.Add(G3InfiniteSource, type=G3FrameType.Scan)  # would never stop on its own
    pipe.Add(halter)
    pipe.Add(collect_into(out))
    pipe.Run()
    assert [str(f.type) for f in out] == ["PipelineInfo", "Scan", "Scan", "EndProcessing"]
    # the request is cleared once the run is over
    assert G3Pipeline._halt_requested is False


def test_signal_handler_restored_and_not_installed_off_main_thread():
    before = signal.getsignal(signal.SIGINT)
    during = []

    def look(frame):
        during.append(signal.getsignal(signal.SIGINT))

    pipe = G3Pipeline()
    pipe.Add(scan_source(1))
    pipe.Add(look)
    pipe.Run()
    assert during[0] is not before
    assert signal.getsignal(signal.SIGINT) is before

    seen_in_thread = []
    pipe = G3Pipeline()
    pipe.Add(scan_source(2))
    pipe.Add(lambda frame: seen_in_thread.append(frame.type))
    worker = threading.Thread(target=pipe.Run)
    worker.start()
    worker.join(10)
    assert len(seen_in_thread) == 4

    during.clear()
    pipe = G3Pipeline()
    pipe.Add(scan_source(1))
    pipe.Add(look)
    pipe.Run(signal_halt=False)
    assert during[0] is before


CTRL_C_SCRIPT = textwrap.dedent(
    """
    import signal, sys
    sys.path.insert(0, sys.argv[2])
    from g3stream import G3Frame, G3FrameType, G3Pipeline
    interrupts = int(sys.argv[1])
    count = {"n": 0}
    def source(frame):
        count["n"] += 1
        if count["n"] == 3:
            for _ in range(interrupts):
                # delivered to this thread: the handler runs before the next statement
                signal.raise_signal(signal.SIGINT)
        if count["n"] > 50:
            return []
        return G3Frame(G3FrameType.Scan)
    def show(frame):
        print(frame.type, flush=True)
    pipe = G3Pipeline()
    pipe.Add(source)
    pipe.Add(show)
    pipe.Run()
    print("finished", signal.getsignal(signal.SIGINT) is signal.default_int_handler, flush=True)
    """
)


def _run_ctrl_c(interrupts):
    return subprocess.run(
        [sys.executable, "-c", CTRL_C_SCRIPT, str(interrupts), str(SRC)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_one_ctrl_c_halts_after_the_current_frame():
    proc = _run_ctrl_c(1)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [
        "PipelineInfo",
        "Scan",
        "Scan",
        "Scan",
        "EndProcessing",
        "finished",
        "True",
    ]
    assert "SIGINT received" in proc.stderr


def test_two_ctrl_c_abort():
    proc = _run_ctrl_c(2)
    assert proc.returncode != 0
    assert "KeyboardInterrupt" in proc.stderr
    assert "EndProcessing" not in proc.stdout


def test_failed_segment_leaves_the_pipeline_unchanged():
    def step(frame):
        pass

    @pipesegment
    def broken(pipe):
        pipe.Add(step)
        raise ValueError("segment cannot be built")

    pipe = G3Pipeline()
    pipe.Add(G3InfiniteSource, n=1)
    pipe.Add(step)
    names, configs = list(pipe.module_names), list(pipe.pipeline_info.modules)
    with pytest.raises(ValueError):
        pipe.Add(broken)
    assert pipe.module_names == names
    assert pipe.pipeline_info.modules == configs
    # a failure of the very first addition does not leave the PipelineInfo module behind
    fresh = G3Pipeline()
    with pytest.raises(ValueError):
        fresh.Add(broken)
    assert fresh.module_names == [] and fresh.pipeline_info is None


def test_any_argument_name_but_name_and_subprocess_reaches_the_module():
    seen = []

    def configurable(frame, module=None, callable=None, self=None):  # noqa: A002
        seen.append((module, callable, self))

    pipe = G3Pipeline()
    pipe.Add(G3InfiniteSource, n=1)
    pipe.Add(configurable, module="m", callable="c", self="s")
    pipe.Run()
    assert seen[0] == ("m", "c", "s")


def test_subprocess_modules_run_elsewhere_and_report_errors():
    import os

    from g3stream.pipeline.subproc import can_fork

    if not can_fork():
        pytest.skip("no fork() on this platform")
    pids = []

    def where(frame):
        if frame.type == G3FrameType.Scan:
            frame["pid"] = os.getpid()

    def fail_late(frame):
        if frame.type == G3FrameType.Scan and frame["i"] == 60:
            raise KeyError("sixty")

    pipe = G3Pipeline()
    pipe.Add(scan_source(80))  # more frames than may be queued in the child
    pipe.Add(where, subprocess=True)
    pipe.Add(lambda frame: pids.append(frame.get("pid")))
    pipe.Run()
    assert len(pids) == 82
    assert {p for p in pids if p is not None} != {os.getpid()}

    pipe = G3Pipeline()
    pipe.Add(scan_source(80))
    pipe.Add(fail_late, subprocess=True, name="late")
    with pytest.raises(G3PipelineError, match="KeyError: 'sixty'") as err:
        pipe.Run()
    assert err.value.module == "late"
