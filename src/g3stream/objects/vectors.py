"""Vector frame objects: every ``G3Vector*`` class (FORMAT.md sections 9.3 and 9.4).

Numeric vectors (doubles, integers, booleans, complex numbers, bytes, times
and quaternions) keep their elements in one numpy array.  ``numpy.asarray``
on such a vector gives that array without a copy, and a vector decoded from
a blob is a view into the blob's bytes: nothing is copied until the vector
is changed (the view is read-only, so the original blob stays intact).

The other vectors (strings, vectors of strings, frame objects) keep a Python
list.  Every vector behaves like a Python list: ``len``, indexing and
slicing, iteration, ``append``/``extend``/``insert``/``pop``, ``==``.
"""

from __future__ import annotations

import base64
import math
import operator
import struct
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..cereal import G3FrameObject, OpaqueFrameObject, register
from ..errors import InvalidLengthError, TruncatedFrameError, UnknownTypeCodeError
from .jsonvalue import object_from_json, object_to_json
from .plain import wrap_value
from .quat import Quat, quat_from_json, quat_json
from .scalars import from_json_number, json_number
from .time import G3Time

if TYPE_CHECKING:
    from ..cereal import ArchiveReader, ArchiveWriter

#: Vectors with at least this many elements print as "N elements".
SUMMARY_LIMIT = 5


def format_double(x: float) -> str:
    """A float the way a C++ stream prints it by default (``%g``, 6 digits, ``-nan``)."""
    if x != x and math.copysign(1.0, x) < 0:
        return "-nan"
    return f"{x:g}"


def store_bits(values: np.ndarray) -> int:
    """The integer width (8, 16, 32 or 64) the reference uses for ``values`` (FORMAT.md 9.4)."""
    if values.size == 0:
        return 8
    hi = int(values.max())
    lo = int(values.min())
    sig = max(hi.bit_length() if hi > 0 else 0, (~lo).bit_length() if lo < 0 else 0) + 1
    bits = 8
    while bits < sig:
        bits *= 2
    return min(bits, 64)


def read_by_value(r: ArchiveReader, cls: Any) -> Any:
    """Read an object of class ``cls`` stored inline (versions on first use, then fields)."""
    version = r.begin(cls._g3_chain)
    return cls._g3_read(r, version)


def write_by_value(w: ArchiveWriter, obj: Any) -> None:
    """Store ``obj`` inline (versions on first use of its classes, then its fields)."""
    w.begin(obj._g3_chain, obj._g3_write_versions)
    obj._g3_write(w)


def array_to_json(arr: np.ndarray, dtype: str) -> dict[str, Any]:
    """An ARRAY of the vectors' JSON notation for a 1-D array."""
    if dtype == "uint8":
        return {"dtype": "uint8", "base64": base64.b64encode(arr.tobytes()).decode("ascii")}
    if dtype in ("float64", "float32"):
        values: list[Any] = [json_number(x) for x in arr.tolist()]
    elif dtype == "complex128":
        values = [[json_number(z.real), json_number(z.imag)] for z in arr.tolist()]
    elif dtype == "bool":
        values = [bool(x) for x in arr.tolist()]
    else:
        values = [int(x) for x in arr.tolist()]
    return {"dtype": dtype, "values": values}


def array_from_json(payload: dict[str, Any]) -> np.ndarray:
    """The numpy array an ARRAY of the vectors' JSON notation denotes."""
    dtype = payload["dtype"]
    if dtype == "uint8":
        return np.frombuffer(base64.b64decode(payload["base64"]), dtype=np.uint8).copy()
    values = payload["values"]
    if dtype in ("float64", "float32"):
        return np.array([from_json_number(x) for x in values], dtype=dtype)
    if dtype == "complex128":
        return np.array(
            [complex(from_json_number(re), from_json_number(im)) for re, im in values],
            dtype=np.complex128,
        )
    return np.array(values, dtype=dtype)


_U64 = {True: struct.Struct("<Q"), False: struct.Struct(">Q")}


