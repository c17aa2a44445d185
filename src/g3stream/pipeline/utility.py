"""The small utility modules spt3g users rely on: Dump, Delete, Keep, Rename, and friends.

Each acts on every frame, or only on frames of ``type`` when one is given.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Collection, Iterable, Mapping

from ..frame import G3Frame
from ..frametype import DATA_FRAME_TYPES, G3FrameType
from .decorators import indexmod
from .g3logging import log_fatal

__all__ = [
    "Dump",
    "Delete",
    "Keep",
    "Rename",
    "InjectFrame",
    "InjectDebug",
    "AbortAfterNFrames",
    "DeduplicateMetadata",
    "DropOrphanMetadata",
    "DEFAULT_DATA_FRAME_TYPES",
]

log = logging.getLogger(__name__)

#: Frame types treated as data (everything else is metadata) unless told otherwise.
DEFAULT_DATA_FRAME_TYPES = DATA_FRAME_TYPES


def _skip(frame: G3Frame, type: G3FrameType | None) -> bool:  # noqa: A002
    return type is not None and frame.type != type


@indexmod
def Delete(frame: G3Frame, keys: Iterable[str] = (), type: G3FrameType | None = None) -> None:  # noqa: A002
    """Remove the given keys from frames (missing keys are ignored)."""
    if _skip(frame, type):
        return
    for key in keys:
        if key in frame:
            del frame[key]


@indexmod
def Keep(frame: G3Frame, keys: Collection[str] = (), type: G3FrameType | None = None) -> None:  # noqa: A002
    """Remove every key except the given ones from frames."""
    if _skip(frame, type):
        return
    for key in list(frame.keys()):
        if key not in keys:
            del frame[key]


@indexmod
def Rename(
    frame: G3Frame,
    keys: Mapping[str, str] | None = None,
    type: G3FrameType | None = None,  # noqa: A002
) -> None:
    """Rename keys of frames; ``keys`` maps old names to new ones (missing keys are ignored)."""
    if _skip(frame, type) or not keys:
        return
    for old, new in keys.items():
        if old in frame:
            value = frame._object(old)
            del frame[old]
            frame[new] = value


@indexmod
def Dump(frame: G3Frame, type: G3FrameType | None = None, added_message: str | None = None) -> None:  # noqa: A002
    """Print frames (not EndProcessing) to standard output, each after ``added_message`` if given."""
    if _skip(frame, type) or frame.type == G3FrameType.EndProcessing:
        return
    if added_message:
        print(added_message)
    print(frame)


@indexmod
class InjectFrame:
    """Insert ``frame`` into the stream in front of the first frame that arrives."""

    def __init__(self, frame: G3Frame) -> None:
        self.frame: G3Frame | None = frame

    def __call__(self, frame: G3Frame) -> list[G3Frame] | None:
        if self.frame is None:
            return None
        out = [self.frame, frame]
        self.frame = None
        return out


@indexmod
def InjectDebug(
    frame: G3Frame,
    type: G3FrameType | None = None,  # noqa: A002
    debug_start_func: Callable[[G3Frame], bool] | None = None,
) -> None:
    """Open the Python debugger on frames of ``type`` (for which ``debug_start_func`` is true)."""
    if _skip(frame, type):
        return
    if debug_start_func is None or debug_start_func(frame):
        import pdb

        pdb.set_trace()


@indexmod
class AbortAfterNFrames:
    """Stop the run with an error once ``n_frames`` frames of ``type`` have gone by."""

    def __init__(self, type: G3FrameType, n_frames: int) -> None:  # noqa: A002
        self.type = type
        self.n_desired_frames = n_frames
        self.num_frames = 0

    def __call__(self, frame: G3Frame) -> None:
        if self.num_frames >= self.n_desired_frames:
            log_fatal("Manual Abort Triggered")
        if frame.type == self.type:
            self.num_frames += 1


def frame_digest(frame: G3Frame) -> bytes:
    """A digest of a frame's type and contents that does not depend on its entry order."""
    h = hashlib.blake2b(digest_size=20)
    h.update(int(frame.type).to_bytes(4, "little"))
    for key in sorted(frame.keys()):
        raw = key.encode("utf-8", "surrogateescape")
        h.update(len(raw).to_bytes(8, "little"))
        h.update(raw)
        blob = frame.blob(key)
        parts = blob if isinstance(blob, list) else [blob]
        h.update(sum(len(memoryview(p).cast("B")) for p in parts).to_bytes(8, "little"))
        for part in parts:
            h.update(part)
    return h.digest()


@indexmod
class DeduplicateMetadata:
    """Drop metadata frames identical to the previous metadata frame of the same type.

    Frames whose type is in ``dataframetype`` (and EndProcessing) always
    pass.  Useful when reading files that each repeat the same metadata.
    """

    def __init__(self, dataframetype: Collection[G3FrameType] = DEFAULT_DATA_FRAME_TYPES) -> None:
        self.dataframes = dataframetype
        self.metacache: dict[G3FrameType, bytes] = {}

    def __call__(self, frame: G3Frame) -> list[G3Frame] | None:
        if frame.type in self.dataframes or frame.type == G3FrameType.EndProcessing:
            return None
        digest = frame_digest(frame)
        if self.metacache.get(frame.type) == digest:
            return []
        self.metacache[frame.type] = digest
        return None


@indexmod
class DropOrphanMetadata:
    """Drop metadata frames that no data frame follows.

    Metadata frames are held until a data frame (type in ``dataframetype``)
    arrives; then the most recent one of each type is emitted, in the order
    their types first appeared, followed by the data frame.  Metadata held
    when the stream ends is dropped.
    """

    def __init__(self, dataframetype: Collection[G3FrameType] = DEFAULT_DATA_FRAME_TYPES) -> None:
        self.dataframes = dataframetype
        self.metacache: list[G3Frame] = []

    def __call__(self, frame: G3Frame) -> list[G3Frame] | None:
        if frame.type == G3FrameType.EndProcessing:
            return None
        if frame.type in self.dataframes:
            out = self.metacache + [frame]
            self.metacache = []
            return out
        for i, held in enumerate(self.metacache):
            if held.type == frame.type:
                self.metacache[i] = frame
                break
        else:
            self.metacache.append(frame)
        return []
