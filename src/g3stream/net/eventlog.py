"""Log lines from the network data path that can neither flood nor stall it.

A sender logs when clients connect, leave, are refused or cut off, and when
``accept()`` fails. Under a storm of clients that is thousands of lines a
second, and a logging handler writing to a full pipe (a stderr nobody reads)
blocks the thread that logs. So the data path never calls a handler: it
appends the event to a bounded buffer and returns. One background thread
(``g3stream-log``) emits the events through the standard :mod:`logging`
machinery, at most ``burst`` lines per key and per ``interval`` seconds; the
rest of a window is summed up in one line ("... N more like this"). When the
buffer is full (the emitting thread is blocked), further events are counted
and the count is reported with the next line.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import deque
from typing import Any

#: Seconds of a rate-limiting window.
DEFAULT_INTERVAL = 10.0
#: Lines per key and per window before the rest are only counted.
DEFAULT_BURST = 5
#: Events buffered while the emitting thread is busy; more are counted, not kept.
CAPACITY = 10_000

_Event = tuple[logging.Logger, int, str, str, tuple[Any, ...]]


class _Window:
    __slots__ = ("start", "emitted", "suppressed", "logger", "level", "msg")

    def __init__(self, start: float, logger: logging.Logger, level: int, msg: str) -> None:
        self.start = start
        self.emitted = 0
        self.suppressed = 0
        self.logger = logger
        self.level = level
        self.msg = msg


class _Relay:
    """The background thread that emits buffered events, rate-limited by key."""

    def __init__(self, interval: float, burst: int, capacity: int) -> None:
        self.interval = interval
        self.burst = burst
        self.capacity = capacity
        self._events: deque[_Event] = deque()
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._lost = 0
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._windows: dict[str, _Window] = {}

    def put(self, event: _Event) -> None:
        if len(self._events) >= self.capacity:
            self._lost += 1
            return
        self._idle.clear()
        self._events.append(event)
        self._wake.set()
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="g3stream-log", daemon=True)
                thread.start()
                self._thread = thread

    def flush(self, timeout: float) -> bool:
        """Wait until every buffered event was emitted; False on timeout."""
        if self._thread is None:
            return True
        return self._idle.wait(timeout)

    def _run(self) -> None:
        events = self._events
        while True:
            self._wake.wait(self._next_deadline())
            self._wake.clear()
            while events:
                self._emit(*events.popleft())
            self._close_windows(time.monotonic())
            if not events:
                self._idle.set()

    def _next_deadline(self) -> float | None:
        pending = [w.start for w in self._windows.values() if w.suppressed]
        if not pending:
            return None
        return max(0.0, min(pending) + self.interval - time.monotonic())

    def _emit(
        self, logger: logging.Logger, level: int, key: str, msg: str, args: tuple[Any, ...]
    ) -> None:
        now = time.monotonic()
        window = self._windows.get(key)
        if window is None or now - window.start >= self.interval:
            if window is not None:
                self._summarise(key, window)
            window = self._windows[key] = _Window(now, logger, level, msg)
        if window.emitted >= self.burst:
            window.suppressed += 1
            return
        window.emitted += 1
        lost, self._lost = self._lost, 0
        if lost:
            msg += " (%d log lines lost while logging was blocked)"
            args = (*args, lost)
        try:
            logger.log(level, msg, *args)
        except Exception:  # pragma: no cover - a broken handler must not kill the relay
            pass

    def _close_windows(self, now: float) -> None:
        for key, window in list(self._windows.items()):
            if now - window.start >= self.interval:
                self._summarise(key, window)
                del self._windows[key]

    def _summarise(self, key: str, window: _Window) -> None:
        if not window.suppressed:
            return
        try:
            window.logger.log(
                window.level,
                "%d more like this in %.0f s: %s",
                window.suppressed,
                self.interval,
                window.msg.split("%", 1)[0].strip() or key,
            )
        except Exception:  # pragma: no cover
            pass
        window.suppressed = 0


_RELAY = _Relay(DEFAULT_INTERVAL, DEFAULT_BURST, CAPACITY)


class EventLog:
    """A logger front end for threads that must never block on logging.

    ``key`` names a kind of event (say ``"client connected"``): each kind is
    rate-limited on its own.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def log(self, level: int, key: str, msg: str, *args: Any) -> None:
        """Buffer one event for the logging thread; returns at once."""
        if self.logger.isEnabledFor(level):
            _RELAY.put((self.logger, level, key, msg, args))

    def info(self, key: str, msg: str, *args: Any) -> None:
        """:meth:`log` at INFO."""
        self.log(logging.INFO, key, msg, *args)

    def warning(self, key: str, msg: str, *args: Any) -> None:
        """:meth:`log` at WARNING."""
        self.log(logging.WARNING, key, msg, *args)


def flush(timeout: float = 1.0) -> bool:
    """Wait up to ``timeout`` seconds for buffered events to be emitted; False if not all were."""
    return _RELAY.flush(timeout)


def configure(*, interval: float | None = None, burst: int | None = None) -> None:
    """Change the rate limit (seconds per window, lines per key and window)."""
    if interval is not None:
        _RELAY.interval = float(interval)
    if burst is not None:
        _RELAY.burst = int(burst)


atexit.register(flush, 1.0)
