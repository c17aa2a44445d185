"""The root of every frame object, and the stand-in for unknown classes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ..codec.registry import register

if TYPE_CHECKING:
    from ..codec.archive import ArchiveReader, ArchiveWriter


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


def scalar_blob_prefix(cls: type[G3FrameObject]) -> bytes:
    """The bytes a blob whose root is a ``cls`` object starts with, up to its fields.

    For a class whose fields are one fixed-layout value, a whole blob is this
    prefix plus the packed value, which saves building an archive per value.
    """
    import struct

    name = cls._g3_name.encode()
    out = bytearray(b"\x01")
    out += struct.pack("<IQ", 0x80000001, len(name)) + name
    out += struct.pack("<I", 0x80000001)
    for v in cls._g3_write_versions:
        out += struct.pack("<I", v)
    return bytes(out)