def read_strings(r: ArchiveReader, n: int) -> list[str]:
    """``n`` cereal strings in a row (size tag + UTF-8 bytes each), in one tight loop."""
    buf, pos, end = r.buf, r.pos, r.end
    unpack = _U64[r.little].unpack_from
    out: list[str] = []
    append = out.append
    for _ in range(n):
        if pos + 8 > end:
            raise TruncatedFrameError("a string length runs past the end", r.base_offset + pos)
        (size,) = unpack(buf, pos)
        pos += 8
        if size > end - pos:
            raise InvalidLengthError(
                f"string of {size} bytes, only {end - pos} left", r.base_offset + pos - 8
            )
        append(str(buf[pos : pos + size], "utf-8", "surrogateescape"))
        pos += size
    r.pos = pos
    return out


def write_strings(w: ArchiveWriter, items: Iterable[str]) -> None:
    """Write cereal strings back to back (no count), in one buffer."""
    pack = _U64[w.little].pack
    parts: list[bytes] = []
    for s in items:
        b = s.encode("utf-8", "surrogateescape")
        parts.append(pack(len(b)))
        parts.append(b)
    if parts:
        w.raw(b"".join(parts))


# --------------------------------------------------------------------------
# numpy-backed vectors


class NumericVector(G3FrameObject):
    """Common behaviour of the vectors whose elements live in one numpy array.

    Storage is ``_arr[:_n]``: ``_arr`` may be longer than the vector (room to
    append) and may be a read-only view of the bytes the vector was decoded
    from, in which case it is copied before the first change.
    """

    __slots__ = ("_arr", "_n")
    _dtype: ClassVar[np.dtype] = np.dtype(np.float64)
    _tail: ClassVar[tuple[int, ...]] = ()
    _json_dtype: ClassVar[str] = "float64"

    def __init__(self, values: Any = None) -> None:
        if values is None:
            arr = np.empty((0, *self._tail), dtype=self._dtype)
        else:
            arr = self._coerce_many(values)
        self._arr = arr
        self._n = arr.shape[0]

    # -- conversion hooks -------------------------------------------------
    @classmethod
    def _coerce_many(cls, values: Any) -> np.ndarray:
        """A new array (never aliasing ``values``) holding the given elements."""
        if isinstance(values, NumericVector):
            src: Any = values._view()
        elif isinstance(values, np.ndarray):
            src = values
        elif hasattr(values, "__array__") or hasattr(values, "__array_interface__"):
            src = np.asarray(values)
        else:
            src = [cls._coerce_one(v) for v in values]
        arr = np.array(src, dtype=cls._dtype)
        if arr.ndim == 0 or arr.shape[1:] != cls._tail:
            if arr.size == 0:
                return np.empty((0, *cls._tail), dtype=cls._dtype)
            raise ValueError(
                f"{cls.__name__} needs elements of shape {cls._tail}, got an array of shape {arr.shape}"
            )
        return arr

    @classmethod
    def _coerce_one(cls, v: Any) -> Any:
        return v

    def _element(self, raw: Any) -> Any:
        return raw.item()

    def _format_element(self, v: Any) -> str:
        return str(v)

    @classmethod
    def _wrap(cls, arr: np.ndarray) -> Any:
        """A vector that uses ``arr`` as its storage, without copying it."""
        obj = cls.__new__(cls)
        obj._arr = arr
        obj._n = arr.shape[0]
        return obj

    # -- storage ------------------------------------------------------------
    def _view(self) -> np.ndarray:
        return self._arr[: self._n]

    def _reserve(self, extra: int) -> None:
        """Make the storage writable and big enough for ``extra`` more elements."""
        need = self._n + extra
        arr = self._arr
        if arr.flags.writeable and arr.shape[0] >= need and arr.base is None:
            return
        cap = max(need, 2 * self._n, 4) if extra else need
        new = np.empty((cap, *self._tail), dtype=self._dtype)
        new[: self._n] = arr[: self._n]
        self._arr = new

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        view = self._view()
        if dtype is not None and np.dtype(dtype) != view.dtype:
            if copy is False:
                raise ValueError(f"{type(self).__name__} holds {view.dtype}, not {dtype}")
            return view.astype(dtype)
        if copy:
            return view.copy()
        return view

    # -- list protocol -------------------------------------------------------
    def __len__(self) -> int:
        return self._n

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return type(self)._wrap(self._view()[index].copy())
        return self._element(self._view()[index])

    def __setitem__(self, index: Any, value: Any) -> None:
        self._reserve(0)
        if isinstance(index, slice):
            self._view()[index] = self._coerce_many(value)
        else:
            self._view()[index] = self._coerce_one(value)

    def __delitem__(self, index: Any) -> None:
        keep = np.delete(self._view(), index, axis=0)
        self._arr = keep
        self._n = keep.shape[0]

    def __iter__(self) -> Iterator[Any]:
        view = self._view()
        for i in range(self._n):
            yield self._element(view[i])

    def __contains__(self, value: Any) -> bool:
        return any(v == value for v in self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, NumericVector):
            if type(other) is not type(self):
                return False
            b = other._view()
        elif isinstance(other, list | tuple | np.ndarray):
            try:
                b = self._coerce_many(other)
            except (TypeError, ValueError, OverflowError):
                return False
        else:
            return NotImplemented
        a = self._view()
        return a.shape == b.shape and bool(np.array_equal(a, b))

    __hash__ = None  # type: ignore[assignment]

    def append(self, value: Any) -> None:
        """Add one element at the end."""
        v = self._coerce_one(value)
        self._reserve(1)
        self._arr[self._n] = v
        self._n += 1

    def extend(self, values: Iterable[Any]) -> None:
        """Add every element of ``values`` at the end."""
        new = self._coerce_many(values)
        k = new.shape[0]
        self._reserve(k)
        self._arr[self._n : self._n + k] = new
        self._n += k

    def insert(self, index: int, value: Any) -> None:
        """Insert one element before position ``index``."""
        n = self._n
        if index < 0:
            index = max(n + index, 0)
        index = min(index, n)
        v = self._coerce_one(value)
        self._reserve(1)
        arr = self._arr
        arr[index + 1 : n + 1] = arr[index:n].copy()
        arr[index] = v
        self._n = n + 1

    def pop(self, index: int = -1) -> Any:
        """Remove and return the element at ``index`` (the last by default)."""
        if not self._n:
            raise IndexError("pop from an empty vector")
        value = self[index]
        del self[index]
        return value

    def remove(self, value: Any) -> None:
        """Remove the first element equal to ``value``."""
        for i, v in enumerate(self):
            if v == value:
                del self[i]
                return
        raise ValueError(f"{value!r} is not in the vector")

    def clear(self) -> None:
        """Remove every element."""
        self._arr = np.empty((0, *self._tail), dtype=self._dtype)
        self._n = 0

    def count(self, value: Any) -> int:
        """How many elements equal ``value``."""
        return sum(1 for v in self if v == value)

    def index(self, value: Any) -> int:
        """Position of the first element equal to ``value``."""
        for i, v in enumerate(self):
            if v == value:
                return i
        raise ValueError(f"{value!r} is not in the vector")

    def copy(self) -> Any:
        """An independent copy."""
        return type(self)._wrap(self._view().copy())

    def __copy__(self) -> Any:
        return self.copy()

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return self.copy()

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self._view().copy(),))

    # -- numpy-style reductions (as spt3g offers) ---------------------------
    def sum(self) -> Any:
        """Sum of the elements."""
        return self._view().sum().item()

    def mean(self) -> Any:
        """Mean of the elements."""
        return self._view().mean().item()

    def min(self) -> Any:
        """Smallest element."""
        return self._view().min().item()

    def max(self) -> Any:
        """Largest element."""
        return self._view().max().item()

    def std(self) -> Any:
        """Standard deviation of the elements."""
        return self._view().std().item()

    def var(self) -> Any:
        """Variance of the elements."""
        return self._view().var().item()

    def argmin(self) -> int:
        """Position of the smallest element."""
        return int(self._view().argmin())

    def argmax(self) -> int:
        """Position of the largest element."""
        return int(self._view().argmax())

    def any(self) -> bool:
        """Whether any element is true."""
        return bool(self._view().any())

    def all(self) -> bool:
        """Whether every element is true."""
        return bool(self._view().all())

    # -- display ---------------------------------------------------------------
    def Description(self) -> str:
        """Every element, as ``[a, b, c]``."""
        return "[" + ", ".join(self._format_element(v) for v in self) + "]"

    def Summary(self) -> str:
        """The elements for short vectors, else ``N elements``."""
        if self._n >= SUMMARY_LIMIT:
            return f"{self._n} elements"
        return self.Description()

    def __str__(self) -> str:
        return self.Summary()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.Description()})"

    # -- codec -------------------------------------------------------------------
    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> Any:
        return cls._wrap(r.array(cls._dtype.str[1:]))

    def _g3_write(self, w: ArchiveWriter) -> None:
        w.array(self._view(), self._dtype.str[1:])

    def _json_payload(self) -> Any:
        return array_to_json(self._view(), self._json_dtype)

    @classmethod
    def _from_json_payload(cls, payload: Any) -> Any:
        return cls._wrap(array_from_json(payload).astype(cls._dtype, copy=False))


