"""Bounded loss for file writers: a periodic flush, and a count of frames on disk.

A writer keeps its open :class:`~g3stream.io.file_sink.FileSink` in a
:class:`FlushedSink`, which owns the lock between the writing thread and a
background flusher thread.  Every ``flush_interval`` seconds the flusher
makes each frame written so far readable from the file (a gzip sync point;
with ``fsync=True`` also an fsync), whether or not frames are still
arriving, so a quiet stream reaches the disk too.  After the process is
killed at any moment, every frame written more than ``flush_interval``
seconds earlier is in the file.

``frames_flushed`` counts the frames known to be readable from the files
should the process die now (on stable storage too when ``fsync=True``); a
``on_flush(frames_flushed)`` callback hears each advance.  A consumer that
acknowledges frames upstream only once they are safe uses either.

Limits: bzip2 and xz streams cannot be flushed without ending them, so
their frames count as flushed only when their file is closed (at rotation
or at the end); an error of the background flusher is raised by the
writer's next call.
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from collections.abc import Callable, Sequence

from .file_sink import Buffer, FileSink

log = logging.getLogger(__name__)

__all__ = ["FlushedSink", "FlushCallback", "DEFAULT_FLUSH_INTERVAL"]

#: Seconds between flushes unless a writer is told otherwise.
DEFAULT_FLUSH_INTERVAL = 1.0

FlushCallback = Callable[[int], object]


class FlushedSink:
    """The current file of a writer, guarded by a lock, with a flusher thread.

    ``flush_interval``: seconds between background flushes; ``0`` flushes
    after every frame (no thread); ``None`` flushes only at ``flush()``,
    rotation and close.  ``fsync``: also fsync at every flush (files are
    always fsynced when closed).
    """

    def __init__(
        self,
        flush_interval: float | None = DEFAULT_FLUSH_INTERVAL,
        fsync: bool = False,
        on_flush: FlushCallback | None = None,
        name: str = "",
    ) -> None:
        if flush_interval is not None and not flush_interval >= 0:
            raise ValueError(f"flush_interval must be >= 0 or None, not {flush_interval}")
        if on_flush is not None and not callable(on_flush):
            raise TypeError("on_flush must be a callable taking the count of flushed frames")
        self.flush_interval = flush_interval
        self.fsync = bool(fsync)
        self.on_flush = on_flush
        self.name = name
        self.sink: FileSink | None = None
        #: Frames handed to a file so far (metadata repeated at a file's top not counted).
        self.frames_written = 0
        #: Frames readable from the files should the process die now.
        self.frames_flushed = 0
        self._notified = 0
        self._lock = threading.Lock()
        self._notify_lock = threading.Lock()
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        _OPEN.add(self)
        if flush_interval:
            self._thread = threading.Thread(
                target=_flush_periodically,
                args=(weakref.ref(self), flush_interval, self._stop),
                name=f"g3stream-flush {name}".strip(),
                daemon=True,
            )
            self._thread.start()

    @property
    def lock(self) -> threading.Lock:
        """Held while a file is written, flushed, opened or closed."""
        return self._lock

    def _raise_pending(self) -> None:
        err = self._error
        if err is not None:
            self._error = None
            raise err

    def write(self, buffers: Sequence[Buffer], count: bool = True) -> None:
        """Write one encoded frame to the current file (``count``: a frame of the stream)."""
        with self._lock:
            if self._error is not None:
                self._raise_pending()
            sink = self.sink
            if sink is None:
                raise ValueError(f"{self.name}: write with no open file")
            sink.write_buffers(buffers)
            if count:
                self.frames_written += 1
            if self.flush_interval != 0:
                return
            notify = self._flush_locked()
        if notify:
            self._notify()

    def count_frame(self) -> None:
        """Count a frame of the stream that was written uncounted (as a file's header)."""
        with self._lock:
            self.frames_written += 1

    def _flush_locked(self) -> bool:
        """Flush the current file; True when more frames are now flushed."""
        sink = self.sink
        if sink is None or self.frames_flushed == self.frames_written:
            return False
        sink.flush()
        if self.fsync:
            sink.fsync()
        if not sink.flushable:
            return False
        self.frames_flushed = self.frames_written
        return True

    def flush(self) -> None:
        """Make every frame written so far readable from the file now (where the codec can)."""
        with self._lock:
            self._raise_pending()
            notify = self._flush_locked()
        if notify:
            self._notify()

    def _background_flush(self) -> None:
        try:
            with self._lock:
                notify = self._flush_locked()
        except Exception as exc:  # reported by the writer's next call
            log.error("%s: flushing failed: %s", self.name, exc)
            self._error = exc
            self._stop.set()
            return
        if notify:
            self._notify()

    def _notify(self) -> None:
        callback = self.on_flush
        if callback is None:
            return
        with self._notify_lock:  # one caller at a time, counts never going back
            count = self.frames_flushed
            if count > self._notified:
                self._notified = count
                callback(count)

    def replace(self, sink: FileSink | None) -> None:
        """Close the current file (synced to disk) and make ``sink`` current."""
        with self._lock:
            old, self.sink = self.sink, None
            try:
                if old is not None:
                    old.close()
                    self.frames_flushed = self.frames_written
            finally:
                self.sink = sink
        self._notify()
        if self._error is not None and sink is None:
            self._raise_pending()

    def close(self) -> None:
        """Stop the flusher and close the current file; idempotent."""
        _OPEN.discard(self)
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self._thread = None
        self.replace(None)


#: Sinks not yet closed: their files are finished at interpreter exit.
_OPEN: weakref.WeakSet[FlushedSink] = weakref.WeakSet()


@atexit.register
def _close_at_exit() -> None:
    for out in list(_OPEN):
        try:
            out.close()
        except Exception as exc:  # no caller left: report it at least
            log.error("%s: closing at exit failed; data may be lost: %s", out.name, exc)


def _flush_periodically(
    ref: weakref.ReferenceType[FlushedSink], interval: float, stop: threading.Event
) -> None:
    """The flusher thread: flush every ``interval`` until stopped or the sink is gone."""
    while not stop.wait(interval):
        state = ref()
        if state is None:
            return
        state._background_flush()
        del state
