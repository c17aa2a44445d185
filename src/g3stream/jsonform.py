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

import struct
from typing import Any

from .cereal import peek_class_name
from .cereal.archive import POINTER_DIRECT, POINTER_NEW
from .errors import G3FormatError
from .frame import G3Frame
from .frametype import G3FrameType
from .objects.jsonvalue import object_from_json, object_to_json
from .objects.scalars import numpy_arrays_in_json


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


def frame_to_json(frame: G3Frame, numpy_arrays: bool = False) -> dict[str, Any]:
    """A frame as a JSON FRAME: type, byte order, CRC and its entries in on-disk order.

    A frame that was read keeps its original bytes, so this describes them;
    a frame built in memory is described as it would be written.  With
    ``numpy_arrays`` true, long runs of finite float64 or integer values may
    be numpy arrays instead of lists, for an encoder that writes arrays
    itself (orjson's ``OPT_SERIALIZE_NUMPY``).
    """
    if numpy_arrays:
        token = numpy_arrays_in_json.set(True)
        try:
            return _frame_to_json(frame)
        finally:
            numpy_arrays_in_json.reset(token)
    return _frame_to_json(frame)


def _frame_to_json(frame: G3Frame) -> dict[str, Any]:
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