def _result_vector(arr: np.ndarray) -> Any:
    """Wrap an arithmetic result in the vector class of its dtype (else keep the array)."""
    cls = _VECTOR_OF_DTYPE.get(arr.dtype.str) if arr.ndim == 1 else None
    return arr if cls is None else cls._wrap(arr)


def _binary(op: Any, reflected: bool = False) -> Any:
    def method(self: NumericVector, other: Any) -> Any:
        if isinstance(other, G3VectorTime | G3VectorQuat | ListVector):
            return NotImplemented
        b = np.asarray(other) if isinstance(other, NumericVector) else other
        a = self._view()
        return _result_vector(op(b, a) if reflected else op(a, b))

    return method


class ArithmeticVector(NumericVector):
    """Numeric vectors with element-wise arithmetic, as spt3g offers.

    ``v * 2``, ``v + w``, ``-v``, ``abs(v)`` give a vector of the result's
    element type; ``v < x`` and friends give a G3VectorBool.  ``==`` keeps
    list semantics and returns one ``bool``.
    """

    __slots__ = ()

    __add__ = _binary(np.add)
    __radd__ = _binary(np.add, True)
    __sub__ = _binary(np.subtract)
    __rsub__ = _binary(np.subtract, True)
    __mul__ = _binary(np.multiply)
    __rmul__ = _binary(np.multiply, True)
    __truediv__ = _binary(np.true_divide)
    __rtruediv__ = _binary(np.true_divide, True)
    __floordiv__ = _binary(np.floor_divide)
    __rfloordiv__ = _binary(np.floor_divide, True)
    __mod__ = _binary(np.mod)
    __pow__ = _binary(np.power)
    __lt__ = _binary(np.less)
    __le__ = _binary(np.less_equal)
    __gt__ = _binary(np.greater)
    __ge__ = _binary(np.greater_equal)

    def __neg__(self) -> Any:
        return _result_vector(np.negative(self._view()))

    def __pos__(self) -> Any:
        return self.copy()

    def __abs__(self) -> Any:
        return _result_vector(np.abs(self._view()))

    __hash__ = None  # type: ignore[assignment]


