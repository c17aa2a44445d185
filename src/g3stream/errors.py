"""Exception hierarchy: one tree for bad data, one for connection problems."""

from __future__ import annotations


class G3FormatError(ValueError):
    """Bytes that are not a valid G3 stream.

    ``offset`` is the absolute byte offset in the stream (or blob) where the
    problem was found, or ``None`` when it is not known.
    """

    def __init__(self, message: str, offset: int | None = None) -> None:
        self.offset = offset
        self.message = message
        where = f" at byte offset {offset}" if offset is not None else ""
        super().__init__(f"{message}{where}")


class CRCMismatchError(G3FormatError):
    """A frame's stored CRC does not match its contents."""


class TruncatedFrameError(G3FormatError):
    """A stream ended, or a blob ran out, in the middle of a frame or object."""


class InvalidLengthError(G3FormatError):
    """A length or count field is negative, implausible or over the size limit."""


class UnsupportedVersionError(G3FormatError):
    """A class version newer than this implementation can read."""


class InvalidEndianError(G3FormatError):
    """An archive's endianness flag is neither 0 (big) nor 1 (little)."""


class UnknownClassError(G3FormatError):
    """A blob names a frame-object class this package does not know."""


class UnknownTypeCodeError(G3FormatError):
    """A type code (enum value, pointer id, name id) that is not defined."""


class G3ConnectionError(ConnectionError):
    """A network peer could not be reached or went away."""


__all__ = [
    "G3FormatError",
    "CRCMismatchError",
    "TruncatedFrameError",
    "InvalidLengthError",
    "UnsupportedVersionError",
    "InvalidEndianError",
    "UnknownClassError",
    "UnknownTypeCodeError",
    "G3ConnectionError",
]
