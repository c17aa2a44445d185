"""G3Timestream: one detector's samples with units, start and stop (FORMAT.md 10).

Samples live in a 1-D numpy array of float64, float32, int32 or int64;
``numpy.asarray(ts)`` returns that array itself.  A timestream decoded from
a blob holds a read-only view of the blob (no copy); it is copied the first
time it is modified through the timestream.

A timestream may be stored FLAC-compressed (levels 1-9, 24 or 32 bits per
sample, units Counts or None only).  The conversion rules of the reference
apply: values are truncated to integers, non-finite samples are stored as 0
and flagged, 24-bit storage wraps values modulo 2**24.
"""

from __future__ import annotations

import enum
import itertools
import math
import operator
import struct
import sys
from typing import TYPE_CHECKING, Any

import numpy as np

from .._accel import accel
from .._types import Buffer
from ..cereal import G3FrameObject, register
from ..errors import (
    DecodedSizeError,
    G3FormatError,
    G3TimestreamError,
    InvalidLengthError,
    UnknownTypeCodeError,
)
from .flac import FLAC_BIT_DEPTHS, FLACDecodeError, decode_flac, encode_flac
from .scalars import from_json_number, json_numbers
from .time import G3Time, read_time_by_value, write_time_by_value
from .vectors import G3VectorBool, G3VectorInt, G3VectorTime

if TYPE_CHECKING:
    from ..cereal import ArchiveReader, ArchiveWriter

__all__ = ["G3Timestream", "G3TimestreamUnits", "G3TimestreamError"]


# The enum has a member called "None", which cannot be spelled in a class body;
# read it as ``G3TimestreamUnits["None"]`` or ``getattr(G3TimestreamUnits, "None")``.
_UNIT_NAMES = (
    ("None", 0),
    ("Counts", 1),
    ("Current", 2),
    ("Power", 3),
    ("Tcmb", 4),
    ("Resistance", 5),
    ("Angle", 6),
    ("Distance", 7),
    ("Voltage", 8),
    ("Pressure", 9),
    ("FluxDensity", 10),
    ("Trj", 11),
    ("Frequency", 12),
)


class _UnitsBase(enum.IntEnum):
    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"G3TimestreamUnits.{self.name}"


G3TimestreamUnits: Any = _UnitsBase(  # type: ignore[call-arg]
    "G3TimestreamUnits",  # type: ignore[arg-type]
    _UNIT_NAMES,
    module=__name__,
)
G3TimestreamUnits.__doc__ = (
    "Physical units of a timestream's samples (stored as a u32; FORMAT.md 10.2)."
)
#: value -> member and name -> member, like spt3g's enum ``values`` / ``names``.
G3TimestreamUnits.values = {m.value: m for m in G3TimestreamUnits}
G3TimestreamUnits.names = {m.name: m for m in G3TimestreamUnits}

#: data-type code -> numpy dtype (FORMAT.md 10.3)
_CODE_DTYPES: dict[int, np.dtype] = {
    0: np.dtype(np.float64),
    1: np.dtype(np.float32),
    2: np.dtype(np.int32),
    3: np.dtype(np.int64),
}
_DTYPE_CODES = {dt: code for code, dt in _CODE_DTYPES.items()}
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
#: an uncompressed timestream's fields before its samples, once its classes are
#: announced: units, start, stop, compression level (0), data-type code, sample count
_PLAIN_FIELDS = struct.Struct("<IqqBIQ")
_pack_u64 = struct.Struct("<Q").pack
_LITTLE_HOST = sys.byteorder == "little"
#: the accelerator's packer of plain map members (None: pure Python)
_pack_timestreams = getattr(accel, "pack_timestreams", None) if accel is not None else None


def _dtype_code(dt: np.dtype) -> int:
    """The data-type code of samples of type ``dt``, in either byte order."""
    return _DTYPE_CODES[dt.newbyteorder("=")]


def _units_value(units: Any) -> int:
    if units is None:
        return 0
    if isinstance(units, str):
        try:
            return int(G3TimestreamUnits[units])
        except KeyError:
            raise ValueError(f"unknown timestream units {units!r}") from None
    v = int(units)
    if not 0 <= v <= 0xFFFFFFFF:
        raise ValueError(f"timestream units code {v} does not fit in a u32")
    return v


def _units_object(code: int) -> Any:
    try:
        return G3TimestreamUnits(code)
    except ValueError:
        return code


