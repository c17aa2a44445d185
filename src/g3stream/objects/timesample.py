"""G3TimesampleMap: co-sampled vectors sharing one time vector (FORMAT.md 9.8).

On the wire it is a ``G3MapFrameObject`` (every value a nested archive, keys
in byte order) followed by a ``G3VectorTime``; its class version is 0.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..cereal import G3FrameObject, register
from ..errors import G3TimesampleError
from .jsonvalue import object_from_json, object_to_json
from .maps import G3MapFrameObject, key_bytes, read_nested_archives, write_nested_archives
from .vectors import G3VectorTime, read_by_value, same_value, write_by_value

if TYPE_CHECKING:
    from ..cereal import ArchiveReader, ArchiveWriter

__all__ = ["G3TimesampleMap", "G3TimesampleError"]


@register(version=0, base=G3MapFrameObject)
class G3TimesampleMap(G3FrameObject, MutableMapping):  # type: ignore[type-arg]
    """Named vectors (e.g. ``G3VectorDouble``) with one value per entry of ``times``.

    A value assigned must be a frame object; if it has a length, that must
    equal ``len(times)``, as in the reference.  Keys iterate in byte order.
    """

    __slots__ = ("_fields", "_times")

    def __init__(self, fields: Any = None, times: Any = None) -> None:
        self._fields: dict[str, Any] = {}
        self._times = G3VectorTime() if times is None else G3VectorTime(times)
        if fields is not None:
            items = fields.items() if isinstance(fields, Mapping) else fields
            for k, v in items:
                self[k] = v

    @property
    def times(self) -> G3VectorTime:
        """The sample times (a ``G3VectorTime``)."""
        return self._times

    @times.setter
    def times(self, value: Any) -> None:
        times = value if isinstance(value, G3VectorTime) else G3VectorTime(value)
        for v in self._fields.values():
            if hasattr(v, "__len__") and len(v) != len(times):
                raise ValueError(
                    "Cannot set .times because it conflicts with the established number "
                    f"of samples ({len(v)})."
                )
        self._times = times

    # -- mapping -----------------------------------------------------------
    def _sorted_keys(self) -> list[str]:
        return sorted(self._fields, key=key_bytes)

    def __getitem__(self, key: str) -> Any:
        return self._fields[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"timesample map keys are strings, not {type(key).__name__}")
        if not isinstance(value, G3FrameObject):
            raise TypeError(f"timesample map values are frame objects, not {type(value).__name__}")
        if hasattr(value, "__len__") and len(value) != len(self._times):  # type: ignore[arg-type]
            raise ValueError(f"cannot add member ({key}): not the same length as .times")
        self._fields[key] = value

    def __delitem__(self, key: str) -> None:
        del self._fields[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._sorted_keys())

    def __len__(self) -> int:
        return len(self._fields)

    def __contains__(self, key: object) -> bool:
        return key in self._fields

    def check(self) -> None:
        """Raise ``ValueError`` unless every member has one entry per time."""
        n = len(self._times)
        for k in self._sorted_keys():
            v = self._fields[k]
            if hasattr(v, "__len__") and len(v) != n:
                raise ValueError(f"member {k!r} has {len(v)} entries for {n} times")

    def concatenate(self, other: G3TimesampleMap) -> G3TimesampleMap:
        """A new map with ``other``'s samples after this one's (same keys and vector types)."""
        if set(self._fields) != set(other._fields):
            only = sorted(set(self._fields) ^ set(other._fields))
            raise G3TimesampleError(f"inconsistent keys: {', '.join(only)}")
        out = G3TimesampleMap()
        out._times = G3VectorTime(
            np.concatenate([np.asarray(self._times), np.asarray(other._times)])
        )
        for k, a in self._fields.items():
            b = other._fields[k]
            if type(a) is not type(b):
                raise G3TimesampleError(f"vector types differ for key {k!r}")
            out._fields[k] = type(a)(list(a) + list(b))
        return out

    def sort(self) -> None:
        """Order the times, and every member with them, by time (stable), in place."""
        ticks = np.asarray(self._times)
        order = np.argsort(ticks, kind="stable")
        if np.array_equal(order, np.arange(order.shape[0])):
            return
        self._times = G3VectorTime(ticks[order])
        for k, v in self._fields.items():
            if hasattr(v, "__len__") and len(v) == order.shape[0]:
                items = list(v)
                self._fields[k] = type(v)([items[i] for i in order])

    def copy(self) -> G3TimesampleMap:
        """A shallow copy (same member objects, copied time vector)."""
        out = G3TimesampleMap()
        out._times = self._times.copy()
        out._fields = dict(self._fields)
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, G3TimesampleMap):
            return NotImplemented
        return (
            bool(np.array_equal(np.asarray(self._times), np.asarray(other._times)))
            and self._sorted_keys() == other._sorted_keys()
            and all(same_value(self._fields[k], other._fields[k]) for k in self._fields)
        )

    __hash__ = None  # type: ignore[assignment]

    # -- text ---------------------------------------------------------------
    def Description(self) -> str:
        """``<co-sampled vectors with N samples>{a, b}``, like the reference."""
        keys = ", ".join(self._sorted_keys())
        return f"<co-sampled vectors with {len(self._times)} samples>{{{keys}}}"

    def Summary(self) -> str:
        """Same as ``Description``."""
        return self.Description()

    def __str__(self) -> str:
        return self.Description()

    def __repr__(self) -> str:
        return f"<G3TimesampleMap {self.Description()}>"

    # -- codec -------------------------------------------------------------
    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> G3TimesampleMap:
        obj = cls.__new__(cls)
        obj._fields = read_nested_archives(r)
        obj._times = read_by_value(r, G3VectorTime)
        return obj

    def _g3_write(self, w: ArchiveWriter) -> None:
        write_nested_archives(w, self._fields, self._sorted_keys())
        write_by_value(w, self._times)

    def _json_payload(self) -> Any:

        return {
            "times": [int(t) for t in np.asarray(self._times).tolist()],
            "fields": [[k, object_to_json(self._fields[k])] for k in self._sorted_keys()],
        }

    @classmethod
    def _from_json_payload(cls, payload: Any) -> G3TimesampleMap:

        obj = cls.__new__(cls)
        obj._times = G3VectorTime._from_json_payload(payload["times"])
        obj._fields = {k: object_from_json(v, new_archive=True) for k, v in payload["fields"]}
        return obj
