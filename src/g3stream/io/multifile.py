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
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from ..codec.container import encode_frame
from ..frame import G3Frame
from ..frametype import DATA_FRAME_TYPES, G3FrameType
from .file_sink import FileSink
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
        size_limit: int,
        divide_on: Iterable[G3FrameType | int | str] | Callable[[G3Frame], Any] | None = None,
        buffersize: int = 1048576,
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
        if int(size_limit) <= 0:
            raise ValueError("size_limit must be greater than zero")
        self.size_limit = int(size_limit)
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
        self._sink: FileSink | None = None
        self._metadata: dict[G3FrameType, G3Frame] = {}
        self._ended = False

    def _wants_new_file(self, frame: G3Frame) -> bool:
        sink = self._sink
        if sink is None:
            return True
        new = sink.file_size() >= self.size_limit
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

    def _start_file(self, frame: G3Frame) -> None:
        name = self._next_name(frame)
        if self._sink is not None:
            self._sink.close()
            self._sink = None
        log.info("starting file %s", name)
        sink = FileSink(name, buffersize=self.buffersize)
        self._sink = sink
        self.current_file = name
        self.files.append(name)
        self._started.add(name)
        for meta in self._metadata.values():
            sink.write_buffers(encode_frame(meta))

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
                return [frame]  # already written as part of the new file's header
        assert self._sink is not None
        self._sink.write_buffers(encode_frame(frame))
        return [frame]

    __call__ = Process

    def Flush(self) -> None:
        """Hand what was written to the current file to the operating system."""
        if self._sink is not None:
            self._sink.flush()

    flush = Flush

    def Close(self) -> None:
        """Close the current file; further frames are an error.  Idempotent."""
        self._ended = True
        sink = self._sink
        if sink is not None:
            self._sink = None
            sink.close()

    close = Close
