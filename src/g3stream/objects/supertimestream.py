"""G3SuperTimestream (so3g's compressed detector block), read only (FORMAT.md 11).

The reference cannot write this class; reading one gives a ``G3TimestreamMap``
with one ``G3Timestream`` per channel, and so does this module.  Every
compression mode is supported: raw blocks, and per-channel FLAC, bzip2 and
constant-offset blocks (combined by addition), with float channels rescaled
by their quantum.  Gaps in the time vector are filled (NaN for floats, 0 plus
a ``_nanmask`` channel for integers), as the reference does.

Every array built here is charged to the frame's decoded-size budget before
it is allocated (``ArchiveReader.charge``), so a small blob whose declared
shape or compressed blocks ask for more than the limit raises
``DecodedSizeError`` without allocating it.
"""

from __future__ import annotations

import bz2
import struct
from typing import TYPE_CHECKING, Any

import numpy as np

from ..cereal import G3FrameObject, register
from ..errors import G3FormatError, InvalidLengthError, TruncatedFrameError, UnknownTypeCodeError
from .flac import FLACDecodeError, decode_flac
from .timestream import G3Timestream
from .timestreammap import G3TimestreamMap
from .vectors import G3VectorString, G3VectorTime, read_by_value

if TYPE_CHECKING:
    from ..cereal import ArchiveReader

__all__ = ["G3SuperTimestream"]

#: numpy type numbers used by so3g -> (sample dtype, integer dtype of the same width)
_TYPES: dict[int, tuple[np.dtype, np.dtype]] = {
    5: (np.dtype("<i4"), np.dtype("<i4")),
    7: (np.dtype("<i8"), np.dtype("<i8")),
    11: (np.dtype("<f4"), np.dtype("<i4")),
    12: (np.dtype("<f8"), np.dtype("<i8")),
}
_ALGO_FLAC, _ALGO_BZ, _ALGO_CONST = 1, 2, 4
_I32 = struct.Struct("<i")

#: A time vector with gaps may expand to at most this many times its samples.
MAX_GAP_EXPANSION = 64


def _bunzip(data: Any, expected: int, where: int) -> bytes:
    """Decompress a bzip2 stream that must hold exactly ``expected`` bytes."""
    dec = bz2.BZ2Decompressor()
    try:
        out = dec.decompress(bytes(data), max_length=expected + 1)
    except (OSError, ValueError, EOFError) as exc:
        raise G3FormatError(f"corrupt bzip2 block ({exc})", where) from None
    if len(out) != expected or not dec.eof:
        raise InvalidLengthError(
            f"bzip2 block holds {len(out)}{'+' if not dec.eof else ''} bytes, expected {expected}",
            where,
        )
    return out


