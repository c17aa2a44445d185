"""G3Pipeline: a chain of modules that frames flow through, with spt3g's semantics.

* The first module is called with ``None`` and returns frames until it
  returns none (``[]`` or ``False``).  Each frame it returns goes through the
  remaining modules depth first: all consequences of one frame reach the
  end of the chain before the next frame moves on.
* Then an EndProcessing frame flows from the second module on.  A module
  must pass it on: a false return value passes it, but an empty list, or
  outputs that do not end with an EndProcessing frame, are errors naming
  the module.
* An exception in a module stops the run; it is logged with the module's
  name and re-raised unchanged.  ``last_frame`` is the frame being
  processed at the time.
* A PipelineInfo frame describing the pipeline is inserted right after the
  first module added (see ``provenance``).
"""

from __future__ import annotations

import logging
from typing import Any

from ..frame import G3Frame, G3FrameType
from ..objects.pipelineinfo import PIPELINE_REPR_HEADER, G3ModuleConfig, G3PipelineInfo
from .errors import G3PipelineError
from .module import Processor, build_processor, frames_out, module_name
from .profiling import CpuClock, ModuleProfile, print_profile
from .provenance import PipelineInfoInserter
from .signals import sigint_halts
from .subproc import Subproc, can_fork

__all__ = ["G3Pipeline"]

log = logging.getLogger("g3stream.G3Pipeline")

#: Frame key that ``Run(graph=True)`` uses to number frames, as spt3g does.
GRAPH_FRAME_ID_KEY = "_G3GraphingFrameId"

_END = G3FrameType.EndProcessing


def _config_value(value: Any) -> Any:
    """What to record for an argument: sky maps without their pixel data, else the value."""
    try:
        if value.npix_allocated > 0:
            return value.clone(False)
    except Exception:  # not a map, or one that cannot drop its data: keep it whole
        pass
    return value


class _Stage:
    """One module of a pipeline: its name, its processor and the object behind it."""

    __slots__ = ("name", "process", "module")

    def __init__(self, name: str, process: Processor, module: Any) -> None:
        self.name = name
        self.process = process
        self.module = module


class G3Pipeline:
    """A chain of modules; frames produced by the first flow through the others.

    Modules are added with ``Add`` and the pipeline is run once with ``Run``.
    """

    _halt_requested = False

    def __init__(self) -> None:
        self._stages: list[_Stage] = []
        self._dead = False
        self._nameprefix = ""
        self._pipelineinfo: PipelineInfoInserter | None = None
        self._graph_info = ""
        self.last_frame: G3Frame | None = None

    # -- building ------------------------------------------------------------
    def Add(
        self, module: Any, /, name: str | None = None, subprocess: bool = False, **kwargs: Any
    ) -> Any:
        """Add a module, a segment or any callable to the end of the pipeline.

        ``module`` may be a class (instantiated with ``kwargs``), a G3Module
        or other callable instance, a function (called with each frame and
        ``kwargs``), or a ``pipesegment`` (called with the pipeline and
        ``kwargs``; it adds modules of its own).  ``name`` defaults to
        ``<python module>.<callable name>``.  Returns what a segment returns,
        else None.  ``subprocess=True`` runs the module in a child process
        (see ``Subproc``).
        """
        if self._dead:
            raise G3PipelineError("cannot add modules to a pipeline that has already run")
        first_add = self._pipelineinfo is None
        if self._pipelineinfo is None:
            self._pipelineinfo = PipelineInfoInserter()
        modname = module_name(module)
        fullname = self._nameprefix + (modname if name is None else name)

        config: G3ModuleConfig | None = None
        if self._nameprefix == "":
            config = G3ModuleConfig(modname, fullname)
            for key, value in kwargs.items():
                config[key] = _config_value(value)
            self._pipelineinfo.pipelineinfo.modules.append(config)

        result: Any = None
        stages_before = len(self._stages)
        try:
            target = getattr(module, "__wrapped__", module)
            if getattr(target, "__pipesegment__", False):
                outer = self._nameprefix
                self._nameprefix = fullname + "/"
                try:
                    result = module(self, **kwargs)
                finally:
                    self._nameprefix = outer
            else:
                process, instance = build_processor(module, kwargs)
                if subprocess:
                    if can_fork():
                        instance = Subproc(process, name=fullname)
                        process = instance.Process
                    else:
                        log.warning("no fork() here: running %s in this process", fullname)
                self._stages.append(_Stage(fullname, process, instance))
        except BaseException:
            # leave the pipeline as it was: no half-added segment, no stray configuration
            del self._stages[stages_before:]
            if config is not None:
                modules = self._pipelineinfo.pipelineinfo.modules
                for i in range(len(modules) - 1, -1, -1):
                    if modules[i] is config:
                        del modules[i]
                        break
            if first_add:
                self._pipelineinfo = None
            raise
        if first_add:
            self._stages.append(
                _Stage("_pipelineinfo", self._pipelineinfo.Process, self._pipelineinfo)
            )
        log.debug('added module "%s"', fullname)
        return result

    @property
    def module_names(self) -> list[str]:
        """Names of the modules in order, including the PipelineInfo inserter."""
        return [s.name for s in self._stages]

    @property
    def pipeline_info(self) -> G3PipelineInfo | None:
        """The G3PipelineInfo this pipeline records (None before the first ``Add``)."""
        return self._pipelineinfo.pipelineinfo if self._pipelineinfo is not None else None

    # -- running ---------------------------------------------------------------
    @staticmethod
    def halt_processing() -> None:
        """Make all running pipelines stop after the frames in flight (EndProcessing still flows)."""
        G3Pipeline._halt_requested = True

    def Run(self, profile: bool = False, graph: bool = False, signal_halt: bool = True) -> None:
        """Run the pipeline until the first module has no more frames.

        ``profile`` prints the CPU time used by each module at the end;
        ``graph`` records the path of every frame (see ``GetGraphInfo``);
        ``signal_halt`` makes the first Ctrl-C stop after the current frame
        and the second abort.  A pipeline runs only once.
        """
        if self._dead:
            raise G3PipelineError(
                "Pipeline has already been run and needs to be re-initialized to run again."
            )
        if not self._stages:
            raise G3PipelineError("No mods present when running pipeline")
        self._dead = True
        runner = _Runner(self._stages, profile, graph)
        try:
            if signal_halt:
                with sigint_halts(G3Pipeline.halt_processing):
                    runner.run()
            else:
                runner.run()
        except BaseException:
            self.last_frame = runner.last_frame
            raise
        finally:
            G3Pipeline._halt_requested = False
            for stage in self._stages:  # free the modules (and files they hold open)
                stage.process = _spent
                stage.module = None
        if profile:
            print_profile(runner.profiles)
        if graph:
            self._graph_info = runner.graph_info()

    def GetGraphInfo(self) -> str:
        """Control-flow record of the last ``Run(graph=True)``, in spt3g's JSON-like text."""
        return self._graph_info

    def __repr__(self) -> str:
        if self._pipelineinfo is None:
            return PIPELINE_REPR_HEADER
        return repr(self._pipelineinfo.pipelineinfo)


