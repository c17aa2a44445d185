"""Plain Python values and the frame objects that store them in a frame.

A frame stores ``bool``, ``int``, ``float``, ``str`` and ``Quat`` values as
G3Bool, G3Int, G3Double, G3String and G3Quat, and gives the plain value back
when the key is read, as spt3g does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..cereal import G3FrameObject
from .quat import G3Quat, Quat
from .scalars import G3Bool, G3Double, G3Int, G3String


def wrap_value(value: Any) -> G3FrameObject:
    """The frame object that stores ``value``: G3 objects as they are, plain values wrapped."""
    if isinstance(value, G3FrameObject):
        if vars(type(value)).get("_g3_untyped"):
            raise TypeError(
                f"a {type(value).__name__} is not a frame object (as in spt3g): store its "
                "G3 counterpart, for example G3VectorDouble(v) for a DoubleVector"
            )
        return value
    if isinstance(value, bool | np.bool_):
        return G3Bool(bool(value))
    if isinstance(value, int | np.integer):
        return G3Int(int(value))
    if isinstance(value, float | np.floating):
        return G3Double(float(value))
    if isinstance(value, str):
        return G3String(value)
    if isinstance(value, Quat):
        return G3Quat(value)
    raise TypeError(
        f"cannot store a {type(value).__name__} in a G3Frame: use a G3 frame object "
        "(for example G3VectorDouble for a list of floats) or bool/int/float/str"
    )


def unwrap_value(obj: Any) -> Any:
    """What reading a key returns: plain values for G3Bool/G3Int/G3Double/G3String/G3Quat."""
    cls = type(obj)
    if cls is G3Int or cls is G3Double or cls is G3String or cls is G3Bool:
        return obj.value
    if cls is G3Quat:
        return obj.value
    return obj


__all__ = ["wrap_value", "unwrap_value"]