def _coerce_samples(data: Any) -> np.ndarray:
    """A fresh 1-D array of one of the four sample types holding ``data``.

    As in spt3g: an array (or buffer) must hold float64, float32, int32 or
    int64 samples, anything else is a ``TypeError``; any other iterable
    becomes float64 samples.  Unlike spt3g, a byte-swapped or strided array
    is accepted (and converted).
    """
    if isinstance(data, G3Timestream):
        return data._data.copy()
    if isinstance(data, np.ndarray) or hasattr(data, "__array__") or hasattr(data, "__buffer__"):
        arr = np.asarray(data)
        if arr.ndim != 1:
            raise ValueError(f"timestream data must be one-dimensional, not {arr.ndim}-D")
        target = arr.dtype.newbyteorder("=")
        if target not in _DTYPE_CODES:
            raise TypeError(
                f"Unsupported data type: {arr.dtype} (a timestream holds float64, float32, "
                "int32 or int64 samples)"
            )
    else:  # a plain iterable: float64 samples, as the reference makes them
        try:
            arr = np.asarray(list(data) if not isinstance(data, list | tuple) else data, float)
        except (TypeError, ValueError):
            raise G3TimestreamError(f"cannot make a timestream from {data!r:.60}") from None
        if arr.ndim != 1:
            raise ValueError(f"timestream data must be one-dimensional, not {arr.ndim}-D")
        target = np.dtype(np.float64)
    return np.array(arr, dtype=target, copy=True, order="C")


def _flac_samples(data: np.ndarray, bit_depth: int) -> tuple[np.ndarray, np.ndarray | None, int]:
    """The int32 FLAC samples, the non-finite mask (floats only) and the stored type code."""
    dt = data.dtype
    mask: np.ndarray | None = None
    if dt.kind == "f":
        finite = np.isfinite(data)
        clean = data if finite.all() else np.where(finite, data, 0)
        if not finite.all():
            mask = ~finite
        if clean.size and (clean.min() <= _INT32_MIN - 1 or clean.max() >= _INT32_MAX + 1):
            raise G3TimestreamError(
                "FLAC compression needs samples within the int32 range "
                "(the reference's result is undefined beyond it)"
            )
        samples = np.trunc(clean).astype(np.int32)
    else:
        samples = data.astype(np.int32, copy=False)  # int64: keeps the low 32 bits, as C does
    if bit_depth == 24:
        samples = (samples << np.int32(8)) >> np.int32(8)
        stored = {0: 1, 3: 2}.get(_dtype_code(dt), _dtype_code(dt))
    else:
        stored = _dtype_code(dt)
    return samples, mask, stored


class TimeSpan:
    """``start``, ``stop`` and ``sample_rate`` of samples spread evenly from start to stop.

    For classes that keep ``_start`` and ``_stop`` as ticks and have a length.
    """

    _start: int
    _stop: int

    @property
    def start(self) -> G3Time:
        """Time of the first sample."""
        return G3Time(self._start)

    @start.setter
    def start(self, value: Any) -> None:
        self._start = G3Time(value).time

    @property
    def stop(self) -> G3Time:
        """Time of the last sample."""
        return G3Time(self._stop)

    @stop.setter
    def stop(self, value: Any) -> None:
        self._stop = G3Time(value).time

    @property
    def sample_rate(self) -> float:
        """Samples per tick, ``(n - 1) / (stop - start)``; divide by ``G3Units.Hz`` for Hz."""
        return _rate(len(self), self._stop - self._start)  # type: ignore[arg-type]


