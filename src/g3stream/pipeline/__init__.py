"""G3Pipeline and its modules, decorators and logging, with spt3g's names and behaviour.

A pipeline is a chain of modules.  The first one produces frames (it is
called with ``None``); each frame then visits the other modules in order,
each of which may change it, drop it, replace it or add frames::

    from g3stream import core

    def calibrate(frame, gain=1.0):
        if frame.type == core.G3FrameType.Scan:
            frame["calibrated"] = frame["raw"] * gain

    pipe = core.G3Pipeline()
    pipe.Add(core.G3Reader, filename="in.g3")
    pipe.Add(calibrate, gain=2.5)
    pipe.Add(core.Delete, keys=["raw"], type=core.G3FrameType.Scan)
    pipe.Add(core.G3Writer, filename="out.g3")
    pipe.Run(profile=True)

The written file starts with a PipelineInfo frame recording the software,
host, user and every ``Add`` call with its arguments.
"""

from __future__ import annotations

from . import (
    parse_pipeline_graph,
    rerun,  # noqa: F401  (gives G3PipelineInfo its Run method)
)
from .caching import cache_frame_data, scan_func_cache_data
from .decorators import g3decorator, indexmod, pipesegment, pipesegment_nodoc, usefulfunc
from .errors import G3FatalError, G3ModuleArgumentError, G3PipelineError
from .g3logging import (
    G3LogLevel,
    log_debug,
    log_error,
    log_fatal,
    log_info,
    log_notice,
    log_trace,
    log_warn,
)
from .loggers import (
    G3Logger,
    G3MultiLogger,
    G3NullLogger,
    G3PrintfLogger,
    G3SyslogLogger,
    set_log_level,
)
from .module import G3Module
from .parse_pipeline_graph import plot_frame_processing_info
from .pipeline import G3Pipeline
from .sources import G3InfiniteSource
from .subproc import Subproc
from .utility import (
    AbortAfterNFrames,
    DeduplicateMetadata,
    Delete,
    DropOrphanMetadata,
    Dump,
    InjectDebug,
    InjectFrame,
    Keep,
    Rename,
)

__all__ = [
    "parse_pipeline_graph",
    "plot_frame_processing_info",
    "G3Pipeline",
    "G3Module",
    "G3InfiniteSource",
    "Subproc",
    "G3PipelineError",
    "G3ModuleArgumentError",
    "G3FatalError",
    "g3decorator",
    "indexmod",
    "pipesegment",
    "pipesegment_nodoc",
    "usefulfunc",
    "cache_frame_data",
    "scan_func_cache_data",
    "Dump",
    "Delete",
    "Keep",
    "Rename",
    "InjectFrame",
    "InjectDebug",
    "AbortAfterNFrames",
    "DeduplicateMetadata",
    "DropOrphanMetadata",
    "G3LogLevel",
    "log_trace",
    "log_debug",
    "log_info",
    "log_notice",
    "log_warn",
    "log_error",
    "log_fatal",
    "set_log_level",
    "G3Logger",
    "G3PrintfLogger",
    "G3NullLogger",
    "G3SyslogLogger",
    "G3MultiLogger",
]
