"""What decoding one frame may cost: an absolute decoded-size limit and a nesting limit.

Hostile bytes are bounded by what they cost, not by what they claim.  A
small blob can legitimately expand a lot (a dead detector's constant
timestream compresses by huge factors), so the bound is not a ratio but an
absolute number of bytes per frame:

* **decoded size**: every place that allocates memory in proportion to what
  a blob claims (FLAC and bzip2 payloads, time gaps filled in, arrays
  rebuilt, copied or byte-swapped) charges the bytes to the frame's
  :class:`DecodeBudget` *before* allocating them; past the limit it raises
  :class:`~g3stream.errors.DecodedSizeError` with the offset of the data.
  Arrays that are views of the frame's own bytes cost nothing and are not
  charged.  Values are decoded lazily, so the budget travels with the frame
  and is shared by all of its values.
* **nesting depth**: each frame object read through a pointer inside another
  one is one level deeper; past the limit the archive reader raises
  :class:`~g3stream.errors.NestingTooDeepError` (nested archives count too).
"""

from __future__ import annotations

from ..errors import DecodedSizeError

#: Default largest number of bytes the values of one frame may decode to (4 GiB).
DEFAULT_MAX_DECODED_SIZE = 4 << 30
#: Default deepest nesting of frame objects within frame objects.
DEFAULT_MAX_NESTING_DEPTH = 64

__all__ = [
    "DEFAULT_MAX_DECODED_SIZE",
    "DEFAULT_MAX_NESTING_DEPTH",
    "DecodeLimits",
    "DecodeBudget",
]


class DecodeLimits:
    """The limits a decoder gives each of its frames (shared by the frames: never changed).

    ``max_decoded_size``: bytes the values of one frame may decode to, in
    total; ``max_nesting_depth``: how deep frame objects may nest.
    """

    __slots__ = ("max_decoded_size", "max_nesting_depth")

    max_decoded_size: int
    max_nesting_depth: int

    def __init__(
        self,
        max_decoded_size: int = DEFAULT_MAX_DECODED_SIZE,
        max_nesting_depth: int = DEFAULT_MAX_NESTING_DEPTH,
    ) -> None:
        max_decoded_size = int(max_decoded_size)
        max_nesting_depth = int(max_nesting_depth)
        if max_decoded_size < 0:
            raise ValueError(f"max_decoded_size must not be negative, not {max_decoded_size}")
        if max_nesting_depth < 1:
            raise ValueError(f"max_nesting_depth must be at least 1, not {max_nesting_depth}")
        self.max_decoded_size = max_decoded_size
        self.max_nesting_depth = max_nesting_depth

    def __repr__(self) -> str:
        return (
            f"DecodeLimits(max_decoded_size={self.max_decoded_size}, "
            f"max_nesting_depth={self.max_nesting_depth})"
        )

    def budget(self) -> DecodeBudget:
        """A fresh budget under these limits (one per frame)."""
        return DecodeBudget(self.max_decoded_size, self.max_nesting_depth)


#: The limits of frames and blobs decoded without a decoder's own.
DEFAULT_LIMITS = DecodeLimits()


class DecodeBudget:
    """The running account of one frame's decoded bytes against its limit.

    ``used`` counts the bytes charged so far; ``charge`` refuses, with a
    typed error, any allocation that would take it past ``limit``.
    """

    __slots__ = ("limit", "used", "max_depth")

    def __init__(
        self,
        limit: int = DEFAULT_MAX_DECODED_SIZE,
        max_depth: int = DEFAULT_MAX_NESTING_DEPTH,
    ) -> None:
        self.limit = int(limit)
        self.used = 0
        self.max_depth = int(max_depth)

    def __repr__(self) -> str:
        return f"DecodeBudget(used={self.used}, limit={self.limit}, max_depth={self.max_depth})"

    @property
    def remaining(self) -> int:
        """Bytes that may still be charged."""
        return max(self.limit - self.used, 0)

    def charge(self, nbytes: int, offset: int | None, what: str = "decoded data") -> None:
        """Account for ``nbytes`` about to be allocated for data found at ``offset``.

        Raises ``DecodedSizeError`` (and charges nothing) when that would
        exceed the limit.
        """
        total = self.used + nbytes
        if total > self.limit:
            raise DecodedSizeError(
                f"{what} needs {nbytes} bytes, which would take this frame's decoded size "
                f"to {total} bytes, over its decoded-size limit of {self.limit} bytes",
                offset,
            )
        self.used = total

    def copy(self) -> DecodeBudget:
        """An independent budget with the same limits and the same bytes used."""
        other = DecodeBudget(self.limit, self.max_depth)
        other.used = self.used
        return other