def _spent(frame: Any) -> Any:
    raise G3PipelineError("this module belongs to a pipeline that has finished running")


class _Runner:
    """The state of one run: the frame traversal, profile and graph records."""

    def __init__(self, stages: list[_Stage], profile: bool, graph: bool) -> None:
        self.stages = stages
        self.processes = [s.process for s in stages]
        self.graph = graph
        self.last_frame: G3Frame | None = None
        self.profiles = [ModuleProfile(s.name) for s in stages]
        self.clock = CpuClock() if profile else None
        self.last_sample = self.clock.sample() if self.clock is not None else (0.0, 0.0, 0)
        self.next_graph_id = 0
        self.graph_records: list[tuple[int, int, G3FrameType]] = []

    def run(self) -> None:
        """Drive the first module until it is exhausted or a halt is requested, then end."""
        while not G3Pipeline._halt_requested and self.push(None, 0) != 0:
            pass
        if len(self.stages) > 1:
            self.push(G3Frame(_END), 1)

    def push(self, frame: G3Frame | None, start: int) -> int:
        """Send ``frame`` through the modules from index ``start``; return the first one's output count."""
        stages = self.stages
        processes = self.processes
        n = len(stages)
        graph = self.graph
        clock = self.clock
        first_count = -1
        todo: list[tuple[G3Frame | None, int]] = [(frame, start)]
        pop = todo.pop
        append = todo.append
        while todo:
            fr, i = pop()
            if graph and fr is not None:
                self._record_graph(fr, i)
            try:
                result = processes[i](fr)
                # the common cases first; frames_out handles (and checks) the rest
                if (result is None or result is True) and fr is not None:
                    out: list[G3Frame] = [fr]
                elif type(result) is G3Frame:
                    out = [result]
                else:
                    out = frames_out(result, fr, stages[i].name)
            except BaseException as exc:
                self.last_frame = fr
                log.warning(
                    'Exception in module "%s" (%s): %s', stages[i].name, type(exc).__name__, exc
                )
                raise
            if fr is not None and fr.type == _END:
                self._check_end(out, fr, stages[i].name)
            if clock is not None:
                self._charge(i)
            if first_count < 0:
                first_count = len(out)
            nxt = i + 1
            if nxt < n:
                if len(out) == 1:
                    append((out[0], nxt))
                else:
                    for o in reversed(out):
                        append((o, nxt))
        return first_count

    def _check_end(self, out: list[G3Frame], frame: G3Frame, name: str) -> None:
        """Enforce that a module passed an EndProcessing frame on, last."""
        if not out:
            self.last_frame = frame
            raise G3PipelineError(f'No output on EndProcessing frame in module "{name}"', name)
        if out[-1].type != _END:
            self.last_frame = frame
            raise G3PipelineError(
                f'Last queued output frame from module "{name}" on '
                "EndProcessing not an EndProcessing frame.",
                name,
            )

    def _charge(self, i: int) -> None:
        assert self.clock is not None
        user, system, rss = self.clock.sample()
        last_user, last_system, last_rss = self.last_sample
        p = self.profiles[i]
        p.user += user - last_user
        p.system += system - last_system
        # a rise of the peak (beyond lazy-deallocation noise) is this module's doing
        if rss > last_rss + 10 * 1024:
            p.maxrss_kb = rss
        p.frames += 1
        self.last_sample = (user, system, rss)

    def _record_graph(self, frame: G3Frame, i: int) -> None:
        if GRAPH_FRAME_ID_KEY in frame:
            frame_id = int(frame[GRAPH_FRAME_ID_KEY])
        else:
            frame_id = self.next_graph_id
            frame[GRAPH_FRAME_ID_KEY] = frame_id
            self.next_graph_id += 1
        self.graph_records.append((i, frame_id, frame.type))

    def graph_info(self) -> str:
        """The recorded control flow, formatted as spt3g formats it."""
        mods = ",\n".join(f'[{i}, "{s.name}"]' for i, s in enumerate(self.stages))
        procs = ",\n".join(
            f'[{k}, {i}, {fid}, "{ftype}"]' for k, (i, fid, ftype) in enumerate(self.graph_records)
        )
        return (
            '\n{ "Module List": [\n'
            + (mods + "\n" if mods else "")
            + '],\n "Processing List": [\n'
            + (procs + "\n" if procs else "")
            + "] \n }\n"
        )
