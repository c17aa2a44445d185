"""G3Writer: a module that writes frames to a (possibly compressed) file.

Frames are encoded with ``g3stream.codec.container.encode_frame``, giving
the bytes the reference writes, and passed to the file as a list of buffers
(large arrays are never copied or joined).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import TypeVar

from ..codec.container import encode_frame
from ..frame import G3Frame, G3FrameType
from .file_sink import FileSink

_W = TypeVar("_W", bound="ClosedOnExit")

log = logging.getLogger(__name__)

__all__ = ["G3Writer", "frame_type_set"]


def frame_type_set(types: Iterable[G3FrameType | int | str] | None) -> frozenset[G3FrameType]:
    """Frame types given as types, codes or names, as a set."""
    if types is None:
        return frozenset()
    if isinstance(types, G3FrameType | int | str):
        types = [types]
    return frozenset(t if isinstance(t, G3FrameType) else G3FrameType(t) for t in types)


class ClosedOnExit:
    """Writers that finish their file on ``with`` exit and when dropped, as spt3g's do."""

    def Close(self) -> None:
        """Finish and close; idempotent."""
        raise NotImplementedError

    def __enter__(self: _W) -> _W:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.Close()

    def __del__(self) -> None:
        try:
            self.Close()
        except Exception:  # interpreter shutdown or a failing disk: nothing to report to
            pass


class G3Writer(ClosedOnExit):
    """Writes frames to ``filename``; compression follows the suffix (.gz, .bz2, .xz).

    ``G3Writer(filename, streams=[], append=False, buffersize=1048576)`` as
    in spt3g.  ``streams`` lists the frame types to write (empty: all);
    every frame is passed on downstream whether written or not.  An
    ``EndProcessing`` frame is never written: it flushes and closes the
    file.  Use as a module (``writer(frame)`` returns ``[frame]``) or as a
    context manager (closing on exit).
    """

    __g3module__ = True

    def __init__(
        self,
        filename: str | os.PathLike[str],
        streams: Iterable[G3FrameType | int | str] | None = None,
        append: bool = False,
        buffersize: int = 1048576,
    ) -> None:
        self.filename = os.fspath(filename)
        self.streams = frame_type_set(streams)
        self.frames_written = 0
        self._sink: FileSink | None = None
        self._sink = FileSink(self.filename, append=append, buffersize=buffersize)
        log.debug("writing %s", self.filename)

    @property
    def closed(self) -> bool:
        """Whether the file was closed (by ``Close`` or an EndProcessing frame)."""
        return self._sink is None

    def Process(self, frame: G3Frame) -> list[G3Frame]:
        """Write ``frame`` (unless filtered out or EndProcessing) and return ``[frame]``."""
        ftype = frame.type
        if ftype == G3FrameType.EndProcessing:
            self.Close()
            return [frame]
        sink = self._sink
        if sink is None:
            raise ValueError(f"G3Writer for {self.filename} is closed")
        streams = self.streams
        if not streams or ftype in streams:
            sink.write_buffers(encode_frame(frame))
            self.frames_written += 1
        return [frame]

    __call__ = Process

    def write_frames(self, frames: Iterable[G3Frame]) -> None:
        """Process every frame of ``frames`` in order."""
        for f in frames:
            self.Process(f)

    def tell(self) -> int:
        """Stream offset at which the next frame will start (usable with ``G3Reader.seek``).

        Exact, also for compressed files (an offset in the decompressed
        stream); spt3g's reports one byte more once something was written,
        and compressed bytes for compressed files.
        """
        if self._sink is None:
            raise ValueError(f"G3Writer for {self.filename} is closed")
        return self._sink.tell()

    def Flush(self) -> None:
        """Hand everything written so far to the operating system."""
        if self._sink is not None:
            self._sink.flush()

    flush = Flush

    def Close(self) -> None:
        """Finish and close the file; further frames are an error.  Idempotent."""
        sink = self._sink
        if sink is not None:
            self._sink = None
            sink.close()
            log.debug("closed %s after %d frames", self.filename, self.frames_written)

    close = Close

    def __repr__(self) -> str:
        state = "closed" if self._sink is None else "open"
        return f"<G3Writer {self.filename!r} ({state}, {self.frames_written} frames)>"