@register(version=4)
class G3Timestream(TimeSpan, G3FrameObject):
    """A detector timestream: samples plus ``units``, ``start`` and ``stop`` times.

    ``G3Timestream(data, units=None)``: ``data`` is any 1-D array-like of
    float64, float32, int32 or int64 (copied; lists become float64), an
    integer ``n`` (``n`` zero samples), or another timestream (copied with
    its metadata).  ``numpy.asarray(ts)`` gives the samples without a copy.
    """

    __slots__ = ("_data", "_units", "_start", "_stop", "_level", "_bit_depth", "_flac_cache")
    #: vectors leave arithmetic with a timestream to it (the result is a timestream)
    _g3_vector_defers = True

    _data: np.ndarray
    _units: int
    _start: int
    _stop: int
    _level: int
    _bit_depth: int
    _flac_cache: tuple[np.ndarray, int, int, Any] | None

    def __init__(
        self,
        data: Any = None,
        units: Any = None,
        start: Any = 0,
        stop: Any = 0,
        compression_level: int = 0,
        bit_depth: int = 32,
    ) -> None:
        self._flac_cache = None
        if isinstance(data, G3Timestream):
            self._data = data._data.copy()
            self._units = data._units if units is None else _units_value(units)
            self._start, self._stop = data._start, data._stop
            self._level, self._bit_depth = data._level, data._bit_depth
            return
        if data is None:
            self._data = np.zeros(0, dtype=np.float64)
        elif isinstance(data, int | np.integer) and not isinstance(data, bool):
            if data < 0:
                raise ValueError("a timestream cannot have a negative number of samples")
            self._data = np.zeros(int(data), dtype=np.float64)
        else:
            self._data = _coerce_samples(data)
        self._units = _units_value(units)
        self._start = G3Time(start).time
        self._stop = G3Time(stop).time
        self._level = 0
        self._bit_depth = 32
        self.SetFLACBitDepth(bit_depth)
        self.SetFLACCompression(compression_level)

    @classmethod
    def _wrap(
        cls,
        data: np.ndarray,
        units: int = 0,
        start: int = 0,
        stop: int = 0,
        level: int = 0,
        bit_depth: int = 32,
    ) -> G3Timestream:
        """A timestream around ``data`` as it is (no copy, no checks)."""
        obj = cls.__new__(cls)
        obj._data = data
        obj._units = units
        obj._start = start
        obj._stop = stop
        obj._level = level
        obj._bit_depth = bit_depth
        obj._flac_cache = None
        return obj

    # -- metadata -----------------------------------------------------------
    @property
    def units(self) -> Any:
        """The physical units (a ``G3TimestreamUnits``; an unknown stored code stays an int)."""
        return _units_object(self._units)

    @units.setter
    def units(self, value: Any) -> None:
        self._units = _units_value(value)

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self._data.shape[0])

    @property
    def dtype(self) -> np.dtype:
        """The numpy type of the samples."""
        return self._data.dtype

    @property
    def shape(self) -> tuple[int, ...]:
        """``(n_samples,)``."""
        return self._data.shape

    @property
    def ndim(self) -> int:
        """Always 1."""
        return 1

    @property
    def times(self) -> Any:
        """The time of every sample, evenly spaced from ``start`` to ``stop`` (a G3VectorTime)."""
        return _vector_time(sample_times(self._start, self._stop, self._data.shape[0]))

    @property
    def elapsed(self) -> Any:
        """Ticks since ``start`` of every sample, truncated (a G3VectorInt; None when empty)."""
        n = self._data.shape[0]
        if n == 0:
            return None
        ticks = sample_times(0, self._stop - self._start, n)
        return G3VectorInt(ticks)

    @property
    def compression_level(self) -> int:
        """FLAC compression level used when writing (0 = uncompressed)."""
        return self._level

    @compression_level.setter
    def compression_level(self, level: int) -> None:
        self.SetFLACCompression(level)

    @property
    def bit_depth(self) -> int:
        """Bits per FLAC sample when writing compressed (24 or 32)."""
        return self._bit_depth

    @bit_depth.setter
    def bit_depth(self, depth: int) -> None:
        self.SetFLACBitDepth(depth)

    def SetFLACCompression(self, level: int) -> None:
        """Write this timestream FLAC-compressed at ``level`` (1-9), or uncompressed (0).

        Only Counts and None units may be compressed, as in the reference.
        """
        level = int(level)
        if not 0 <= level <= 9:
            raise G3TimestreamError(f"invalid FLAC compression level {level} (0-9)")
        if level and self._units not in (0, 1):
            raise G3TimestreamError("cannot use FLAC on timestreams with units other than Counts")
        self._level = level

    def SetFLACBitDepth(self, depth: int) -> None:
        """Choose 24 or 32 bits per FLAC sample (24 bits wraps values modulo 2**24)."""
        depth = int(depth)
        if depth not in FLAC_BIT_DEPTHS:
            raise G3TimestreamError(f"invalid FLAC bit depth {depth} (24 or 32)")
        self._bit_depth = depth

    # -- numpy-like behaviour ------------------------------------------------
    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        data = self._data
        if dtype is not None and np.dtype(dtype) != data.dtype:
            if copy is False:
                raise ValueError("converting a timestream's samples needs a copy")
            return data.astype(dtype)
        return data.copy() if copy else data

    def __len__(self) -> int:
        return int(self._data.shape[0])

    def __iter__(self) -> Any:
        return iter(self._data)

    def _writable(self) -> np.ndarray:
        if not self._data.flags.writeable:
            self._data = self._data.copy()
            self._flac_cache = None
        return self._data

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            # start/stop follow the reference: from the normalised slice bounds,
            # so with a step other than 1 ``stop`` is not the last sample's time.
            # Like the reference, a slice is uncompressed; unlike it, it keeps its type.
            n = self._data.shape[0]
            lo, hi, step = index.indices(n)
            out = G3Timestream._wrap(
                self._data[index].copy(), self._units, self._start, self._start
            )
            out._bit_depth = self._bit_depth
            if n > 1:
                spacing = 1.0 / _rate(n, self._stop - self._start)
                out._start = _wrap_int64(self._start + _index_ticks(lo, spacing))
                out._stop = _wrap_int64(self._start + _index_ticks(hi - step, spacing))
            return out
        return self._data[index]

    def __setitem__(self, index: Any, value: Any) -> None:
        self._writable()[index] = value

    def astype(self, dtype: Any) -> G3Timestream:
        """A copy with samples converted to ``dtype`` (one of the four sample types)."""
        dt = np.dtype(dtype)
        if dt not in _DTYPE_CODES:
            raise TypeError(f"unsupported timestream sample type {dt}")
        return G3Timestream._wrap(
            self._data.astype(dt),
            self._units,
            self._start,
            self._stop,
            self._level,
            self._bit_depth,
        )

    def copy(self) -> G3Timestream:
        """A deep copy."""
        return G3Timestream(self)

    @classmethod
    def concatenate(
        cls,
        ts_lst: Any,
        ts_rounding_error: float = 0.6,
        ts_interp_threshold: float = 0,
    ) -> G3Timestream:
        """Join contiguous timestreams end to end (as spt3g's ``concatenate``).

        Consecutive timestreams must follow each other by one sample period,
        within ``ts_rounding_error`` periods, and have the same units.  A gap
        shorter than ``ts_interp_threshold`` periods is filled by linear
        interpolation; others raise ``G3TimestreamError``.
        """
        parts = list(ts_lst)
        if not parts:
            raise G3TimestreamError("nothing to concatenate")
        joined: list[G3Timestream] = [parts[0]]
        for prev, cur in itertools.pairwise(parts):
            if cur._units != parts[0]._units:
                raise G3TimestreamError("timestreams are not the same units")
            rate = cur.sample_rate
            gap = (cur._start - prev._stop) * rate - 1
            if abs(gap) > ts_rounding_error:
                if not (ts_interp_threshold > 0 and gap < ts_interp_threshold):
                    raise G3TimestreamError(
                        f"timestreams are not contiguous: separated by {gap:f} samples "
                        f"at {cur.start}"
                    )
                n_fill = max(int(round(gap)), 0)
                a = float(prev._data[-1]) if len(prev) else 0.0
                b = float(cur._data[0]) if len(cur) else 0.0
                fill = np.linspace(a, b, n_fill + 2)[1:-1]
                step = 1.0 / rate
                joined.append(
                    cls._wrap(
                        fill,
                        cur._units,
                        prev._stop + _trunc(step),
                        cur._start - _trunc(step),
                    )
                )
            joined.append(cur)
        data = np.concatenate([p._data for p in joined])
        return cls._wrap(
            np.ascontiguousarray(data, dtype=data.dtype if data.dtype in _DTYPE_CODES else float),
            parts[0]._units,
            parts[0]._start,
            parts[-1]._stop,
        )

    def _like(self, data: np.ndarray) -> G3Timestream:
        return G3Timestream._wrap(data, self._units, self._start, self._stop, 0, self._bit_depth)

    def _check_congruent(self, other: Any) -> None:
        """The reference's rule for combining two timestreams sample by sample."""
        if isinstance(other, G3Timestream):
            if other._data.shape != self._data.shape:
                raise G3TimestreamError("timestreams of unequal length")
            if other._units != self._units and 0 not in (other._units, self._units):
                raise G3TimestreamError("timestreams of unequal units")
            if other._start != self._start:
                raise G3TimestreamError("timestreams start at different times")
            if other._stop != self._stop:
                raise G3TimestreamError("timestreams stop at different times")

    # As in spt3g: the other operand is taken as an array (so a scalar promotes as a
    # 0-d int64/float64 array would: int32 + 1 gives int64), and the result keeps the
    # left timestream's units, start and stop.
    def _binary(self, other: Any, op: Any) -> G3Timestream:
        self._check_congruent(other)
        o = other._data if isinstance(other, G3Timestream) else np.asarray(other)
        return self._like(np.asarray(op(self._data, o)))

    def __add__(self, o: Any) -> G3Timestream:
        return self._binary(o, np.add)

    def __radd__(self, o: Any) -> G3Timestream:
        return self._like(np.add(np.asarray(o), self._data))

    def __sub__(self, o: Any) -> G3Timestream:
        return self._binary(o, np.subtract)

    def __rsub__(self, o: Any) -> G3Timestream:
        return self._like(np.subtract(np.asarray(o), self._data))

    def __mul__(self, o: Any) -> G3Timestream:
        return self._binary(o, np.multiply)

    def __rmul__(self, o: Any) -> G3Timestream:
        return self._like(np.multiply(np.asarray(o), self._data))

    def __truediv__(self, o: Any) -> G3Timestream:
        return self._binary(o, np.true_divide)

    def __rtruediv__(self, o: Any) -> G3Timestream:
        return self._like(np.true_divide(np.asarray(o), self._data))

    def __floordiv__(self, o: Any) -> G3Timestream:
        return self._binary(o, np.floor_divide)

    def __rfloordiv__(self, o: Any) -> G3Timestream:
        return self._like(np.floor_divide(np.asarray(o), self._data))

    def __mod__(self, o: Any) -> G3Timestream:
        return self._binary(o, np.mod)

    def __rmod__(self, o: Any) -> G3Timestream:
        return self._like(np.mod(np.asarray(o), self._data))

    def __pow__(self, o: Any) -> G3Timestream:
        return self._binary(o, np.power)

    def __rpow__(self, o: Any) -> G3Timestream:
        return self._like(np.power(np.asarray(o), self._data))

    def __and__(self, o: Any) -> G3Timestream:
        return self._binary(o, np.bitwise_and)

    def __rand__(self, o: Any) -> G3Timestream:
        return self._like(np.bitwise_and(np.asarray(o), self._data))

    def __or__(self, o: Any) -> G3Timestream:
        return self._binary(o, np.bitwise_or)

    def __ror__(self, o: Any) -> G3Timestream:
        return self._like(np.bitwise_or(np.asarray(o), self._data))

    def __xor__(self, o: Any) -> G3Timestream:
        return self._binary(o, np.bitwise_xor)

    def __rxor__(self, o: Any) -> G3Timestream:
        return self._like(np.bitwise_xor(np.asarray(o), self._data))

    def __lshift__(self, o: Any) -> G3Timestream:
        return self._binary(o, np.left_shift)

    def __rlshift__(self, o: Any) -> G3Timestream:
        return self._like(np.left_shift(np.asarray(o), self._data))

    def __rshift__(self, o: Any) -> G3Timestream:
        return self._binary(o, np.right_shift)

    def __rrshift__(self, o: Any) -> G3Timestream:
        return self._like(np.right_shift(np.asarray(o), self._data))

    def __invert__(self) -> G3Timestream:
        return self._like(np.invert(self._data))

    def __bool__(self) -> bool:
        # numpy's truth value (as spt3g): one sample is its own truth, other lengths raise
        return bool(self._data)

    def __neg__(self) -> G3Timestream:
        return self._like(-self._data)

    def __pos__(self) -> G3Timestream:
        return self._like(self._data.copy())

    def __abs__(self) -> G3Timestream:
        return self._like(np.abs(self._data))

    def _inplace(self, o: Any, op: Any) -> G3Timestream:
        self._check_congruent(o)
        op(
            self._writable(),
            o._data if isinstance(o, G3Timestream) else np.asarray(o),
            out=self._data,
        )
        self._flac_cache = None
        return self

    def __iadd__(self, o: Any) -> G3Timestream:
        return self._inplace(o, np.add)

    def __isub__(self, o: Any) -> G3Timestream:
        return self._inplace(o, np.subtract)

    def __imul__(self, o: Any) -> G3Timestream:
        return self._inplace(o, np.multiply)

    def __itruediv__(self, o: Any) -> G3Timestream:
        return self._inplace(o, np.true_divide)

    def __ifloordiv__(self, o: Any) -> G3Timestream:
        return self._inplace(o, np.floor_divide)

    def __imod__(self, o: Any) -> G3Timestream:
        return self._inplace(o, np.mod)

    def __ipow__(self, o: Any) -> G3Timestream:
        return self._inplace(o, np.power)

    def __iand__(self, o: Any) -> G3Timestream:
        return self._inplace(o, np.bitwise_and)

    def __ior__(self, o: Any) -> G3Timestream:
        return self._inplace(o, np.bitwise_or)

    def __ixor__(self, o: Any) -> G3Timestream:
        return self._inplace(o, np.bitwise_xor)

    def __ilshift__(self, o: Any) -> G3Timestream:
        return self._inplace(o, np.left_shift)

    def __irshift__(self, o: Any) -> G3Timestream:
        return self._inplace(o, np.right_shift)

    def sum(self, *args: Any, **kw: Any) -> Any:
        """Sum of the samples (``numpy.sum``)."""
        return self._data.sum(*args, **kw)

    def mean(self, *args: Any, **kw: Any) -> Any:
        """Mean of the samples (``numpy.mean``)."""
        return self._data.mean(*args, **kw)

    def std(self, *args: Any, **kw: Any) -> Any:
        """Standard deviation of the samples (``numpy.std``)."""
        return self._data.std(*args, **kw)

    def var(self, *args: Any, **kw: Any) -> Any:
        """Variance of the samples (``numpy.var``)."""
        return self._data.var(*args, **kw)

    def min(self, *args: Any, **kw: Any) -> Any:
        """Smallest sample (``numpy.min``)."""
        return self._data.min(*args, **kw)

    def max(self, *args: Any, **kw: Any) -> Any:
        """Largest sample (``numpy.max``)."""
        return self._data.max(*args, **kw)

    def argmin(self, *args: Any, **kw: Any) -> Any:
        """Index of the smallest sample."""
        return self._data.argmin(*args, **kw)

    def argmax(self, *args: Any, **kw: Any) -> Any:
        """Index of the largest sample."""
        return self._data.argmax(*args, **kw)

    def any(self, *args: Any, **kw: Any) -> Any:
        """Whether any sample is non-zero."""
        return self._data.any(*args, **kw)

    def all(self, *args: Any, **kw: Any) -> Any:
        """Whether every sample is non-zero."""
        return self._data.all(*args, **kw)

    def identical(self, other: Any) -> bool:
        """Whether ``other`` is a timestream with the same samples (NaN equal to NaN),
        sample type, units, start, stop and compression settings."""
        if not isinstance(other, G3Timestream):
            return False
        return (
            self._units == other._units
            and self._start == other._start
            and self._stop == other._stop
            and self._level == other._level
            and (self._level == 0 or self._bit_depth == other._bit_depth)
            and self._data.dtype == other._data.dtype
            and bool(
                np.array_equal(self._data, other._data, equal_nan=self._data.dtype.kind == "f")
            )
        )

    # Comparisons are element-wise, as in the reference (a G3VectorBool).
    def _compare(self, other: Any, op: Any) -> Any:
        o = other._data if isinstance(other, G3Timestream) else np.asarray(other)
        result = op(self._data, o)
        if isinstance(result, np.ndarray) and result.ndim == 1 and result.dtype == np.bool_:
            return G3VectorBool._wrap(result)
        return result

    def __eq__(self, other: object) -> Any:  # type: ignore[override]
        return self._compare(other, operator.eq)

    def __ne__(self, other: object) -> Any:  # type: ignore[override]
        return self._compare(other, operator.ne)

    def __lt__(self, other: Any) -> Any:
        return self._compare(other, np.less)

    def __le__(self, other: Any) -> Any:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: Any) -> Any:
        return self._compare(other, np.greater)

    def __ge__(self, other: Any) -> Any:
        return self._compare(other, np.greater_equal)

    __hash__ = None  # type: ignore[assignment]

    # -- text ---------------------------------------------------------------
    def Description(self) -> str:
        """``N samples at R Hz (Units)``, like the reference (no suffix for None)."""
        text = f"{len(self)} samples at {_format_rate(len(self), self._stop - self._start)} Hz"
        units = self.units
        if isinstance(units, G3TimestreamUnits) and units.value != 0:
            text += f" ({units.name})"
        return text

    def Summary(self) -> str:
        """Same as ``Description``."""
        return self.Description()

    def __str__(self) -> str:
        return self.Description()

    def __repr__(self) -> str:
        return (
            f"<G3Timestream: {self.Description()}, {self._data.dtype}, "
            f"units {self.units}, {self.start} to {self.stop}>"
        )

    # -- FLAC payload re-use ----------------------------------------------
    def _cached_flac(self) -> Any:
        c = self._flac_cache
        if (
            c is not None
            and c[0] is self._data
            and not self._data.flags.writeable
            and c[1] == self._level
            and c[2] == self._bit_depth
        ):
            return c[3]
        return None

    def _adopt_flac_payload(self, payload: Any) -> None:
        """Re-use ``payload`` as this timestream's FLAC stream when writing.

        The payload must decode to exactly the samples this timestream would
        encode; the samples become read-only (they are copied on change,
        which drops the payload).  Used to write FLAC timestreams back
        byte-exact when only another libFLAC version is available.
        """
        if not self._level:
            raise G3TimestreamError("the timestream is not FLAC-compressed")
        samples, _, _ = _flac_samples(self._data, self._bit_depth)
        if not np.array_equal(decode_flac(payload), samples):
            raise ValueError("the FLAC payload does not hold this timestream's samples")
        data = self._data.copy()
        data.flags.writeable = False
        self._data = data
        self._flac_cache = (data, self._level, self._bit_depth, bytes(payload))

    # -- codec -------------------------------------------------------------
    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> G3Timestream:
        units = r.u32()
        start = stop = 0
        if version >= 2:
            start = read_time_by_value(r).time
            stop = read_time_by_value(r).time
        level_at = r.offset()
        level = r.u8()
        if level == 0:
            code_at = r.offset()
            code = r.u32() if version >= 3 else 0
            dt = _CODE_DTYPES.get(code)
            if dt is None:
                raise UnknownTypeCodeError(f"unknown timestream data type {code}", code_at)
            data = r.array(dt.str[1:])
            # a view of the blob: never written through (copied on first change)
            data.flags.writeable = False
            return cls._wrap(data, units, start, stop, 0, 32)
        if units not in (0, 1):
            raise G3FormatError(
                f"FLAC-compressed timestream with units {_units_object(units)} "
                "(only Counts and None may be compressed)",
                level_at,
            )
        bit_depth, code = 24, 1
        if version >= 4:
            depth_at = r.offset()
            bit_depth = r.u8()
            if bit_depth not in FLAC_BIT_DEPTHS:
                raise UnknownTypeCodeError(f"invalid FLAC bit depth {bit_depth}", depth_at)
            code_at = r.offset()
            code = r.u32()
            if code not in _CODE_DTYPES:
                raise UnknownTypeCodeError(f"unknown timestream data type {code}", code_at)
        flag_at = r.offset()
        nanflag = r.u8()
        mask = None
        if nanflag == 2:
            mask = r.array("u1")
        elif nanflag not in (0, 1):
            raise UnknownTypeCodeError(f"invalid FLAC NaN flag {nanflag}", flag_at)
        n = r.size()
        payload_at = r.offset()
        payload = r.raw(n)
        dt = _CODE_DTYPES[code]
        # int32 samples, then a copy in the stored type unless that is int32
        per_sample = 4 + (dt.itemsize if dt != np.int32 else 0)
        allowed = r.budget.remaining // per_sample
        limit = allowed if mask is None else min(allowed, mask.shape[0])
        try:
            samples = decode_flac(payload, max_samples=limit)
        except FLACDecodeError as exc:
            raise FLACDecodeError(exc.message, payload_at + (exc.offset or 0)) from None
        except DecodedSizeError as exc:
            if limit < allowed:
                raise InvalidLengthError(
                    f"FLAC payload holds more samples than its NaN mask's {limit}", flag_at
                ) from None
            raise DecodedSizeError(
                f"FLAC payload decodes to more than the {limit} samples ({per_sample} bytes "
                f"each) left of this frame's decoded-size limit of {r.budget.limit} bytes",
                payload_at + (exc.offset or 0),
            ) from None
        r.charge(per_sample * samples.shape[0], "FLAC-compressed samples", payload_at)
        if mask is not None and mask.shape[0] != samples.shape[0]:
            raise InvalidLengthError(
                f"FLAC NaN mask has {mask.shape[0]} entries for {samples.shape[0]} samples",
                flag_at,
            )
        data = samples if dt == samples.dtype else samples.astype(dt)
        if dt.kind == "f":
            if nanflag == 1:
                data[:] = np.nan
            elif mask is not None:
                data[mask != 0] = np.nan
        data.flags.writeable = False
        obj = cls._wrap(data, units, start, stop, level, bit_depth)
        if version >= 4:
            obj._flac_cache = (data, level, bit_depth, payload)
        return obj

    def _g3_write(self, w: ArchiveWriter) -> None:
        w.u32(self._units)
        write_time_by_value(w, self._start)
        write_time_by_value(w, self._stop)
        level = self._level
        w.u8(level)
        data = self._data
        if level == 0:
            w.u32(_dtype_code(data.dtype))
            w.array(data, data.dtype.str[1:])
            return
        if self._units not in (0, 1):
            raise G3TimestreamError("cannot use FLAC on timestreams with units other than Counts")
        samples, mask, stored = _flac_samples(data, self._bit_depth)
        payload = self._cached_flac()
        if payload is None:
            payload = encode_flac(samples, level, self._bit_depth)
        w.u8(self._bit_depth)
        w.u32(stored)
        n = data.shape[0]
        if mask is None:
            w.u8(0)
        elif n and mask.all():
            w.u8(1)
        else:
            w.u8(2)
            w.array(mask.view(np.uint8), "u1")
        w.size(len(payload))
        w.raw(payload)

    def _json_payload(self) -> Any:
        dt = self._data.dtype
        values = json_numbers(self._data)
        units = self.units
        return {
            "units": str(units) if isinstance(units, G3TimestreamUnits) else f"Unknown{units}",
            "units_code": self._units,
            "start": self._start,
            "stop": self._stop,
            "flac": {"level": self._level, "bit_depth": self._bit_depth} if self._level else None,
            "data": {"dtype": str(dt), "values": values},
        }

    @classmethod
    def _from_json_payload(cls, payload: Any) -> G3Timestream:
        arr = payload["data"]
        dt = np.dtype(arr["dtype"])
        if dt.kind == "f":
            data = np.array([from_json_number(v) for v in arr["values"]], dtype=dt)
        else:
            data = np.array([int(v) for v in arr["values"]], dtype=dt)
        flac = payload.get("flac")
        level = int(flac["level"]) if flac else 0
        depth = int(flac["bit_depth"]) if flac else 32
        return cls._wrap(
            data.reshape(-1),
            int(payload["units_code"]),
            int(payload["start"]),
            int(payload["stop"]),
            level,
            depth,
        )