@register(version=1)
class G3VectorDouble(ArithmeticVector):
    """A vector of binary64 values."""

    __slots__ = ()
    _dtype = np.dtype(np.float64)
    _json_dtype = "float64"

    @classmethod
    def _coerce_one(cls, v: Any) -> float:
        return float(v)

    def _element(self, raw: Any) -> float:
        return float(raw)

    def _format_element(self, v: Any) -> str:
        return format_double(v)


@register(version=2)
class G3VectorInt(ArithmeticVector):
    """A vector of signed 64-bit integers.

    Written as version 2 with the narrowest integer width that holds every
    value; version 1 (32-bit integers) is read too.
    """

    __slots__ = ()
    _dtype = np.dtype(np.int64)
    _json_dtype = "int64"

    @classmethod
    def _coerce_one(cls, v: Any) -> int:
        return operator.index(v)

    def _element(self, raw: Any) -> int:
        return int(raw)

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> G3VectorInt:
        return cls._wrap(read_int_array(r, version))

    def _g3_write(self, w: ArchiveWriter) -> None:
        write_int_array(w, self._view())


def read_int_array(r: ArchiveReader, version: int) -> np.ndarray:
    """The values of an integer vector: ``store_bits`` + values (v2) or 32-bit values (v1)."""
    if version < 2:
        return r.array("i4").astype(np.int64)
    p = r.offset()
    bits = r.i32()
    if bits == 64:
        return r.array("i8")
    if bits in (8, 16, 32):
        return r.array(f"i{bits // 8}").astype(np.int64)
    raise UnknownTypeCodeError(f"integer width {bits} is not 8, 16, 32 or 64", p)


