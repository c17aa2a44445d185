"""Frame-object classes, each registered under its spt3g class name."""

from __future__ import annotations

import importlib

from .base import G3FrameObject, OpaqueFrameObject
from .quat import G3Quat, Quat
from .scalars import G3Bool, G3Double, G3Int, G3String
from .time import G3Time

__all__ = [
    "G3FrameObject",
    "OpaqueFrameObject",
    "G3Bool",
    "G3Int",
    "G3Double",
    "G3String",
    "G3Time",
    "G3Quat",
    "Quat",
]

# Families of objects that live in their own modules; each module defines
# __all__ and registers its classes on import.
_FAMILIES = (
    "vectors",
    "maps",
    "units",
    "timestream",
    "timestreammap",
    "timestreamquat",
    "timesample",
    "supertimestream",
    "pipelineinfo",
)
for _family in _FAMILIES:
    try:
        _mod = importlib.import_module(f"{__name__}.{_family}")
    except ModuleNotFoundError as _exc:  # a family not written yet
        if _exc.name != f"{__name__}.{_family}":
            raise
        continue
    for _name in getattr(_mod, "__all__", ()):
        globals()[_name] = getattr(_mod, _name)
        __all__.append(_name)
