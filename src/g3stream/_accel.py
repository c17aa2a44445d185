"""The optional compiled accelerator, ``g3stream_accel``, when it may be used.

It is used when it is installed (``pip install 'g3stream[accel]'``) and the
environment variable ``G3STREAM_PURE`` is unset, empty or ``0``; otherwise
``accel`` is ``None`` and every path is pure Python.  The accelerator only
ever handles well-formed input and leaves the rest to the pure code, so the
results (frames, bytes and errors) are the same either way.
"""

from __future__ import annotations

import importlib
import logging
import os
from types import ModuleType

_compiled: ModuleType | None
try:
    _compiled = importlib.import_module("g3stream_accel")
except ImportError:  # not installed: the pure-Python path
    _compiled = None

log = logging.getLogger(__name__)

#: The accelerator's calling convention this package speaks; another build is not used.
API = 1


def _load() -> ModuleType | None:
    if _compiled is None or os.environ.get("G3STREAM_PURE", "") not in ("", "0"):
        return None
    found = getattr(_compiled, "API", None)
    if found != API:
        log.warning("g3stream_accel speaks API %s, not %s: not used (reinstall it)", found, API)
        return None
    return _compiled


#: The accelerator module, or ``None`` for the pure-Python path.
accel: ModuleType | None = _load()

__all__ = ["accel"]
