"""Map frame objects: every ``G3Map*`` class (FORMAT.md sections 9.5 to 9.7).

Each map is a dictionary from strings to values of one kind.  Like the
reference's ``std::map`` it iterates its keys in ascending order of their
UTF-8 bytes, which is also the order in which they are written.  Values of
the vector and map kinds are frame objects themselves (``G3VectorDouble``,
``G3MapDouble``...), so changing them in place changes the map.

``G3MapFrameObject`` stores every value as a complete nested archive; values
of classes this package does not know are kept as ``OpaqueFrameObject`` and
written back byte for byte.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from operator import index as _as_index
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..cereal import (
    ArchiveWriter,
    G3FrameObject,
    OpaqueFrameObject,
    decode_object,
    encode_object,
    register,
)
from ..errors import InvalidLengthError, TruncatedFrameError, UnknownTypeCodeError
from .jsonvalue import object_from_json, object_to_json
from .plain import wrap_value
from .quat import Quat, quat_from_json, quat_json, read_quat, write_quat
from .scalars import from_json_number, json_number
from .time import G3Time, read_time_by_value, write_time_by_value
from .vectors import (
    SUMMARY_LIMIT,
    BoolVector,
    ComplexDoubleVector,
    DoubleVector,
    G3VectorQuat,
    G3VectorTime,
    G3VectorVectorString,
    Int64Vector,
    StringVector,
    format_double,
    read_bool_array,
    read_by_value,
    read_int_array,
    same_value,
    store_bits,
    write_by_value,
    write_int_array,
)

if TYPE_CHECKING:
    from ..cereal import ArchiveReader, ArchiveWriter

_I64_MIN = -(1 << 63)
_I64_MAX = (1 << 63) - 1


def key_bytes(key: str) -> bytes:
    """The raw bytes of a key, which define the order of map entries."""
    return key.encode("utf-8", "surrogateescape")


class G3Map(G3FrameObject, MutableMapping):  # type: ignore[type-arg]
    """Common behaviour of the ``G3Map*`` classes: a dict with byte-ordered keys.

    Built from a mapping, from ``(key, value)`` pairs, or empty.  Subclasses
    say how one value is converted, read, written and shown.
    """

    __slots__ = ("_d", "_order")
    #: Fewest bytes one stored value can take (to reject hostile counts early).
    _value_min_size: ClassVar[int] = 1

    def __init__(self, items: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None) -> None:
        self._d: dict[str, Any] = {}
        self._order: list[str] | None = None
        if items is not None:
            pairs = items.items() if isinstance(items, Mapping) else items
            for k, v in pairs:
                self[k] = v

    # -- hooks ---------------------------------------------------------------
    @classmethod
    def _coerce(cls, value: Any) -> Any:
        return value

    @classmethod
    def _read_value(cls, r: ArchiveReader) -> Any:
        raise NotImplementedError

    @classmethod
    def _write_value(cls, w: ArchiveWriter, value: Any) -> None:
        raise NotImplementedError

    @classmethod
    def _value_json(cls, value: Any) -> Any:
        return value

    @classmethod
    def _value_from_json(cls, payload: Any) -> Any:
        return payload

    @classmethod
    def _format_value(cls, value: Any) -> str:
        if isinstance(value, G3FrameObject):
            return value.Description()
        return str(value)

    @classmethod
    def _from_dict(cls, d: dict[str, Any]) -> Any:
        obj = cls.__new__(cls)
        obj._d = d
        obj._order = None
        return obj

    # -- mapping protocol --------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        return self._d[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"{type(self).__name__} keys are strings, not {type(key).__name__}")
        v = self._coerce(value)
        if key not in self._d:
            self._order = None
        self._d[key] = v

    def __delitem__(self, key: str) -> None:
        del self._d[key]
        self._order = None

    def _keys_sorted(self) -> list[str]:
        order = self._order
        if order is None:
            order = sorted(self._d, key=key_bytes)
            self._order = order
        return order

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._keys_sorted()))

    def __len__(self) -> int:
        return len(self._d)

    def __contains__(self, key: object) -> bool:
        return key in self._d

    def __eq__(self, other: object) -> bool:
        if isinstance(other, G3Map):
            if type(other) is not type(self):
                return False
            other = other._d
        if not isinstance(other, Mapping):
            return NotImplemented
        if len(other) != len(self._d):
            return False
        for k, v in self._d.items():
            if k not in other or not same_value(v, other[k]):
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    def copy(self) -> Any:
        """A shallow copy."""
        return type(self)._from_dict(dict(self._d))

    def __copy__(self) -> Any:
        return self.copy()

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), ([(k, self._d[k]) for k in self._keys_sorted()],))

    # -- display -------------------------------------------------------------
    def Summary(self) -> str:
        """The keys as ``{a, b, }`` for small maps, else ``N elements``."""
        if len(self._d) >= SUMMARY_LIMIT:
            return f"{len(self._d)} elements"
        return self.Description()

    def Description(self) -> str:
        """The keys, as ``{a, b, }`` (like the reference)."""
        return "{" + "".join(f"{k}, " for k in self._keys_sorted()) + "}"

    def __str__(self) -> str:
        return self.Summary()

    def __repr__(self) -> str:
        body = ", ".join(f"{k}: {self._format_value(self._d[k])}" for k in self._keys_sorted())
        return f"{type(self).__name__}({{{body}}})"

    # -- codec ----------------------------------------------------------------
    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> Any:
        n = r.size(8 + cls._value_min_size)
        d: dict[str, Any] = {}
        for _ in range(n):
            k = r.string()
            v = cls._read_value(r)
            d.setdefault(k, v)  # std::map keeps the first of duplicate keys
        return cls._from_dict(d)

    def _g3_write(self, w: ArchiveWriter) -> None:
        d = self._d
        w.size(len(d))
        for k in self._keys_sorted():
            w.string(k)
            self._write_value(w, d[k])

    def _json_payload(self) -> Any:
        return [[k, self._value_json(self._d[k])] for k in self._keys_sorted()]

    @classmethod
    def _from_json_payload(cls, payload: Any) -> Any:
        return cls._from_dict({k: cls._value_from_json(v) for k, v in payload})


_INT_CODES = {8: "b", 16: "h", 32: "i", 64: "q"}


def read_keyed_scalars(r: ArchiveReader, n: int, code: str) -> dict[str, Any]:
    """``n`` (string key, fixed-size scalar) items, in one tight loop; the first duplicate wins."""
    buf, pos, end = r.buf, r.pos, r.end
    order = "<" if r.little else ">"
    unpack_size = struct.Struct(order + "Q").unpack_from
    value = struct.Struct(order + code)
    unpack_value, width = value.unpack_from, value.size
    d: dict[str, Any] = {}
    for _ in range(n):
        if pos + 8 > end:
            raise TruncatedFrameError("a map key runs past the end", r.base_offset + pos)
        (size,) = unpack_size(buf, pos)
        pos += 8
        if size > end - pos:
            raise InvalidLengthError(
                f"map key of {size} bytes, only {end - pos} left", r.base_offset + pos - 8
            )
        key = str(buf[pos : pos + size], "utf-8", "surrogateescape")
        pos += size
        if pos + width > end:
            raise TruncatedFrameError("a map value runs past the end", r.base_offset + pos)
        if key not in d:
            d[key] = unpack_value(buf, pos)[0]
        pos += width
    r.pos = pos
    return d


def write_keyed_scalars(w: ArchiveWriter, keys: list[str], values: list[Any], code: str) -> None:
    """Write (string key, fixed-size scalar) items back to back, in one buffer."""
    order = "<" if w.little else ">"
    pack_size = struct.Struct(order + "Q").pack
    pack_value = struct.Struct(order + code).pack
    parts: list[bytes] = []
    for k, v in zip(keys, values, strict=True):
        b = k.encode("utf-8", "surrogateescape")
        parts.append(pack_size(len(b)))
        parts.append(b)
        parts.append(pack_value(v))
    if parts:
        w.raw(b"".join(parts))


@register(version=1)
class G3MapDouble(G3Map):
    """A map from strings to floats."""

    __slots__ = ()
    _value_min_size = 8

    @classmethod
    def _coerce(cls, value: Any) -> float:
        return float(value)

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> G3MapDouble:
        return cls._from_dict(read_keyed_scalars(r, r.size(16), "d"))

    def _g3_write(self, w: ArchiveWriter) -> None:
        keys = self._keys_sorted()
        w.size(len(keys))
        write_keyed_scalars(w, keys, [self._d[k] for k in keys], "d")

    @classmethod
    def _read_value(cls, r: ArchiveReader) -> float:
        return r.f64()

    @classmethod
    def _write_value(cls, w: ArchiveWriter, value: Any) -> None:
        w.f64(value)

    @classmethod
    def _value_json(cls, value: Any) -> Any:
        return json_number(value)

    @classmethod
    def _value_from_json(cls, payload: Any) -> Any:
        return from_json_number(payload)

    @classmethod
    def _format_value(cls, value: Any) -> str:
        return format_double(value)


@register(version=2)
class G3MapInt(G3Map):
    """A map from strings to signed 64-bit integers.

    Written as version 2 (one integer width for the whole map); version 1
    (32-bit values) is read too.
    """

    __slots__ = ()

    @classmethod
    def _coerce(cls, value: Any) -> int:
        v = _as_index(value)
        if not _I64_MIN <= v <= _I64_MAX:
            raise OverflowError(f"{v} does not fit in a signed 64-bit integer")
        return v

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> G3MapInt:
        if version < 2:
            code = "i"
        else:
            p = r.offset()
            bits = r.i32()
            if bits not in _INT_CODES:
                raise UnknownTypeCodeError(f"integer width {bits} is not 8, 16, 32 or 64", p)
            code = _INT_CODES[bits]
        n = r.size(8 + struct.calcsize(code))
        return cls._from_dict(read_keyed_scalars(r, n, code))

    def _g3_write(self, w: ArchiveWriter) -> None:
        keys = self._keys_sorted()
        values = np.array([self._d[k] for k in keys], dtype=np.int64)
        bits = store_bits(values)
        w.i32(bits)
        w.size(len(keys))
        write_keyed_scalars(w, keys, values.tolist(), _INT_CODES[bits])

    @classmethod
    def _format_value(cls, value: Any) -> str:
        return str(value)


@register(version=1)
class G3MapString(G3Map):
    """A map from strings to strings."""

    __slots__ = ()
    _value_min_size = 8

    @classmethod
    def _coerce(cls, value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(f"G3MapString holds strings, not {type(value).__name__}")
        return value

    @classmethod
    def _read_value(cls, r: ArchiveReader) -> str:
        return r.string()

    @classmethod
    def _write_value(cls, w: ArchiveWriter, value: Any) -> None:
        w.string(value)


class _PlainVectorMap(G3Map):
    """Maps whose values are plain ``std::vector``s (no class version on the wire)."""

    __slots__ = ()
    _value_min_size = 8
    _vector: ClassVar[Any] = DoubleVector

    @classmethod
    def _coerce(cls, value: Any) -> Any:
        return value if type(value) is cls._vector else cls._vector(value)

    @classmethod
    def _read_value(cls, r: ArchiveReader) -> Any:
        vec = cls._vector
        return vec._wrap(r.array(vec._dtype.str[1:]))

    @classmethod
    def _write_value(cls, w: ArchiveWriter, value: Any) -> None:
        vec = cls._vector
        w.array(value._view(), vec._dtype.str[1:])

    @classmethod
    def _value_json(cls, value: Any) -> Any:
        return value._json_payload()

    @classmethod
    def _value_from_json(cls, payload: Any) -> Any:
        return cls._vector._from_json_payload(payload)


@register(version=1)
class G3MapVectorDouble(_PlainVectorMap):
    """A map from strings to vectors of floats (values are DoubleVector, as in spt3g)."""

    __slots__ = ()
    _vector = DoubleVector


@register(version=1)
class G3MapVectorComplexDouble(_PlainVectorMap):
    """A map from strings to vectors of complex numbers (values are ComplexDoubleVector)."""

    __slots__ = ()
    _vector = ComplexDoubleVector


@register(version=1)
class G3MapVectorBool(_PlainVectorMap):
    """A map from strings to vectors of booleans (values are BoolVector, as in spt3g)."""

    __slots__ = ()
    _vector = BoolVector

    @classmethod
    def _read_value(cls, r: ArchiveReader) -> Any:
        return BoolVector._wrap(read_bool_array(r))

    @classmethod
    def _write_value(cls, w: ArchiveWriter, value: Any) -> None:
        w.array(value._view().view(np.uint8), "u1")


@register(version=1)
class G3MapVectorString(_PlainVectorMap):
    """A map from strings to vectors of strings (values are StringVector, as in spt3g)."""

    __slots__ = ()
    _vector = StringVector

    @classmethod
    def _read_value(cls, r: ArchiveReader) -> Any:
        return StringVector._g3_read(r, 1)

    @classmethod
    def _write_value(cls, w: ArchiveWriter, value: Any) -> None:
        value._g3_write(w)


@register(version=2)
class G3MapVectorInt(G3Map):
    """A map from strings to vectors of integers (values are Int64Vector, as in spt3g).

    Version 2 (written) has a 32-bit entry count and an integer width per
    entry; version 1 (32-bit values, standard map layout) is read too.
    """

    __slots__ = ()

    @classmethod
    def _coerce(cls, value: Any) -> Int64Vector:
        return value if type(value) is Int64Vector else Int64Vector(value)

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> G3MapVectorInt:
        if version < 2:
            n = r.size(16)
        else:
            n = r.count32(20)
        d: dict[str, Any] = {}
        for _ in range(n):
            k = r.string()
            d.setdefault(k, Int64Vector._wrap(read_int_array(r, version)))
        return cls._from_dict(d)

    def _g3_write(self, w: ArchiveWriter) -> None:
        keys = self._keys_sorted()
        w.u32(len(keys))
        for k in keys:
            w.string(k)
            write_int_array(w, self._d[k]._view())

    @classmethod
    def _value_json(cls, value: Any) -> Any:
        return value._json_payload()

    @classmethod
    def _value_from_json(cls, payload: Any) -> Any:
        return Int64Vector._from_json_payload(payload)


class _ByValueMap(G3Map):
    """Maps whose values are frame objects stored inline, by value."""

    __slots__ = ()
    _value_min_size = 8
    _value_class: ClassVar[Any] = G3VectorTime

    @classmethod
    def _coerce(cls, value: Any) -> Any:
        vc = cls._value_class
        return value if type(value) is vc else vc(value)

    @classmethod
    def _read_value(cls, r: ArchiveReader) -> Any:
        return read_by_value(r, cls._value_class)

    @classmethod
    def _write_value(cls, w: ArchiveWriter, value: Any) -> None:
        write_by_value(w, value)

    @classmethod
    def _value_json(cls, value: Any) -> Any:
        return value._json_payload()

    @classmethod
    def _value_from_json(cls, payload: Any) -> Any:
        return cls._value_class._from_json_payload(payload)


@register(version=1)
class G3MapMapDouble(_ByValueMap):
    """A map from strings to G3MapDouble."""

    __slots__ = ()
    _value_class = G3MapDouble

    @classmethod
    def _format_value(cls, value: Any) -> str:
        return repr(value)


@register(version=1)
class G3MapVectorTime(_ByValueMap):
    """A map from strings to G3VectorTime."""

    __slots__ = ()
    _value_class = G3VectorTime


@register(version=1)
class G3MapVectorVectorString(_ByValueMap):
    """A map from strings to G3VectorVectorString."""

    __slots__ = ()
    _value_class = G3VectorVectorString


@register(version=1)
class G3MapVectorQuat(_ByValueMap):
    """A map from strings to G3VectorQuat."""

    __slots__ = ()
    _value_class = G3VectorQuat


@register(version=1)
class G3MapTime(G3Map):
    """A map from strings to G3Time."""

    __slots__ = ()
    _value_min_size = 8

    @classmethod
    def _coerce(cls, value: Any) -> G3Time:
        return value if isinstance(value, G3Time) else G3Time(value)

    @classmethod
    def _read_value(cls, r: ArchiveReader) -> G3Time:
        return read_time_by_value(r)

    @classmethod
    def _write_value(cls, w: ArchiveWriter, value: Any) -> None:
        write_time_by_value(w, value)

    @classmethod
    def _value_json(cls, value: Any) -> Any:
        return value.time

    @classmethod
    def _value_from_json(cls, payload: Any) -> Any:
        return G3Time(int(payload))


@register(version=1)
class G3MapQuat(G3Map):
    """A map from strings to ``Quat``."""

    __slots__ = ()
    _value_min_size = 32

    @classmethod
    def _coerce(cls, value: Any) -> Quat:
        if isinstance(value, Quat):
            return value
        q = getattr(value, "value", None)  # a G3Quat
        if isinstance(q, Quat):
            return q
        return Quat(*value)

    @classmethod
    def _read_value(cls, r: ArchiveReader) -> Quat:
        return read_quat(r)

    @classmethod
    def _write_value(cls, w: ArchiveWriter, value: Any) -> None:
        write_quat(w, value)

    @classmethod
    def _value_json(cls, value: Any) -> Any:
        return quat_json(value)

    @classmethod
    def _value_from_json(cls, payload: Any) -> Any:
        return quat_from_json(payload)


@register(version=1)
class G3MapFrameObject(G3Map):
    """A map from strings to frame objects (or ``None``), each a nested archive.

    Plain ``bool``/``int``/``float``/``str`` values are wrapped as in a frame.
    """

    __slots__ = ()

    @classmethod
    def _coerce(cls, value: Any) -> Any:
        if value is None or isinstance(value, G3FrameObject):
            return value

        return wrap_value(value)

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> Any:
        return cls._from_dict(read_nested_archives(r))

    def _g3_write(self, w: ArchiveWriter) -> None:
        write_nested_archives(w, self._d, self._keys_sorted())

    def Summary(self) -> str:
        """``N elements``, like the reference."""
        return f"{len(self._d)} elements"

    def Description(self) -> str:
        """Keys and value summaries, as ``{a: 1, b: [1, 2], }``."""
        parts = "".join(f"{k}: {_summary(self._d[k])}, " for k in self._keys_sorted())
        return "{" + parts + "}"

    def __str__(self) -> str:
        return self.Summary()

    @classmethod
    def _format_value(cls, value: Any) -> str:
        return _summary(value)

    @classmethod
    def _value_json(cls, value: Any) -> Any:

        return object_to_json(value, new_archive=True)

    @classmethod
    def _value_from_json(cls, payload: Any) -> Any:

        return object_from_json(payload, new_archive=True)


def _summary(value: Any) -> str:
    return "NULL" if value is None else value.Summary()


def read_nested_archives(r: ArchiveReader) -> dict[str, Any]:
    """A u32 count, then (key, size, complete nested archive) entries (FORMAT.md 9.7)."""
    n = r.count32(17)
    d: dict[str, Any] = {}
    for _ in range(n):
        k = r.string()
        size = r.size()
        start = r.pos
        blob = r.raw(size)
        try:
            value = decode_object(blob, r.base_offset + start, r.budget, r.depth)
        except RecursionError:
            raise InvalidLengthError(
                "nested archives nested too deeply", r.base_offset + start
            ) from None
        d.setdefault(k, value)
    return d


def _encode_big_endian(obj: Any) -> list[Any]:
    if isinstance(obj, OpaqueFrameObject):
        return [obj.blob]
    sub = ArchiveWriter(little=False)
    sub.pointer(obj)
    return sub.buffers()


def write_nested_archives(w: ArchiveWriter, d: Mapping[str, Any], keys: Iterable[str]) -> None:
    """Write ``d``'s values as nested archives in the given key order, after a u32 count.

    Nested archives take the byte order of the archive that holds them.
    """
    w.u32(len(d))
    for k in keys:
        w.string(k)
        parts = encode_object(d[k]) if w.little else _encode_big_endian(d[k])
        w.size(sum(p.nbytes if isinstance(p, memoryview) else len(p) for p in parts))
        for p in parts:
            w.raw(p)


__all__ = [
    "G3MapDouble",
    "G3MapInt",
    "G3MapString",
    "G3MapVectorDouble",
    "G3MapVectorInt",
    "G3MapVectorBool",
    "G3MapVectorString",
    "G3MapVectorComplexDouble",
    "G3MapMapDouble",
    "G3MapTime",
    "G3MapVectorTime",
    "G3MapVectorVectorString",
    "G3MapQuat",
    "G3MapVectorQuat",
    "G3MapFrameObject",
]
