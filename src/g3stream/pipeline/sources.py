"""G3InfiniteSource: a first module that emits empty frames, for pipelines fed by hand."""

from __future__ import annotations

from ..frame import G3Frame, G3FrameType
from .module import G3Module

__all__ = ["G3InfiniteSource"]


class G3InfiniteSource(G3Module):
    """Emits empty frames of ``type`` forever, or ``n`` of them when ``n`` is not negative."""

    def __init__(self, type: G3FrameType | int | str = G3FrameType.none, n: int = -1) -> None:  # noqa: A002
        self.type = type if isinstance(type, G3FrameType) else G3FrameType(type)
        self.n = int(n)
        self.sofar = 0

    def Process(self, frame: G3Frame | None) -> list[G3Frame]:
        """One new empty frame, or none once ``n`` have been emitted."""
        self.sofar += 1
        if self.n < 0 or self.sofar <= self.n:
            return [G3Frame(self.type)]
        return []