def sample_times(start: int, stop: int, n: int) -> np.ndarray:
    """Tick of each of ``n`` samples from ``start`` to ``stop``, as the reference computes them.

    Sample ``i`` is at ``start + trunc(i * spacing)`` with ``spacing = 1 / rate``.
    """
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if n == 1:
        return np.array([start], dtype=np.int64)
    spacing = 1.0 / _rate(n, stop - start)
    return start + np.trunc(np.arange(n, dtype=np.float64) * spacing).astype(np.int64)


def _trunc(x: float) -> int:
    return int(x) if math.isfinite(x) else 0


def _vector_time(ticks: np.ndarray) -> Any:
    return G3VectorTime(ticks)


def _index_ticks(index: int, spacing: float) -> int:
    """The reference's ``int64(size_t(index) * spacing)``: a negative index wraps to a huge
    size, and a product outside int64 becomes int64's minimum (as x86's conversion does)."""
    x = float(index % 2**64) * spacing
    if not -(2.0**63) <= x < 2.0**63:
        return -(2**63)
    return int(x)


def _wrap_int64(value: int) -> int:
    """``value`` as the reference's int64 arithmetic leaves it (wrapping)."""
    return (value + 2**63) % 2**64 - 2**63


def _rate(n: int, span: int) -> float:
    """The reference's ``(n - 1) / (stop - start)`` with its size_t and 0/0 behaviour."""
    num = float((n - 1) % 2**64)
    span = (span + 2**63) % 2**64 - 2**63  # stop - start is a wrapping int64 there
    if span == 0:
        return math.nan if num == 0 else math.inf
    return num / span


