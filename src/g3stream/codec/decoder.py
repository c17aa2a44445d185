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


class FrameDecoder:
    """Turns a byte stream into G3Frames.

    ``max_frame_size`` bounds the size of one frame: a length field that
    would exceed it is rejected before anything is allocated for it.
    ``verify_crc`` may be turned off for trusted data.
    """

    __slots__ = ("_buf", "_pos", "_need", "_offset", "max_frame_size", "verify_crc", "_failed")

    def __init__(
        self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE, verify_crc: bool = True
    ) -> None:
        self._buf = bytearray()
        self._pos = 0  # start of the first unconsumed byte in _buf
        self._need = 1
        self._offset = 0
        self.max_frame_size = max_frame_size
        self.verify_crc = verify_crc
        self._failed: G3FormatError | None = None

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

        Raises a ``G3FormatError`` subclass for bad data; after that the
        decoder refuses to continue (the stream has lost its framing).
        """
        if self._failed is not None:
            raise self._failed
        buf = self._buf
        pos = self._pos
        n = len(buf)
        if n - pos < self._need or n == pos:
            return None
        try:
            scanned = scan_frame(buf, pos, n, self._offset, self.max_frame_size)
        except G3FormatError as exc:
            self._failed = exc
            raise
        if isinstance(scanned, int):
            self._need = scanned
            return None
        size = scanned.size
        if size == n and pos == 0:
            raw = bytes(buf)
            buf.clear()
        else:
            with memoryview(buf) as mv:
                raw = bytes(mv[pos : pos + size])
            if pos + size == n:
                buf.clear()
                self._pos = 0
            else:
                self._pos = pos + size
        offset = self._offset
        self._offset = offset + size
        self._need = 1
        try:
            return build_frame(raw, scanned, offset, self.verify_crc)
        except G3FormatError as exc:
            # a bad CRC leaves the framing intact: the next frame is still readable
            raise exc

    def frames(self) -> list[G3Frame]:
        """Every complete frame currently available."""
        out: list[G3Frame] = []
        while True:
            f = self.next_frame()
            if f is None:
                return out
            out.append(f)

    def reset(self) -> int:
        """Discard a partial frame (for example after a reconnect); returns the bytes dropped."""
        dropped = len(self._buf) - self._pos
        self._buf.clear()
        self._pos = 0
        self._need = 1
        self._failed = None
        self._offset += dropped
        return dropped

    def close(self) -> None:
        """Declare the end of the stream: raise ``TruncatedFrameError`` if a frame was cut off."""
        if not self.at_boundary:
            raise TruncatedFrameError(
                f"stream ended inside a frame ({self.buffered} bytes of it received)", self._offset
            )
