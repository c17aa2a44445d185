"""FileSink: the write side of a G3 file, compressing by suffix.

A sink accepts frames already encoded as lists of buffers (see
``g3stream.codec.container.encode_frame``).  Large array data is never
joined: it goes to the operating system straight from the arrays' own
memory.

No frame is lost in silence.  Small frames of an uncompressed file are
gathered in a buffer of at most ``buffersize`` bytes (one system call per
frame would halve the rate of small frames), but only into disk space the
sink has reserved beforehand (``fallocate`` with ``FALLOC_FL_KEEP_SIZE``:
the blocks are allocated, the file's size does not change): a full disk is
then found when the space is reserved, and the error is raised by the call
for the frame that did not fit.  Where space cannot be reserved (other
systems, file systems without ``fallocate``, a disk almost full) frames go
to the operating system one by one, with the same result.  ``flush`` hands
the buffer to the system; writers call it on a timer.

A failed write of an uncompressed file is undone (the file is cut back to
the end of the last frame written whole), so the file stays a clean G3
stream and writing may go on once space is freed.  A compressed stream
cannot be undone: the sink refuses further frames after a failed write.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import mmap
import os
import sys
from collections.abc import Callable, Sequence
from typing import IO

from .._types import Buffer
from ..codec.container import scan_frame
from ..errors import G3FormatError, TruncatedFrameError
from .compression import (
    CompressingWriter,
    Compression,
    check_output_name,
    open_compressing_writer,
    write_all,
)

log = logging.getLogger(__name__)


__all__ = ["FileSink", "fsync_directory", "torn_tail"]

#: Frames smaller than this are joined and written in one call; larger ones
#: are written with vectored writes straight from their buffers.
_VECTORED_MIN_BYTES = 1 << 16
#: Buffers per writev call (the usual IOV_MAX).
_IOV_MAX = 1024
_HAVE_WRITEV = hasattr(os, "writev")


def _total_size(buffers: Sequence[Buffer]) -> int:
    return sum(b.nbytes if type(b) is memoryview else len(b) for b in buffers)


def _writev_all(fd: int, buffers: Sequence[Buffer]) -> None:
    """Write every byte of ``buffers`` to ``fd``, resuming after partial writes."""
    views = [b if type(b) is memoryview else memoryview(b) for b in buffers]
    views = [v if v.format == "B" and v.ndim == 1 else v.cast("B") for v in views]
    i = 0
    while i < len(views):
        batch = views[i : i + _IOV_MAX]
        done = os.writev(fd, batch)
        # skip the buffers written completely, trim a partially written one
        for v in batch:
            n = v.nbytes
            if done >= n:
                done -= n
                i += 1
            else:
                views[i] = v[done:]
                break


#: Disk space reserved ahead of the buffered frames of an uncompressed file.
_RESERVE_BYTES = 4 << 20
#: fallocate's flag for allocating blocks without changing the file's size.
_FALLOC_FL_KEEP_SIZE = 1

Reserver = Callable[[int, int, int], None]


def _load_reserver() -> Reserver | None:
    """``reserve(fd, offset, length)``: allocate disk blocks without growing the file (Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fallocate = ctypes.CDLL(None, use_errno=True).fallocate
    except (OSError, AttributeError):
        return None
    fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    fallocate.restype = ctypes.c_int

    def reserve(fd: int, offset: int, length: int) -> None:
        if fallocate(fd, _FALLOC_FL_KEEP_SIZE, offset, length) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))

    return reserve


_reserve = _load_reserver()


def torn_tail(fd: int) -> int | None:
    """Where the last frame of the plain G3 file open for reading as ``fd`` is cut; None if whole.

    Walks the frames' headers through a memory map (their bodies are not
    read).  Bad data that hides where frames start raises its
    ``G3FormatError``.
    """
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    with mmap.mmap(fd, size, access=mmap.ACCESS_READ) as mapped, memoryview(mapped) as view:
        pos = 0
        while pos < size:
            found = scan_frame(view, pos, size, pos)
            if isinstance(found, int):
                return pos
            pos += found.size
    return None


def _fsync(fd: int) -> None:
    """fsync, except on files that cannot be synced (devices, pipes)."""
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EROFS, errno.ENOTSUP):
            raise


