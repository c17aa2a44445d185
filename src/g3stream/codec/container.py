"""The frame container (FORMAT.md sections 3 and 4): find, check and build one frame.

Layout: endianness byte, u32 version (1), i32 entry count, u32 type, then
per entry u64 name length, name, u64 blob length, blob; then the u32 CRC of
all names and blobs.  Parsing is transactional: given a buffer that may end
anywhere, ``scan_frame`` either reports a complete frame, or how many bytes
it needs at least before it is worth trying again, or raises a typed error.
Encoding belongs to the frame itself (``G3Frame.encoded``); ``encode_frame``
and ``encode_frame_bytes`` are re-exported here, where they are documented.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, NamedTuple

from .._types import Buffer
from ..cereal.budget import DEFAULT_LIMITS, DecodeLimits
from ..cereal.crc import SPLIT_CRC as _SPLIT_CRC
from ..cereal.crc import g3_crc, g3_crc_combine, g3_crc_of
from ..errors import (
    CRCMismatchError,
    G3FormatError,
    InvalidEndianError,
    InvalidLengthError,
    TruncatedFrameError,
    UnsupportedVersionError,
)
from ..frame import G3Frame, encode_frame, encode_frame_bytes

if TYPE_CHECKING:
    from concurrent.futures import Executor

_frame_from_scan = G3Frame._from_scan


_HEAD_LE = struct.Struct("<IiI")
_HEAD_BE = struct.Struct(">IiI")
_U64_LE = struct.Struct("<Q")
_U64_BE = struct.Struct(">Q")
_U32_LE = struct.Struct("<I")
_U32_BE = struct.Struct(">I")
_HEADER_SIZE = 13
_JOIN_LIMIT = 65536
#: A name or blob (or a new stretch of one) at least this long is checksummed
#: in two halves at once when a helper thread is offered.
SPLIT_CRC = _SPLIT_CRC
_MIN_ENTRY_SIZE = 16

#: Default largest frame accepted (bytes); a bigger length field is refused.
DEFAULT_MAX_FRAME_SIZE = 1 << 31


class ScannedFrame(NamedTuple):
    """Where a complete frame lies in a buffer, relative to its first byte."""

    size: int
    type_code: int
    entries: list[slice]  # per entry: the slice of its name, then of its blob
    crc: int
    little: bool


_tuple_new = tuple.__new__


def scan_frame(
    buf: Buffer, pos: int, end: int, offset: int, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE
) -> ScannedFrame | int:
    """Locate the frame starting at ``buf[pos]``; ``buf[pos:end]`` is what has arrived.

    Returns a ``ScannedFrame`` when the frame is complete, else the total
    number of bytes (from ``pos``) needed before trying again.  ``offset``
    is the absolute stream offset of ``pos``, used in errors.  The CRC is not
    checked here (see ``check_crc``).
    """
    avail = end - pos
    if avail < _HEADER_SIZE:
        if avail >= 1 and buf[pos] not in (0, 1):
            raise InvalidEndianError(
                f"frame endianness flag is {buf[pos]}, expected 0 or 1", offset
            )
        return _HEADER_SIZE
    flag = buf[pos]
    if flag == 1:
        little = True
        version, n, type_code = _HEAD_LE.unpack_from(buf, pos + 1)
        u64 = _U64_LE.unpack_from
    elif flag == 0:
        little = False
        version, n, type_code = _HEAD_BE.unpack_from(buf, pos + 1)
        u64 = _U64_BE.unpack_from
    else:
        raise InvalidEndianError(f"frame endianness flag is {flag}, expected 0 or 1", offset)
    if version > 1:
        raise UnsupportedVersionError(
            f"G3Frame version {version} is newer than the supported 1", offset + 1
        )
    if n < 0 or _HEADER_SIZE + n * _MIN_ENTRY_SIZE + 4 > max_frame_size:
        raise InvalidLengthError(f"implausible entry count {n}", offset + 5)
    p = pos + _HEADER_SIZE
    limit = pos + max_frame_size
    entries: list[slice] = []
    add = entries.append
    for _ in range(n):
        if p + 8 > end:
            return p + 8 - pos
        q = p + 8 + u64(buf, p)[0]  # end of the name
        if q + 8 > end:
            if q + 12 > limit:
                raise InvalidLengthError(
                    f"key length {q - p - 8} exceeds the frame size limit", offset + p - pos
                )
            return q + 8 - pos
        e = q + 8 + u64(buf, q)[0]  # end of the blob
        if e > end:
            if e + 4 > limit:
                raise InvalidLengthError(
                    f"blob length {e - q - 8} exceeds the frame size limit", offset + q - pos
                )
            return e + 4 - pos
        add(slice(p + 8 - pos, q - pos))
        add(slice(q + 8 - pos, e - pos))
        p = e
    if p + 4 - pos > max_frame_size:
        raise InvalidLengthError("frame exceeds the frame size limit", offset)
    if p + 4 > end:
        return p + 4 - pos
    (crc,) = (_U32_LE if little else _U32_BE).unpack_from(buf, p)
    # tuple.__new__ skips the Python-level constructor of the named tuple
    return _tuple_new(ScannedFrame, (p + 4 - pos, type_code, entries, crc, little))


class FrameLayout:
    """The exact shape of a small little-endian frame: header, key and blob lengths.

    Frames of one stream often repeat a shape (a Timepoint frame with the
    same keys and the same fixed-size values).  ``match`` recognises a frame
    of this shape with one ``struct`` call, instead of walking its entries.
    """

    __slots__ = ("size", "type_code", "entries", "_unpack", "_expected", "_crc_at")

    def __init__(self, buf: Buffer, pos: int, scanned: ScannedFrame) -> None:
        fmt = ["<BIiI"]
        entries = scanned.entries
        for i in range(0, len(entries), 2):
            name, blob = entries[i], entries[i + 1]
            fmt.append(f"Q{name.stop - name.start}xQ{blob.stop - blob.start}x")
        layout = struct.Struct("".join(fmt))
        self.size = scanned.size
        self.type_code = scanned.type_code
        self.entries = entries
        self._unpack = layout.unpack_from
        self._expected = layout.unpack_from(buf, pos)
        self._crc_at = scanned.size - 4

    def match(self, buf: Buffer, pos: int, end: int) -> ScannedFrame | None:
        """The frame at ``buf[pos]`` if it is complete and has exactly this shape."""
        if end - pos < self.size or self._unpack(buf, pos) != self._expected:
            return None
        crc = _U32_LE.unpack_from(buf, pos + self._crc_at)[0]
        return _tuple_new(ScannedFrame, (self.size, self.type_code, self.entries, crc, True))


def _split_crc(mv: memoryview, pos: int, stop: int, value: int, helper: Executor) -> int:
    """``value`` carried over ``mv[pos:stop]``, the second half checksummed by ``helper``."""
    mid = pos + (stop - pos) // 2
    second = helper.submit(g3_crc_of, mv[mid:stop])
    try:
        value = g3_crc((mv[pos:mid],), value)
    finally:
        # a helper that has not started (busy elsewhere) is not waited for;
        # one that has is, so that it never reads the buffer after this returns
        tail = g3_crc_of(mv[mid:stop]) if second.cancel() else second.result()
    return g3_crc_combine(value, tail, stop - mid)


def _entries_crc(mv: memoryview, entries: list[slice], helper: Executor) -> int:
    """The G3 CRC of the ``entries`` of ``mv``, each one of ``SPLIT_CRC`` bytes or more split."""
    crc = 0
    small: list[memoryview] = []  # a run of short pieces, checksummed in one call
    for piece in entries:
        if piece.stop - piece.start >= SPLIT_CRC:
            crc = _split_crc(mv, piece.start, piece.stop, g3_crc(small, crc), helper)
            small = []
        else:
            small.append(mv[piece])
    return g3_crc(small, crc)


class RunningCrc:
    """The CRC of a frame's names and blobs, computed while the frame arrives.

    ``advance`` is called with the frame's buffer (the frame's first byte at
    index 0) each time more of it has arrived; it checksums the new bytes
    while they are still in the CPU cache, instead of in one pass over the
    whole frame at the end.  It only follows the length fields and never
    judges them (``scan_frame`` does): a header it cannot follow leaves it
    ``broken``, and ``value_for`` gives the CRC only if the parts it
    checksummed are exactly those of the complete frame, so in any other
    case the caller checks the frame the ordinary way.
    """

    __slots__ = ("_pos", "_end", "_left", "_u64", "_value", "broken", "_started", "_helper")

    def __init__(self, helper: Executor | None = None) -> None:
        """``helper`` (optional) checksums half of each long new stretch at once."""
        self._helper = helper
        self._pos = 0  # next byte to checksum or to read a length from
        self._end = 0  # end of the name or blob being checksummed (<= _pos: none)
        self._left = 0  # names and blobs still to come
        self._u64 = _U64_LE
        self._value = 0  # the G3 CRC of the parts checksummed so far
        self._started = False
        #: True when the frame could not be followed (the caller checks it whole).
        self.broken = False

    def stretch(self, fill: int) -> int:
        """How many bytes from ``fill`` on belong to the name or blob being checksummed.

        0 when none is open at ``fill``.  A receiver may checksum that many
        of the next bytes itself and pass their CRC to :meth:`advance`.
        """
        if self.broken or not self._started or self._pos != fill:
            return 0
        return max(0, self._end - fill)

    def advance(self, buf: Buffer, fill: int, known: tuple[int, int] | None = None) -> None:
        """Checksum what ``buf[:fill]`` adds to the parts seen so far.

        ``known`` is ``(length, crc)``: the G3 CRC, from 0, of the first
        ``length`` added bytes, already computed by their receiver, within
        the :meth:`stretch` it was offered (otherwise it is not used).
        """
        if self.broken:
            return
        if not self._started:
            if fill < _HEADER_SIZE:
                return
            flag = buf[0]
            head = _HEAD_LE if flag == 1 else _HEAD_BE
            version, n, _ = head.unpack_from(buf, 1)
            if flag not in (0, 1) or version > 1 or n < 0:
                self.broken = True
                return
            self._u64 = _U64_LE if flag == 1 else _U64_BE
            self._left = 2 * n
            self._pos = _HEADER_SIZE
            self._started = True
        pos = self._pos
        end = self._end
        value = self._value
        with memoryview(buf) as mv:
            while True:
                if end > pos:  # inside a name or blob
                    stop = min(end, fill)
                    if known is not None:
                        length, crc = known
                        known = None
                        if 0 < length <= stop - pos:
                            value = g3_crc_combine(value, crc, length)
                            pos += length
                    if stop - pos >= SPLIT_CRC and self._helper is not None:
                        value = _split_crc(mv, pos, stop, value, self._helper)
                    elif stop > pos:
                        value = g3_crc((mv[pos:stop],), value)
                    pos = stop
                    if pos < end:
                        break
                    self._left -= 1
                if self._left == 0 or pos + 8 > fill:
                    break
                end = pos + 8 + self._u64.unpack_from(buf, pos)[0]
                pos += 8
                if end == pos:
                    self._left -= 1  # an empty name or blob
        self._pos = pos
        self._end = end
        self._value = value

    def value_for(self, scanned: ScannedFrame) -> int | None:
        """The G3 CRC of ``scanned``'s names and blobs, or ``None`` if not all were seen."""
        if self.broken or self._left or self._pos != scanned.size - 4:
            return None
        return self._value


