"""spt3g's logger objects (G3Logger.global_logger, G3PrintfLogger, ...) as stdlib handlers.

Assigning ``G3Logger.global_logger = G3PrintfLogger(G3LogLevel.LOG_INFO)``
routes the messages of every g3stream logging unit (the stdlib loggers under
``g3stream``) to the handlers of that object, formatted as spt3g prints
them, and sets the level; ``G3NullLogger()`` silences them; assigning
``None`` gives control back to ordinary ``logging`` configuration.  Reading
it never gives None (as in spt3g): see ``G3Logger.global_logger``.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import time
from collections.abc import Iterable
from typing import Any

from .g3logging import G3LogLevel, stdlib_level, unit_logger

__all__ = [
    "G3LogFormatter",
    "G3Logger",
    "G3PrintfLogger",
    "G3NullLogger",
    "G3SyslogLogger",
    "G3MultiLogger",
    "install_default_output",
    "set_log_level",
]

_LEVEL_WORDS = {
    logging.CRITICAL: "FATAL",
    logging.ERROR: "ERROR",
    logging.WARNING: "WARN",
    25: "NOTICE",
    logging.INFO: "INFO",
    logging.DEBUG: "DEBUG",
    5: "TRACE",
}


class G3LogFormatter(logging.Formatter):
    """Formats records as spt3g does: ``LEVEL (unit) time: message (file:line in function)``."""

    def __init__(self, timestamps: bool = True, trim_file_names: bool = True) -> None:
        super().__init__()
        self.timestamps = timestamps
        self.trim_file_names = trim_file_names

    def format(self, record: logging.LogRecord) -> str:
        """One record as a line of text (plus the traceback, if any)."""
        word = _LEVEL_WORDS.get(record.levelno, record.levelname)
        unit = (
            record.name[len("g3stream.") :] if record.name.startswith("g3stream.") else record.name
        )
        stamp = ""
        if self.timestamps:
            stamp = " " + time.strftime("%d-%b-%Y:%H:%M:%S UTC", time.gmtime(record.created))
        where = record.filename if self.trim_file_names else record.pathname
        text = f"{word} ({unit}){stamp}: {record.getMessage()} ({where}:{record.lineno} in {record.funcName})"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class _GlobalLoggerSlot(type):
    """Makes ``G3Logger.global_logger`` an assignable class-level setting."""

    _current: G3Logger | None = None
    _saved_level = logging.NOTSET
    _assigned = False  # whether a script ever assigned global_logger (None included)
    _stdlib_view: G3Logger | None = None

    @property
    def global_logger(cls) -> G3Logger:
        """The logger object receiving g3stream's messages.

        Never None, as in spt3g: until a script assigns one, the first read
        installs spt3g's default (a G3PrintfLogger at LOG_NOTICE) unless
        stdlib logging already has handlers; with those, or after assigning
        None, it is a plain ``G3Logger`` standing for the stdlib configuration.
        """
        current = _GlobalLoggerSlot._current
        if current is None and not _GlobalLoggerSlot._assigned:
            install_default_output()
            current = _GlobalLoggerSlot._current
        if current is None:
            view = _GlobalLoggerSlot._stdlib_view
            if view is None:
                view = _GlobalLoggerSlot._stdlib_view = G3Logger()
            return view
        return current

    @global_logger.setter
    def global_logger(cls, logger: G3Logger | None) -> None:
        _GlobalLoggerSlot._assigned = True
        if logger is _GlobalLoggerSlot._stdlib_view and logger is not None:
            logger = None  # assigning back what was read under stdlib control
        root = unit_logger(None)
        old = _GlobalLoggerSlot._current
        if old is not None:
            for handler in old.handlers:
                root.removeHandler(handler)
        if old is None:
            _GlobalLoggerSlot._saved_level = root.level
        _GlobalLoggerSlot._current = logger
        if logger is None:
            root.propagate = True
            root.setLevel(_GlobalLoggerSlot._saved_level)
            return
        for handler in logger.handlers:
            root.addHandler(handler)
        root.propagate = False
        root.setLevel(stdlib_level(logger.default_level))


class _InstanceGlobalLogger:
    """``logger.global_logger`` read or assigned through an instance (listed by ``dir``)."""

    def __get__(self, obj: Any, objtype: Any = None) -> G3Logger:
        return _GlobalLoggerSlot.global_logger.fget(G3Logger)  # type: ignore[attr-defined,no-any-return]

    def __set__(self, obj: Any, logger: G3Logger | None) -> None:
        G3Logger.global_logger = logger  # type: ignore[misc]


class G3Logger(metaclass=_GlobalLoggerSlot):
    """Base of spt3g-style logger objects: a level plus stdlib handlers."""

    global_logger = _InstanceGlobalLogger()

    def __init__(self, default_level: G3LogLevel | int = G3LogLevel.LOG_NOTICE) -> None:
        self.default_level = default_level
        self.handlers: list[logging.Handler] = []

    def set_level(self, level: G3LogLevel | int | str) -> None:
        """Set the level of all g3stream logging."""
        self.default_level = level if isinstance(level, G3LogLevel | int) else self.default_level
        set_log_level(level)

    def set_level_for_unit(self, unit: str, level: G3LogLevel | int | str) -> None:
        """Set the level of one logging unit."""
        set_log_level(level, unit)

    def get_level_for_unit(self, unit: str) -> int:
        """The effective stdlib level of one logging unit."""
        return unit_logger(unit).getEffectiveLevel()

    def log(
        self,
        level: G3LogLevel | int,
        unit: str,
        file: str,
        line: int,
        func: str,
        message: str,
    ) -> None:
        """Emit one message as if it came from ``file:line`` in ``func``."""
        logger = unit_logger(unit)
        lvl = stdlib_level(level)
        if logger.isEnabledFor(lvl):
            record = logger.makeRecord(logger.name, lvl, file, line, message, (), None, func)
            logger.handle(record)


class G3PrintfLogger(G3Logger):
    """Prints messages to standard error in spt3g's format."""

    def __init__(self, default_level: G3LogLevel | int = G3LogLevel.LOG_NOTICE) -> None:
        super().__init__(default_level)
        self._formatter = G3LogFormatter()
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(self._formatter)
        self.handlers = [handler]

    @property
    def timestamps(self) -> bool:
        """Whether each message carries the time."""
        return self._formatter.timestamps

    @timestamps.setter
    def timestamps(self, value: bool) -> None:
        self._formatter.timestamps = bool(value)

    @property
    def trim_file_names(self) -> bool:
        """Whether source files are shown without their directory."""
        return self._formatter.trim_file_names

    @trim_file_names.setter
    def trim_file_names(self, value: bool) -> None:
        self._formatter.trim_file_names = bool(value)


