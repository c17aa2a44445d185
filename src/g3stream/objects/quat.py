"""Quaternions: the plain ``Quat`` value and the ``G3Quat`` frame object."""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from ..cereal import G3FrameObject, register
from .scalars import from_json_number, json_number

if TYPE_CHECKING:
    from ..cereal import ArchiveReader, ArchiveWriter


def is_real_number(x: Any) -> bool:
    """Whether ``x`` is a real number (not a ``bool``): what scales a quaternion."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


class Quat:
    """A quaternion ``a + b i + c j + d k`` with components ``.a .b .c .d``.

    Arithmetic as spt3g's: ``+``, ``-`` and ``*`` between quaternions
    (``*`` is the Hamilton product), ``*`` and ``/`` by a number, ``p / q``
    (``p * q**-1``), ``q ** n`` for an integer ``n``, ``-q``, ``~q`` (the
    conjugate), ``abs(q)`` (the Euclidean norm).  ``Quat(q)`` and
    ``Quat(array_of_4)`` copy; ``numpy.asarray(q)`` gives the 4 components.
    """

    __slots__ = ("a", "b", "c", "d")

    def __init__(self, a: Any = 0.0, b: float = 0.0, c: float = 0.0, d: float = 0.0) -> None:
        if not is_real_number(a) and not isinstance(a, bool):
            a, b, c, d = (float(x) for x in np.asarray(a, dtype=float).reshape(4))
        self.a, self.b, self.c, self.d = float(a), float(b), float(c), float(d)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter((self.a, self.b, self.c, self.d))

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return np.array((self.a, self.b, self.c, self.d), dtype=dtype or np.float64)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, G3Quat):
            other = other.value
        if not isinstance(other, Quat):
            return NotImplemented
        return tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    # -- arithmetic ---------------------------------------------------------
    def __add__(self, o: Any) -> Quat:
        if not isinstance(o, Quat):
            return NotImplemented
        return Quat(self.a + o.a, self.b + o.b, self.c + o.c, self.d + o.d)

    def __sub__(self, o: Any) -> Quat:
        if not isinstance(o, Quat):
            return NotImplemented
        return Quat(self.a - o.a, self.b - o.b, self.c - o.c, self.d - o.d)

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
        if is_real_number(o):
            return Quat(self.a * o, self.b * o, self.c * o, self.d * o)
        return NotImplemented

    def __rmul__(self, o: Any) -> Quat:
        if is_real_number(o):
            return Quat(o * self.a, o * self.b, o * self.c, o * self.d)
        return NotImplemented

    def __truediv__(self, o: Any) -> Quat:
        if isinstance(o, Quat):
            return (self * o.conj()) / o.norm()
        if is_real_number(o):
            return Quat(self.a / o, self.b / o, self.c / o, self.d / o)
        return NotImplemented

    def __rtruediv__(self, o: Any) -> Quat:
        if is_real_number(o):
            return (o * self.conj()) / self.norm()
        return NotImplemented

    def __pow__(self, n: Any) -> Quat:
        if not isinstance(n, numbers.Integral) or isinstance(n, bool):
            return NotImplemented
        n = int(n)
        if n < 0:
            return self._inverse() ** -n
        if n == 0:
            return Quat(1.0, 0.0, 0.0, 0.0)
        if n == 1:
            return Quat(self.a, self.b, self.c, self.d)
        half = self ** (n // 2)  # by squaring, in the order spt3g multiplies
        out = half * half
        return out * self if n % 2 else out

    def __iadd__(self, o: Any) -> Quat:
        return self._assign(self + o) if isinstance(o, Quat) else NotImplemented

    def __isub__(self, o: Any) -> Quat:
        return self._assign(self - o) if isinstance(o, Quat) else NotImplemented

    def __imul__(self, o: Any) -> Quat:
        r = self * o
        return NotImplemented if r is NotImplemented else self._assign(r)

    def __itruediv__(self, o: Any) -> Quat:
        r = self / o
        return NotImplemented if r is NotImplemented else self._assign(r)

    def _assign(self, q: Quat) -> Quat:
        self.a, self.b, self.c, self.d = q.a, q.b, q.c, q.d
        return self

    def __neg__(self) -> Quat:
        return Quat(-self.a, -self.b, -self.c, -self.d)

    def __invert__(self) -> Quat:
        return self.conj()

    def __abs__(self) -> float:
        return math.sqrt(self.a**2 + self.b**2 + self.c**2 + self.d**2)

    def _inverse(self) -> Quat:
        return self.conj() / self.norm()

    # -- parts and products -------------------------------------------------
    @property
    def real(self) -> float:
        """The real (scalar) part ``a``."""
        return self.a

    @property
    def unreal(self) -> Quat:
        """The vector part ``(0, b, c, d)``."""
        return Quat(0.0, self.b, self.c, self.d)

    def abs(self) -> float:
        """The Euclidean norm, ``sqrt(a² + b² + c² + d²)`` (same as ``abs(q)``)."""
        return abs(self)

    def norm(self) -> float:
        """The Cayley norm, ``a² + b² + c² + d²``."""
        return self.a * self.a + self.b * self.b + self.c * self.c + self.d * self.d

    def vnorm(self) -> float:
        """The Cayley norm of the vector part, ``b² + c² + d²``."""
        return self.b * self.b + self.c * self.c + self.d * self.d

    def dot3(self, o: Quat) -> float:
        """The dot product of the vector parts."""
        return self.b * o.b + self.c * o.c + self.d * o.d

    def cross3(self, o: Quat) -> Quat:
        """The cross product of the vector parts (a quaternion with real part 0)."""
        return Quat(
            0.0,
            self.c * o.d - self.d * o.c,
            self.d * o.b - self.b * o.d,
            self.b * o.c - self.c * o.b,
        )

    def conj(self) -> Quat:
        """The conjugate ``a - b i - c j - d k`` (same as ``~q``)."""
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
