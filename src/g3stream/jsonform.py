"""Frames and frame objects in the JSON form of the test vectors, and back.

The schema is the FRAME / ENTRY / VALUE notation described with the test
vectors (``schema_version`` 1): a frame becomes its type, byte order, CRC and
entries in on-disk order; an object becomes ``{"class": ..., "value": ...}``
with a class-specific payload (each class's ``_json_payload``), or ``None``
for a null pointer.

Shared objects are described as the archive holds them: an object met again
within one archive carries ``ptr_ref`` (its pointer id), and building
objects from JSON turns such a value back into the very same object, so
that encoding it again reproduces the shared pointer.
"""

from __future__ import annotations

import contextvars
import struct
from typing import TYPE_CHECKING, Any

from .cereal import lookup_class, peek_class_name
from .cereal.archive import POINTER_DIRECT, POINTER_NEW
from .errors import G3FormatError

if TYPE_CHECKING:
    from .frame import G3Frame

# Pointer ids handed out while one archive's objects are being built from JSON.
_ARCHIVE: contextvars.ContextVar[_PointerTable | None] = contextvars.ContextVar(
    "g3stream_json_archive", default=None
)


class _PointerTable:
    __slots__ = ("next_id", "objects")

    def __init__(self) -> None:
        self.next_id = 1
        self.objects: dict[int, Any] = {}


class _SeenTable:
    """Pointer ids of the objects described so far in one archive (by ``id``)."""

    __slots__ = ("next_id", "ids", "keep", "frozen")

    def __init__(self, frozen: bool = False) -> None:
        self.next_id = 1
        self.ids: dict[int, int] = {}
        self.keep: list[Any] = []  # keeps the ids above valid
        self.frozen = frozen


_SEEN: contextvars.ContextVar[_SeenTable | None] = contextvars.ContextVar(
    "g3stream_json_seen", default=None
)


def object_to_json(obj: Any, new_archive: bool = False) -> Any:
    """A frame object (or ``None``, or a plain value a frame would wrap) as a JSON VALUE.

    Objects described while another one is being described belong to the
    same archive unless ``new_archive`` is true (the values of a
    ``G3MapFrameObject``); an object met again in the same archive carries
    ``ptr_ref``, the pointer id under which it was first written.
    """
    if obj is None:
        return None
    table = _SEEN.get()
    if table is None or new_archive:
        token = _SEEN.set(_SeenTable())
        try:
            return _describe(obj)
        finally:
            _SEEN.reset(token)
    return _describe(obj)


def _describe(obj: Any) -> Any:
    from .cereal import OpaqueFrameObject
    from .frame import wrap_value

    obj = wrap_value(obj)
    if isinstance(obj, OpaqueFrameObject):
        return {"class": obj.class_name, "value": None, "opaque": True}
    table = _SEEN.get()
    assert table is not None
    if table.frozen:
        return {"class": obj._g3_name, "value": obj._json_payload()}
    pid = table.ids.get(id(obj))
    if pid is not None:
        # written once already: only its pointer id is in the archive; the
        # value is repeated for convenience, without numbering anything inside
        token = _SEEN.set(_SeenTable(frozen=True))
        try:
            payload = obj._json_payload()
        finally:
            _SEEN.reset(token)
        return {"class": obj._g3_name, "value": payload, "ptr_ref": pid}
    table.ids[id(obj)] = table.next_id
    table.keep.append(obj)
    table.next_id += 1
    return {"class": obj._g3_name, "value": obj._json_payload()}


def object_from_json(value: Any, new_archive: bool = False) -> Any:
    """The frame object a JSON VALUE describes (``None`` for ``null``).

    Objects built while another one is being built belong to the same
    archive (pointer ids are shared) unless ``new_archive`` is true, as for
    the values of a ``G3MapFrameObject``.
    """
    table = _ARCHIVE.get()
    if table is None or new_archive:
        token = _ARCHIVE.set(_PointerTable())
        try:
            return _build(value)
        finally:
            _ARCHIVE.reset(token)
    return _build(value)