def _format_rate(n: int, span: int) -> str:
    """The sample rate in Hz as the reference prints it (fixed, one decimal)."""
    if span == 0 and n == 1:
        return "-nan"  # 0.0 / 0.0 on the reference's platform
    rate = _rate(n, span) / 1e-8  # G3Units.Hz
    if math.isinf(rate):
        return "inf" if rate > 0 else "-inf"
    return f"{rate:.1f}"


def write_members(w: ArchiveWriter, members: dict[str, G3Timestream]) -> None:
    """Write a timestream map's members: each key, then a direct pointer to its timestream.

    After the first member has announced the classes' versions, a plain
    timestream (uncompressed, 1-D, contiguous, native little-endian samples)
    is packed in one step, by the accelerator when present; the bytes are
    those of the general path.
    """
    packer = _pack_timestreams if w.little and _LITTLE_HOST else None
    plain = False  # the classes' versions are written: plain members go in one step
    items: list[tuple[str, G3Timestream]] = []  # listed only once there is something to pack
    done = 0  # members written

    def pack(pointers: dict[int, int], keep: list[object], inline: int) -> list[Buffer]:
        nonlocal done
        assert packer is not None
        done, found = packer(items, done, G3Timestream, pointers, keep, inline)
        return found  # type: ignore[no-any-return]

    rest = iter(members.items())
    for key, ts in rest:
        _write_member(w, key, ts, plain)
        done += 1
        plain = plain or _announced(w)
        if plain and packer is not None and done < len(members):
            if not items:
                items = list(members.items())
            start = done
            w.pack_with(pack)
            next(itertools.islice(rest, done - start, done - start), None)  # skip those packed


def _announced(w: ArchiveWriter) -> bool:
    """Whether a plain member may now be packed: the classes' versions are written."""
    return (
        w.little
        and _LITTLE_HOST
        and w.announced(G3Timestream._g3_chain)
        and w.announced(G3Time._g3_chain)
    )


def _write_member(w: ArchiveWriter, key: str, ts: G3Timestream, plain: bool) -> None:
    """One member; in one step if it is plain and ``plain`` says its classes are announced."""
    if plain and type(ts) is G3Timestream and ts._level == 0:
        data = ts._data
        code = _DTYPE_CODES.get(data.dtype)
        if code is not None and data.ndim == 1 and data.flags.c_contiguous:
            opening = w.claim_direct(ts)
            if opening is not None:
                name = key.encode("utf-8", "surrogateescape")
                fields = _PLAIN_FIELDS.pack(ts._units, ts._start, ts._stop, 0, code, data.shape[0])
                w.head_and_array(_pack_u64(len(name)) + name + opening + fields, data)
                return
    w.string(key)
    w.pointer(ts, direct=True)
