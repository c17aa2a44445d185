"""Drop-in for ``spt3g.core``: ``from g3stream import core``.

Every public name of g3stream is available here under spt3g's name, so a
script written against ``spt3g.core`` runs after changing its import.
"""

from __future__ import annotations

import sys as _sys

_pkg = _sys.modules[__name__.rsplit(".", 1)[0]]
__all__ = [n for n in _pkg.__all__ if n != "core"]
globals().update({n: getattr(_pkg, n) for n in __all__})
