"""Type aliases shared by every layer."""

from __future__ import annotations

#: Anything that exposes bytes through the buffer protocol and that the
#: codec accepts as input or produces as output.
Buffer = bytes | bytearray | memoryview
