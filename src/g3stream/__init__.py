"""g3stream: SPT-3G's G3 frames, files and network streams in Python.

Byte-compatible with spt3g; public names follow spt3g's.  ``from g3stream
import core`` stands in for ``from spt3g import core``.
"""

from __future__ import annotations

from .errors import *  # noqa: F403
from .errors import __all__ as _errors_all
from .frame import G3Frame, G3FrameType
from .objects import *  # noqa: F403
from .objects import __all__ as _objects_all

__version__ = "0.1.0"

__all__ = ["G3Frame", "G3FrameType", *_errors_all, *_objects_all]
