"""FrameDecoder: an incremental, sans-I/O frame decoder.

Feed it bytes as they arrive (from a file, a socket, a test); take complete
frames out.  It never performs I/O.

Complexity promise: each byte fed is copied at most twice (into the receive
buffer, then into its frame's own bytes), and a partial frame is re-scanned
only once enough bytes have arrived to possibly complete the part that was
missing, so decoding is linear in the bytes fed.  Memory is bounded by the
largest frame accepted (``max_frame_size``) plus one ``feed`` call's data.
"""

from __future__ import annotations

from ..errors import G3FormatError, TruncatedFrameError
from ..frame import G3Frame
from .container import DEFAULT_MAX_FRAME_SIZE, build_frame, scan_frame

Buffer = bytes | bytearray | memoryview

# below this size a double copy is cheaper than a memoryview
_SMALL_FRAME = 4096


class FrameDecoder:
    """Turns a byte stream into G3Frames.

    ``max_frame_size`` bounds the size of one frame: a length field that
    would exceed it is rejected before anything is allocated for it.
    ``verify_crc`` may be turned off for trusted data.
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
    )

    def __init__(
        self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE, verify_crc: bool = True
    ) -> None:
        self._buf = bytearray()
        self._pos = 0  # start of the first unconsumed byte in _buf
        self._need = 1
        self._offset = 0
        self.max_frame_size = max_frame_size
        self.verify_crc = verify_crc
        self._failed: G3FormatError | None = None  # to raise on the next call
        self._fatal: G3FormatError | None = None  # framing lost: raise forever

    @property
    def offset(self) -> int:
        """Absolute stream offset of the next frame (bytes consumed as frames so far)."""
        return self._offset

    @property
    def buffered(self) -> int:
        """Bytes received that are not yet part of a returned frame."""
        return len(self._buf) - self._pos

    @property
    def at_boundary(self) -> bool:
        """True when no partial frame is held (a clean place for the stream to end)."""
        return len(self._buf) == self._pos

    @property
    def bytes_needed(self) -> int:
        """A lower bound on the bytes still to arrive before the next frame can be complete."""
        return max(self._need - (len(self._buf) - self._pos), 0)

    def feed(self, data: Buffer) -> None:
        """Add received bytes."""
        if data:
            if self._pos:
                # drop consumed bytes once per feed, not once per frame
                del self._buf[: self._pos]
                self._pos = 0
            self._buf += data

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
        if self._fatal is not None:
            raise self._fatal
        if self._failed is not None:
            deferred, self._failed = self._failed, None
            raise deferred
        buf = self._buf
        pos = self._pos
        n = len(buf)
        offset = self._offset
        verify = self.verify_crc
        max_size = self.max_frame_size
        try:
            while n - pos >= self._need and n > pos:
                try:
                    scanned = scan_frame(buf, pos, n, offset, max_size)
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
                out.append(build_frame(raw, scanned, frame_offset, verify))
                if len(out) == limit:
                    break
        except G3FormatError as exc:
            self._commit(pos, n, offset)
            if not out or exc is self._fatal:
                raise
            self._failed = exc  # a bad CRC: raised by the next call
        self._commit(pos, n, offset)
        return out

    def _commit(self, pos: int, n: int, offset: int) -> None:
        if pos == n:
            self._buf.clear()
            self._pos = 0
        else:
            self._pos = pos
        self._offset = offset

    def reset(self) -> int:
        """Discard a partial frame (for example after a reconnect); returns the bytes dropped."""
        dropped = len(self._buf) - self._pos
        self._buf.clear()
        self._pos = 0
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