class G3NullLogger(G3Logger):
    """Discards every message."""

    def __init__(self) -> None:
        super().__init__(G3LogLevel.LOG_FATAL)
        self.handlers = [logging.NullHandler()]


class G3SyslogLogger(G3Logger):
    """Sends messages to the system log as ``ident`` with the given syslog facility number."""

    def __init__(
        self, ident: str, facility: int, default_level: G3LogLevel | int = G3LogLevel.LOG_NOTICE
    ) -> None:
        super().__init__(default_level)
        address: Any = "/dev/log" if os.path.exists("/dev/log") else ("localhost", 514)
        # the facility argument of spt3g is the C constant (already shifted left by 3)
        handler = logging.handlers.SysLogHandler(address=address, facility=int(facility) >> 3)
        handler.setFormatter(logging.Formatter(f"{ident}: %(name)s: %(message)s"))
        self.handlers = [handler]


class G3MultiLogger(G3Logger):
    """Sends messages to several loggers at once."""

    def __init__(self, loggers: Iterable[G3Logger]) -> None:
        members = list(loggers)
        super().__init__(
            min((int(m.default_level) for m in members), default=G3LogLevel.LOG_NOTICE)
        )
        self.members = members
        self.handlers = [h for m in members for h in m.handlers]


def install_default_output() -> bool:
    """Print g3stream messages spt3g-style if nothing else would show them; True if installed.

    Used when a script sets a log level the spt3g way: with no handler on
    the root logger nor on g3stream's, stdlib would print only warnings.
    """
    root = unit_logger(None)
    if _GlobalLoggerSlot._current is not None or root.handlers or logging.getLogger().handlers:
        return False
    level = root.level or logging.getLevelName("NOTICE")
    G3Logger.global_logger = G3PrintfLogger(G3LogLevel.LOG_NOTICE)
    root.setLevel(level)
    return True


def set_log_level(level: G3LogLevel | int | str, unit: str | None = None) -> None:
    """Set the level of one logging unit, or of all g3stream logging when ``unit`` is None.

    ``level`` is a G3LogLevel, spt3g's number 0-6, a stdlib level number
    (10, 20, ...), or a name such as ``"LOG_DEBUG"`` or ``"debug"``.
    """
    number = stdlib_level(level)
    # spt3g prints its messages by default; do the same when logging is unconfigured
    install_default_output()
    unit_logger(unit).setLevel(number)
