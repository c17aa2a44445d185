"""G3Pipeline and its modules, decorators and logging, with spt3g's names and behaviour."""

from __future__ import annotations

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
    set_log_level,
)
from .loggers import G3Logger, G3MultiLogger, G3NullLogger, G3PrintfLogger, G3SyslogLogger
from .module import G3Module
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
