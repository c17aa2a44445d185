"""Whole-stream compression of G3 files, chosen by file-name suffix.

A G3 file is a plain concatenation of frames; ``.gz``, ``.bz2`` and ``.xz``
files compress that whole byte stream (FORMAT.md section 2).  This module
opens such files for reading and writing with the standard library only.

Writing reproduces the reference's codec parameters: gzip with one member,
mtime 0, no file name, OS byte 3 and zlib's default level; bzip2 with block
size 9; xz with preset 6 and a CRC64 check.  Reading accepts concatenated
members/streams for every codec (the reference reads only the first gzip or
bzip2 member; a superset is harmless), and a file cut short gives every byte
its complete compressed blocks hold before the cut is reported.

Reading accepts any file name (names without a codec suffix are read as
plain streams, so pipes and devices work); writing requires one of the
reference's names, ``.g3``, ``.g3.gz``, ``.g3.bz2`` or ``.g3.xz``.

Bad compressed data raises :class:`CompressedDataError`; a compressed stream
cut short raises :class:`~g3stream.errors.TruncatedFrameError`.  Both carry
the file name and the offset in the decompressed stream.
"""

from __future__ import annotations

import bz2
import enum
import lzma
import os
import struct
import zlib
from collections.abc import Iterable
from typing import IO, Any, BinaryIO

from .._types import Buffer
from ..errors import CompressedDataError

__all__ = [
    "Compression",
    "CompressedDataError",
    "compression_for_path",
    "check_output_name",
    "OUTPUT_SUFFIXES",
    "is_corrupt_data_error",
    "open_decompressed",
    "DecompressingReader",
    "CompressingWriter",
    "GzipWriter",
    "open_compressing_writer",
    "write_all",
    "end_gzip_at_sync_point",
]


class Compression(enum.Enum):
    """The whole-stream codec of a G3 file."""

    NONE = "none"
    GZIP = "gzip"
    BZIP2 = "bzip2"
    XZ = "xz"


_SUFFIXES = ((".gz", Compression.GZIP), (".bz2", Compression.BZIP2), (".xz", Compression.XZ))


def compression_for_path(path: str | os.PathLike[str]) -> Compression:
    """The codec a file name asks for: ``.gz``, ``.bz2``, ``.xz``, anything else none.

    Like the reference, only the final suffix counts, so ``run.g3.gz`` and
    ``run.gz`` are both gzip files.
    """
    name = os.fspath(path)
    for suffix, codec in _SUFFIXES:
        if name.endswith(suffix):
            return codec
    return Compression.NONE


#: The file names the reference accepts: ``.g3`` with an optional codec suffix.
OUTPUT_SUFFIXES = (".g3", ".g3.gz", ".g3.bz2", ".g3.xz")


def check_output_name(path: str | os.PathLike[str]) -> Compression:
    """The codec for a file to be written; ``ValueError`` unless its name is a G3 file name.

    Like the reference, writing requires ``.g3``, ``.g3.gz``, ``.g3.bz2`` or
    ``.g3.xz``: a name such as ``run.g3.zst`` must not silently produce an
    uncompressed file, and every file written is one the reference reads.
    """
    name = os.fspath(path)
    if not name.endswith(OUTPUT_SUFFIXES):
        raise ValueError(
            f"{name}: a G3 file name ends in {', '.join(OUTPUT_SUFFIXES)} "
            "(the suffix chooses the compression)"
        )
    return compression_for_path(name)


# -- reading ---------------------------------------------------------------


def is_corrupt_data_error(exc: BaseException) -> bool:
    """Whether ``exc``, raised while decompressing, means corrupt compressed data.

    The stdlib readers raise ``zlib.error``, ``lzma.LZMAError`` or an
    ``OSError`` without an errno (``gzip.BadGzipFile``, bz2's "Invalid data
    stream"); an ``OSError`` with an errno is a real I/O failure.
    """
    if isinstance(exc, zlib.error | lzma.LZMAError):
        return True
    return isinstance(exc, OSError) and exc.errno is None


_CUT = "the compressed stream is cut short (it has no end-of-stream marker)"

#: Compressed bytes read from the file per step.
_READ_CHUNK = 1 << 17


