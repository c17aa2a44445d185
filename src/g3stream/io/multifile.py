"""G3MultiFileWriter: frames written to a sequence of files, split by size or by rule.

Semantics follow spt3g's module of the same name:

* The first frame opens file number 0.  Before each later frame a new file
  is started when the current one already holds at least ``size_limit``
  bytes (for compressed files: compressed bytes the compressor has emitted
  so far), when the frame's type is in ``divide_on`` (a list of types), or
  when ``divide_on(frame)`` is true (a callable).
* Every frame other than Timepoint and Scan is metadata: the most recent
  one of each type is kept, and each new file starts with those frames, in
  the order their types were first seen.  A metadata frame that starts a
  file is written once, in that header.
* File names come from a printf-style pattern with one integer field
  (``"run-%03u.g3.gz"``) or from a callable ``f(frame, seqno)`` given the
  first frame of the new file.  Unlike spt3g, a name that would overwrite
  a file this writer already wrote is an error, not lost data.
* ``EndProcessing`` closes the current file and is not written.

Extensions (keyword-only): ``size_limit`` may be ``None`` (no size rule);
``rotate_every`` starts a new file once the current one is that many
seconds old, or with ``rotate_aligned=True`` at each multiple of it on the
clock (``3600``: on the hour, UTC); :meth:`G3MultiFileWriter.rotate` asks
for a new file before the next frame (a new session of the source, say);
directories in a file name are created as needed.  Durability options as
for :class:`~g3stream.io.writer.G3Writer`; each file is fsynced when it
is closed, at rotation too.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from ..codec.container import encode_frame
from ..frame import G3Frame
from ..frametype import DATA_FRAME_TYPES, G3FrameType
from .file_sink import FileSink
from .flushing import DEFAULT_FLUSH_INTERVAL, FlushCallback, FlushedSink
from .writer import ClosedOnExit, frame_type_set

log = logging.getLogger(__name__)

__all__ = ["G3MultiFileWriter"]

FileNamer = Callable[[G3Frame, int], "str | os.PathLike[str]"]


def _check_pattern(pattern: str) -> None:
    try:
        first, second = pattern % 0, pattern % 1
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"file name pattern {pattern!r} needs exactly one integer field, "
            f'like "outfile-%03u.g3" ({exc})'
        ) from None
    if first == second:
        raise ValueError(f"file name pattern {pattern!r} gives the same name for every file")


class G3MultiFileWriter(ClosedOnExit):
    """Writes frames into numbered files of about ``size_limit`` bytes each.

    ``G3MultiFileWriter(filename, size_limit, divide_on=None, buffersize=1048576)``
    as in spt3g; see the module documentation for the rules.  ``current_file``
    is the name of the file being written (``""`` before the first frame, as
    in spt3g) and ``files`` lists every file started.
    """

    __g3module__ = True

    def __init__(
        self,
        filename: str | FileNamer,
        size_limit: int | None,
        divide_on: Iterable[G3FrameType | int | str] | Callable[[G3Frame], Any] | None = None,
        buffersize: int = 1048576,
        *,
        rotate_every: float | None = None,
        rotate_aligned: bool = False,
        flush_interval: float | None = DEFAULT_FLUSH_INTERVAL,
        fsync: bool = False,
        on_flush: FlushCallback | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(filename, str):
            _check_pattern(filename)
            self._pattern: str | None = filename
            self._namer: FileNamer | None = None
        elif callable(filename):
            self._pattern = None
            self._namer = filename
        else:
            raise TypeError(
                "filename must be a string with an integer field (outfile-%03u.g3) "
                "or a callable f(frame, seqno) returning a path"
            )
        if size_limit is not None and int(size_limit) <= 0:
            raise ValueError("size_limit must be greater than zero (or None: no size rule)")
        self.size_limit = None if size_limit is None else int(size_limit)
        if rotate_every is not None and not rotate_every > 0:
            raise ValueError(
                f"rotate_every must be a positive number of seconds, not {rotate_every}"
            )
        if rotate_aligned and rotate_every is None:
            raise ValueError("rotate_aligned needs rotate_every (the period to align to)")
        self.rotate_every = None if rotate_every is None else float(rotate_every)
        self.rotate_aligned = bool(rotate_aligned)
        self._clock = clock
        self._rotate_at = math.inf
        self._rotate_requested = False
        self.buffersize = int(buffersize)
        self._divide_types: frozenset[G3FrameType] = frozenset()
        self._divide_rule: Callable[[G3Frame], Any] | None = None
        if divide_on is not None:
            if callable(divide_on):
                self._divide_rule = divide_on
            else:
                try:
                    self._divide_types = frame_type_set(divide_on)
                except (TypeError, ValueError) as exc:
                    raise TypeError(
                        "divide_on must be frame types (e.g. [G3FrameType.Observation]) "
                        f"or a callable that returns True to start a new file ({exc})"
                    ) from None
        self.seqno = 0
        self.current_file = ""
        #: Every file started so far, in order.
        self.files: list[str] = []
        self._started: set[str] = set()
        self._out = FlushedSink(flush_interval, fsync, on_flush, name="G3MultiFileWriter")
        self._metadata: dict[G3FrameType, G3Frame] = {}
        self._ended = False

    @property
    def frames_written(self) -> int:
        """Frames written so far, over every file (repeated metadata not counted)."""
        return self._out.frames_written

    @property
    def frames_flushed(self) -> int:
        """Frames readable from the files should the process die now."""
        return self._out.frames_flushed

    def rotate(self) -> None:
        """Start a new file before the next frame (for example when a new session begins)."""
        self._rotate_requested = True

    def _wants_new_file(self, frame: G3Frame) -> bool:
        sink = self._out.sink
        if sink is None or self._rotate_requested:
            return True
        new = self.size_limit is not None and sink.file_size() >= self.size_limit
        if self._clock() >= self._rotate_at:
            new = True
        rule = self._divide_rule
        if rule is not None and rule(frame):
            new = True
        if frame.type in self._divide_types:
            new = True
        return new

    def _next_name(self, frame: G3Frame) -> str:
        seqno = self.seqno
        self.seqno = seqno + 1
        if self._pattern is not None:
            return self._pattern % seqno
        assert self._namer is not None
        name = self._namer(frame, seqno)
        if not isinstance(name, str | os.PathLike):
            raise TypeError(f"the file-name callable returned {name!r}, not a path")
        name = os.fspath(name)
        if name in self._started:
            # spt3g would overwrite the earlier file and lose its frames
            raise ValueError(f"the file-name callable returned {name!r} a second time")
        return name

    def _schedule_rotation(self) -> None:
        every = self.rotate_every
        if every is None:
            return
        now = self._clock()
        if self.rotate_aligned:
            self._rotate_at = (math.floor(now / every) + 1) * every
        else:
            self._rotate_at = now + every

    def _start_file(self, frame: G3Frame) -> None:
        name = self._next_name(frame)
        self._out.replace(None)  # the finished file is synced to disk first
        log.info("starting file %s", name)
        directory = os.path.dirname(name)
        if directory:
            os.makedirs(directory, exist_ok=True)
        sink = FileSink(name, buffersize=self.buffersize)
        self._out.replace(sink)
        self._rotate_requested = False
        self._schedule_rotation()
        self.current_file = name
        self.files.append(name)
        self._started.add(name)
        for meta in self._metadata.values():
            self._out.write(encode_frame(meta), count=False)

    def Process(self, frame: G3Frame) -> list[G3Frame]:
        """Write ``frame`` (starting a new file if due) and return ``[frame]``."""
        ftype = frame.type
        if ftype == G3FrameType.EndProcessing:
            self.Close()
            return [frame]
        if self._ended:
            raise ValueError("G3MultiFileWriter is closed")
        is_meta = ftype not in DATA_FRAME_TYPES
        if is_meta:
            # replacing keeps the position of the type's first appearance
            self._metadata[ftype] = frame
        if self._wants_new_file(frame):
            self._start_file(frame)
            if is_meta:
                self._out.count_frame()  # written as part of the new file's header
                return [frame]
        self._out.write(encode_frame(frame))
        return [frame]

    __call__ = Process

    def Flush(self) -> None:
        """Make every frame written to the current file readable from it now (gzip: a sync point)."""
        self._out.flush()

    flush = Flush

    def Close(self) -> None:
        """Close the current file (synced to disk); further frames are an error.  Idempotent."""
        self._ended = True
        out = getattr(self, "_out", None)
        if out is not None:
            out.close()

    close = Close
