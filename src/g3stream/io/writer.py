"""G3Writer: a module that writes frames to a (possibly compressed) file.

Frames are encoded with ``g3stream.codec.container.encode_frame``, giving
the bytes the reference writes, and passed to the file as a list of buffers
(large arrays are never copied or joined).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from ..codec.container import encode_frame
from ..frame import G3Frame, G3FrameType
from .file_sink import FileSink
from .flushing import DEFAULT_FLUSH_INTERVAL, FlushCallback, FlushedSink

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
        except Exception as exc:  # no caller left to raise to: say so at least
            try:
                log.error("%r: closing on deletion failed; data may be lost: %s", self, exc)
            except Exception:  # interpreter shutdown
                pass


class G3Writer(ClosedOnExit):
    """Writes frames to ``filename``; compression follows the suffix (.gz, .bz2, .xz).

    ``G3Writer(filename, streams=[], append=False, buffersize=1048576)`` as
    in spt3g.  ``streams`` lists the frame types to write (empty: all);
    every frame is passed on downstream whether written or not.  An
    ``EndProcessing`` frame is never written: it flushes and closes the
    file.  Use as a module (``writer(frame)`` returns ``[frame]``) or as a
    context manager (closing on exit).

    Durability (keyword-only; see :mod:`g3stream.io.flushing`): each frame
    goes to the operating system when it is written, so a write error is
    raised for the frame that did not fit; every ``flush_interval`` seconds
    (default 1; 0: after every frame; None: only at ``Flush``/close) a
    background thread makes all frames so far readable from the file (a
    gzip sync point), also when no frame arrives.  ``fsync=True`` adds an
    fsync to every flush; the file is always fsynced when closed.
    ``frames_flushed`` counts frames known to be readable after a crash,
    and ``on_flush(frames_flushed)`` is called as it advances (from the
    flusher thread, or the thread that flushed or closed).
    """

    __g3module__ = True

    def __init__(
        self,
        filename: str | os.PathLike[str],
        streams: Iterable[G3FrameType | int | str] | None = None,
        append: bool = False,
        buffersize: int = 1048576,
        *,
        flush_interval: float | None = DEFAULT_FLUSH_INTERVAL,
        fsync: bool = False,
        on_flush: FlushCallback | None = None,
    ) -> None:
        self.filename = os.fspath(filename)
        self.streams = frame_type_set(streams)
        self._out: FlushedSink | None = None
        sink = FileSink(self.filename, append=append, buffersize=buffersize)
        try:
            out = FlushedSink(flush_interval, fsync, on_flush, name=self.filename)
        except BaseException:
            sink.close()
            raise
        out.sink = sink
        self._out = out
        # Checksums half of each large new frame while this thread does the
        # other half (its thread starts with the first such frame).
        self._crc_helper = ThreadPoolExecutor(1, thread_name_prefix="g3-write-crc")
        log.debug("writing %s", self.filename)

    @property
    def closed(self) -> bool:
        """Whether the file was closed (by ``Close`` or an EndProcessing frame)."""
        return self._out is None

    @property
    def frames_written(self) -> int:
        """Frames written to the file so far."""
        out = self._out
        return out.frames_written if out is not None else self._final[0]

    @property
    def frames_flushed(self) -> int:
        """Frames readable from the file should the process die now (all of them once closed)."""
        out = self._out
        return out.frames_flushed if out is not None else self._final[1]

    _final = (0, 0)

    def Process(self, frame: G3Frame) -> list[G3Frame]:
        """Write ``frame`` (unless filtered out or EndProcessing) and return ``[frame]``.

        Raises ``OSError`` when the frame could not be written (the file
        then ends with the previous frame, for uncompressed files).
        """
        ftype = frame.type
        if ftype == G3FrameType.EndProcessing:
            self.Close()
            return [frame]
        out = self._out
        if out is None:
            raise ValueError(f"G3Writer for {self.filename} is closed")
        streams = self.streams
        if not streams or ftype in streams:
            out.write(encode_frame(frame, self._crc_helper))
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
        out = self._out
        if out is None or out.sink is None:
            raise ValueError(f"G3Writer for {self.filename} is closed")
        return out.sink.tell()

    def Flush(self) -> None:
        """Make every frame written so far readable from the file now (gzip: a sync point)."""
        if self._out is not None:
            self._out.flush()

    flush = Flush

    def Close(self) -> None:
        """Finish the file and sync it to disk; further frames are an error.  Idempotent."""
        out = self._out
        if out is not None:
            self._out = None
            self._crc_helper.shutdown(wait=True)
            try:
                out.close()
            finally:
                self._final = (out.frames_written, out.frames_flushed)
            log.debug("closed %s after %d frames", self.filename, out.frames_written)

    close = Close

    def __repr__(self) -> str:
        state = "closed" if self._out is None else "open"
        return f"<G3Writer {self.filename!r} ({state}, {self.frames_written} frames)>"
