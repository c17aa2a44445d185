"""G3TimestreamMap: named timestreams in insertion order (FORMAT.md 9.10).

Version 3 (written) stores each member as a polymorphic pointer in the
"direct" form, so a timestream stored under two keys is written once and
decodes to one shared object.  Versions 1 and 2 (read only) store members by
value, sorted by key; version 1 adds a start and stop shared by all members.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..cereal import G3FrameObject, register
from ..errors import G3FormatError, UnknownTypeCodeError
from .jsonvalue import object_from_json, object_to_json
from .time import G3Time, read_time_by_value
from .timestream import (
    G3Timestream,
    G3TimestreamUnits,
    _coerce_samples,
    _units_value,
    write_members,
)

if TYPE_CHECKING:
    from ..cereal import ArchiveReader, ArchiveWriter

__all__ = ["G3TimestreamMap", "concatenate_timestreams"]


@register(version=3)
class G3TimestreamMap(G3FrameObject, MutableMapping):  # type: ignore[type-arg]
    """A dictionary of ``G3Timestream`` by name, kept in insertion order.

    ``G3TimestreamMap()`` is empty; ``G3TimestreamMap(mapping_or_pairs)``
    copies members; ``G3TimestreamMap(keys, data, start, stop, units,
    compression_level, copy_data=True, bit_depth=32)`` makes one member per
    row of the 2-D ``data`` (with ``copy_data=False`` the members are views
    of ``data``).
    """

    __slots__ = ("_members", "_source")

    def __init__(
        self,
        keys: Any = None,
        data: Any = None,
        start: Any = 0,
        stop: Any = 0,
        units: Any = None,
        compression_level: int = 0,
        copy_data: bool = True,
        bit_depth: int = 32,
    ) -> None:
        self._members: dict[str, G3Timestream] = {}
        self._source: tuple[str, dict[str, Any]] | None = None
        if data is None:
            if keys is None:
                return
            items = keys.items() if isinstance(keys, Mapping) else keys
            for k, v in items:
                self[k] = v
            return
        names = [str(k) for k in keys]
        if copy_data or not isinstance(data, np.ndarray):
            rows = [_coerce_samples(row) for row in data]
        else:
            if data.ndim != 2:
                raise ValueError("timestream map data must be two-dimensional")
            rows = [data[i] for i in range(data.shape[0])]
        if len(rows) != len(names):
            raise ValueError(f"{len(names)} keys for {len(rows)} rows of data")
        for name, row in zip(names, rows, strict=True):
            ts = G3Timestream._wrap(row, _units_value(units), G3Time(start).time, G3Time(stop).time)
            ts.SetFLACBitDepth(bit_depth)
            ts.SetFLACCompression(compression_level)
            self._members[name] = ts

    # -- mapping -----------------------------------------------------------
    def __getitem__(self, key: str) -> G3Timestream:
        return self._members[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"timestream map keys are strings, not {type(key).__name__}")
        if not isinstance(value, G3Timestream):
            value = G3Timestream(value)
        self._members[key] = value

    def __delitem__(self, key: str) -> None:
        del self._members[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._members)

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, key: object) -> bool:
        return key in self._members

    def copy(self) -> G3TimestreamMap:
        """A deep copy (each member copied; shared members stay shared)."""
        out = G3TimestreamMap()
        done: dict[int, G3Timestream] = {}
        for k, ts in self._members.items():
            if id(ts) not in done:
                done[id(ts)] = ts.copy()
            out._members[k] = done[id(ts)]
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, G3TimestreamMap):
            return NotImplemented
        return list(self._members) == list(other._members) and all(
            self._members[k].identical(other._members[k]) for k in self._members
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def names(self) -> list[str]:
        """The keys, in order."""
        return list(self._members)

    # -- properties of the (aligned) members ----------------------------
    def _first(self) -> G3Timestream | None:
        for ts in self._members.values():
            return ts
        return None

    @property
    def start(self) -> G3Time:
        """Start time of the members (the first member's; the epoch when empty)."""
        first = self._first()
        return first.start if first is not None else G3Time(0)

    @start.setter
    def start(self, value: Any) -> None:
        for ts in self._unique():
            ts.start = value

    @property
    def stop(self) -> G3Time:
        """Stop time of the members (the first member's; the epoch when empty)."""
        first = self._first()
        return first.stop if first is not None else G3Time(0)

    @stop.setter
    def stop(self, value: Any) -> None:
        for ts in self._unique():
            ts.stop = value

    @property
    def sample_rate(self) -> float:
        """Sample rate of the members in samples per tick (0 when empty)."""
        first = self._first()
        return first.sample_rate if first is not None else 0.0

    @property
    def n_samples(self) -> int:
        """Number of samples per member (0 when empty)."""
        first = self._first()
        return first.n_samples if first is not None else 0

    @property
    def units(self) -> Any:
        """Units of the members (the first member's; None when empty)."""
        first = self._first()
        return first.units if first is not None else G3TimestreamUnits["None"]

    @units.setter
    def units(self, value: Any) -> None:
        for ts in self._unique():
            ts.units = value

    @property
    def dtype(self) -> np.dtype:
        """Sample type of the members (the first member's; float64 when empty)."""
        first = self._first()
        return first.dtype if first is not None else np.dtype(np.float64)

    @property
    def compression_level(self) -> int:
        """FLAC level of the members (the first member's; 0 when empty)."""
        first = self._first()
        return first.compression_level if first is not None else 0

    @property
    def bit_depth(self) -> int:
        """FLAC bit depth of the members (the first member's; 0 when empty)."""
        first = self._first()
        return first.bit_depth if first is not None else 0

    @property
    def times(self) -> Any:
        """Sample times of the members (a G3VectorTime; None when empty)."""
        first = self._first()
        return first.times if first is not None else None

    @property
    def elapsed(self) -> Any:
        """Ticks since ``start`` of every sample (a G3VectorInt; None when empty)."""
        first = self._first()
        return first.elapsed if first is not None else None

    def std(self, *args: Any, **kw: Any) -> Any:
        """Standard deviation of the samples of all members (``numpy.std`` of the 2-D data)."""
        return self._block().std(*args, **kw)

    def var(self, *args: Any, **kw: Any) -> Any:
        """Variance of the samples of all members (``numpy.var`` of the 2-D data)."""
        return self._block().var(*args, **kw)

    def _block(self) -> np.ndarray:
        return np.asarray(self) if self._members else np.zeros(0)

    def SetFLACCompression(self, level: int) -> None:
        """Set the FLAC compression level of every member."""
        for ts in self._unique():
            ts.SetFLACCompression(level)

    def SetFLACBitDepth(self, depth: int) -> None:
        """Set the FLAC bit depth of every member."""
        for ts in self._unique():
            ts.SetFLACBitDepth(depth)

    def CheckAlignment(self) -> bool:
        """Whether all members have the same length, start and stop."""
        first = None
        for ts in self._members.values():
            key = (len(ts), ts._start, ts._stop)
            if first is None:
                first = key
            elif key != first:
                return False
        return True

    @property
    def data(self) -> np.ndarray:
        """The members as rows of one 2-D array: a view (the map is compacted first if needed)."""
        members = list(self._members.values())
        if not members:
            return np.zeros(0)
        if not self.CheckAlignment():
            raise ValueError("timestream map members are not aligned")
        base = _common_base(members)
        if base is None:
            self.Compactify()
            base = _common_base(members)
        if base is not None:
            return base
        return np.stack([m._data for m in members])  # a member is shared: no single block

    def astype(self, dtype: Any) -> G3TimestreamMap:
        """A copy with every member's samples converted to ``dtype``."""
        out = G3TimestreamMap()
        done: dict[int, G3Timestream] = {}
        for k, ts in self._members.items():
            if id(ts) not in done:
                done[id(ts)] = ts.astype(dtype)
            out._members[k] = done[id(ts)]
        return out

    @classmethod
    def concatenate(
        cls,
        ts_map_lst: Any,
        ts_rounding_error: float = 0.6,
        ts_interp_threshold: float = 0,
        skip_missing: bool = False,
    ) -> G3TimestreamMap:
        """Join maps member by member with ``G3Timestream.concatenate``.

        The maps must have the same keys, unless ``skip_missing`` is true:
        then only the keys present in all of them are kept (in the first
        map's order).
        """
        maps = list(ts_map_lst)
        if not maps:
            raise ValueError("nothing to concatenate")
        keys = list(maps[0])
        common = set(keys)
        for m in maps[1:]:
            if skip_missing:
                common &= set(m)
            elif set(m) != common:
                raise ValueError("timestream maps do not have the same keys")
        out = cls()
        for k in keys:
            if k in common:
                out._members[k] = G3Timestream.concatenate(
                    [m[k] for m in maps], ts_rounding_error, ts_interp_threshold
                )
        return out

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """The members as rows of one 2-D array; compacts the map first, so no copy."""
        if not self._members:
            raise ValueError("the timestream map is empty")
        block = self.data
        if dtype is not None and np.dtype(dtype) != block.dtype:
            return block.astype(dtype)
        return block.copy() if copy else block

    def Compactify(self) -> None:
        """Store all members as rows of one contiguous 2-D array (their data become views)."""
        if not self._members:
            return
        if not self.CheckAlignment():
            raise ValueError("timestream map members are not aligned")
        members = list(self._unique())
        dtypes = {m.dtype for m in members}
        if len(dtypes) != 1:
            raise ValueError("timestream map members have different sample types")
        block = np.stack([m._data for m in members])
        for i, m in enumerate(members):
            m._data = block[i]
            m._flac_cache = None

    def _unique(self) -> Iterable[G3Timestream]:
        seen: set[int] = set()
        for ts in self._members.values():
            if id(ts) not in seen:
                seen.add(id(ts))
                yield ts

    # -- text ---------------------------------------------------------------
    def Description(self) -> str:
        """The keys, as ``[a, b]``."""
        return "[" + ", ".join(self._members) + "]"

    def Summary(self) -> str:
        """The keys for up to four members, else ``N elements``, like the reference."""
        if len(self._members) >= 5:
            return f"{len(self._members)} elements"
        return self.Description()

    def __str__(self) -> str:
        return self.Summary()

    def _listing_summary(self) -> str:
        """The line a frame listing shows: the first member's shape, and the member count."""
        if not self._members:
            return "Timestreams from 0 detectors"
        first = next(iter(self._members.values()))
        return f"Timestreams of {first.Summary()} from {len(self._members)} detectors"

    def __repr__(self) -> str:
        return f"<G3TimestreamMap {self.Description()}>"

    # -- codec -------------------------------------------------------------
    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> G3TimestreamMap:
        obj = cls()
        members = obj._members
        n = r.size(9)
        if version >= 3:
            for _ in range(n):
                key = r.string()
                at = r.offset()
                ts = r.pointer(G3Timestream)
                if not isinstance(ts, G3Timestream):
                    what = "a null pointer" if ts is None else type(ts).__name__
                    raise UnknownTypeCodeError(f"timestream map member {key!r} is {what}", at)
                members.setdefault(key, ts)
            return obj
        for _ in range(n):
            key = r.string()
            ts_version = r.begin(G3Timestream._g3_chain)
            members.setdefault(key, G3Timestream._g3_read(r, ts_version))
        if version == 1:
            start = read_time_by_value(r).time
            stop = read_time_by_value(r).time
            for ts in members.values():
                ts._start, ts._stop = start, stop
        return obj

    def _g3_write(self, w: ArchiveWriter) -> None:
        w.size(len(self._members))
        write_members(w, self._members)

    def _json_payload(self) -> Any:

        return [[k, object_to_json(ts)] for k, ts in self._members.items()]

    @classmethod
    def _from_json_payload(cls, payload: Any) -> G3TimestreamMap:

        obj = cls()
        for key, value in payload:
            ts = object_from_json(value)
            if not isinstance(ts, G3Timestream):
                raise G3FormatError(f"timestream map member {key!r} is not a G3Timestream")
            obj._members[key] = ts
        return obj

    @property
    def source_class(self) -> str:
        """The class this map was decoded from: ``G3TimestreamMap`` or ``G3SuperTimestream``."""
        return self._source[0] if self._source else self._g3_name


def _common_base(members: list[G3Timestream]) -> np.ndarray | None:
    """A 2-D view whose rows are exactly the members' data, if they lie back to back in one buffer."""
    first = members[0]._data
    owner = first.base
    if owner is None or not first.flags.c_contiguous:
        return None
    row_bytes = first.nbytes
    start = first.__array_interface__["data"][0]
    for i, m in enumerate(members):
        d = m._data
        if (
            d.base is not owner
            or d.shape != first.shape
            or d.dtype != first.dtype
            or not d.flags.c_contiguous
            or d.__array_interface__["data"][0] != start + i * row_bytes
        ):
            return None
    return np.lib.stride_tricks.as_strided(
        first,
        shape=(len(members), first.shape[0]),
        strides=(row_bytes, first.dtype.itemsize),
        writeable=bool(first.flags.writeable),
    )


def concatenate_timestreams(
    ts_lst: Any, ts_rounding_error: float = 0.6, ts_interp_threshold: float = 0
) -> Any:
    """Join a list of contiguous ``G3Timestream``s, or of ``G3TimestreamMap``s, end to end.

    spt3g's function of the same name: the objects must all be of one type;
    see ``G3Timestream.concatenate`` for the tolerances.
    """
    return type(ts_lst[0]).concatenate(ts_lst, ts_rounding_error, ts_interp_threshold)
