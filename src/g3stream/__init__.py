"""g3stream: SPT-3G's G3 frames, files and network streams in Python.

Byte-compatible with spt3g; public names follow spt3g's.  ``from g3stream
import core`` stands in for ``from spt3g import core``.  Importing the
package registers every frame-object class and every source scheme
(``tcp://``, ``nats://`` and ``nats+tls://``).  Frames, objects and files
load at once; the network, NATS and pipeline layers load on first use of
one of their names or schemes, so that a script or command that only reads
files starts quickly.  Each layer lists its public names in its
``__all__``; the package exports exactly those, and the NATS sender under
spt3g-style naming (``G3NatsSender``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import errors, io, objects
from ._version import __version__ as __version__
from .errors import *  # noqa: F403
from .frame import G3Frame as G3Frame
from .frame import G3FrameType as G3FrameType
from .io import *  # noqa: F403
from .io.schemes import register_scheme
from .objects import *  # noqa: F403

if TYPE_CHECKING:  # the names of the layers loaded on first use, for type checkers
    from . import core as core
    from . import nats as nats
    from . import net as net
    from . import pipeline as pipeline
    from .nats import G3NatsSender as G3NatsSender
    from .net import *  # noqa: F403
    from .pipeline import *  # noqa: F403

register_scheme(
    "tcp://",
    "g3stream.net.tcp_source:TcpSource",
    description="a G3 stream over TCP: tcp://host:port connects, tcp://*:port listens",
)
for _prefix in ("nats://", "nats+tls://"):
    register_scheme(
        _prefix,
        "g3stream.nats.source:open_nats_source",
        description="a G3 stream on NATS JetStream: nats://[user:pass@]host:port/STREAM?start=...",
    )

#: Layers loaded on first use, and the names the package takes from each.
_LAZY: dict[str, tuple[str, ...] | None] = {
    "net": None,
    "pipeline": None,
    "nats": ("G3NatsSender",),
}
_EAGER_ALL = [
    "G3Frame",
    "G3FrameType",
    *errors.__all__,
    *objects.__all__,
    *io.__all__,
]


def _exported(layer: str) -> tuple[str, ...]:
    """The names the package takes from ``layer`` (importing it)."""
    module = importlib.import_module(f"{__name__}.{layer}")
    names = _LAZY[layer]
    return tuple(module.__all__) if names is None else names


def __getattr__(name: str) -> Any:
    """A name of a layer loaded on first use (``G3NetworkSender``, ``G3Pipeline``, ...)."""
    if name in _LAZY or name == "core":
        return importlib.import_module(f"{__name__}.{name}")
    if name == "__all__":
        everything = [*_EAGER_ALL, *(n for layer in _LAZY for n in _exported(layer)), "core"]
        globals()["__all__"] = everything
        return everything
    if not name.startswith("__"):
        for layer in _LAZY:
            if name in _exported(layer):
                value = getattr(importlib.import_module(f"{__name__}.{layer}"), name)
                globals()[name] = value
                return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__getattr__("__all__")))
