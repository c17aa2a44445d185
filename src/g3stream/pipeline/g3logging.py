"""spt3g's logging functions (``log_info``, ``log_warn``, ...) on top of stdlib logging.

Each spt3g logging *unit* is the stdlib logger ``g3stream.<unit>``; messages
from user code default to the unit ``Python``.  Importing g3stream installs
no handler: configure output the usual way (``logging.basicConfig`` or your
own handlers); without any configuration stdlib prints warnings and worse.
Calling ``set_log_level`` (in ``loggers``) while logging is unconfigured installs spt3g-style
printing to stderr (``G3PrintfLogger``), as a script written for spt3g
expects; assign ``G3Logger.global_logger`` to choose otherwise.
"""

from __future__ import annotations

import enum
import logging
import sys
from typing import Any

from .errors import G3FatalError

__all__ = [
    "G3LogLevel",
    "TRACE",
    "NOTICE",
    "unit_logger",
    "log_trace",
    "log_debug",
    "log_info",
    "log_notice",
    "log_warn",
    "log_error",
    "log_fatal",
    "stdlib_level",
]

#: Stdlib level number used for spt3g's LOG_TRACE.
TRACE = 5
#: Stdlib level number used for spt3g's LOG_NOTICE.
NOTICE = 25

logging.addLevelName(TRACE, "TRACE")
logging.addLevelName(NOTICE, "NOTICE")

_ROOT = "g3stream"


class G3LogLevel(enum.IntEnum):
    """spt3g's log levels, with spt3g's numeric values (0 = trace ... 6 = fatal)."""

    LOG_TRACE = 0
    LOG_DEBUG = 1
    LOG_INFO = 2
    LOG_NOTICE = 3
    LOG_WARN = 4
    LOG_ERROR = 5
    LOG_FATAL = 6

    @property
    def stdlib_level(self) -> int:
        """The equivalent level number of the ``logging`` module."""
        return _TO_STDLIB[self]


#: value -> member and name -> member, like spt3g's enum ``values`` / ``names``.
G3LogLevel.values = {m.value: m for m in G3LogLevel}  # type: ignore[attr-defined]
G3LogLevel.names = {m.name: m for m in G3LogLevel}  # type: ignore[attr-defined]

_TO_STDLIB = {
    G3LogLevel.LOG_TRACE: TRACE,
    G3LogLevel.LOG_DEBUG: logging.DEBUG,
    G3LogLevel.LOG_INFO: logging.INFO,
    G3LogLevel.LOG_NOTICE: NOTICE,
    G3LogLevel.LOG_WARN: logging.WARNING,
    G3LogLevel.LOG_ERROR: logging.ERROR,
    G3LogLevel.LOG_FATAL: logging.CRITICAL,
}


def unit_logger(unit: str | None) -> logging.Logger:
    """The stdlib logger of an spt3g logging unit (``None``: the package's root logger)."""
    return logging.getLogger(_ROOT if not unit else f"{_ROOT}.{unit}")


def _message(args: tuple[Any, ...]) -> str:
    return " ".join(str(a) for a in args)


def _log(level: int, args: tuple[Any, ...], unit: str) -> str:
    message = _message(args)
    logger = unit_logger(unit)
    if logger.isEnabledFor(level):
        # stacklevel 3: the caller of log_xxx, not this function
        logger.log(level, message, stacklevel=3)
    return message


def log_trace(*args: Any, unit: str = "Python") -> None:
    """Log the arguments (joined by spaces) for ``unit`` at trace level."""
    _log(TRACE, args, unit)


def log_debug(*args: Any, unit: str = "Python") -> None:
    """Log the arguments (joined by spaces) for ``unit`` at debug level."""
    _log(logging.DEBUG, args, unit)


def log_info(*args: Any, unit: str = "Python") -> None:
    """Log the arguments (joined by spaces) for ``unit`` at info level."""
    _log(logging.INFO, args, unit)


def log_notice(*args: Any, unit: str = "Python") -> None:
    """Log the arguments (joined by spaces) for ``unit`` at notice level (between info and warning)."""
    _log(NOTICE, args, unit)


def log_warn(*args: Any, unit: str = "Python") -> None:
    """Log the arguments (joined by spaces) for ``unit`` at warning level."""
    _log(logging.WARNING, args, unit)


def log_error(*args: Any, unit: str = "Python") -> None:
    """Log the arguments (joined by spaces) for ``unit`` at error level."""
    _log(logging.ERROR, args, unit)


def log_fatal(*args: Any, unit: str = "Python") -> None:
    """Log the arguments for ``unit`` at critical level, then raise ``G3FatalError`` (a RuntimeError).

    As in spt3g, the exception's text ends with `` (in <calling function>)``.
    """
    message = _log(logging.CRITICAL, args, unit)
    caller = sys._getframe(1).f_code.co_name
    raise G3FatalError(f"{message} (in {caller})", unit)


def stdlib_level(level: G3LogLevel | int | str) -> int:
    """The stdlib level number for a G3LogLevel, spt3g level number, stdlib number or name."""
    if isinstance(level, G3LogLevel):
        return level.stdlib_level
    if isinstance(level, str):
        name = level.upper()
        if name in G3LogLevel.__members__:
            return G3LogLevel[name].stdlib_level
        if "LOG_" + name in G3LogLevel.__members__:
            return G3LogLevel["LOG_" + name].stdlib_level
        value = logging.getLevelName(name)
        if isinstance(value, int):
            return value
        raise ValueError(f"unknown log level {level!r}")
    if isinstance(level, int) and not isinstance(level, bool):
        # 0-6 are spt3g's numbers; anything larger is a stdlib level number
        if 0 <= level <= 6:
            return G3LogLevel(level).stdlib_level
        return level
    raise TypeError(f"a log level is a G3LogLevel, an int or a name, not {type(level).__name__}")
