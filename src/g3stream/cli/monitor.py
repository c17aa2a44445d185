"""A stream monitor: reads frames in a background thread and counts them.

Used by ``stats`` and ``demo``.  The reading thread only counts; the
calling thread refreshes the display at its own pace, so the rates keep
updating (and fall to zero) even while no data arrives.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from ..rates import RateBoard, RateSnapshot
from .common import frame_size
from .inputs import FrameSkipper, open_reader, reader_frames
from .rates import RateDisplay
from .streaming import close_module

log = logging.getLogger("g3stream.cli")


class StreamMonitor:
    """Reads ``url`` in a daemon thread, counting frames into ``board``.

    Frames carrying any of the ``skip_keys`` (a DAQ's keep-alive frames) are
    not counted.  While the stream runs, the board's status follows the
    source's state (connected, reconnecting, ...), read from the reader's
    statistics.
    """

    def __init__(
        self, url: str, board: RateBoard, skip_keys: Sequence[str] = (), **reader_kwargs: Any
    ) -> None:
        self.url = url
        self.board = board
        self.skipper = FrameSkipper(skip_keys)
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.reader_kwargs = reader_kwargs
        self.reader: Any = None
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="g3stream-monitor", daemon=True)

    def start(self) -> StreamMonitor:
        """Connect (in the calling thread, so connection errors surface here) and start reading."""
        self.reader = open_reader(self.url, **self.reader_kwargs)
        board = self.board
        board.status = f"reading {self.url}"
        board.label = self.url
        statistics = getattr(self.reader, "statistics", None)
        if callable(statistics):
            board.liveness = statistics
            board.status_live = True
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            for frame in self.skipper(reader_frames(self.reader)):
                self.board.add(frame, frame_size(frame))
                if self._stopping:
                    break
            self._final_status(f"{self.url}: stream ended")
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            if not self._stopping:
                self.error = exc
                self._final_status(f"{self.url}: {exc}")
        finally:
            self.done.set()

    def _final_status(self, status: str) -> None:
        self.board.status = status
        self.board.status_live = False

    def stop(self, timeout: float = 2.0) -> None:
        """Stop reading and wait up to ``timeout`` seconds for the thread to end."""
        self._stopping = True
        close_module(self.reader)
        self._thread.join(timeout)


def show_until_done(
    monitor: StreamMonitor,
    display: RateDisplay,
    interval: float,
    duration: float | None,
) -> RateSnapshot:
    """Refresh ``display`` every ``interval`` s until the stream ends or ``duration`` passes.

    Returns the last snapshot shown.  Ctrl-C (KeyboardInterrupt) propagates.
    """
    end = None if duration is None else time.monotonic() + duration
    while True:
        wait = interval if end is None else min(interval, max(end - time.monotonic(), 0.0))
        finished = monitor.done.wait(wait)
        snap = display.refresh()
        if finished or (end is not None and time.monotonic() >= end):
            return snap