def write_int_array(w: ArchiveWriter, values: np.ndarray) -> None:
    """Write ``store_bits`` and the values at that width (version 2 layout)."""
    bits = store_bits(values)
    w.i32(bits)
    w.array(values, f"i{bits // 8}")


@register(version=1)
class G3VectorBool(ArithmeticVector):
    """A vector of booleans (one byte each on the wire)."""

    __slots__ = ()
    _dtype = np.dtype(np.bool_)
    _json_dtype = "bool"

    def _element(self, raw: Any) -> bool:
        return bool(raw)

    def _format_element(self, v: Any) -> str:
        return "1" if v else "0"

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> G3VectorBool:
        return cls._wrap(read_bool_array(r))

    def _g3_write(self, w: ArchiveWriter) -> None:
        w.array(self._view().view(np.uint8), "u1")


def read_bool_array(r: ArchiveReader) -> np.ndarray:
    """A size tag and one byte per boolean (any non-zero byte is true)."""
    raw = r.array("u1")
    if raw.size and int(raw.max()) > 1:
        return raw != 0
    return raw.view(np.bool_)


@register(version=1)
class G3VectorComplexDouble(ArithmeticVector):
    """A vector of complex numbers (two binary64 values each)."""

    __slots__ = ()
    _dtype = np.dtype(np.complex128)
    _json_dtype = "complex128"

    def _element(self, raw: Any) -> complex:
        return complex(raw)

    def _format_element(self, v: Any) -> str:
        return f"({format_double(v.real)},{format_double(v.imag)})"


@register(version=1)
class G3VectorUnsignedChar(ArithmeticVector):
    """A vector of bytes (``bytes`` and ``bytearray`` are accepted as input)."""

    __slots__ = ()
    _dtype = np.dtype(np.uint8)
    _json_dtype = "uint8"

    @classmethod
    def _coerce_many(cls, values: Any) -> np.ndarray:
        if isinstance(values, bytes | bytearray | memoryview):
            return np.frombuffer(bytes(values), dtype=np.uint8).copy()
        return super()._coerce_many(values)

    def _element(self, raw: Any) -> int:
        return int(raw)

    def _format_element(self, v: Any) -> str:
        return chr(v)

    def tobytes(self) -> bytes:
        """The elements as a ``bytes`` object."""
        return self._view().tobytes()

    def __bytes__(self) -> bytes:
        return self.tobytes()


@register(version=1)
class G3VectorTime(NumericVector):
    """A vector of G3Time values, stored as int64 ticks (``numpy.asarray`` gives the ticks)."""

    __slots__ = ()
    _dtype = np.dtype(np.int64)

    @classmethod
    def _coerce_many(cls, values: Any) -> np.ndarray:
        if isinstance(values, G3VectorTime | np.ndarray):
            return super()._coerce_many(values)
        return np.array([cls._coerce_one(v) for v in values], dtype=np.int64).reshape(-1)

    @classmethod
    def _coerce_one(cls, v: Any) -> int:
        return v.time if isinstance(v, G3Time) else G3Time(v).time

    def _element(self, raw: Any) -> G3Time:
        return G3Time(int(raw))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, NumericVector) and not isinstance(other, G3VectorTime):
            return False
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> G3VectorTime:
        n = r.size(8)
        if n:
            r.begin(G3Time._g3_chain)
        return cls._wrap(r.array("i8", n))

    def _g3_write(self, w: ArchiveWriter) -> None:
        w.size(self._n)
        if self._n:
            w.begin(G3Time._g3_chain, G3Time._g3_write_versions)
            w.array(self._view(), "i8", with_size=False)

    def _json_payload(self) -> Any:
        return [int(t) for t in self._view().tolist()]

    @classmethod
    def _from_json_payload(cls, payload: Any) -> G3VectorTime:
        return cls._wrap(np.array([int(t) for t in payload], dtype=np.int64).reshape(-1))


