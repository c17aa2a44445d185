"""Whole blobs: one frame object to the bytes of a complete archive, and back.

A blob is a complete cereal archive holding one polymorphic pointer
(FORMAT.md section 8).  Single-value classes may declare a fixed layout
(:func:`register_fixed_blob`), which decodes without building an archive."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from .._types import Buffer
from ..errors import (
    DecodedSizeError,
    NestingTooDeepError,
    TruncatedFrameError,
    UnknownClassError,
)
from .archive import POINTER_DIRECT, POINTER_NEW, ArchiveReader, ArchiveWriter
from .budget import DecodeBudget
from .classes import lookup_class
from .frameobject import G3FrameObject, OpaqueFrameObject


def peek_class_name(blob: Buffer) -> str | None:
    """The class name a blob's root pointer announces, or ``None`` if it has none."""
    mv = memoryview(blob)
    if len(mv) < 5 or mv[0] not in (0, 1):
        return None
    order = "<" if mv[0] == 1 else ">"
    (ident,) = struct.unpack_from(order + "I", mv, 1)
    if ident in (0, POINTER_DIRECT) or not ident & POINTER_NEW or len(mv) < 13:
        return None
    (n,) = struct.unpack_from(order + "Q", mv, 5)
    if 13 + n > len(mv):
        return None
    return str(mv[13 : 13 + n], "utf-8", "surrogateescape")


# Blobs of single-value classes have a constant prefix and a fixed size:
# size -> (prefix, build the object from the blob and the value's offset).
_FIXED_BLOBS: dict[int, tuple[bytes, Callable[[Buffer, int], Any]]] = {}
_FIXED_BLOB_MAX = 0


def register_fixed_blob(prefix: bytes, value_size: int, make: Callable[[Buffer, int], Any]) -> None:
    """Declare that a blob of ``prefix`` plus ``value_size`` bytes decodes as ``make(blob, len(prefix))``.

    Used by single-value classes, whose little-endian blobs are always that
    prefix followed by the value; any other blob takes the general path.
    """
    global _FIXED_BLOB_MAX
    size = len(prefix) + value_size
    if size in _FIXED_BLOBS:
        raise ValueError(f"two fixed blob layouts of {size} bytes")
    _FIXED_BLOBS[size] = (prefix, make)
    _FIXED_BLOB_MAX = max(_FIXED_BLOB_MAX, size)


def scalar_blob_prefix(cls: type[G3FrameObject]) -> bytes:
    """The bytes a blob whose root is a ``cls`` object starts with, up to its fields.

    For a class whose fields are one fixed-layout value, a whole blob is this
    prefix plus the packed value, which saves building an archive per value.
    """
    name = cls._g3_name.encode()
    out = bytearray(b"\x01")
    out += struct.pack("<IQ", 0x80000001, len(name)) + name
    out += struct.pack("<I", 0x80000001)
    for v in cls._g3_write_versions:
        out += struct.pack("<I", v)
    return bytes(out)


def decode_fixed_blob(blob: Buffer) -> Any:
    """The object a fixed-layout blob holds (see ``register_fixed_blob``), else ``None``.

    Such blobs cost nothing beyond their own bytes: no budget is needed.
    """
    if len(blob) <= _FIXED_BLOB_MAX:
        fixed = _FIXED_BLOBS.get(len(blob))
        if fixed is not None:
            prefix, make = fixed
            if blob[: len(prefix)] == prefix:
                return make(blob, len(prefix))
    return None


def decode_object(
    blob: Buffer, base_offset: int = 0, budget: DecodeBudget | None = None, depth: int = 0
) -> Any:
    """Decode a complete archive holding one frame-object pointer.

    A blob naming a class this package does not know becomes an
    ``OpaqueFrameObject`` that keeps the bytes; other problems raise
    ``G3FormatError`` subclasses with absolute offsets.  ``budget`` is the
    frame's decoded-size account (a fresh default one when not given: see
    :mod:`g3stream.cereal.budget`); a blob that would exceed it raises
    ``DecodedSizeError``, and one nested too deeply ``NestingTooDeepError``.
    ``depth`` is the nesting depth of the object this blob is nested in.
    Bytes charged by a decode that fails are given back to the budget.
    """
    if len(blob) <= _FIXED_BLOB_MAX:
        fixed = _FIXED_BLOBS.get(len(blob))
        if fixed is not None:
            prefix, make = fixed
            if blob[: len(prefix)] == prefix:
                return make(blob, len(prefix))
    if budget is None:
        budget = DecodeBudget()
    used = budget.used
    reader = ArchiveReader(blob, 0, None, base_offset, budget, depth)
    try:
        return reader.pointer()
    except UnknownClassError:
        budget.used = used
        name = peek_class_name(blob)
        if name is None or lookup_class(name) is not None:
            raise
        return OpaqueFrameObject(name, bytes(blob))
    except (struct.error, IndexError) as exc:  # defensive: never leak low-level errors
        budget.used = used
        raise TruncatedFrameError(
            f"object data ended early ({exc})", base_offset + reader.pos
        ) from None
    except RecursionError:  # Python's own limit, met before ours (a deep caller)
        budget.used = used
        raise NestingTooDeepError(
            "frame objects nested too deeply for the Python stack", base_offset + reader.pos
        ) from None
    except MemoryError:
        budget.used = used
        raise DecodedSizeError(
            "the system refused the memory this object needs "
            "(lower max_decoded_size to fail earlier)",
            base_offset + reader.pos,
        ) from None
    except BaseException:
        budget.used = used
        raise


def encode_object(obj: G3FrameObject | None) -> list[Buffer]:
    """Encode ``obj`` as a complete archive; returns buffers to be written in order."""
    fast = getattr(obj, "_g3_blob", None)
    if fast is not None:  # single-value classes and opaque objects
        return [fast()]
    writer = ArchiveWriter()
    writer.pointer(obj)
    return writer.buffers()


def encode_object_bytes(obj: G3FrameObject | None) -> bytes:
    """Encode ``obj`` as one bytes object."""
    return b"".join(encode_object(obj))


__all__ = [
    "peek_class_name",
    "register_fixed_blob",
    "scalar_blob_prefix",
    "decode_object",
    "decode_fixed_blob",
    "encode_object",
    "encode_object_bytes",
]