@register(version=0)
class G3SuperTimestream(G3FrameObject):
    """Decoder for so3g's ``G3SuperTimestream``; decoding yields a ``G3TimestreamMap``.

    Instances are never created: like the reference, this package reads the
    class and returns the equivalent timestream map (which is written back
    as a ``G3TimestreamMap``).
    """

    def __init__(self) -> None:
        raise TypeError("G3SuperTimestream is read-only; decoding one gives a G3TimestreamMap")

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> G3TimestreamMap:  # type: ignore[override]
        flac_level = r.i8()
        r.i8()  # bz2 work factor: informational
        algo_at = r.offset()
        times_algo = r.i8()
        if times_algo == 0:
            times = np.asarray(read_by_value(r, G3VectorTime), dtype=np.int64)
        elif times_algo == 2:
            at = r.offset()
            n_times = r.i32()
            if n_times < 0:
                raise InvalidLengthError(f"negative time count {n_times}", at)
            comp = r.u32()
            block_at = r.offset()
            r.charge(8 * n_times, "bzip2-compressed sample times", at)
            raw = _bunzip(r.raw(comp), 8 * n_times, block_at)
            times = np.frombuffer(raw, dtype="<i8").astype(np.int64, copy=False)
        else:
            raise UnknownTypeCodeError(f"unknown time compression {times_algo}", algo_at)
        names = list(read_by_value(r, G3VectorString))
        type_at = r.offset()
        type_num = r.i64()
        if type_num not in _TYPES:
            raise UnknownTypeCodeError(f"unsupported sample type number {type_num}", type_at)
        dtype, itype = _TYPES[type_num]
        ndim_at = r.offset()
        ndim = r.i64()
        if ndim != 2:
            raise InvalidLengthError(f"data have {ndim} dimensions, expected 2", ndim_at)
        shape = [r.i64() for _ in range(32)]
        n_det, n_samp = shape[0], shape[1]
        nbytes_at = r.offset()
        nbytes = r.i64()
        if n_det != len(names) or n_samp != times.shape[0] or n_det < 0 or n_samp < 0:
            raise InvalidLengthError(
                f"data shape ({n_det}, {n_samp}) does not match {len(names)} names "
                f"and {times.shape[0]} times",
                nbytes_at,
            )
        if nbytes != n_det * n_samp * dtype.itemsize:
            raise InvalidLengthError(f"data size {nbytes} does not match the shape", nbytes_at)
        algo_at = r.offset()
        data_algo = r.i8()
        if data_algo != 0:  # decompressed channels: the array, and one channel's work arrays
            r.charge(nbytes, "decompressed samples", algo_at)
            if n_det:
                r.charge(n_samp * (2 * itype.itemsize + 4 + 16), "channel decoding", algo_at)
        # what the map's rows cost: filled-in gaps (and their work arrays), or copies
        positions, total = _gap_positions(times, r, nbytes_at)
        if positions is not None:
            rows = n_det + (1 if dtype.kind == "i" else 0)
            r.charge(rows * total * dtype.itemsize, "time gaps filled in", nbytes_at)
        elif dtype.newbyteorder("=") != dtype:
            r.charge(nbytes, "byte-swapped samples", nbytes_at)
        if data_algo == 0:
            data_at = r.offset()
            block = r.raw(nbytes)
            try:
                data = np.frombuffer(block, dtype=dtype).reshape(n_det, n_samp)
                data.flags.writeable = False
            except ValueError:
                raise TruncatedFrameError("raw data block is incomplete", data_at) from None
        else:
            quanta = r.array("f8")
            offsets_at = r.offset()
            offsets = r.array("i4")
            size_at = r.offset()
            payload_bytes = r.i32()
            if payload_bytes < 0:
                raise InvalidLengthError(f"negative payload size {payload_bytes}", size_at)
            payload_at = r.offset()
            payload = r.raw(payload_bytes)
            if offsets.shape[0] != n_det + 1:
                raise InvalidLengthError(
                    f"{offsets.shape[0]} channel offsets for {n_det} channels", offsets_at
                )
            if dtype.kind == "f" and quanta.shape[0] != n_det:
                raise InvalidLengthError(
                    f"{quanta.shape[0]} quanta for {n_det} float channels", offsets_at
                )
            if n_det and (
                offsets[0] < 0 or np.any(np.diff(offsets) < 0) or offsets[-1] > payload_bytes
            ):
                raise InvalidLengthError("channel offsets run outside the payload", offsets_at)
            data = np.empty((n_det, n_samp), dtype=dtype)
            for i in range(n_det):
                lo, hi = int(offsets[i]), int(offsets[i + 1])
                ints = _decode_channel(payload[lo:hi], n_samp, itype, payload_at + lo)
                if dtype.kind == "f":
                    with np.errstate(over="ignore", invalid="ignore"):  # C semantics: inf
                        scaled = ints.astype(dtype).astype(np.float64) * quanta[i]
                        data[i] = scaled.astype(dtype)
                else:
                    data[i] = ints
        out = _to_map(
            names, times, data, flac_level if type_num == 5 else 0, dtype, positions, total
        )
        out._source = (
            "G3SuperTimestream",
            {
                "times_algo": times_algo,
                "data_algo": data_algo,
                "dtype": str(np.dtype(dtype.newbyteorder("="))),
                "flac_level": flac_level,
            },
        )
        return out

    @classmethod
    def _from_json_payload(cls, payload: Any) -> G3TimestreamMap:
        return G3TimestreamMap._from_json_payload(payload)


