"""Run the same code against spt3g and g3stream and compare what comes out.

A case is a piece of Python that sets ``r``; it runs with ``core`` bound to
``spt3g.core`` and then to ``g3stream.core`` (and ``np`` to numpy).  The
outcomes are reduced to plain data (type names, values, exception kinds)
and must be equal, except that g3stream's exception may be of more kinds
than spt3g's (its typed errors are also the ``RuntimeError`` spt3g raises).
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np
import pytest

import g3stream.core as ours

#: the standard exception kinds an outcome records
KINDS = (
    TypeError,
    ValueError,
    RuntimeError,
    KeyError,
    IndexError,
    AttributeError,
    BufferError,
    ZeroDivisionError,
    OverflowError,
    AssertionError,
    OSError,
)


def reference() -> Any:
    """spt3g's ``core`` (the test is skipped where the wheel is not installed)."""
    return pytest.importorskip("spt3g.core", reason="the reference spt3g is not installed")


def normalize(v: Any) -> Any:
    """``v`` as plain comparable data, naming the classes as both libraries name them."""
    name = type(v).__name__
    if v is None or isinstance(v, bool | int | str | bytes):
        return v
    if isinstance(v, float):
        return ("float", "nan" if math.isnan(v) else struct.pack("<d", v))
    if isinstance(v, np.generic):
        return normalize(v.item())
    if isinstance(v, np.ndarray):
        return ("ndarray", str(v.dtype), normalize(v.tolist()))
    if isinstance(v, list | tuple):
        return [normalize(x) for x in v]
    if name == "Quat":
        return ("Quat", normalize([v.a, v.b, v.c, v.d]))
    if name == "G3Time":
        return ("G3Time", v.time)
    if name == "G3FrameType":
        return ("G3FrameType", int(v))
    if name in ("G3Timestream", "G3TimestreamQuat"):
        extra = [v.start.time, v.stop.time]
        if name == "G3Timestream":
            extra += [int(v.units), str(np.asarray(v).dtype)]
        return (name, normalize(np.asarray(v).tolist()), extra)
    if name == "G3VectorTime" or name == "G3TimeVector":
        return (name, [t.time for t in v])
    if "Vector" in name:
        if name in ("G3VectorString", "StringVector", "G3VectorVectorString"):
            return (name, [list(x) if not isinstance(x, str) else x for x in v])
        return (name, normalize(np.asarray(v).tolist()))
    return ("object", name)


def run(core: Any, code: str) -> Any:
    """The outcome of ``code`` (which sets ``r``) with ``core`` as the library."""
    ns: dict[str, Any] = {"core": core, "np": np}
    try:
        exec(code, ns)
    except Exception as exc:
        return ("raises", frozenset(k.__name__ for k in KINDS if isinstance(exc, k)))
    return ("value", normalize(ns.get("r")))


def same_outcome(code: str) -> tuple[Any, Any]:
    """Run ``code`` on both libraries and assert the outcomes agree; returns them."""
    theirs = run(reference(), code)
    mine = run(ours, code)
    if theirs[0] == "raises" and mine[0] == "raises":
        assert theirs[1] <= mine[1], (
            f"{code}\nspt3g raised {set(theirs[1])}, g3stream {set(mine[1])}"
        )
    else:
        assert mine == theirs, f"{code}\nspt3g: {theirs}\ng3stream: {mine}"
    return theirs, mine
