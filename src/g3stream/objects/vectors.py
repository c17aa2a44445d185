"""Vector frame objects: every ``G3Vector*`` class (FORMAT.md sections 9.3 and 9.4).

Numeric vectors (doubles, integers, booleans, complex numbers, bytes, times
and quaternions) keep their elements in one numpy array.  ``numpy.asarray``
on such a vector gives that array without a copy, and a vector decoded from
a blob is a view into the blob's bytes: nothing is copied until the vector
is changed (the view is read-only, so the original blob stays intact).

The other vectors (strings, vectors of strings, frame objects) keep a Python
list.  Every vector behaves like a Python list: ``len``, indexing and
slicing, iteration, ``append``/``extend``/``insert``/``pop``.

As in spt3g, the numeric vectors of doubles, integers, booleans and complex
numbers behave like numpy arrays in arithmetic: operators (comparisons
included) work element by element and give a vector, in-place operators
change the vector itself, and the truth value of such a vector is numpy's.
The other vectors compare as lists (``==`` gives one ``bool``).

Each ``G3Vector*`` class derives from spt3g's untyped vector of the same
element type (``G3VectorDouble`` from ``DoubleVector``, ``G3VectorInt`` from
``Int64Vector``...); the untyped classes are what ``G3MapVector*`` maps
hold, and cannot be stored in a frame by themselves.
"""

from __future__ import annotations

import base64
import math
import numbers
import operator
import struct
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..cereal import G3FrameObject, OpaqueFrameObject, register
from ..errors import InvalidLengthError, TruncatedFrameError, UnknownTypeCodeError
from ..frametype import G3FrameType
from .jsonvalue import object_from_json, object_to_json
from .plain import wrap_value
from .quat import Quat, is_real_number, quat_from_json, quat_json
from .scalars import from_json_number, json_number, json_numbers
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
    values: list[Any] | np.ndarray
    if dtype in ("float64", "float32"):
        values = json_numbers(arr)
    elif dtype == "complex128":
        values = [[json_number(z.real), json_number(z.imag)] for z in arr.tolist()]
    elif dtype == "bool":
        values = [bool(x) for x in arr.tolist()]
    else:
        values = json_numbers(arr)
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
# quaternion arrays: ``(..., 4)`` float64 arrays of (a, b, c, d), computed
# in the order spt3g's scalar code computes them (the same bits)