@register(version=1)
class G3VectorQuat(NumericVector):
    """A vector of quaternions, stored as an ``(n, 4)`` binary64 array of (a, b, c, d)."""

    __slots__ = ()
    _dtype = np.dtype(np.float64)
    _tail = (4,)

    @classmethod
    def _coerce_many(cls, values: Any) -> np.ndarray:
        if isinstance(values, G3VectorQuat | np.ndarray):
            return super()._coerce_many(values)
        return super()._coerce_many([cls._coerce_one(v) for v in values])

    @classmethod
    def _coerce_one(cls, v: Any) -> Any:
        if isinstance(v, Quat):
            return (v.a, v.b, v.c, v.d)
        q = getattr(v, "value", None)  # a G3Quat
        if isinstance(q, Quat):
            return (q.a, q.b, q.c, q.d)
        t = tuple(float(x) for x in v)
        if len(t) != 4:
            raise ValueError(f"a quaternion has 4 components, not {len(t)}")
        return t

    def _element(self, raw: Any) -> Quat:
        return Quat(*raw.tolist())

    def _format_element(self, v: Any) -> str:
        return "(" + ", ".join(format_double(x) for x in v) + ")"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, list | tuple) and other and isinstance(other[0], Quat):
            try:
                other = self._coerce_many(other)
            except (TypeError, ValueError):
                return False
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> G3VectorQuat:
        n = r.size(32)
        if n:
            r.version("Quat", 1)
        return cls._wrap(r.array("f8", 4 * n).reshape(n, 4))

    def _g3_write(self, w: ArchiveWriter) -> None:
        w.size(self._n)
        if self._n:
            w.version("Quat", 1)
            w.array(self._view().reshape(-1), "f8", with_size=False)

    def _json_payload(self) -> Any:
        return [quat_json(q) for q in self]

    @classmethod
    def _from_json_payload(cls, payload: Any) -> G3VectorQuat:
        return cls([quat_from_json(q) for q in payload])


# --------------------------------------------------------------------------
# list-backed vectors


class ListVector(G3FrameObject):
    """Common behaviour of the vectors whose elements are Python objects in a list."""

    __slots__ = ("_items",)

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        self._items: list[Any] = [] if values is None else [self._coerce_one(v) for v in values]

    @classmethod
    def _coerce_one(cls, v: Any) -> Any:
        return v

    @classmethod
    def _wrap(cls, items: list[Any]) -> Any:
        obj = cls.__new__(cls)
        obj._items = items
        return obj

    def _format_element(self, v: Any) -> str:
        return str(v)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return type(self)._wrap(self._items[index])
        return self._items[index]

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, slice):
            self._items[index] = [self._coerce_one(v) for v in value]
        else:
            self._items[index] = self._coerce_one(value)

    def __delitem__(self, index: Any) -> None:
        del self._items[index]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def __contains__(self, value: Any) -> bool:
        return value in self._items

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ListVector):
            return type(other) is type(self) and self._items == other._items
        if isinstance(other, list | tuple):
            return len(other) == len(self._items) and all(
                a == b for a, b in zip(self._items, other, strict=True)
            )
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def append(self, value: Any) -> None:
        """Add one element at the end."""
        self._items.append(self._coerce_one(value))

    def extend(self, values: Iterable[Any]) -> None:
        """Add every element of ``values`` at the end."""
        self._items.extend(self._coerce_one(v) for v in values)

    def insert(self, index: int, value: Any) -> None:
        """Insert one element before position ``index``."""
        self._items.insert(index, self._coerce_one(value))

    def pop(self, index: int = -1) -> Any:
        """Remove and return the element at ``index`` (the last by default)."""
        return self._items.pop(index)

    def remove(self, value: Any) -> None:
        """Remove the first element equal to ``value``."""
        self._items.remove(value)

    def clear(self) -> None:
        """Remove every element."""
        self._items.clear()

    def count(self, value: Any) -> int:
        """How many elements equal ``value``."""
        return self._items.count(value)

    def index(self, value: Any) -> int:
        """Position of the first element equal to ``value``."""
        return self._items.index(value)

    def copy(self) -> Any:
        """A shallow copy."""
        return type(self)._wrap(list(self._items))

    def __copy__(self) -> Any:
        return self.copy()

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (list(self._items),))

    def Description(self) -> str:
        """Every element, as ``[a, b, c]``."""
        return "[" + ", ".join(self._format_element(v) for v in self._items) + "]"

    def Summary(self) -> str:
        """The elements for short vectors, else ``N elements``."""
        if len(self._items) >= SUMMARY_LIMIT:
            return f"{len(self._items)} elements"
        return self.Description()

    def __str__(self) -> str:
        return self.Summary()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.Description()})"


