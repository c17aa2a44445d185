"""G3TimestreamQuat: a quaternion per sample, with start and stop (FORMAT.md 9.9).

It is a ``G3VectorQuat`` (stored as an ``(n, 4)`` float64 array, so
``numpy.asarray`` gives the components without a copy) plus the times of
its first and last samples.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..cereal import register
from .time import G3Time, read_time_by_value, write_time_by_value
from .timestream import G3Timestream, TimeSpan, _format_rate
from .vectors import G3VectorQuat

if TYPE_CHECKING:
    from ..cereal import ArchiveReader, ArchiveWriter

__all__ = ["G3TimestreamQuat"]


@register(version=1, base=G3VectorQuat)
class G3TimestreamQuat(TimeSpan, G3VectorQuat):
    """Quaternions sampled evenly from ``start`` to ``stop`` (e.g. detector pointing).

    ``G3TimestreamQuat(quats, start=0, stop=0)``: ``quats`` is an iterable of
    ``Quat`` or an ``(n, 4)`` array.
    """

    __slots__ = ("_start", "_stop")

    _start: int
    _stop: int

    def __init__(self, values: Any = None, start: Any = 0, stop: Any = 0) -> None:
        super().__init__(values)
        if isinstance(values, G3TimestreamQuat) and not start and not stop:
            self._start, self._stop = values._start, values._stop
        else:
            self._start = G3Time(start).time
            self._stop = G3Time(stop).time

    @classmethod
    def _wrap(cls, arr: np.ndarray) -> Any:
        obj = super()._wrap(arr)
        obj._start = 0
        obj._stop = 0
        return obj

    def _quats(self, arr: np.ndarray) -> Any:
        out = type(self)._wrap(arr)
        out._start, out._stop = self._start, self._stop
        return out

    def _doubles(self, arr: np.ndarray) -> Any:
        # as in spt3g: a timestream over the same times (units None)
        return G3Timestream._wrap(arr, 0, self._start, self._stop)

    def copy(self) -> G3TimestreamQuat:
        """An independent copy, with the same start and stop."""
        out: G3TimestreamQuat = type(self)._wrap(self._view().copy())
        out._start, out._stop = self._start, self._stop
        return out

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self._view().copy(), self._start, self._stop))

    @property
    def n_samples(self) -> int:
        """Number of quaternions."""
        return len(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, G3TimestreamQuat):
            return (
                self._start == other._start
                and self._stop == other._stop
                and bool(np.array_equal(self._view(), other._view()))
            )
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def Description(self) -> str:
        """``N quaternions at R Hz``, like the reference."""
        return f"{len(self)} quaternions at {_format_rate(len(self), self._stop - self._start)} Hz"

    def Summary(self) -> str:
        """Same as ``Description``."""
        return self.Description()

    def __str__(self) -> str:
        return self.Description()

    def __repr__(self) -> str:
        return f"<G3TimestreamQuat: {self.Description()}, {self.start} to {self.stop}>"

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> G3TimestreamQuat:
        # The G3VectorQuat base is read by value: its versions, then its elements.
        base_version = r.begin(G3VectorQuat._g3_chain)
        vec = G3VectorQuat._g3_read(r, base_version)
        obj: G3TimestreamQuat = cls._wrap(vec._view())
        obj._start = read_time_by_value(r).time
        obj._stop = read_time_by_value(r).time
        return obj

    def _g3_write(self, w: ArchiveWriter) -> None:
        w.begin(G3VectorQuat._g3_chain, G3VectorQuat._g3_write_versions)
        super()._g3_write(w)
        write_time_by_value(w, self._start)
        write_time_by_value(w, self._stop)

    def _json_payload(self) -> Any:
        return {"start": self._start, "stop": self._stop, "quats": super()._json_payload()}

    @classmethod
    def _from_json_payload(cls, payload: Any) -> G3TimestreamQuat:
        vec = G3VectorQuat._from_json_payload(payload["quats"])
        obj: G3TimestreamQuat = cls._wrap(vec._view())
        obj._start = int(payload["start"])
        obj._stop = int(payload["stop"])
        return obj
