"""FileSource: a ByteSource over a G3 file, decompressing by suffix.

The source knows nothing about frames: it hands out the (decompressed)
byte stream in blocks, tracks how far it got, and turns decompression
failures into typed errors naming the file and the stream offset.
"""

from __future__ import annotations

import logging
import mmap
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO

from ..cereal.crc import g3_crc_combine, g3_crc_of
from ..errors import G3FileNotFoundError, TruncatedFrameError
from .compression import (
    CompressedDataError,
    Compression,
    compression_for_path,
    is_corrupt_data_error,
    open_decompressed,
)

log = logging.getLogger(__name__)

#: Reads at least this large from a plain file are split between two threads.
PARALLEL_READ = 4 << 20

__all__ = ["FileSource"]


class FileSource:
    """Reads the G3 byte stream stored in ``path`` (``.g3``, ``.g3.gz``, ``.g3.bz2``, ``.g3.xz``).

    The file is opened at construction, so a missing file fails at once
    with ``G3FileNotFoundError`` (a ``FileNotFoundError`` and, as in
    spt3g, a ``RuntimeError``).  ``position`` is the offset in the
    decompressed stream of the next byte ``read`` returns.

    With ``use_mmap=True`` an uncompressed file is also memory-mapped, and
    ``block`` hands out views of the mapping instead of copies.  Caveat of
    every memory map: if another process truncates the file while such a
    view is in use, the process receives SIGBUS.
    """

    def __init__(self, path: str | os.PathLike[str], use_mmap: bool = False) -> None:
        self.path = os.fspath(path)
        self.name = self.path
        self.compression = compression_for_path(self.path)
        try:
            self._file: BinaryIO | None = open_decompressed(self.path, self.compression)
        except FileNotFoundError as exc:
            raise G3FileNotFoundError(exc.errno, exc.strerror, exc.filename) from None
        self.position = 0
        self._map: mmap.mmap | None = None
        self._halves: ThreadPoolExecutor | None = None  # second reader of large reads
        if self.compression is Compression.NONE and hasattr(os, "posix_fadvise"):
            try:  # the stream is read front to back: ask for generous read-ahead
                os.posix_fadvise(self._file.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
            except OSError:  # a pipe or a file system that does not take advice
                pass
        # an uncompressed regular file that ``os.preadv`` can read at any offset
        # (what the file is does not change while it is open: asked once)
        self._regular = False
        size = 0
        if self.compression is Compression.NONE:
            try:
                st = os.fstat(self._file.fileno())
                self._regular = stat.S_ISREG(st.st_mode) and hasattr(os, "preadv")
                size = st.st_size
            except (OSError, ValueError) as exc:
                log.debug("%s: cannot stat the open file (%s)", self.name, exc)
        if use_mmap and size > 0:
            try:
                self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError) as exc:  # not a regular file, or no mmap here
                log.debug("%s: not memory-mapped (%s)", self.name, exc)

    @property
    def compressed(self) -> bool:
        """Whether the file holds a compressed stream."""
        return self.compression is not Compression.NONE

    @property
    def closed(self) -> bool:
        """Whether ``close`` was called."""
        return self._file is None

    def read(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` bytes of the stream; ``b""`` at its end.

        Raises ``CompressedDataError`` for corrupt compressed data and
        ``TruncatedFrameError`` for a compressed stream that was cut short.
        """
        data: bytes = self._io(lambda f: f.read(max_bytes))
        self.position += len(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:
        """Read straight into ``buffer``; the byte count, 0 at the end (errors as ``read``).

        A large read from an uncompressed regular file is split in two halves
        read at once by two threads: copying from the page cache is what
        bounds reading large frames, and two cores copy faster than one.
        """
        return self.readinto_checksummed(buffer, 0)[0]

    def readinto_checksummed(self, buffer: bytearray | memoryview, span: int) -> tuple[int, int]:
        """``readinto``, also giving the G3 CRC of the first ``span`` bytes read (or fewer).

        Each thread of a split read checksums its half right after copying
        it, while the bytes are still in its cache.
        """
        view = memoryview(buffer).cast("B")
        if len(view) >= PARALLEL_READ and self._splittable():
            n, crc = self._read_halves(view, span)
        else:
            n = self._io(lambda f: f.readinto(view)) or 0
            crc = g3_crc_of(view[: min(span, n)]) if span > 0 else 0
        self.position += n
        return n, crc

    @property
    def large_piece(self) -> int | None:
        """0 (the rest of a large frame in one read) when reads are split between two threads.

        Two threads copy a whole frame faster than one copies it in pieces,
        each checksummed while in the cache. ``None``: no preference.
        """
        return 0 if self._plain_regular_file() else None

    @property
    def crc_helper(self) -> ThreadPoolExecutor | None:
        """The thread that reads half of each large read, lent for checksums too (or ``None``)."""
        return self._halves if self._splittable() else None

    def _plain_regular_file(self) -> bool:
        """An open, uncompressed regular file that ``os.preadv`` can read at any offset."""
        return self._regular and self._file is not None

    def _splittable(self) -> bool:
        if self._halves is None:
            if not self._plain_regular_file():
                return False
            self._halves = ThreadPoolExecutor(1, thread_name_prefix="g3stream-read")
        return self._file is not None

    def _read_halves(self, view: memoryview, span: int) -> tuple[int, int]:
        """Read ``view`` from the position, half each by two threads; the count and the CRC."""
        f = self._file
        assert f is not None and self._halves is not None
        fd = f.fileno()
        start = self.position
        half = len(view) // 2

        def read(lo: int, hi: int) -> tuple[int, int]:
            got = os.preadv(fd, [view[lo:hi]], start + lo)
            upto = min(lo + got, span)
            return got, (g3_crc_of(view[lo:upto]) if upto > lo else 0)

        second = self._halves.submit(read, half, len(view))
        try:
            first, crc = read(0, half)
        except BaseException:
            if not second.cancel():
                second.exception()  # never leave a read into the buffer running
            raise
        if second.cancel():
            # the helper had not started (a busy machine): not waited for,
            # this thread reads the second half itself
            rest, crc2 = read(half, len(view)) if first == half else (0, 0)
        else:
            rest, crc2 = second.result()
        # a short first half means the file ends there: what the second read is void
        n = first if first < half else half + rest
        if n > half and span > half:
            crc = g3_crc_combine(crc, crc2, min(n, span) - half)
        f.seek(start + n)  # the file object carries on from here
        return n, crc

    def _io(self, op: Any) -> Any:
        """Run one read ``op`` on the open file, turning codec failures into typed errors."""
        f = self._file
        if f is None:
            raise ValueError(f"{self.name}: read from a closed file source")
        try:
            return op(f)
        except EOFError as exc:
            raise self._error(
                TruncatedFrameError, str(exc) or "compressed stream cut short"
            ) from exc
        except Exception as exc:
            if is_corrupt_data_error(exc):
                raise self._error(
                    CompressedDataError, f"corrupt {self.compression.value} data ({exc})"
                ) from exc
            raise

    def available(self, offset: int) -> int | None:
        """Bytes the file holds from ``offset`` on, or None when unknown (compressed files)."""
        f = self._file
        if f is None or self.compressed:
            return None
        return max(os.fstat(f.fileno()).st_size - offset, 0)

    @property
    def mapped(self) -> bool:
        """Whether ``block`` returns views of a memory map of the file."""
        return self._map is not None

    def block(self, offset: int, size: int) -> bytes | memoryview:
        """``size`` bytes at ``offset`` (fewer at the end), leaving the position after them.

        For a memory-mapped file this is a read-only view of the mapping:
        no copy is made, and the pages stay mapped while the view lives.
        Otherwise the bytes are read.
        """
        m = self._map
        if m is not None and offset + size <= len(m):
            f = self._file
            assert f is not None
            self.position = f.seek(offset + size)
            return memoryview(m)[offset : offset + size]
        self.seek(offset)
        return self.read(size)

    def _error(
        self, cls: type[TruncatedFrameError] | type[CompressedDataError], what: str
    ) -> Exception:
        err = cls(f"{self.name}: {what}, in the decompressed stream", self.position)
        err.filename = self.name  # type: ignore[union-attr]
        return err

    def seekable(self) -> bool:
        """Files can always be repositioned (compressed ones by decompressing again)."""
        return self._file is not None

    def seek(self, offset: int) -> int:
        """Move to ``offset`` in the decompressed stream; returns the new position.

        Compressed files seek by decompressing from the start (backwards) or
        from the current position (forwards), so this is slow for them.
        """
        if self._file is None:
            raise ValueError(f"{self.name}: seek on a closed file source")
        if offset < 0:
            raise ValueError(f"{self.name}: cannot seek to negative offset {offset}")
        self.position = self._io(lambda f: f.seek(offset))
        return self.position

    def close(self) -> None:
        """Close the file; safe to call more than once.

        A memory map that frames still look into is released by the last
        of them (it cannot be closed while views of it exist).
        """
        m = self._map
        if m is not None:
            self._map = None
            try:
                m.close()
            except BufferError:
                pass
        f = self._file
        if f is not None:
            self._file = None
            f.close()
        if self._halves is not None:
            self._halves.shutdown(wait=True)
            self._halves = None

    def __repr__(self) -> str:
        return f"<FileSource {self.name!r} at {self.position}>"
