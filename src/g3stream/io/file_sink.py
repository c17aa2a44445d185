"""FileSink: the write side of a G3 file, compressing by suffix.

A sink accepts frames already encoded as lists of buffers (see
``g3stream.codec.container.encode_frame``).  Large array data is never
joined: it goes to the operating system straight from the arrays' own
memory; small frames are gathered in the file buffer.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import IO

from .._types import Buffer
from .compression import (
    CompressingWriter,
    Compression,
    check_output_name,
    open_compressing_writer,
)

log = logging.getLogger(__name__)


__all__ = ["FileSink"]

#: A frame holding array data (memoryviews) of at least this many bytes is
#: written with vectored writes.
_VECTORED_MIN_BYTES = 1 << 18
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


class FileSink:
    """An open G3 output file (``.g3``, ``.g3.gz``, ``.g3.bz2``, ``.g3.xz``; other names are refused).

    ``append=True`` adds to an existing uncompressed file; appending to a
    compressed file is refused (the reference cannot do it either: its
    reader would ignore a second gzip or bzip2 member).
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
        raw: IO[bytes] = open(self.path, "ab" if append else "wb", buffering=buffersize)  # noqa: SIM115
        self._raw: IO[bytes] | None = raw
        self._compressor: CompressingWriter | None = None
        self._base = 0
        if self.compression is Compression.NONE:
            self._base = raw.tell()
            self._write_lines = raw.writelines
        else:
            self._compressor = open_compressing_writer(raw, self.compression)
            self._write_lines = self._compressor.writelines  # type: ignore[assignment]

    @property
    def closed(self) -> bool:
        """Whether the sink was closed."""
        return self._raw is None

    def write_buffers(self, buffers: Sequence[Buffer]) -> None:
        """Append the bytes of ``buffers``, in order, to the stream.

        For uncompressed files, a frame without array data is joined and
        written in one call; a frame whose array data (memoryviews) adds up
        to a large size bypasses the file buffer: it goes to the operating
        system in vectored writes straight from the arrays' own memory,
        saving a copy of the bulk data.
        """
        raw = self._raw
        if raw is None:
            raise ValueError(f"{self.path}: write to a closed file")
        if self._compressor is None:
            if memoryview not in map(type, buffers):
                # no array data: one small join beats a write call per piece
                raw.write(b"".join(buffers))
                return
            if _HAVE_WRITEV and _total_size(buffers) >= _VECTORED_MIN_BYTES:
                raw.flush()
                _writev_all(raw.fileno(), buffers)
                return
        self._write_lines(buffers)

    def tell(self) -> int:
        """Bytes of G3 stream written so far (uncompressed; the next frame's offset)."""
        raw = self._raw
        if raw is None:
            raise ValueError(f"{self.path}: tell on a closed file")
        if self._compressor is not None:
            return self._compressor.stream_bytes
        return raw.tell()

    def file_size(self) -> int:
        """The size of the file as written so far (compressed bytes for compressed files).

        A compressor holds back some data until it is flushed or closed, so
        for compressed files this lags behind the stream.
        """
        if self._compressor is not None:
            return self._compressor.disk_bytes
        return self.tell()

    def flush(self) -> None:
        """Hand everything written so far to the operating system.

        For gzip files the compressor is flushed too (a sync point), so a
        concurrent reader can decode every complete frame; bzip2 and xz can
        only do so at ``close``.
        """
        if self._compressor is not None:
            self._compressor.sync()
        elif self._raw is not None:
            self._raw.flush()

    def close(self) -> None:
        """Finish the compressed stream (if any) and close the file; idempotent."""
        raw = self._raw
        if raw is None:
            return
        self._raw = None
        if self._compressor is not None:
            self._compressor.close()
        else:
            raw.close()