def check_crc(
    frame_bytes: Buffer,
    scanned: ScannedFrame,
    offset: int,
    computed: int | None = None,
    helper: Executor | None = None,
) -> None:
    """Raise ``CRCMismatchError`` unless the stored CRC matches the names and blobs.

    ``computed`` is the CRC when it is already known (see ``RunningCrc``).
    ``helper`` (optional) checksums half of each long name or blob while
    this thread does the other half.
    """
    if computed is not None:
        crc = computed
    elif helper is not None and scanned.size >= SPLIT_CRC:
        crc = _entries_crc(memoryview(frame_bytes), scanned.entries, helper)
    elif scanned.size <= _JOIN_LIMIT:
        # one call over the gathered pieces beats one call per piece
        crc = g3_crc_of(b"".join(map(frame_bytes.__getitem__, scanned.entries)))
    else:
        mv = memoryview(frame_bytes)
        crc = g3_crc(mv[piece] for piece in scanned.entries)
    if crc != scanned.crc:
        raise CRCMismatchError(
            f"frame CRC mismatch: stored 0x{scanned.crc:08x}, computed 0x{crc:08x}", offset
        )


def build_frame(
    frame_bytes: Buffer,
    scanned: ScannedFrame,
    offset: int,
    verify: bool = True,
    limits: DecodeLimits = DEFAULT_LIMITS,
    crc: int | None = None,
    helper: Executor | None = None,
) -> G3Frame:
    """A lazily decoded G3Frame over ``frame_bytes`` (exactly one frame).

    Only the CRC is computed here (unless already known: ``crc``; with
    ``helper``, long names and blobs half each by two threads); keys and
    blobs are indexed on first use, and values decode within ``limits``
    (decoded bytes per frame, nesting).
    """
    if verify:
        check_crc(frame_bytes, scanned, offset, crc, helper)
    return _frame_from_scan(scanned.type_code, frame_bytes, scanned.entries, offset, limits)


