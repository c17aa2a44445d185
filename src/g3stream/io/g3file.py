"""G3File: iterate over the frames of one file (or address, or list of them)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

from ..frame import G3Frame
from .reader import G3Reader

__all__ = ["G3File"]


class G3File:
    """The frames of a G3 file, one at a time::

        with G3File("run.g3.gz") as f:
            for frame in f:
                print(frame)

    ``list(G3File(path))`` reads a whole file.  Anything ``G3Reader``
    accepts as its first argument works here too.
    """

    def __init__(self, path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> None:
        self.reader: G3Reader | None = G3Reader(path)
        self._frames = iter(self.reader)

    def __iter__(self) -> Iterator[G3Frame]:
        return self

    def __next__(self) -> G3Frame:
        if self.reader is None:
            raise StopIteration
        return next(self._frames)

    next = __next__

    def close(self) -> None:
        """Close the file; iteration stops."""
        reader, self.reader = self.reader, None
        if reader is not None:
            reader.close()

    def __enter__(self) -> G3File:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
