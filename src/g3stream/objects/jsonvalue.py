"""Frame objects in the JSON form of the test vectors (VALUE), and back.

An object becomes ``{"class": ..., "value": ...}`` with a class-specific
payload (each class's ``_json_payload``), or ``None`` for a null pointer.
Shared objects are described as the archive holds them: an object met again
within one archive carries ``ptr_ref`` (its pointer id), and building
objects from JSON turns such a value back into the very same object, so
that encoding it again reproduces the shared pointer.  Frames are described
by ``g3stream.jsonform``, which uses these functions for each entry.
"""

from __future__ import annotations

import contextvars
from typing import Any

from ..cereal import OpaqueFrameObject, lookup_class
from .plain import wrap_value

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


__all__ = ["object_to_json", "object_from_json"]