class DecompressingReader:
    """The decompressed byte stream of a compressed file, member after member.

    Every byte that can be decompressed is handed out before a problem is
    reported: a file cut short (a crash, a copy in progress) gives all the
    data its complete compressed blocks hold, and only the next read raises
    ``EOFError``; corrupt data raises the codec's error once the good data
    before it has been read.  Zero bytes between gzip or xz members are
    skipped (padding); anything else after a member must be another member.
    Output per read is bounded, so a small file cannot expand into memory
    all at once.
    """

    def __init__(self, path: str | os.PathLike[str], codec: Compression) -> None:
        if codec is Compression.NONE:
            raise ValueError("DecompressingReader needs a compressing codec")
        self.name = os.fspath(path)
        self._codec = codec
        self._raw: IO[bytes] = open(path, "rb", buffering=0)  # noqa: SIM115
        self._reset()

    def _reset(self) -> None:
        self._dec: Any = None  # the current member's decompressor, None between members
        self._input = b""  # compressed bytes read but not yet given to a decompressor
        self._pos = 0
        self._cut = False

    def _new_decompressor(self) -> Any:
        if self._codec is Compression.GZIP:
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self._codec is Compression.BZIP2:
            return bz2.BZ2Decompressor()
        return lzma.LZMADecompressor(format=lzma.FORMAT_AUTO)

    @property
    def closed(self) -> bool:
        """Whether ``close`` was called."""
        return self._raw.closed

    def _next_input(self) -> bytes:
        data, self._input = self._input, b""
        return data or self._raw.read(_READ_CHUNK)

    def _produce(self, max_length: int) -> bytes:
        """Up to ``max_length`` decompressed bytes; ``b""`` at a clean end."""
        gzip_like = self._codec is not Compression.BZIP2
        while True:
            dec = self._dec
            if dec is None:  # between members: end of file, padding or a new member
                data = self._next_input()
                if not data:
                    return b""
                if gzip_like:
                    data = data.lstrip(b"\0")
                    if not data:
                        continue
                self._dec = dec = self._new_decompressor()
                self._input = data
            if self._codec is Compression.GZIP:
                data = self._next_input()
                if not data:
                    out = dec.flush()  # whatever the input so far decodes to
                    if out:
                        return bytes(out)
                    self._cut = True
                    raise EOFError(_CUT)
                out = dec.decompress(data, max_length)
                # at a member's end zlib repeats the rest of the input in both attributes
                self._input = b"" if dec.eof else dec.unconsumed_tail
            else:
                data = b""
                if dec.needs_input:
                    data = self._next_input()
                    if not data:
                        self._cut = True
                        raise EOFError(_CUT)
                out = dec.decompress(data, max_length)
            if dec.eof:
                self._input = dec.unused_data + self._input
                self._dec = None
            if out:
                return out

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of the decompressed stream (at least one unless at its end)."""
        if self._cut:
            raise EOFError(_CUT)
        if size is None or size < 0:
            parts = []
            while chunk := self._produce(_READ_CHUNK * 8):
                parts.append(chunk)
                self._pos += len(chunk)
            return b"".join(parts)
        if size == 0:
            return b""
        out = self._produce(size)
        self._pos += len(out)
        return out

    def readinto(self, buffer: bytearray | memoryview) -> int:
        """Read into ``buffer``; the byte count, 0 at the end of the stream."""
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        n = len(data)
        view[:n] = data
        return n

    def tell(self) -> int:
        """Offset in the decompressed stream of the next byte."""
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move to ``offset`` in the decompressed stream (backwards: from the start again)."""
        if whence == os.SEEK_CUR:
            offset += self._pos
        elif whence != os.SEEK_SET:
            raise ValueError("compressed streams seek from the start or the current position")
        if offset < self._pos:
            self._raw.seek(0)
            self._reset()
        while self._pos < offset:
            if not self.read(min(offset - self._pos, _READ_CHUNK * 8)):
                break
        return self._pos

    def close(self) -> None:
        """Close the file; safe to call more than once."""
        self._raw.close()

    def __enter__(self) -> DecompressingReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_decompressed(path: str | os.PathLike[str], codec: Compression | None = None) -> BinaryIO:
    """Open ``path`` for reading its decompressed G3 byte stream.

    Uncompressed files are opened unbuffered: callers read large blocks and
    every extra buffer layer would be one more copy.  Compressed files are
    read with :class:`DecompressingReader`, which accepts concatenated
    members and hands out every decodable byte of a file that was cut short.
    """
    if codec is None:
        codec = compression_for_path(path)
    if codec is Compression.NONE:
        return open(path, "rb", buffering=0)
    return DecompressingReader(path, codec)  # type: ignore[return-value]


# -- writing ---------------------------------------------------------------


def write_all(fd: int, data: Buffer) -> None:
    """Write every byte of ``data`` to ``fd``, resuming after partial writes."""
    view = data if isinstance(data, memoryview) else memoryview(data)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    while view.nbytes:
        n = os.write(fd, view)
        view = view[n:]