def quat_multiply(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The Hamilton product of quaternion arrays (broadcast)."""
    a1, b1, c1, d1 = x[..., 0], x[..., 1], x[..., 2], x[..., 3]
    a2, b2, c2, d2 = y[..., 0], y[..., 1], y[..., 2], y[..., 3]
    return np.stack(
        [
            a1 * a2 - b1 * b2 - c1 * c2 - d1 * d2,
            a1 * b2 + b1 * a2 + c1 * d2 - d1 * c2,
            a1 * c2 - b1 * d2 + c1 * a2 + d1 * b2,
            a1 * d2 + b1 * c2 - c1 * b2 + d1 * a2,
        ],
        axis=-1,
    )


def quat_conj(x: np.ndarray) -> np.ndarray:
    """The conjugates of a quaternion array."""
    out = -x
    out[..., 0] = x[..., 0]
    return out


def quat_norm(x: np.ndarray) -> np.ndarray:
    """The Cayley norms (sums of squares) of a quaternion array."""
    return (
        x[..., 0] * x[..., 0]
        + x[..., 1] * x[..., 1]
        + x[..., 2] * x[..., 2]
        + x[..., 3] * x[..., 3]
    )


def quat_divide(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``x / y`` for quaternion arrays: ``x * conj(y) / norm(y)``."""
    return quat_multiply(x, quat_conj(y)) / quat_norm(y)[..., None]


def quat_power(x: np.ndarray, n: int) -> np.ndarray:
    """``x ** n`` for a quaternion array and an integer ``n`` (by squaring)."""
    if n < 0:
        return quat_power(quat_conj(x) / quat_norm(x)[..., None], -n)
    if n == 0:
        out = np.zeros_like(x)
        out[..., 0] = 1.0
        return out
    if n == 1:
        return x.copy()
    half = quat_power(x, n // 2)
    out = quat_multiply(half, half)
    return quat_multiply(out, x) if n % 2 else out


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


def _result_vector(arr: Any, untyped: bool = False) -> Any:
    """Wrap an arithmetic result in the vector class of its dtype (else keep the array)."""
    if not isinstance(arr, np.ndarray) or arr.ndim != 1:
        return arr
    cls = (_UNTYPED_OF_DTYPE if untyped else _VECTOR_OF_DTYPE).get(arr.dtype.str)
    return arr if cls is None else cls._wrap(arr)


def _is_untyped(obj: Any) -> bool:
    """Whether ``obj`` is one of spt3g's untyped vectors (``DoubleVector``...), not a G3Vector."""
    return bool(vars(type(obj)).get("_g3_untyped"))


def _operand(other: Any) -> Any:
    """The other operand of an arithmetic operator as an array (as spt3g takes it: a
    scalar then promotes as a 0-d int64 or float64 array does)."""
    if isinstance(other, NumericVector):
        return other._view()
    return np.asarray(other)


def _binary(op: Any, reflected: bool = False) -> Any:
    def method(self: NumericVector, other: Any) -> Any:
        if isinstance(other, G3VectorTime | G3VectorQuat | ListVector):
            return NotImplemented
        if getattr(other, "_g3_vector_defers", False):
            return NotImplemented  # a timestream: its own operator gives a timestream
        b = _operand(other)
        a = self._view()
        return _result_vector(op(b, a) if reflected else op(a, b), _is_untyped(self))

    method.__name__ = f"__{'r' if reflected else ''}{op.__name__.strip('_')}__"
    method.__doc__ = f"Element-wise ``numpy.{op.__name__}``{' (reflected)' if reflected else ''}."
    return method


def _inplace(op: Any) -> Any:
    def method(self: NumericVector, other: Any) -> Any:
        if isinstance(other, G3VectorTime | G3VectorQuat | ListVector):
            return NotImplemented
        b = _operand(other)
        self._reserve(0)  # writable storage of its own (a decoded vector views its blob)
        view = self._view()
        op(view, b, out=view)
        return self

    method.__name__ = f"__i{op.__name__}__"
    method.__doc__ = f"In-place element-wise ``numpy.{op.__name__}`` (the vector itself changes)."
    return method


class ArithmeticVector(NumericVector):
    """Numeric vectors with element-wise arithmetic, as spt3g offers.

    ``v * 2``, ``v + w``, ``2 ** v``, ``v & w``, ``-v``, ``abs(v)`` give a
    vector of the result's element type; comparisons (``==`` included) give
    a G3VectorBool; ``v += 1`` and the other in-place operators change ``v``
    itself (an object stored in a frame or held elsewhere sees the change).
    The truth value is numpy's: a vector of one element is that element,
    any other length raises ``ValueError`` (so ``if v == w:`` cannot pass
    silently; use ``(v == w).all()``).
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
    __rmod__ = _binary(np.mod, True)
    __pow__ = _binary(np.power)
    __rpow__ = _binary(np.power, True)
    __and__ = _binary(np.bitwise_and)
    __rand__ = _binary(np.bitwise_and, True)
    __or__ = _binary(np.bitwise_or)
    __ror__ = _binary(np.bitwise_or, True)
    __xor__ = _binary(np.bitwise_xor)
    __rxor__ = _binary(np.bitwise_xor, True)
    __lshift__ = _binary(np.left_shift)
    __rlshift__ = _binary(np.left_shift, True)
    __rshift__ = _binary(np.right_shift)
    __rrshift__ = _binary(np.right_shift, True)
    __lt__ = _binary(np.less)
    __le__ = _binary(np.less_equal)
    __gt__ = _binary(np.greater)
    __ge__ = _binary(np.greater_equal)
    __eq__ = _binary(operator.eq)  # type: ignore[assignment]
    __ne__ = _binary(operator.ne)  # type: ignore[assignment]

    __iadd__ = _inplace(np.add)
    __isub__ = _inplace(np.subtract)
    __imul__ = _inplace(np.multiply)
    __itruediv__ = _inplace(np.true_divide)
    __ifloordiv__ = _inplace(np.floor_divide)
    __imod__ = _inplace(np.mod)
    __ipow__ = _inplace(np.power)
    __iand__ = _inplace(np.bitwise_and)
    __ior__ = _inplace(np.bitwise_or)
    __ixor__ = _inplace(np.bitwise_xor)
    __ilshift__ = _inplace(np.left_shift)
    __irshift__ = _inplace(np.right_shift)

    def __neg__(self) -> Any:
        return _result_vector(np.negative(self._view()), _is_untyped(self))

    def __pos__(self) -> Any:
        return self.copy()

    def __abs__(self) -> Any:
        view = self._view()  # keeps the element type, as spt3g does (complex stays complex)
        return _result_vector(np.abs(view).astype(view.dtype, copy=False), _is_untyped(self))

    def __invert__(self) -> Any:
        return _result_vector(np.invert(self._view()), _is_untyped(self))

    def __bool__(self) -> bool:
        return bool(self._view())

    def __contains__(self, value: Any) -> bool:
        return bool((self._view() == value).any())

    __hash__ = None  # type: ignore[assignment]


class DoubleVector(ArithmeticVector):
    """A vector of binary64 values."""

    _g3_untyped = True

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


@register(version=1)
class G3VectorDouble(DoubleVector):
    """A vector of binary64 values (a frame object; see ``DoubleVector``)."""

    __slots__ = ()


class Int64Vector(ArithmeticVector):
    """A vector of signed 64-bit integers.

    Written as version 2 with the narrowest integer width that holds every
    value; version 1 (32-bit integers) is read too.
    """

    _g3_untyped = True

    __slots__ = ()
    _dtype = np.dtype(np.int64)
    _json_dtype = "int64"

    @classmethod
    def _coerce_one(cls, v: Any) -> int:
        return operator.index(v)

    def _element(self, raw: Any) -> int:
        return int(raw)

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> Any:
        return cls._wrap(read_int_array(r, version))

    def _g3_write(self, w: ArchiveWriter) -> None:
        write_int_array(w, self._view())


@register(version=2)
class G3VectorInt(Int64Vector):
    """A vector of signed 64-bit integers (a frame object; see ``Int64Vector``)."""

    __slots__ = ()


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


class BoolVector(ArithmeticVector):
    """A vector of booleans (one byte each on the wire)."""

    _g3_untyped = True

    __slots__ = ()
    _dtype = np.dtype(np.bool_)
    _json_dtype = "bool"

    def _element(self, raw: Any) -> bool:
        return bool(raw)

    def _format_element(self, v: Any) -> str:
        return "1" if v else "0"

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> Any:
        return cls._wrap(read_bool_array(r))

    def _g3_write(self, w: ArchiveWriter) -> None:
        w.array(self._view().view(np.uint8), "u1")


@register(version=1)
class G3VectorBool(BoolVector):
    """A vector of booleans (one byte each on the wire) (a frame object; see ``BoolVector``)."""

    __slots__ = ()


def read_bool_array(r: ArchiveReader) -> np.ndarray:
    """A size tag and one byte per boolean (any non-zero byte is true)."""
    raw = r.array("u1")
    if raw.size and int(raw.max()) > 1:
        return raw != 0
    return raw.view(np.bool_)


class ComplexDoubleVector(ArithmeticVector):
    """A vector of complex numbers (two binary64 values each)."""

    _g3_untyped = True

    __slots__ = ()
    _dtype = np.dtype(np.complex128)
    _json_dtype = "complex128"

    def _element(self, raw: Any) -> complex:
        return complex(raw)

    def _format_element(self, v: Any) -> str:
        return f"({format_double(v.real)},{format_double(v.imag)})"


@register(version=1)
class G3VectorComplexDouble(ComplexDoubleVector):
    """A vector of complex numbers (two binary64 values each) (a frame object; see ``ComplexDoubleVector``)."""

    __slots__ = ()


class UnsignedCharVector(ArithmeticVector):
    """A vector of bytes (``bytes`` and ``bytearray`` are accepted as input)."""

    _g3_untyped = True

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

    # as in spt3g, a vector of bytes compares as a list (one bool) and is true when not empty
    __eq__ = NumericVector.__eq__  # type: ignore[assignment]
    __ne__ = object.__ne__  # type: ignore[assignment]

    def __bool__(self) -> bool:
        return self._n > 0

    def __contains__(self, value: Any) -> bool:
        return any(v == value for v in self)

    def __bytes__(self) -> bytes:
        return self.tobytes()


@register(version=1)
class G3VectorUnsignedChar(UnsignedCharVector):
    """A vector of bytes (``bytes`` and ``bytearray`` are accepted as input) (a frame object; see ``UnsignedCharVector``)."""

    __slots__ = ()


class G3TimeVector(NumericVector):
    """A vector of G3Time values, stored as int64 ticks (``numpy.asarray`` gives the ticks)."""

    _g3_untyped = True

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
    def _g3_read(cls, r: ArchiveReader, version: int) -> Any:
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
    def _from_json_payload(cls, payload: Any) -> Any:
        return cls._wrap(np.array([int(t) for t in payload], dtype=np.int64).reshape(-1))


@register(version=1)
class G3VectorTime(G3TimeVector):
    """A vector of G3Time values, stored as int64 ticks (``numpy.asarray`` gives the ticks) (a frame object; see ``G3TimeVector``)."""

    __slots__ = ()


class QuatVector(NumericVector):
    """A vector of quaternions, stored as an ``(n, 4)`` binary64 array of (a, b, c, d)."""

    _g3_untyped = True

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

    # -- element-wise quaternion arithmetic, as spt3g's ----------------------
    def _quats(self, arr: np.ndarray) -> Any:
        """A vector of the same kind holding the quaternions ``arr`` (``(n, 4)``)."""
        return type(self)._wrap(arr)

    def _doubles(self, arr: np.ndarray) -> Any:
        """A vector of doubles holding one value per quaternion."""
        return (DoubleVector if _is_untyped(self) else G3VectorDouble)._wrap(arr)

    @staticmethod
    def _quat_operand(o: Any) -> np.ndarray | None:
        if isinstance(o, QuatVector):
            return o._view()
        if isinstance(o, Quat):
            return np.array(tuple(o), dtype=np.float64)
        return None

    def __mul__(self, o: Any) -> Any:
        q = self._quat_operand(o)
        if q is not None:
            return self._quats(quat_multiply(self._view(), q))
        if is_real_number(o):
            return self._quats(self._view() * o)
        return NotImplemented

    def __rmul__(self, o: Any) -> Any:
        q = self._quat_operand(o)
        if q is not None:
            return self._quats(quat_multiply(q, self._view()))
        if is_real_number(o):
            return self._quats(o * self._view())
        return NotImplemented

    def __truediv__(self, o: Any) -> Any:
        q = self._quat_operand(o)
        if q is not None:
            return self._quats(quat_divide(self._view(), q))
        if is_real_number(o):
            return self._quats(self._view() / o)
        return NotImplemented

    def __rtruediv__(self, o: Any) -> Any:
        q = self._quat_operand(o)
        if q is not None:
            return self._quats(quat_divide(q, self._view()))
        if is_real_number(o):
            v = self._view()
            return self._quats((o * quat_conj(v)) / quat_norm(v)[..., None])
        return NotImplemented

    def __pow__(self, n: Any) -> Any:
        if not isinstance(n, numbers.Integral) or isinstance(n, bool):
            return NotImplemented
        return self._quats(quat_power(self._view(), int(n)))

    def __imul__(self, o: Any) -> Any:
        return self._assign(self * o)

    def __itruediv__(self, o: Any) -> Any:
        return self._assign(self / o)

    def _assign(self, result: Any) -> Any:
        if result is NotImplemented:
            return NotImplemented
        self._reserve(0)
        self._view()[...] = result._view()
        return self

    def __neg__(self) -> Any:
        return self._quats(-self._view())

    def __invert__(self) -> Any:
        return self._quats(quat_conj(self._view()))

    def __abs__(self) -> Any:
        return self._doubles(np.sqrt(quat_norm(self._view())))

    def abs(self) -> Any:
        """The Euclidean norm of each quaternion (same as ``abs(v)``)."""
        return abs(self)

    @property
    def real(self) -> Any:
        """The real (scalar) part of each quaternion."""
        return self._doubles(self._view()[:, 0].copy())

    def norm(self) -> Any:
        """The Cayley norm (``a² + b² + c² + d²``) of each quaternion."""
        return self._doubles(quat_norm(self._view()))

    def vnorm(self) -> Any:
        """The Cayley norm of the vector part (``b² + c² + d²``) of each quaternion."""
        v = self._view()
        return self._doubles(v[:, 1] * v[:, 1] + v[:, 2] * v[:, 2] + v[:, 3] * v[:, 3])

    def dot3(self, o: Quat) -> Any:
        """The dot product of each quaternion's vector part with that of ``o``."""
        if not isinstance(o, Quat):
            raise TypeError(f"dot3 takes a Quat, not {type(o).__name__}")
        v = self._view()
        return self._doubles(v[:, 1] * o.b + v[:, 2] * o.c + v[:, 3] * o.d)

    def cross3(self, o: Quat) -> Any:
        """The cross product of each quaternion's vector part with that of ``o``."""
        if not isinstance(o, Quat):
            raise TypeError(f"cross3 takes a Quat, not {type(o).__name__}")
        v = self._view()
        out = np.zeros_like(v)
        out[:, 1] = v[:, 2] * o.d - v[:, 3] * o.c
        out[:, 2] = v[:, 3] * o.b - v[:, 1] * o.d
        out[:, 3] = v[:, 1] * o.c - v[:, 2] * o.b
        return self._quats(out)

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> Any:
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
    def _from_json_payload(cls, payload: Any) -> Any:
        return cls([quat_from_json(q) for q in payload])


@register(version=1)
class G3VectorQuat(QuatVector):
    """A vector of quaternions, stored as an ``(n, 4)`` binary64 array of (a, b, c, d) (a frame object; see ``QuatVector``)."""

    __slots__ = ()


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
        return self._coerce_one(value) in self._items  # a wrong element type is a TypeError

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ListVector):
            if type(other) is not type(self):
                return False
            other = other._items
        if isinstance(other, list | tuple):
            # same_value: elements may be numeric vectors, whose == is element-wise
            return len(other) == len(self._items) and all(
                same_value(a, b) for a, b in zip(self._items, other, strict=True)
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


class StringVector(ListVector):
    """A vector of strings."""

    _g3_untyped = True

    __slots__ = ()

    @classmethod
    def _coerce_one(cls, v: Any) -> str:
        if not isinstance(v, str):
            raise TypeError(f"G3VectorString holds strings, not {type(v).__name__}")
        return v

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> Any:
        n = r.size(8)
        return cls._wrap(read_strings(r, n))

    def _g3_write(self, w: ArchiveWriter) -> None:
        w.size(len(self._items))
        write_strings(w, self._items)

    def _json_payload(self) -> Any:
        return list(self._items)

    @classmethod
    def _from_json_payload(cls, payload: Any) -> Any:
        return cls(payload)


@register(version=1)
class G3VectorString(StringVector):
    """A vector of strings (a frame object; see ``StringVector``)."""

    __slots__ = ()


class G3VectorStringVector(ListVector):
    """A vector of G3VectorString (each element stored by value)."""

    _g3_untyped = True

    __slots__ = ()

    @classmethod
    def _coerce_one(cls, v: Any) -> G3VectorString:
        return v if isinstance(v, G3VectorString) else G3VectorString(v)

    def _format_element(self, v: Any) -> str:
        return v.Description()

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> Any:
        n = r.size(8)
        return cls._wrap([read_by_value(r, G3VectorString) for _ in range(n)])

    def _g3_write(self, w: ArchiveWriter) -> None:
        w.size(len(self._items))
        for v in self._items:
            write_by_value(w, v)

    def _json_payload(self) -> Any:
        return [v._json_payload() for v in self._items]

    @classmethod
    def _from_json_payload(cls, payload: Any) -> Any:
        return cls([G3VectorString(v) for v in payload])


@register(version=1)
class G3VectorVectorString(G3VectorStringVector):
    """A vector of G3VectorString (each element stored by value) (a frame object; see ``G3VectorStringVector``)."""

    __slots__ = ()


class FrameObjectVector(ListVector):
    """A vector of frame objects (or ``None``), each stored as a polymorphic pointer.

    The same object appearing twice is written once and referred to after;
    such a blob decodes to one shared object.  Plain ``bool``/``int``/
    ``float``/``str`` values are wrapped as in a frame.
    """

    _g3_untyped = True

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
    def _g3_read(cls, r: ArchiveReader, version: int) -> Any:
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
    def _from_json_payload(cls, payload: Any) -> Any:

        return cls._wrap([object_from_json(v) for v in payload])


@register(version=1)
class G3VectorFrameObject(FrameObjectVector):
    """A vector of frame objects (or ``None``), each stored as a polymorphic pointer (a frame object; see ``FrameObjectVector``)."""

    __slots__ = ()


def same_value(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are equal as wholes (one ``bool``).

    For the containers' own ``==``: numeric vectors compare element by
    element (as in spt3g), so two of them are equal here when they are of
    related classes and hold the same elements.
    """
    if isinstance(a, ArithmeticVector) or isinstance(b, ArithmeticVector):
        if isinstance(a, NumericVector) and isinstance(b, NumericVector):
            if not (isinstance(a, type(b)) or isinstance(b, type(a))):
                return False
        try:
            x, y = np.asarray(a), np.asarray(b)
        except (TypeError, ValueError):
            return False
        return x.shape == y.shape and bool(np.array_equal(x, y))
    eq = a == b
    if isinstance(eq, np.ndarray):
        return bool(eq.all()) and np.shape(a) == np.shape(b)
    return bool(eq)


class IntVector(Int64Vector):
    """spt3g's untyped vector of signed 32-bit integers (not a frame object)."""

    _g3_untyped = True

    __slots__ = ()
    _dtype = np.dtype(np.int32)
    _json_dtype = "int32"


class UIntVector(Int64Vector):
    """spt3g's untyped vector of unsigned 32-bit integers (not a frame object)."""

    _g3_untyped = True

    __slots__ = ()
    _dtype = np.dtype(np.uint32)
    _json_dtype = "uint32"


class UInt64Vector(Int64Vector):
    """spt3g's untyped vector of unsigned 64-bit integers (not a frame object)."""

    _g3_untyped = True

    __slots__ = ()
    _dtype = np.dtype(np.uint64)
    _json_dtype = "uint64"


class FloatVector(DoubleVector):
    """spt3g's untyped vector of binary32 values (not a frame object)."""

    _g3_untyped = True

    __slots__ = ()
    _dtype = np.dtype(np.float32)  # type: ignore[assignment]
    _json_dtype = "float32"


class ComplexFloatVector(ComplexDoubleVector):
    """spt3g's untyped vector of single-precision complex numbers (not a frame object)."""

    _g3_untyped = True

    __slots__ = ()
    _dtype = np.dtype(np.complex64)


class FrameTypeVector(ListVector):
    """spt3g's untyped vector of ``G3FrameType`` values (not a frame object)."""

    _g3_untyped = True

    __slots__ = ()

    @classmethod
    def _coerce_one(cls, v: Any) -> G3FrameType:
        return G3FrameType(v)


class FrameVector(ListVector):
    """spt3g's untyped vector of frames (not a frame object)."""

    _g3_untyped = True

    __slots__ = ()


class ModuleConfigVector(ListVector):
    """spt3g's untyped vector of module configurations (not a frame object)."""

    _g3_untyped = True

    __slots__ = ()


class G3LoggerVector(ListVector):
    """spt3g's untyped vector of logger objects (what G3MultiLogger takes; not a frame object)."""

    _g3_untyped = True

    __slots__ = ()


_VECTOR_OF_DTYPE: dict[str, Any] = {
    np.dtype(np.float64).str: G3VectorDouble,
    np.dtype(np.int64).str: G3VectorInt,
    np.dtype(np.bool_).str: G3VectorBool,
    np.dtype(np.complex128).str: G3VectorComplexDouble,
}
_UNTYPED_OF_DTYPE: dict[str, Any] = {
    np.dtype(np.float64).str: DoubleVector,
    np.dtype(np.int64).str: Int64Vector,
    np.dtype(np.bool_).str: BoolVector,
    np.dtype(np.complex128).str: ComplexDoubleVector,
    np.dtype(np.int32).str: IntVector,
    np.dtype(np.uint32).str: UIntVector,
    np.dtype(np.uint64).str: UInt64Vector,
    np.dtype(np.float32).str: FloatVector,
    np.dtype(np.complex64).str: ComplexFloatVector,
}

#: spt3g's untyped vector classes (what G3MapVector* maps hold), by name.
UNTYPED_VECTORS = (
    "DoubleVector",
    "Int64Vector",
    "IntVector",
    "UIntVector",
    "UInt64Vector",
    "FloatVector",
    "BoolVector",
    "ComplexDoubleVector",
    "ComplexFloatVector",
    "UnsignedCharVector",
    "StringVector",
    "QuatVector",
    "G3TimeVector",
    "G3VectorStringVector",
    "FrameObjectVector",
    "FrameTypeVector",
    "FrameVector",
    "ModuleConfigVector",
    "G3LoggerVector",
)

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
    *UNTYPED_VECTORS,
]
