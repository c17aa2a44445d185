"""g3stream: SPT-3G's G3 frames, files and network streams in Python.

Byte-compatible with spt3g; public names follow spt3g's.  ``from g3stream
import core`` stands in for ``from spt3g import core``.
"""

from __future__ import annotations

import importlib

from .errors import *  # noqa: F403
from .errors import __all__ as _errors_all
from .frame import G3Frame, G3FrameType
from .objects import *  # noqa: F403
from .objects import __all__ as _objects_all

__version__ = "0.1.0"

__all__ = ["G3Frame", "G3FrameType", *_errors_all, *_objects_all]

# I/O layers and the pipeline, each exporting its public names via __all__.
for _layer in ("io", "net", "pipeline"):
    try:
        _mod = importlib.import_module(f"{__name__}.{_layer}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"{__name__}.{_layer}":
            raise
        continue
    for _name in getattr(_mod, "__all__", ()):
        globals()[_name] = getattr(_mod, _name)
        __all__.append(_name)

from . import core  # noqa: E402, F401

__all__.append("core")