def frame_spanning(
    block: Buffer,
    offset: int,
    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
    verify: bool = True,
    limits: DecodeLimits = DEFAULT_LIMITS,
    crc_helper: Executor | None = None,
) -> G3Frame | int | None:
    """The frame that ``block`` holds exactly, built over ``block`` without a copy.

    For readers that can hand out a whole frame's bytes at once (a memory
    map).  Returns the frame; or, when ``block`` is only the start of a
    frame, the total size that frame needs; or ``None`` when ``block`` is
    not exactly one frame (bad data, or more than one frame), which a
    ``FrameDecoder`` fed the same bytes reports in its own terms.  A CRC
    mismatch raises ``CRCMismatchError``.  The frame's values decode within
    ``limits``.  ``crc_helper`` checksums half of each long name or blob
    while this thread does the other half.
    """
    try:
        scanned = scan_frame(block, 0, len(block), offset, max_frame_size)
    except G3FormatError:
        return None
    if isinstance(scanned, int):
        return scanned
    if scanned.size != len(block):
        return None
    return build_frame(block, scanned, offset, verify, limits, helper=crc_helper)


def decode_frame(
    data: Buffer,
    offset: int = 0,
    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
    limits: DecodeLimits = DEFAULT_LIMITS,
) -> G3Frame:
    """Decode exactly one complete frame from ``data`` (its values within ``limits``)."""
    scanned = scan_frame(data, 0, len(data), offset, max_frame_size)
    if isinstance(scanned, int):
        raise TruncatedFrameError(f"frame needs at least {scanned} bytes, got {len(data)}", offset)
    if scanned.size != len(data):
        raise G3FormatError(
            f"{len(data) - scanned.size} bytes after the frame", offset + scanned.size
        )
    return build_frame(bytes(data), scanned, offset, True, limits)


__all__ = [
    "DEFAULT_MAX_FRAME_SIZE",
    "FrameLayout",
    "RunningCrc",
    "ScannedFrame",
    "build_frame",
    "check_crc",
    "decode_frame",
    "encode_frame",
    "encode_frame_bytes",
    "frame_spanning",
    "scan_frame",
]
