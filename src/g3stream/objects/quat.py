"""Quaternions: the plain ``Quat`` value and the ``G3Quat`` frame object."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..cereal import G3FrameObject, register
from .scalars import from_json_number, json_number

if TYPE_CHECKING:
    from ..cereal import ArchiveReader, ArchiveWriter


class Quat:
    """A quaternion ``a + b i + c j + d k`` with components ``.a .b .c .d``."""

    __slots__ = ("a", "b", "c", "d")

    def __init__(self, a: float = 0.0, b: float = 0.0, c: float = 0.0, d: float = 0.0) -> None:
        self.a, self.b, self.c, self.d = float(a), float(b), float(c), float(d)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter((self.a, self.b, self.c, self.d))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, G3Quat):
            other = other.value
        if not isinstance(other, Quat):
            return NotImplemented
        return tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __mul__(self, o: Any) -> Quat:
        if isinstance(o, Quat):
            a1, b1, c1, d1 = self
            a2, b2, c2, d2 = o
            return Quat(
                a1 * a2 - b1 * b2 - c1 * c2 - d1 * d2,
                a1 * b2 + b1 * a2 + c1 * d2 - d1 * c2,
                a1 * c2 - b1 * d2 + c1 * a2 + d1 * b2,
                a1 * d2 + b1 * c2 - c1 * b2 + d1 * a2,
            )
        return Quat(self.a * o, self.b * o, self.c * o, self.d * o)

    def __abs__(self) -> float:
        return math.sqrt(self.a**2 + self.b**2 + self.c**2 + self.d**2)

    def conj(self) -> Quat:
        """The conjugate ``a - b i - c j - d k``."""
        return Quat(self.a, -self.b, -self.c, -self.d)

    def __repr__(self) -> str:
        return f"Quat({self.a!r}, {self.b!r}, {self.c!r}, {self.d!r})"

    def __str__(self) -> str:
        return f"({self.a}, {self.b}, {self.c}, {self.d})"


def read_quat(r: ArchiveReader) -> Quat:
    """A ``Quat`` stored by value."""
    r.version("Quat", 1)
    q = Quat.__new__(Quat)
    q.a, q.b, q.c, q.d = r.f64(), r.f64(), r.f64(), r.f64()
    return q


def write_quat(w: ArchiveWriter, q: Quat) -> None:
    """Store a ``Quat`` by value."""
    w.version("Quat", 1)
    w.f64(q.a)
    w.f64(q.b)
    w.f64(q.c)
    w.f64(q.d)


def quat_json(q: Quat) -> list[Any]:
    """A QUAT in the vectors' JSON notation."""
    return [json_number(x) for x in q]


def quat_from_json(v: list[Any]) -> Quat:
    """The ``Quat`` that a JSON QUAT denotes."""
    return Quat(*(from_json_number(x) for x in v))


@register(version=1)
class G3Quat(G3FrameObject):
    """A quaternion frame object; frames store ``Quat`` values as G3Quat."""

    __slots__ = ("value",)

    def __init__(self, value: Quat | None = None) -> None:
        self.value = value if value is not None else Quat()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, G3Quat):
            other = other.value
        return self.value == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"G3Quat({self.value!r})"

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> G3Quat:
        return cls(read_quat(r))

    def _g3_write(self, w: ArchiveWriter) -> None:
        write_quat(w, self.value)

    def _json_payload(self) -> Any:
        return quat_json(self.value)

    @classmethod
    def _from_json_payload(cls, payload: Any) -> G3Quat:
        return cls(quat_from_json(payload))


__all__ = ["Quat", "G3Quat"]
