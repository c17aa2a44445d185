"""g3stream: SPT-3G's G3 frames, files and network streams in Python.

Byte-compatible with spt3g; public names follow spt3g's.  ``from g3stream
import core`` stands in for ``from spt3g import core``.  Importing the
package registers every frame-object class and every source scheme
(``tcp://``; ``nats://`` and ``nats+tls://``, whose nats-py dependency is
imported only when such a URL is opened).  Each layer lists its public
names in its ``__all__``; the package exports exactly those, and the NATS
sender under spt3g-style naming (``G3NatsSender``).
"""

from __future__ import annotations

from . import errors, io, net, objects, pipeline
from . import nats as nats  # registers nats:// and nats+tls://
from ._version import __version__ as __version__
from .errors import *  # noqa: F403
from .frame import G3Frame, G3FrameType
from .io import *  # noqa: F403
from .nats import G3NatsSender
from .net import *  # noqa: F403
from .objects import *  # noqa: F403
from .pipeline import *  # noqa: F403

__all__ = [
    "G3Frame",
    "G3FrameType",
    *errors.__all__,
    *objects.__all__,
    *io.__all__,
    *net.__all__,
    *pipeline.__all__,
    "G3NatsSender",
    "core",
]

# Last: ``core`` re-exports every name above (spt3g's ``from spt3g import core``).
from . import core  # noqa: E402
