"""FrameDecoder: an incremental, sans-I/O frame decoder.

Feed it bytes as they arrive (from a file, a socket, a test); take complete
frames out.  It never performs I/O.

Two ways in: ``feed(data)`` for bytes already received, or, for readers
that can fill memory directly (``readinto``, ``recv_into``), ``get_buffer``
then ``buffer_updated`` (the shape of asyncio's BufferedProtocol).  With the
latter a large frame is received straight into a buffer of its own, which the
frame then keeps: its bytes are copied once, by the read itself, and its CRC
is computed piece by piece as they arrive, while they are in the CPU cache.

With the optional compiled accelerator (``g3stream._accel``), each run of
complete, small, well-formed frames with right checksums is decoded in one
compiled call; every other frame (partial, large or bad) takes the pure
path, so the frames and errors are the same either way.

Complexity promise: each byte fed is copied at most twice (into the receive
buffer, then into its frame's own bytes), and a partial frame is re-scanned
only once enough bytes have arrived to possibly complete the part that was
missing, so decoding is linear in the bytes fed.  Memory is bounded by the
largest frame accepted (``max_frame_size``) plus one ``feed`` call's data; a
large frame's own buffer grows at most to twice the bytes that actually
arrived plus ``LARGE_FRAME_STEP``, so a lying length field costs nothing.
"""

from __future__ import annotations

import sys
from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from .._accel import accel
from .._types import Buffer
from ..cereal.budget import DEFAULT_MAX_DECODED_SIZE, DEFAULT_MAX_NESTING_DEPTH, DecodeLimits
from ..errors import G3FormatError, TruncatedFrameError
from ..frame import G3Frame
from .container import (
    DEFAULT_MAX_FRAME_SIZE,
    FrameLayout,
    RunningCrc,
    ScannedFrame,
    build_frame,
    scan_frame,
)

if TYPE_CHECKING:
    from concurrent.futures import Executor

# below this size a double copy is cheaper than a memoryview
_SMALL_FRAME = 4096
# the accelerator's loop over runs of small, well-formed frames (None: pure Python)
_decode_run = accel.decode_run if accel is not None else None
_frame_from_scan = G3Frame._from_scan
#: A frame still missing at least this many bytes is received into its own buffer.
LARGE_FRAME = 1 << 20
#: A large frame's buffer grows by at most this much beyond twice what arrived.
LARGE_FRAME_STEP = 16 << 20
#: Bytes offered by ``get_buffer`` when the caller names no size.
DEFAULT_READ_SIZE = 65536
#: Most of a large frame's buffer offered at once while its CRC is computed as it
#: arrives: each piece is checksummed while still in the CPU cache.
LARGE_FRAME_PIECE = 1 << 20


