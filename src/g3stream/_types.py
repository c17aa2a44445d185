"""Type aliases shared by every layer."""

from __future__ import annotations

from collections.abc import Sequence

#: Anything that exposes bytes through the buffer protocol and that the
#: codec accepts as input or produces as output.
Buffer = bytes | bytearray | memoryview


def byte_length(data: Buffer | Sequence[Buffer]) -> int:
    """Number of bytes in ``data``, one buffer or a sequence of buffers."""
    if isinstance(data, memoryview):
        return data.nbytes
    if isinstance(data, (bytes, bytearray)):
        return len(data)
    return sum(b.nbytes if isinstance(b, memoryview) else len(b) for b in data)
