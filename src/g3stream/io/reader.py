"""G3Reader: frames from files and ``tcp://`` streams, in order.

The reader drives one :class:`~g3stream.codec.decoder.FrameDecoder` per
byte source (a :class:`~g3stream.io.file_source.FileSource` or a
``TcpSource``); it holds no format logic of its own.  It follows spt3g's
module protocol: ``reader(None)`` returns the next frame as a one-element
list, and an empty list once every source is exhausted.

Invariants:

* ``_ready`` holds frames decoded from the current source and not yet
  returned, in stream order; it is empty whenever the reader moves to
  another source.
* Errors surface in stream order: the decoder raises an error found
  after some good frames only on the call after those frames.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from ..cereal.budget import DEFAULT_MAX_DECODED_SIZE, DEFAULT_MAX_NESTING_DEPTH, DecodeLimits
from ..codec.container import DEFAULT_MAX_FRAME_SIZE, frame_spanning
from ..codec.decoder import FrameDecoder
from ..errors import G3FormatError, ReaderSeekError, TruncatedFrameError
from ..frame import G3Frame
from .file_source import FileSource
from .schemes import is_stream_url, open_source
from .source import ByteSource, SourceStatistics, StreamRestart

#: Frames decoded per refill of the ready queue.
_BATCH = 16
log = logging.getLogger(__name__)

__all__ = ["G3Reader", "ReaderSeekError"]

PathArg = str | os.PathLike[str]

#: Bytes read at a frame boundary right after a large frame: enough for the
#: next frame's header, so a large frame is read again only from a small part.
_PROBE_SIZE = 65536

#: The most asked of a source in one read (unless ``buffersize`` is larger):
#: a frame that claims more arrives in several reads, so a corrupt or hostile
#: length field never makes the reader allocate what it claims.
_MAX_READ = 1 << 24


def located(exc: G3FormatError, name: str) -> G3FormatError:
    """A copy of ``exc`` whose message starts with the source ``name`` (also set as ``.filename``)."""
    if getattr(exc, "filename", None) == name:
        return exc
    try:
        new = type(exc)(f"{name}: {exc.message}", exc.offset)
    except Exception:  # a subclass with another constructor: annotate in place
        new = exc
    new.filename = name  # type: ignore[attr-defined]
    return new


class G3Reader:
    """Reads frames from a file, a ``tcp://`` address, or a list of them in order.

    ``G3Reader(filename, n_frames_to_read=0, timeout=-1.0, track_filename=False,
    buffersize=1048576)`` as in spt3g:

    * ``filename``: a path (``.g3``, ``.g3.gz``, ``.g3.bz2``, ``.g3.xz``), a
      ``tcp://host:port`` / ``tcp://*:port`` address, or a list of them read
      in order.  Files are opened when reached (the first one at once); TCP
      sources are created at construction, so listening sockets are bound
      and ``port`` is known before the first read.
    * ``n_frames_to_read``: stop after that many frames (0 = no limit).
    * ``timeout``: seconds a TCP source waits before it ends (negative = forever).
    * ``track_filename``: set ``frame._filename`` to the source each frame came from.
    * ``buffersize``: bytes asked of a source per read; a larger frame is
      read in one read (of an uncompressed file: in one block from its first
      byte, so its bytes are copied only once).

    Keyword-only extras: ``reconnect`` (TCP: survive sender restarts),
    ``max_frame_size`` and ``verify_crc`` (for the decoder),
    ``max_decoded_size`` (bytes the values of one frame may decode to, in
    total: 4 GiB by default; more raises ``DecodedSizeError`` before the
    memory is allocated) and ``max_nesting_depth`` (frame objects within
    frame objects, 64 by default; see ``FrameDecoder``), ``mmap`` (large
    frames of uncompressed files become views of a memory map of the file
    instead of copies: fastest, but a file truncated by another process
    while its frames are in use crashes the process with SIGBUS, and each
    file stays open while frames of it live); any other keyword is passed
    to the TCP sources.

    Errors: ``FileNotFoundError`` for a missing file; ``G3FormatError``
    subclasses for bad data, with ``.offset`` and ``.filename``; a stream
    that ends inside a frame raises ``TruncatedFrameError``.  An empty file
    in a list is logged and skipped.
    """

    __g3module__ = True

    def __init__(
        self,
        filename: PathArg | Sequence[PathArg],
        n_frames_to_read: int = 0,
        timeout: float = -1.0,
        track_filename: bool = False,
        buffersize: int = 1048576,
        *,
        reconnect: bool = False,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        verify_crc: bool = True,
        mmap: bool = False,
        max_decoded_size: int = DEFAULT_MAX_DECODED_SIZE,
        max_nesting_depth: int = DEFAULT_MAX_NESTING_DEPTH,
        **options: Any,
    ) -> None:
        if isinstance(filename, str | os.PathLike):
            names = [os.fspath(filename)]
        else:
            names = [os.fspath(n) for n in filename]
            if not names:
                raise ValueError("G3Reader needs at least one file name or address")
        if buffersize <= 0:
            raise ValueError(f"buffersize must be positive, not {buffersize}")
        self.n_frames_to_read = int(n_frames_to_read)
        self.timeout = float(timeout)
        self.track_filename = bool(track_filename)
        self.buffersize = int(buffersize)
        self._max_read = max(self.buffersize, _MAX_READ)
        self.max_frame_size = int(max_frame_size)
        self.verify_crc = bool(verify_crc)
        self._limits = DecodeLimits(max_decoded_size, max_nesting_depth)
        self.max_decoded_size = self._limits.max_decoded_size
        self.max_nesting_depth = self._limits.max_nesting_depth
        self.mmap = bool(mmap)
        self._n_read = 0
        #: Times a source's stream started over (a reconnect: a new session);
        #: every frame returned before the count changed came from the old one.
        self.restarts = 0
        self._ready: deque[G3Frame] = deque()
        self._source: ByteSource | None = None
        self._decoder = self._new_decoder(0)
        self._frames_in_source = 0
        self._whole_frames = False
        self._tried_whole = -1
        self._read_size = self.buffersize
        self._prefixed = False
        self._done = False
        # the latest source that keeps statistics, and when its last frame came
        self._stats_source: Any = None
        #: The current source's ``frame_position(offset)`` when it has stable positions.
        self._position_of: Any = None
        self._last_frame_time: float | None = None
        #: Frames cut in half by an outage of a reconnecting stream, discarded.
        self.partial_frames_discarded = 0
        # Network sources exist from the start (listening sockets are bound now).
        self._queue: deque[str | ByteSource] = deque()
        self.port: int | None = None
        try:
            for name in names:
                if is_stream_url(name):
                    src = open_source(name, timeout=self.timeout, reconnect=reconnect, **options)
                    if self.port is None:
                        self.port = getattr(src, "port", None)
                    self._queue.append(src)
                else:
                    self._queue.append(name)
            if options and not any(not isinstance(s, str) for s in self._queue):
                raise TypeError(
                    f"unexpected G3Reader option(s) for files: {', '.join(sorted(options))}"
                )
            self._open_next()
        except BaseException:
            self.close()
            raise

    # -- sources -----------------------------------------------------------
    def _open_next(self) -> bool:
        """Make the next source current; False when there is none left."""
        if not self._queue:
            self._source = None
            self._done = True
            return False
        item = self._queue.popleft()
        if isinstance(item, str):
            log.debug("starting file %s", item)
            src: ByteSource = open_source(item, use_mmap=self.mmap)
        else:
            log.debug("starting stream %s", item.name)
            src = item
        self._source = src
        self._position_of = getattr(src, "frame_position", None)
        if callable(getattr(src, "statistics", None)):
            self._last_frame_time = None
            self._stats_source = src
        self._decoder = self._new_decoder(0)
        self._frames_in_source = 0
        self._whole_frames = isinstance(src, FileSource) and not src.compressed
        self._tried_whole = -1
        self._read_size = self.buffersize
        return True

    def _new_decoder(self, offset: int) -> FrameDecoder:
        """A decoder for the current source whose next frame starts at ``offset``."""
        dec = FrameDecoder(
            self.max_frame_size,
            self.verify_crc,
            offset=offset,
            max_decoded_size=self._limits.max_decoded_size,
            max_nesting_depth=self._limits.max_nesting_depth,
        )
        piece = getattr(self._source, "large_piece", None)
        if piece is not None:
            dec.large_piece = piece
        dec.crc_helper = getattr(self._source, "crc_helper", None)
        return dec

    def _read_whole_frame(self, src: ByteSource, dec: FrameDecoder, need: int) -> G3Frame | None:
        """Read the large frame the decoder has started as one block: one copy, not three.

        Used for uncompressed files only (where going back is a cheap seek):
        the partial frame held by the decoder is dropped and the frame is
        read again from its first byte in a single read, and the frame is
        built over that block directly.  The decoder's estimate of the size is
        a lower bound for frames of several large entries: a memory-mapped
        block is then widened until it holds the frame; otherwise, or when the
        file ends early, the block is fed to a fresh decoder like any other
        data, which handles every case.
        """
        start = dec.offset
        total = dec.buffered + need
        assert isinstance(src, FileSource)
        available = src.available(start)
        if available is not None and available < total:
            # the file cannot hold the frame (cut short, or a lying length
            # field): read on in ordinary steps, never allocating the claim
            self._tried_whole = start
            return None
        data = src.block(start, total)
        # after a large frame, look at the next one with a small read first
        self._read_size = min(self.buffersize, _PROBE_SIZE)
        while len(data) == total:
            try:
                found = frame_spanning(
                    data, start, self.max_frame_size, self.verify_crc, self._limits, src.crc_helper
                )
            except G3FormatError as exc:  # a bad CRC: that frame is lost, the stream goes on
                self._decoder = self._new_decoder(start + total)
                raise located(exc, src.name) from exc
            if found is None:
                break  # the decoder reports it, in its own terms
            if not isinstance(found, int):
                self._decoder = self._new_decoder(start + total)
                return found
            if not src.mapped or (available is not None and available < found):
                break  # going on would read the frame again, or past the file
            total = found  # a view of a mapping costs nothing: widen it
            data = src.block(start, total)
        self._decoder = dec = self._new_decoder(start)
        dec.feed(data)
        self._tried_whole = start  # read the rest of this frame the ordinary way
        return None

    @staticmethod
    def _receive(src: ByteSource, dec: FrameDecoder, size: int) -> int:
        """Move up to ``size`` bytes from ``src`` into ``dec``; 0 at the end of the source.

        Sources that can fill memory directly receive into the decoder's own
        buffer (a large frame then costs one copy, the read itself), and
        those that can wait for a whole buffer do so while a large frame
        arrives (every byte of it is needed before it can be used).
        """
        readinto = getattr(src, "readinto", None)
        if readinto is None:
            data = src.read(size)
            dec.feed(data)
            return len(data)
        view = dec.get_buffer(size)
        checksummed: Any = getattr(src, "readinto_checksummed", None)
        span = dec.crc_stretch() if checksummed is not None else 0
        n = 0
        if span:  # the source checksums what it reads of the blob in progress
            checksum = None
            try:
                n, crc = checksummed(view, span)
                checksum = (min(n, span), crc)
            finally:
                dec.buffer_updated(n, checksum)
            return n
        if dec.receiving_large:
            readinto = getattr(src, "readinto_all", readinto)
        try:
            n = readinto(view)
        finally:
            dec.buffer_updated(n)
        return n

    def _finish_source(self, src: ByteSource, dec: FrameDecoder) -> None:
        """The current source returned end of stream: close it and check the boundary."""
        src.close()
        if not dec.at_boundary:
            err = TruncatedFrameError(
                f"stream ended inside a frame ({dec.buffered} bytes of it received)", dec.offset
            )
            raise located(err, src.name)
        if self._frames_in_source == 0:
            log.warning("no frames in %s (empty file or stream); skipped", src.name)

    def _fill(self) -> bool:
        """Decode at least one frame into ``_ready``; False once every source is done."""
        while True:
            src = self._source
            if src is None:
                return False
            dec = self._decoder
            try:
                # a few frames at a time: frames that die young are cheap for the
                # garbage collector, a whole buffer's worth alive at once is not
                frames = dec.frames(_BATCH)
            except G3FormatError as exc:
                raise located(exc, src.name) from exc
            if frames:
                position_of = self._position_of
                if position_of is not None:
                    for f in frames:
                        f._source_position = position_of(f.stream_offset)  # type: ignore[attr-defined]
                self._ready.extend(frames)
                self._frames_in_source += len(frames)
                self._last_frame_time = time.monotonic()
                return True
            need = dec.bytes_needed
            if (
                need > self.buffersize
                and self._whole_frames
                and getattr(src, "mapped", False)
                and dec.offset != self._tried_whole
            ):
                frame = self._read_whole_frame(src, dec, need)
                if frame is not None:
                    self._ready.append(frame)
                    self._frames_in_source += 1
                    return True
                continue
            try:
                # a length field promising more is not trusted with one allocation
                got = self._receive(src, dec, min(max(need, self._read_size), self._max_read))
            except StreamRestart:
                self.restarts += 1
                dropped = dec.reset()
                if dropped:
                    self.partial_frames_discarded += 1
                    log.warning(
                        "%s: stream restarted; discarded %d bytes of an incomplete frame",
                        src.name,
                        dropped,
                    )
                else:
                    log.info("%s: stream restarted at a frame boundary", src.name)
                continue
            except G3FormatError as exc:
                if isinstance(exc, TruncatedFrameError) and not dec.at_boundary:
                    # a cut stream: name the first frame it does not hold whole
                    cut = TruncatedFrameError(
                        f"{exc.message}; the frame at {dec.offset} is incomplete "
                        f"({dec.buffered} bytes of it were read)",
                        dec.offset,
                    )
                    cut.filename = getattr(exc, "filename", None)  # type: ignore[attr-defined]
                    exc = cut
                raise located(exc, src.name) from exc
            if self._source is not src:
                return False  # closed by another thread while waiting for data
            if got:
                # after the body of a large frame, probe the next frame with a small
                # read: once its size is known, a large one is read into its own buffer
                self._read_size = (
                    min(self.buffersize, _PROBE_SIZE) if got > self.buffersize else self.buffersize
                )
                continue
            try:
                self._finish_source(src, dec)
            except G3FormatError:
                self._source = None
                self._close_queue()
                self._done = True
                raise
            self._open_next()

    def _next(self) -> G3Frame | None:
        """The next frame, or None at the end (or once ``n_frames_to_read`` were read)."""
        limit = self.n_frames_to_read
        if limit > 0 and self._n_read >= limit:
            return None
        ready = self._ready
        if not ready and not self._fill():
            return None
        frame = ready.popleft()
        self._n_read += 1
        if self.track_filename:
            src = self._source
            frame._filename = src.name if src is not None else ""  # type: ignore[attr-defined]
        return frame

    # -- module protocol ---------------------------------------------------
    def Process(self, frame: G3Frame | None = None) -> list[G3Frame]:
        """spt3g's module call: with ``None`` the next frame (``[]`` at the end).

        Given a frame (the reader is not the first module), the first call
        returns every remaining frame of the sources followed by that frame;
        later calls pass their frame through.
        """
        if frame is None:
            f = self._next()
            return [f] if f is not None else []
        if not self._prefixed:
            self._prefixed = True
            out = list(self)
            out.append(frame)
            return out
        return [frame]

    __call__ = Process

    def __iter__(self) -> Iterator[G3Frame]:
        """The remaining frames, in order."""
        if self.n_frames_to_read > 0 or self.track_filename:
            nxt = self._next
            while (f := nxt()) is not None:
                yield f
            return
        ready = self._ready
        fill = self._fill
        while ready or fill():
            self._n_read += 1
            yield ready.popleft()

    # -- liveness ----------------------------------------------------------
    def statistics(self) -> SourceStatistics | None:
        """The current network source's statistics; ``None`` while reading files.

        Safe to call from another thread while this one reads (for monitors).
        After a stream ends, its last statistics stay available (state
        ``ENDED``).  ``last_frame_age_s`` counts from the last complete frame
        decoded from that stream; ``partial_frames_discarded`` counts the
        frames that outages cut in half (the rest of each never came).
        """
        src = self._stats_source
        if src is None:
            return None
        stats: SourceStatistics = src.statistics()
        last = self._last_frame_time
        return replace(
            stats,
            last_frame_age_s=None if last is None else time.monotonic() - last,
            partial_frames_discarded=self.partial_frames_discarded,
        )

    # -- position ----------------------------------------------------------
    def tell(self) -> int:
        """Byte offset of the next frame in the current source; -1 once every source has ended.

        For compressed files this is an offset in the decompressed stream,
        which ``seek`` accepts (spt3g cannot tell or seek in compressed files).
        """
        if self._done or self._source is None:
            return -1
        if self._ready:
            offset = self._ready[0].stream_offset
            assert offset is not None
            return offset
        return self._decoder.offset

    def seek(self, offset: int) -> int:
        """Position the current source at ``offset`` (a value ``tell`` returned) and return it.

        As in spt3g this works until the last source is exhausted; after that
        only ``seek(tell())`` is accepted.  Compressed files seek by
        decompressing again; TCP sources cannot seek.
        """
        offset = int(offset)
        src = self._source
        if self._done or src is None:
            if offset == self.tell():
                return offset
            raise ReaderSeekError("cannot seek: every source of this G3Reader has ended")
        seek = getattr(src, "seek", None)
        if seek is None or not getattr(src, "seekable", lambda: False)():
            raise ReaderSeekError(f"cannot seek {src.name}: it is not a file")
        seek(offset)
        self._ready.clear()
        self._decoder = self._new_decoder(offset)
        self._read_size = self.buffersize
        self._tried_whole = -1
        return offset

    # -- lifetime ----------------------------------------------------------
    def _close_queue(self) -> None:
        while self._queue:
            item = self._queue.popleft()
            if not isinstance(item, str):
                item.close()

    def close(self) -> None:
        """Close every source (open and pending); later reads return nothing.

        May be called from another thread to end a wait for network data:
        the waiting call then returns no frame.
        """
        src = self._source
        self._source = None
        self._done = True
        self._ready.clear()
        try:
            if src is not None:
                src.close()
        finally:
            self._close_queue()

    def __enter__(self) -> G3Reader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        src = self._source
        where = src.name if src is not None else "(ended)"
        return f"<G3Reader {where}, {self._n_read} frames read>"