class FrameDecoder:
    """Turns a byte stream into G3Frames.

    ``max_frame_size`` bounds the size of one frame: a length field that
    would exceed it is rejected before anything is allocated for it.
    ``verify_crc`` may be turned off for trusted data.

    What a frame's values may cost once decoded is bounded too (values are
    decoded lazily, on first access, so each frame carries these limits):

    * ``max_decoded_size`` (default 4 GiB): the bytes that all the values of
      one frame may decode to, in total; an absolute number, not a ratio,
      since real data can compress by huge factors.  Decompressed payloads
      (FLAC, bzip2), filled-in time gaps and copied or byte-swapped arrays
      count; views of the frame's own bytes do not.  Decoding that would go
      over it raises ``DecodedSizeError`` (with the offset of the data)
      before allocating.
    * ``max_nesting_depth`` (default 64): how deep frame objects may be
      nested in one another; deeper data raise ``NestingTooDeepError``.
    """

    __slots__ = (
        "_buf",
        "_pos",
        "_need",
        "_offset",
        "max_frame_size",
        "verify_crc",
        "_failed",
        "_fatal",
        "_big",
        "_fill",
        "_running",
        "_probe",
        "_ready",
        "_export",
        "_scratch",
        "_pool",
        "_layout",
        "_layout_misses",
        "_layout_rest",
        "_limits",
        "large_piece",
        "crc_helper",
    )

    def __init__(
        self,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        verify_crc: bool = True,
        *,
        offset: int = 0,
        max_decoded_size: int = DEFAULT_MAX_DECODED_SIZE,
        max_nesting_depth: int = DEFAULT_MAX_NESTING_DEPTH,
    ) -> None:
        """A decoder whose first frame starts at absolute stream ``offset``.

        Frames larger than ``max_frame_size`` are refused; ``verify_crc``
        false skips the checksum test (the frames are still scanned).  The
        values of each frame decode to at most ``max_decoded_size`` bytes
        and nest at most ``max_nesting_depth`` deep (see the class).
        """
        self._limits = DecodeLimits(max_decoded_size, max_nesting_depth)
        self._buf = bytearray()
        self._pos = 0  # start of the first unconsumed byte in _buf
        self._need = 1
        self._offset = offset
        self.max_frame_size = max_frame_size
        self.verify_crc = verify_crc
        self._failed: G3FormatError | None = None  # to raise on the next call
        self._fatal: G3FormatError | None = None  # framing lost: raise forever
        self._big: memoryview | None = None  # a large frame's own buffer, while it arrives
        self._fill = 0  # bytes of _big received
        self._running: RunningCrc | None = None  # the CRC of _big so far
        self._probe = False  # after a large frame, until a small one: offer small views
        self._ready: deque[G3Frame] = deque()  # large frames completed, not yet taken
        self._export: memoryview | None = None  # the view get_buffer handed out
        self._scratch = bytearray()
        self._pool = _BufferPool()
        self._layout: FrameLayout | None = None  # shape of the last small frame
        self._layout_misses = 0  # frames in a row whose shape was new
        self._layout_rest = 0  # frames to go before learning shapes again
        #: Most bytes of a large frame offered per ``get_buffer`` view while its
        #: CRC is computed as it arrives; 0 offers the whole rest of the frame
        #: (for a source that reads large views fastest in one call).
        self.large_piece = LARGE_FRAME_PIECE
        #: An executor that checksums half of each long stretch of a large
        #: frame while this thread does the other half (``None``: one thread).
        self.crc_helper: Executor | None = None

    @property
    def max_decoded_size(self) -> int:
        """Bytes the values of each frame may decode to, in total."""
        return self._limits.max_decoded_size

    @property
    def max_nesting_depth(self) -> int:
        """How deep the frame objects of each frame may nest."""
        return self._limits.max_nesting_depth

    @property
    def offset(self) -> int:
        """Absolute stream offset of the next frame (bytes consumed as frames so far)."""
        return self._offset

    @property
    def buffered(self) -> int:
        """Bytes received that are not yet part of a returned frame."""
        if self._big is not None:
            return self._fill
        return len(self._buf) - self._pos

    @property
    def at_boundary(self) -> bool:
        """True when no partial frame is held (a clean place for the stream to end)."""
        return self._big is None and len(self._buf) == self._pos

    @property
    def receiving_large(self) -> bool:
        """True while a large frame arrives: every byte of a ``get_buffer`` view is then needed."""
        return self._big is not None

    @property
    def bytes_needed(self) -> int:
        """A lower bound on the bytes still to arrive before the next frame can be complete."""
        return max(self._need - self.buffered, 0)

    def feed(self, data: Buffer) -> None:
        """Add received bytes."""
        if self._big is not None:
            self._feed_large(memoryview(data).cast("B"))
            return
        if data:
            if self._pos:
                # drop consumed bytes once per feed, not once per frame
                del self._buf[: self._pos]
                self._pos = 0
            self._buf += data

    def get_buffer(self, size: int) -> memoryview:
        """A writable, non-empty view for up to ``size`` incoming bytes (fewer for a large frame).

        Fill it (``readinto``, ``recv_into``), then call ``buffer_updated``
        with the byte count before anything else.  While a large frame is
        arriving the view is the rest of that frame's own buffer (at most
        ``large_piece`` bytes of it when CRCs are checked: each piece is
        checksummed as it arrives).  After a large frame, views are at
        most ``DEFAULT_READ_SIZE`` bytes until the next frame is known to be
        small (or its own buffer starts), so that little of a next large
        frame is copied before its size is known.  A size
        of 0 or less (asyncio's ``BufferedProtocol`` passes -1) means "any":
        the view is then as large as the next frame needs, at least
        ``DEFAULT_READ_SIZE`` bytes.
        """
        if size <= 0:
            size = max(DEFAULT_READ_SIZE, min(self.bytes_needed, LARGE_FRAME))
        if self._export is not None:
            raise RuntimeError("get_buffer called again before buffer_updated")
        if self._big is None and self._fatal is None and self.bytes_needed >= LARGE_FRAME:
            self._start_large()
        if self._big is not None:
            end = len(self._big)
            if self._running is not None and self.large_piece > 0:
                end = min(end, self._fill + self.large_piece)
            view = self._big[self._fill : end]
        else:
            if self._probe:
                # the next frame is likely large too: what arrives before its size
                # is known is copied twice (here, then into its own buffer)
                size = min(size, DEFAULT_READ_SIZE)
            if len(self._scratch) < size:
                self._scratch = bytearray(size)
            view = memoryview(self._scratch)[:size]
        self._export = view
        return view

    def crc_stretch(self) -> int:
        """How many bytes at the start of the view just handed out a receiver may checksum.

        Call it after ``get_buffer``.  While a large frame arrives with CRCs
        checked, these bytes lie inside one name or blob; a receiver that
        computes their G3 CRC (from 0) as it writes them passes it to
        ``buffer_updated`` and spares a second pass over them.  0: none.
        """
        if self._big is None or self._running is None:
            return 0
        return self._running.stretch(self._fill)

    def buffer_updated(self, nbytes: int, checksum: tuple[int, int] | None = None) -> None:
        """Declare that ``nbytes`` bytes were written at the start of the last ``get_buffer`` view.

        ``checksum`` is ``(length, crc)``: the G3 CRC of the first ``length``
        bytes written, within what ``crc_stretch`` allowed.
        """
        view = self._export
        if view is None:
            raise RuntimeError("buffer_updated without get_buffer")
        if not 0 <= nbytes <= len(view):
            raise ValueError(f"{nbytes} bytes cannot have been written into {len(view)}")
        self._export = None
        if self._big is not None:
            view.release()
            self._fill += nbytes
            if self._running is not None:
                self._running.advance(self._big, self._fill, checksum)
            if self._fill == len(self._big):
                self._large_filled()
        else:
            with view[:nbytes] as data:
                self.feed(data)
            view.release()

    def _start_large(self) -> None:
        """Move the partial frame into a buffer of its own, sized for what is known of it."""
        held = len(self._buf) - self._pos
        big = self._pool.take(self._capacity(held))
        big[:held] = memoryview(self._buf)[self._pos :]
        self._buf.clear()
        self._pos = 0
        self._big = big
        self._fill = held
        if self.verify_crc:
            self._running = RunningCrc(self.crc_helper)
            self._running.advance(big, held)

    def _capacity(self, held: int) -> int:
        # never trust a length field with more than the growth rule allows
        return min(self._need, max(2 * held, held + LARGE_FRAME_STEP))

    def _feed_large(self, data: memoryview) -> None:
        while len(data):
            big = self._big
            if big is None:
                self.feed(data)
                return
            k = min(len(data), len(big) - self._fill)
            big[self._fill : self._fill + k] = data[:k]
            self._fill += k
            data = data[k:]
            if self._running is not None:
                self._running.advance(big, self._fill)
            if self._fill == len(big):
                self._large_filled()

    def _large_filled(self) -> None:
        """The large frame's buffer is full: finish the frame, or grow the buffer."""
        big = self._big
        assert big is not None
        fill = self._fill
        try:
            scanned = scan_frame(big, 0, fill, self._offset, self.max_frame_size)
        except G3FormatError as exc:
            self._fatal = exc
            raise
        if not isinstance(scanned, ScannedFrame):
            self._need = scanned  # more entries follow: grow by the rule
            grown = self._pool.take(self._capacity(fill))
            grown[:fill] = big[:fill]
            self._big = grown
            return
        size = scanned.size
        tail = bytes(big[size:fill])
        big = big[:size]
        running, self._running = self._running, None
        crc = None if running is None else running.value_for(scanned)
        self._big = None
        self._fill = 0
        self._need = 1
        self._probe = True
        offset = self._offset
        self._offset += size
        if tail:
            self.feed(tail)
        try:
            # the frame keeps the buffer; a read-only view keeps decoded arrays read-only
            self._ready.append(
                build_frame(big.toreadonly(), scanned, offset, self.verify_crc, self._limits, crc)
            )
        except G3FormatError as exc:
            self._failed = exc  # a bad CRC: framing is intact, raised by the next call

    def next_frame(self) -> G3Frame | None:
        """The next complete frame, or ``None`` when more bytes are needed.

        Raises a ``G3FormatError`` subclass for bad data.  After a CRC
        mismatch the framing is intact and decoding may go on; after any
        other error the decoder refuses to continue (framing is lost).
        """
        got = self._take(1)
        return got[0] if got else None

    def frames(self, limit: int = 0) -> list[G3Frame]:
        """Every complete frame currently available (at most ``limit`` if non-zero).

        An error met after some frames were decoded is raised by the next call,
        so no good frame is lost to it.
        """
        return self._take(limit)

    def _take(self, limit: int) -> list[G3Frame]:
        out: list[G3Frame] = []
        ready = self._ready
        while ready and (limit <= 0 or len(out) < limit):
            out.append(ready.popleft())
        if out and (len(out) == limit or self._fatal or self._failed):
            return out  # an error waiting behind them is raised by the next call
        if self._fatal is not None:
            raise self._fatal
        if self._failed is not None:
            deferred, self._failed = self._failed, None
            raise deferred
        buf = self._buf
        pos = self._pos
        start = pos
        n = len(buf)
        offset = self._offset
        verify = self.verify_crc
        max_size = self.max_frame_size
        limits = self._limits
        run = _decode_run
        try:
            while n - pos >= self._need and n > pos:
                if run is not None:
                    # compiled: every complete, small, well-formed frame with a right CRC
                    pos, offset = run(
                        buf,
                        pos,
                        n,
                        offset,
                        max_size,
                        verify,
                        limit,
                        _SMALL_FRAME,
                        _frame_from_scan,
                        limits,
                        out,
                    )
                    self._need = 1
                    if pos == n or 0 < limit <= len(out):
                        break
                    # the next frame is partial, large or bad: the pure path below takes it
                try:
                    scanned = self._scan(buf, pos, n, offset, max_size)
                except G3FormatError as exc:
                    self._fatal = exc
                    raise
                if isinstance(scanned, int):
                    self._need = scanned
                    break
                self._need = 1
                size = scanned.size
                end = pos + size
                if size < _SMALL_FRAME:
                    raw = bytes(buf[pos:end])
                else:
                    with memoryview(buf) as mv:
                        raw = bytes(mv[pos:end])
                frame_offset = offset
                pos = end
                offset += size
                out.append(build_frame(raw, scanned, frame_offset, verify, limits))
                if len(out) == limit:
                    break
        except G3FormatError as exc:
            self._commit(pos, n, offset)
            if not out or exc is self._fatal:
                raise
            self._failed = exc  # a bad CRC: raised by the next call
        self._commit(pos, n, offset)
        if pos != start:
            self._probe = False  # a small frame: back to full-size views
        return out

    def _scan(
        self, buf: Buffer, pos: int, end: int, offset: int, max_size: int
    ) -> ScannedFrame | int:
        """``scan_frame``, short-cut when the frame repeats the last small frame's shape."""
        layout = self._layout
        if layout is not None:
            scanned = layout.match(buf, pos, end)
            if scanned is not None:
                self._layout_misses = 0
                return scanned
        found = scan_frame(buf, pos, end, offset, max_size)
        if not isinstance(found, int):
            self._learn_layout(buf, pos, found)
        return found

    def _learn_layout(self, buf: Buffer, pos: int, scanned: ScannedFrame) -> None:
        """Remember a small frame's shape, unless shapes keep changing (then rest a while)."""
        if self._layout_rest:
            self._layout_rest -= 1
            return
        if scanned.size >= _SMALL_FRAME or not scanned.little or len(scanned.entries) > 64:
            return
        if self._layout is not None:
            self._layout_misses += 1
            if self._layout_misses > 8:
                self._layout = None
                self._layout_misses = 0
                self._layout_rest = 256
                return
        self._layout = FrameLayout(buf, pos, scanned)

    def _commit(self, pos: int, n: int, offset: int) -> None:
        if pos == n:
            self._buf.clear()
            self._pos = 0
        else:
            self._pos = pos
        self._offset = offset

    def reset(self) -> int:
        """Discard a partial frame (for example after a reconnect); returns the bytes dropped."""
        dropped = self.buffered
        self._buf.clear()
        self._pos = 0
        self._big = None
        self._fill = 0
        self._running = None
        self._need = 1
        self._failed = None
        self._fatal = None
        self._offset += dropped
        return dropped

    def close(self) -> None:
        """Declare the end of the stream: raise ``TruncatedFrameError`` if a frame was cut off."""
        if not self.at_boundary:
            raise TruncatedFrameError(
                f"stream ended inside a frame ({self.buffered} bytes of it received)", self._offset
            )


# Interpreters without reference counts never see a buffer as unused.
_refcount = getattr(sys, "getrefcount", lambda obj: 1 << 30)


class _BufferPool:
    """Large-frame buffers, re-used once every frame built on one is gone.

    A fresh buffer costs a page fault per page when first written; a buffer
    whose frame was dropped is still mapped and warm.  Only buffers nothing
    else refers to are handed out again, so no frame's bytes can change.
    """

    __slots__ = ("_free",)
    _KEEP = 3

    def __init__(self) -> None:
        self._free: list[np.ndarray] = []

    def take(self, size: int) -> memoryview:
        """A writable buffer of ``size`` bytes (contents undefined)."""
        pool = self._free
        for i in range(len(pool) - 1, -1, -1):  # the most recently used first: warmest
            arr = pool[i]
            # referenced by the list, this local and the call's argument only: unused
            if _refcount(arr) <= 3 and arr.nbytes >= size:
                pool.append(pool.pop(i))
                return memoryview(arr).cast("B")[:size]  # type: ignore[arg-type]
        arr = np.empty(size, dtype=np.uint8)
        pool.append(arr)
        if len(pool) > self._KEEP:
            del pool[0]
        return memoryview(arr).cast("B")  # type: ignore[arg-type]