def _decode_channel(block: memoryview, n: int, itype: np.dtype, where: int) -> np.ndarray:
    """The integer values of one channel block (FORMAT.md 11.2, 11.3)."""
    if len(block) < 1:
        raise TruncatedFrameError("empty channel block", where)
    algo = block[0]
    pos = 1
    size = itype.itemsize
    if algo == 0:
        if len(block) - pos < n * size:
            raise TruncatedFrameError("raw channel block is incomplete", where + pos)
        return np.frombuffer(block, dtype=itype, count=n, offset=pos)
    if algo & ~(_ALGO_FLAC | _ALGO_BZ | _ALGO_CONST):
        raise UnknownTypeCodeError(f"unknown channel compression {algo}", where)
    out = np.zeros(n, dtype=itype)

    def length() -> int:
        nonlocal pos
        if len(block) - pos < 4:
            raise TruncatedFrameError("channel block ends inside a length", where + pos)
        (k,) = _I32.unpack_from(block, pos)
        pos += 4
        if k < 0 or k > len(block) - pos:
            raise InvalidLengthError(f"channel sub-block of {k} bytes", where + pos - 4)
        return int(k)

    if algo & _ALGO_FLAC:
        k = length()
        try:
            samples = decode_flac(block[pos : pos + k], max_samples=n)
        except FLACDecodeError as exc:
            raise FLACDecodeError(exc.message, where + pos + (exc.offset or 0)) from None
        m = min(n, samples.shape[0])
        out[:m] = samples[:m]
        pos += k
    if algo & _ALGO_BZ:
        k = length()
        raw = _bunzip(block[pos : pos + k], n * size, where + pos)
        out += np.frombuffer(raw, dtype=itype)
        pos += k
    if algo & _ALGO_CONST:
        if len(block) - pos < size:
            raise TruncatedFrameError("channel block ends inside its constant", where + pos)
        out += np.frombuffer(block, dtype=itype, count=1, offset=pos)[0]
        pos += size
    return out


def _gap_positions(
    times: np.ndarray, r: ArchiveReader, where: int
) -> tuple[np.ndarray | None, int]:
    """Where each sample lands once the time gaps are filled, and the filled length."""
    n = times.shape[0]
    if n < 2:
        return None, n
    r.charge(6 * 8 * n, "time-gap analysis", where)  # the work arrays below
    d = np.diff(times).astype(np.float64)
    dt = np.sort(d)[(n - 1) // 2]
    if dt == 0 or not np.isfinite(dt):
        return None, n
    q = d / dt - 1.0
    rounded = np.where(q >= 0, np.floor(q + 0.5), np.ceil(q - 0.5))
    missing = np.where(np.isfinite(rounded) & (rounded > 0), rounded, 0)
    total = float(missing.sum())
    if total == 0:
        return None, n
    if total > MAX_GAP_EXPANSION * n:
        raise InvalidLengthError(
            f"time gaps would expand {n} samples to {int(total) + n}; refusing", where
        )
    extra = np.concatenate(([0], np.cumsum(missing.astype(np.int64))))
    return np.arange(n, dtype=np.int64) + extra, n + int(total)


def _to_map(
    names: list[str],
    times: np.ndarray,
    data: np.ndarray,
    level: int,
    dtype: np.dtype,
    positions: np.ndarray | None,
    total: int,
) -> G3TimestreamMap:
    """The G3TimestreamMap the reference builds from decoded channels (FORMAT.md 11.4).

    ``positions`` and ``total`` are what ``_gap_positions`` found for ``times``.
    """
    native = dtype.newbyteorder("=")
    start = int(times[0]) if times.shape[0] else 0
    stop = int(times[-1]) if times.shape[0] else 0
    if not 1 <= level <= 9:
        level = 0
    out = G3TimestreamMap()
    members = out._members
    for i, name in enumerate(names):
        row = data[i]
        if positions is not None:
            filled = np.full(total, np.nan if native.kind == "f" else 0, dtype=native)
            filled[positions] = row
            row = filled
        elif row.dtype != native:
            row = row.astype(native)
        members.setdefault(name, G3Timestream._wrap(row, 0, start, stop, level, 32))
    if positions is not None and native.kind == "i":
        mask = np.ones(total, dtype=native)
        mask[positions] = 0
        members["_nanmask"] = G3Timestream._wrap(mask, 0, start, stop, level, 32)
    return out
