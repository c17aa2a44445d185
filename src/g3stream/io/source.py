"""The byte-source protocol that G3Reader drives: files and TCP streams alike."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


class StreamRestart(Exception):
    """Raised by a source whose stream started over (a reconnect).

    Bytes already delivered that do not form a complete frame must be
    discarded by the consumer; reading then continues from the new stream.
    """


@runtime_checkable
class ByteSource(Protocol):
    """A stream of bytes that ends when ``read`` returns ``b""``."""

    name: str

    def read(self, max_bytes: int) -> bytes:
        """Return up to ``max_bytes`` bytes; ``b""`` at the end of the source.

        May raise ``StreamRestart`` (discard any partial frame) or a
        ``G3ConnectionError`` subclass.
        """
        ...

    def close(self) -> None:
        """Release the source's resources; safe to call more than once."""
        ...
