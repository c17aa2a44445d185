"""The frame CRC: CRC-32C with initial register 0 and no final inversion.

A standard CRC-32C inverts the register on entry and exit; the G3 variant
does neither.  Chaining a standard routine from ``~0`` and inverting once at
the end gives the G3 value, so the hardware-accelerated ``crc32c`` package
does all the work.
"""

from __future__ import annotations

from collections.abc import Iterable

from crc32c import crc32c as _crc32c

_MASK = 0xFFFFFFFF


def g3_crc(chunks: Iterable[bytes | bytearray | memoryview], crc: int = 0) -> int:
    """Return the G3 CRC of ``chunks`` fed in order, continuing from ``crc``."""
    value = crc ^ _MASK
    for chunk in chunks:
        value = _crc32c(chunk, value)
    return value ^ _MASK


def g3_crc_of(data: bytes | bytearray | memoryview) -> int:
    """Return the G3 CRC of one buffer (the cheapest call for small frames)."""
    return _crc32c(data, _MASK) ^ _MASK