@register(version=1)
class G3VectorString(ListVector):
    """A vector of strings."""

    __slots__ = ()

    @classmethod
    def _coerce_one(cls, v: Any) -> str:
        if not isinstance(v, str):
            raise TypeError(f"G3VectorString holds strings, not {type(v).__name__}")
        return v

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> G3VectorString:
        n = r.size(8)
        return cls._wrap(read_strings(r, n))

    def _g3_write(self, w: ArchiveWriter) -> None:
        w.size(len(self._items))
        write_strings(w, self._items)

    def _json_payload(self) -> Any:
        return list(self._items)

    @classmethod
    def _from_json_payload(cls, payload: Any) -> G3VectorString:
        return cls(payload)


@register(version=1)
class G3VectorVectorString(ListVector):
    """A vector of G3VectorString (each element stored by value)."""

    __slots__ = ()

    @classmethod
    def _coerce_one(cls, v: Any) -> G3VectorString:
        return v if isinstance(v, G3VectorString) else G3VectorString(v)

    def _format_element(self, v: Any) -> str:
        return v.Description()

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> G3VectorVectorString:
        n = r.size(8)
        return cls._wrap([read_by_value(r, G3VectorString) for _ in range(n)])

    def _g3_write(self, w: ArchiveWriter) -> None:
        w.size(len(self._items))
        for v in self._items:
            write_by_value(w, v)

    def _json_payload(self) -> Any:
        return [v._json_payload() for v in self._items]

    @classmethod
    def _from_json_payload(cls, payload: Any) -> G3VectorVectorString:
        return cls([G3VectorString(v) for v in payload])


@register(version=1)
class G3VectorFrameObject(ListVector):
    """A vector of frame objects (or ``None``), each stored as a polymorphic pointer.

    The same object appearing twice is written once and referred to after;
    such a blob decodes to one shared object.  Plain ``bool``/``int``/
    ``float``/``str`` values are wrapped as in a frame.
    """

    __slots__ = ()

    @classmethod
    def _coerce_one(cls, v: Any) -> Any:
        if isinstance(v, OpaqueFrameObject):
            # its bytes are a complete archive; inside this one its pointer and
            # version tables would clash, so it cannot be re-encoded here
            raise TypeError(
                f"an undecoded {v.class_name} can only be stored in a frame or a G3MapFrameObject"
            )
        if v is None or isinstance(v, G3FrameObject):
            return v

        return wrap_value(v)

    def _format_element(self, v: Any) -> str:
        return "NULL" if v is None else f"0x{id(v):x}"

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> G3VectorFrameObject:
        n = r.size(4)
        try:
            return cls._wrap([r.pointer() for _ in range(n)])
        except RecursionError:
            raise InvalidLengthError("frame objects nested too deeply", r.offset()) from None

    def _g3_write(self, w: ArchiveWriter) -> None:
        w.size(len(self._items))
        for v in self._items:
            w.pointer(v)

    def _json_payload(self) -> Any:

        return [object_to_json(v) for v in self._items]

    @classmethod
    def _from_json_payload(cls, payload: Any) -> G3VectorFrameObject:

        return cls._wrap([object_from_json(v) for v in payload])


_VECTOR_OF_DTYPE: dict[str, Any] = {
    np.dtype(np.float64).str: G3VectorDouble,
    np.dtype(np.int64).str: G3VectorInt,
    np.dtype(np.bool_).str: G3VectorBool,
    np.dtype(np.complex128).str: G3VectorComplexDouble,
}

__all__ = [
    "G3VectorDouble",
    "G3VectorInt",
    "G3VectorBool",
    "G3VectorComplexDouble",
    "G3VectorUnsignedChar",
    "G3VectorTime",
    "G3VectorQuat",
    "G3VectorString",
    "G3VectorVectorString",
    "G3VectorFrameObject",
]
