"""The root of every frame object, and the stand-in for unknown classes.

Every frame-object class derives from :class:`G3FrameObject` and implements
the archive protocol (``archive.Serializable``): ``_g3_read`` and
``_g3_write`` for its fields, ``_json_payload`` / ``_from_json_payload`` for
the JSON form.  Its wire identity comes from ``classes.register``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .archive import ArchiveReader, ArchiveWriter
from .classes import register


class G3FrameObject:
    """Base class of every value that can be stored in a G3Frame."""

    _g3_name: ClassVar[str] = "G3FrameObject"
    _g3_chain: ClassVar[tuple[tuple[str, int], ...]] = (("G3FrameObject", 1),)
    _g3_write_versions: ClassVar[tuple[int, ...]] = (1,)

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> Any:
        return cls()

    def _g3_write(self, w: ArchiveWriter) -> None:
        pass

    def _json_payload(self) -> Any:
        return None

    @classmethod
    def _from_json_payload(cls, payload: Any) -> Any:
        return cls()

    @property
    def hash(self) -> bytes:
        """The object serialized by value, as spt3g's ``hash`` property gives it."""
        w = ArchiveWriter()
        w.begin(self._g3_chain, self._g3_write_versions)
        self._g3_write(w)
        return w.getvalue()

    def Summary(self) -> str:
        """A one-line description, as printed in a frame listing."""
        return self.__str__()

    def Description(self) -> str:
        """A full description of the object."""
        return self.__str__()

    def __str__(self) -> str:
        return f"<{self._g3_name}>"


register(G3FrameObject)


class OpaqueFrameObject(G3FrameObject):
    """A frame object of a class this package cannot decode, kept byte-exact.

    It prints its class name and size, and is written back exactly as read.
    """

    def __init__(self, class_name: str, blob: bytes) -> None:
        self.class_name = class_name
        self.blob = blob

    @property
    def _g3_name(self) -> str:  # type: ignore[override]
        return self.class_name

    def _g3_blob(self) -> bytes:
        return self.blob

    def __len__(self) -> int:
        return len(self.blob)

    def __str__(self) -> str:
        return f"<opaque {self.class_name}, {len(self.blob)} bytes>"

    __repr__ = __str__

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, OpaqueFrameObject)
            and other.class_name == self.class_name
            and other.blob == self.blob
        )

    __hash__ = None  # type: ignore[assignment]