class CompressingWriter:
    """A write-only file object that compresses into an unbuffered binary file.

    Compressed output goes to the operating system as soon as the
    compressor emits it (nothing waits in a user-space buffer, so a write
    error surfaces on the call that caused it).  ``stream_bytes`` counts the
    uncompressed bytes accepted and ``disk_bytes`` the compressed bytes
    handed to the file so far (the compressor keeps some data internally
    until ``sync`` or ``close``).
    """

    #: Whether ``sync`` makes every byte written so far decodable from the file.
    can_sync = False

    def __init__(self, raw: IO[bytes], compressor: bz2.BZ2Compressor | lzma.LZMACompressor) -> None:
        self._raw = raw
        self._fd = raw.fileno()
        self._compressor = compressor
        self.stream_bytes = 0
        self.disk_bytes = 0
        self.closed = False

    def _emit(self, data: bytes) -> None:
        if data:
            write_all(self._fd, data)
            self.disk_bytes += len(data)

    def _compress(self, data: Buffer) -> bytes:
        return self._compressor.compress(data)

    def write(self, data: Buffer) -> int:
        """Compress ``data``; returns its length."""
        n = data.nbytes if isinstance(data, memoryview) else len(data)
        self._emit(self._compress(data))
        self.stream_bytes += n
        return n

    def writelines(self, buffers: Iterable[Buffer]) -> None:
        """Compress every buffer in order."""
        for b in buffers:
            self.write(b)

    def sync(self) -> None:
        """Push everything accepted so far to the file, where the codec allows it.

        Only gzip can do so mid-stream without ending it; bzip2 and xz keep
        their current block until ``close``.
        """

    def flush(self) -> None:
        """Nothing to do: compressed output is never buffered here."""

    def _finish(self) -> None:
        self._emit(self._compressor.flush())

    def finish(self) -> None:
        """End the compressed stream (the file stays open); idempotent."""
        if self.closed:
            return
        self.closed = True
        self._finish()

    def close(self) -> None:
        """End the compressed stream and close the underlying file."""
        try:
            self.finish()
        finally:
            self._raw.close()


#: The gzip member header the reference writes: deflate, no flags, mtime 0,
#: no extra flags, OS 3 (Unix).
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"


class GzipWriter(CompressingWriter):
    """One gzip member with the reference's header, at zlib's default level."""

    def __init__(self, raw: IO[bytes], level: int = zlib.Z_DEFAULT_COMPRESSION) -> None:
        deflate = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
        super().__init__(raw, deflate)  # type: ignore[arg-type]
        self._deflate = deflate
        self._crc = 0
        self._emit(GZIP_HEADER)

    def _compress(self, data: Buffer) -> bytes:
        self._crc = zlib.crc32(data, self._crc)
        return self._deflate.compress(data)

    can_sync = True

    def sync(self) -> None:
        """Make every byte written so far decodable from the file (a zlib sync flush)."""
        self._emit(self._deflate.flush(zlib.Z_SYNC_FLUSH))

    def _finish(self) -> None:
        self._emit(self._deflate.flush(zlib.Z_FINISH))
        self._emit(struct.pack("<II", self._crc, self.stream_bytes & 0xFFFFFFFF))


#: An empty final deflate block with fixed codes: ends a stream at a byte boundary.
_EMPTY_FINAL_BLOCK = b"\x03\x00"


def end_gzip_at_sync_point(path: str | os.PathLike[str]) -> bool:
    """Complete a one-member gzip file that stops at a sync point; True when it was completed.

    A :class:`GzipWriter` killed after a ``sync`` leaves a file whose
    data decodes to the last sync point but which has no end of stream.
    Cut back to a sync point, such a file becomes a complete gzip file
    (that every reader, spt3g's included, reads to its end) once an empty
    final block and the trailer (CRC-32 and length of the data, computed by
    decompressing it) are appended.  A file that is complete already is
    left alone (False).  Raises :class:`CompressedDataError` when the file
    is corrupt or does not stop at a sync point (a partial block).
    """
    name = os.fspath(path)
    dec = zlib.decompressobj(16 + zlib.MAX_WBITS)
    crc = size = 0
    step = _READ_CHUNK * 8
    try:
        with open(name, "rb") as f:
            while chunk := f.read(_READ_CHUNK):
                data = dec.decompress(chunk, step)
                while True:  # output is taken in bounded steps
                    crc, size = zlib.crc32(data, crc), size + len(data)
                    if len(data) < step and not dec.unconsumed_tail:
                        break
                    data = dec.decompress(dec.unconsumed_tail, step)
                if dec.eof:
                    if dec.unused_data.strip(b"\0") or f.read().strip(b"\0"):
                        raise CompressedDataError(f"{name}: data after the gzip member", size)
                    return False
            # after a sync flush the stream sits on a byte boundary, where a block may start;
            # zlib checks the trailer's CRC and length against the data
            trailer = _EMPTY_FINAL_BLOCK + struct.pack("<II", crc, size & 0xFFFFFFFF)
            probe = dec.copy()
            ended = not probe.decompress(trailer) and probe.eof
    except zlib.error as exc:
        raise CompressedDataError(f"{name}: corrupt gzip data ({exc})", size) from None
    if not ended:
        raise CompressedDataError(f"{name}: the gzip data does not stop at a sync point", size)
    with open(name, "ab") as f:
        f.write(trailer)
        f.flush()
        os.fsync(f.fileno())
    return True


def open_compressing_writer(raw: IO[bytes], codec: Compression) -> CompressingWriter:
    """A writer compressing into ``raw`` with the reference's parameters for ``codec``."""
    if codec is Compression.GZIP:
        return GzipWriter(raw)
    if codec is Compression.BZIP2:
        return CompressingWriter(raw, bz2.BZ2Compressor(9))
    if codec is Compression.XZ:
        return CompressingWriter(
            raw, lzma.LZMACompressor(format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=6)
        )
    raise ValueError(f"{codec} is not a compressing codec")
