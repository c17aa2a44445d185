"""Scalar frame objects: G3Bool, G3Int, G3Double, G3String (FORMAT.md 9.2)."""

from __future__ import annotations

import contextvars
import math
import struct
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..cereal import G3FrameObject, register, register_fixed_blob, scalar_blob_prefix

if TYPE_CHECKING:
    from ..cereal import ArchiveReader, ArchiveWriter


class _Scalar(G3FrameObject):
    """Common behaviour of the single-value wrappers."""

    __slots__ = ("value",)
    value: Any
    _python_type: ClassVar[type] = object

    def __init__(self, value: Any = None) -> None:
        if value is None:
            value = self._python_type()
        elif isinstance(value, _Scalar):
            value = value.value
        self.value = self._python_type(value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Scalar):
            other = other.value
        return bool(self.value == other)

    def __hash__(self) -> int:
        return hash(self.value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value!r})"

    def __str__(self) -> str:
        return str(self.value)

    def _json_payload(self) -> Any:
        return self.value

    @classmethod
    def _from_json_payload(cls, payload: Any) -> Any:
        return cls(payload)


@register(version=1)
class G3Bool(_Scalar):
    """A boolean frame object; frames store Python ``bool`` values as G3Bool."""

    __slots__ = ()
    _python_type = bool

    def __bool__(self) -> bool:
        return self.value

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> G3Bool:
        return cls(r.bool())

    def _g3_write(self, w: ArchiveWriter) -> None:
        w.bool(self.value)

    def _g3_blob(self) -> bytes:
        return _BOOL_BLOBS[bool(self.value)]


@register(version=1)
class G3Int(_Scalar):
    """A signed 64-bit integer frame object; frames store Python ``int`` values as G3Int."""

    __slots__ = ()
    _python_type = int

    def __int__(self) -> int:
        return self.value

    __index__ = __int__

    def __float__(self) -> float:
        return float(self.value)

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> G3Int:
        return cls(r.i64())

    def _g3_write(self, w: ArchiveWriter) -> None:
        w.i64(self.value)

    def _g3_blob(self) -> bytes:
        return _pack_int_blob(_INT_PREFIX, self.value)


@register(version=1)
class G3Double(_Scalar):
    """A binary64 frame object; frames store Python ``float`` values as G3Double."""

    __slots__ = ()
    _python_type = float

    def __float__(self) -> float:
        return self.value

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> G3Double:
        return cls(r.f64())

    def _g3_write(self, w: ArchiveWriter) -> None:
        w.f64(self.value)

    def _g3_blob(self) -> bytes:
        return _pack_double_blob(_DOUBLE_PREFIX, self.value)

    def _json_payload(self) -> Any:
        return json_number(self.value)

    @classmethod
    def _from_json_payload(cls, payload: Any) -> Any:
        return cls(from_json_number(payload))


@register(version=1)
class G3String(_Scalar):
    """A string frame object; frames store Python ``str`` values as G3String."""

    __slots__ = ()
    _python_type = str

    def __str__(self) -> str:
        return self.value

    def Summary(self) -> str:
        """The string in double quotes, as frame listings show it."""
        return f'"{self.value}"'

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> G3String:
        return cls(r.string())

    def _g3_write(self, w: ArchiveWriter) -> None:
        w.string(self.value)

    def _g3_blob(self) -> bytes:
        b = self.value.encode("utf-8", "surrogateescape")
        return _STRING_PREFIX + _pack_u64(len(b)) + b


_INT_PREFIX = scalar_blob_prefix(G3Int)
_DOUBLE_PREFIX = scalar_blob_prefix(G3Double)
_STRING_PREFIX = scalar_blob_prefix(G3String)
# A whole blob from its prefix and value in one call (no concatenation).
_pack_int_blob = struct.Struct(f"<{len(_INT_PREFIX)}sq").pack
_pack_double_blob = struct.Struct(f"<{len(_DOUBLE_PREFIX)}sd").pack
_pack_u64 = struct.Struct("<Q").pack
_BOOL_BLOBS = {
    False: scalar_blob_prefix(G3Bool) + b"\x00",
    True: scalar_blob_prefix(G3Bool) + b"\x01",
}
_unpack_i64 = struct.Struct("<q").unpack_from
_unpack_f64 = struct.Struct("<d").unpack_from


def _fixed(cls: type[_Scalar], value: Any) -> Any:
    obj = cls.__new__(cls)
    obj.value = value
    return obj


register_fixed_blob(_INT_PREFIX, 8, lambda b, at: _fixed(G3Int, _unpack_i64(b, at)[0]))
register_fixed_blob(_DOUBLE_PREFIX, 8, lambda b, at: _fixed(G3Double, _unpack_f64(b, at)[0]))
register_fixed_blob(scalar_blob_prefix(G3Bool), 1, lambda b, at: _fixed(G3Bool, b[at] != 0))


def json_number(v: float) -> float | str:
    """A float in the vectors' JSON notation (NaN and infinities as strings)."""
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


#: True while a JSON encoder that writes numpy arrays itself (orjson) will
#: serialise the values being described: ``json_numbers`` may then return
#: arrays instead of lists.
numpy_arrays_in_json: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "g3stream_numpy_arrays_in_json", default=False
)


def json_numbers(arr: np.ndarray) -> list[Any] | np.ndarray:
    """The values of a 1-D numeric array in the vectors' JSON notation (see ``json_number``).

    A list of Python numbers (strings for non-finite floats); within
    ``numpy_arrays_in_json`` a float64 array with only finite values, or an
    integer array, is returned as a native, contiguous array for the encoder
    to write (float32 is not: an encoder would write its shortest float32
    form, not the float64 value Python writes).
    """
    kind = arr.dtype.kind
    if kind == "f":
        finite = bool(np.isfinite(arr).all())
        if finite and arr.dtype.itemsize == 8 and numpy_arrays_in_json.get():
            return np.ascontiguousarray(arr.astype(np.float64, copy=False))
        values = arr.tolist()
        return values if finite else [json_number(x) for x in values]
    if kind in "iu" and numpy_arrays_in_json.get():
        return np.ascontiguousarray(arr.astype(arr.dtype.newbyteorder("="), copy=False))
    return arr.tolist()


def from_json_number(v: float | int | str) -> float:
    """The float that a JSON NUM denotes."""
    if isinstance(v, str):
        return float(v)
    return float(v)


__all__ = ["G3Bool", "G3Int", "G3Double", "G3String"]