def _build(value: Any) -> Any:
    if value is None:
        return None
    table = _ARCHIVE.get()
    assert table is not None
    ref = value.get("ptr_ref")
    if ref is not None and ref in table.objects:
        return table.objects[ref]
    name = value["class"]
    cls: Any = lookup_class(name)
    if cls is None:
        raise KeyError(f"no frame-object class named {name!r}")
    pid = table.next_id
    table.next_id += 1
    obj = cls._from_json_payload(value.get("value"))
    table.objects[pid] = obj
    return obj


def blob_root_version(blob: bytes | bytearray | memoryview) -> int | None:
    """The class version of a blob's root object as stored, or ``None`` if it has none."""
    mv = memoryview(blob)
    if len(mv) < 5 or mv[0] not in (0, 1):
        return None
    order = "<" if mv[0] == 1 else ">"
    u32 = struct.Struct(order + "I")
    pos = 1
    (ident,) = u32.unpack_from(mv, pos)
    pos += 4
    if ident == 0:
        return None
    if ident != POINTER_DIRECT and ident & POINTER_NEW:
        if pos + 8 > len(mv):
            return None
        (n,) = struct.unpack_from(order + "Q", mv, pos)
        pos += 8 + n
    if pos + 8 > len(mv):
        return None
    (pid,) = u32.unpack_from(mv, pos)
    if not pid & POINTER_NEW:
        return None
    (version,) = u32.unpack_from(mv, pos + 4)
    return int(version)


def _container_layout(
    mv: memoryview,
) -> tuple[bool, int, int, list[tuple[int, int, int, int]], int]:
    """Byte order, version, type code, entry spans and CRC of one encoded frame."""
    little = mv[0] == 1
    order = "<" if little else ">"
    version, n, code = struct.unpack_from(order + "IiI", mv, 1)
    u64 = struct.Struct(order + "Q").unpack_from
    pos = 13
    spans = []
    for _ in range(n):
        (nl,) = u64(mv, pos)
        ns = pos + 8
        (bl,) = u64(mv, ns + nl)
        bs = ns + nl + 8
        spans.append((ns, ns + nl, bs, bs + bl))
        pos = bs + bl
    (crc,) = struct.unpack_from(order + "I", mv, pos)
    return little, version, code, spans, crc


def frame_to_json(frame: G3Frame) -> dict[str, Any]:
    """A frame as a JSON FRAME: type, byte order, CRC and its entries in on-disk order.

    A frame that was read keeps its original bytes, so this describes them;
    a frame built in memory is described as it would be written.
    """
    from .frame import G3FrameType

    raw = frame.encoded()
    mv = memoryview(raw)
    little, version, code, spans, crc = _container_layout(mv)
    ftype = G3FrameType(code)
    out: dict[str, Any] = {"type_code": code}
    if ftype.is_standard:
        name = str(ftype)
        out["type"] = "None" if name == "none" else name  # the schema spells it "None"
    else:
        out["type"] = None
        out["adhoc_type"] = ftype.name
    out["endian"] = "little" if little else "big"
    out["version"] = version
    out["crc"] = crc
    entries = []
    seen: set[str] = set()
    for ns, ne, bs, be in spans:
        key = str(mv[ns:ne], "utf-8", "surrogateescape")
        bl = be - bs
        if key in seen:  # a later duplicate is dropped by every reader
            continue
        seen.add(key)
        blob = mv[bs:be]
        try:
            value = object_to_json(frame._object(key))
        except G3FormatError as exc:  # one bad entry must not hide the others
            value = {"class": peek_class_name(blob), "value": None, "error": str(exc)}
        if value is not None:
            # the class named on the wire: a G3SuperTimestream decodes to the
            # G3TimestreamMap it stands for, but is still described as what it is
            wire_name = peek_class_name(blob)
            if wire_name is not None:
                value["class"] = wire_name
            v = blob_root_version(blob)
            if v is not None:
                value["version"] = v
        entries.append(
            {
                "key": key,
                "blob_size": bl,
                "blob_endian": "little" if bl and blob[0] == 1 else "big",
                "value": value,
            }
        )
    out["entries"] = entries
    return out


__all__ = ["frame_to_json", "object_to_json", "object_from_json", "blob_root_version"]