def fsync_directory(path: str) -> None:
    """Make the directory entry of ``path`` durable (where the platform allows it)."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # a platform or file system without directory handles
        return
    try:
        os.fsync(fd)
    except OSError as exc:  # some file systems cannot sync a directory
        log.debug("%s: directory not synced (%s)", directory, exc)
    finally:
        os.close(fd)


class FileSink:
    """An open G3 output file (``.g3``, ``.g3.gz``, ``.g3.bz2``, ``.g3.xz``; other names are refused).

    ``append=True`` adds to an existing uncompressed file; appending to a
    compressed file is refused (the reference cannot do it either: its
    reader would ignore a second gzip or bzip2 member).  ``buffersize``
    bounds the small frames of an uncompressed file held before they go to
    the operating system (see the module documentation).
    """

    def __init__(
        self, path: str | os.PathLike[str], append: bool = False, buffersize: int = 1048576
    ) -> None:
        self.path = os.fspath(path)
        self.compression = check_output_name(self.path)
        if append and self.compression is not Compression.NONE:
            raise ValueError(
                f"{self.path}: cannot append to a {self.compression.value}-compressed file"
            )
        if buffersize <= 0:
            raise ValueError(f"buffersize must be positive, not {buffersize}")
        raw: IO[bytes] = open(self.path, "ab" if append else "wb", buffering=0)  # noqa: SIM115
        self._raw: IO[bytes] | None = raw
        self._fd = raw.fileno()
        self._compressor: CompressingWriter | None = None
        self._failed: OSError | None = None
        self._disk = 0  # bytes of stream handed to the operating system
        self._buf = bytearray()  # frames not yet handed over, all within reserved space
        self._headroom = 0  # bytes reserved beyond what was handed over
        self._buf_limit = min(buffersize, 1 << 22)
        self._reserved = 0  # the file's disk blocks are allocated up to this offset
        self._can_reserve = _reserve is not None
        if self.compression is Compression.NONE:
            if append:
                self._check_appendable(raw)
            self._disk = os.lseek(self._fd, 0, os.SEEK_END) if append else 0
            self._reserved = self._disk
        else:
            self._compressor = open_compressing_writer(raw, self.compression)

    def _check_appendable(self, raw: IO[bytes]) -> None:
        """Refuse to append to a file whose last frame is cut: readers would stop there."""
        try:
            with open(self.path, "rb", buffering=0) as existing:
                torn = torn_tail(existing.fileno())
        except (OSError, ValueError) as exc:  # not a regular file, or bad data
            if isinstance(exc, G3FormatError):
                raw.close()
                raise
            return
        if torn is not None:
            raw.close()
            raise TruncatedFrameError(
                f"{self.path}: the file ends inside a frame (a crash?), so no reader would "
                "reach frames appended to it; copy its complete frames to a new file "
                "first (g3stream salvage)",
                torn,
            )

    @property
    def closed(self) -> bool:
        """Whether the sink was closed."""
        return self._raw is None

    @property
    def flushable(self) -> bool:
        """Whether ``flush`` makes every frame written so far readable from the file.

        True for uncompressed and gzip files; bzip2 and xz streams become
        readable block by block, wholly only at ``close``.
        """
        return self._compressor is None or self._compressor.can_sync

    def _check_open(self, what: str) -> None:
        if self._raw is None:
            raise ValueError(f"{self.path}: {what} a closed file")
        if self._failed is not None:
            raise OSError(
                self._failed.errno,
                f"{self.path}: the file is broken by an earlier write error "
                f"({self._failed.strerror}); no more frames can be added",
            )

    def write_buffers(self, buffers: Sequence[Buffer]) -> None:
        """Append the bytes of ``buffers`` (one frame), in order.

        Raises ``OSError`` (a full disk, say) when this frame cannot be
        stored; an uncompressed file then ends with the previous frame.
        """
        if self._failed is not None or self._raw is None:
            self._check_open("write to")
        comp = self._compressor
        if comp is not None:
            try:
                comp.writelines(buffers)
            except OSError as exc:
                self._failed = exc
                raise
            return
        if memoryview in map(type, buffers):
            size = _total_size(buffers)
            if size >= _VECTORED_MIN_BYTES:
                self._drain()
                self._write_through(buffers, size)
                return
        data = b"".join(buffers)
        buf = self._buf
        # the buffer only ever holds frames whose disk space is reserved
        if len(buf) + len(data) > self._headroom and not self._reserve_for(len(data)):
            self._drain()
            self._write_through([data], len(data))
            return
        buf += data
        if len(buf) >= self._buf_limit:
            self._drain()

    def _reserve_for(self, size: int) -> bool:
        """Reserve disk space for the buffer and ``size`` more bytes; False when impossible."""
        ok = self._reserve_to(self._disk + len(self._buf) + size)
        self._headroom = self._reserved - self._disk
        return ok

    def _reserve_to(self, end: int) -> bool:
        """Reserve disk space up to ``end`` at least; False when it cannot be done."""
        if not self._can_reserve:
            return False
        assert _reserve is not None
        start = self._reserved
        try:
            try:
                _reserve(self._fd, start, max(end, start + _RESERVE_BYTES) - start)
                self._reserved = max(end, start + _RESERVE_BYTES)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                _reserve(self._fd, start, end - start)  # the disk is nearly full: just this
                self._reserved = end
        except OSError as exc:
            if exc.errno != errno.ENOSPC:  # no fallocate here: frames go out one by one
                log.debug("%s: cannot reserve disk space (%s)", self.path, exc)
                self._can_reserve = False
            return False
        return True

    def _write_through(self, buffers: Sequence[Buffer], size: int) -> None:
        """Hand one frame to the system now; on failure cut the file back to before it."""
        try:
            if len(buffers) == 1:
                write_all(self._fd, buffers[0])
            else:
                _writev_all(self._fd, buffers)
        except OSError:
            self._cut_back()
            raise
        self._disk += size
        self._headroom = max(self._reserved - self._disk, 0)

    def _drain(self) -> None:
        """Hand the buffered frames to the operating system."""
        buf = self._buf
        if not buf:
            return
        try:
            write_all(self._fd, buf)
        except OSError as exc:
            self._buf = bytearray()
            self._cut_back()
            self._failed = exc
            raise OSError(
                exc.errno,
                f"{self.path}: frames buffered in reserved disk space could not be written "
                f"({exc.strerror}); the file ends with the frames written before them",
            ) from exc
        self._disk += len(buf)
        self._headroom -= len(buf)
        self._buf = bytearray()

    def _cut_back(self) -> None:
        """Remove a partly written frame: the file ends at the last whole frame."""
        try:
            os.ftruncate(self._fd, self._disk)
            os.lseek(self._fd, self._disk, os.SEEK_SET)
        except OSError as again:
            self._failed = again
            log.error("%s: could not remove a partly written frame (%s)", self.path, again)

    def tell(self) -> int:
        """Bytes of G3 stream written so far (uncompressed; the next frame's offset)."""
        if self._raw is None:
            raise ValueError(f"{self.path}: tell on a closed file")
        if self._compressor is not None:
            return self._compressor.stream_bytes
        return self._disk + len(self._buf)

    def file_size(self) -> int:
        """The size of the file as written so far (compressed bytes for compressed files).

        A compressor holds back some data until it is flushed or closed, so
        for compressed files this lags behind the stream.
        """
        if self._compressor is not None:
            return self._compressor.disk_bytes
        return self.tell()

    def flush(self) -> None:
        """Make every frame written so far readable from the file, where the codec allows.

        Buffered frames of an uncompressed file go to the operating system;
        gzip files get a sync point (the stream stays open); bzip2 and xz
        can only do so at ``close``.
        """
        if self._raw is None:
            return
        self._check_open("flush")
        comp = self._compressor
        if comp is None:
            self._drain()
        elif comp.can_sync:
            try:
                comp.sync()
            except OSError as exc:
                self._failed = exc
                raise

    def fsync(self) -> None:
        """Ask the operating system to put what the file holds on stable storage."""
        if self._raw is not None:
            _fsync(self._fd)

    def close(self, fsync: bool = True) -> None:
        """Finish the stream, sync the file to disk and close it; idempotent.

        With ``fsync`` (the default) the file and its directory entry are
        put on stable storage before this returns.  Disk space reserved
        beyond the last frame is given back.
        """
        raw = self._raw
        if raw is None:
            return
        try:
            if self._failed is None:
                if self._compressor is not None:
                    self._compressor.finish()
                else:
                    self._drain()
            if self._reserved > self._disk and self._compressor is None:
                os.ftruncate(self._fd, self._disk)
            if fsync:
                _fsync(self._fd)
        finally:
            self._raw = None
            raw.close()
        if fsync:
            fsync_directory(self.path)
