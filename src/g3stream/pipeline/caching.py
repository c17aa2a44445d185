"""``cache_frame_data``: give a function module values remembered from earlier frames.

Typical use: a module working on Scan frames that needs the most recent
calibration, which arrives in Calibration frames::

    @cache_frame_data(type=G3FrameType.Scan, bolo_props="BolometerProperties")
    def flag(frame, bolo_props=None, threshold=3):
        ...

    pipe.Add(flag, threshold=5)                   # cached from "BolometerProperties"
    pipe.Add(flag, bolo_props="OtherProperties")  # cached from another key

Every frame that passes (of any type) is searched for the cached keys; the
latest value found for each is passed to the function, which is only called
for frames of ``type`` (or every frame when ``type`` is None).  Until a key
has been seen, the function's own default applies.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable
from typing import Any

from ..frame import G3Frame, G3FrameType
from .decorators import g3decorator

__all__ = ["cache_frame_data", "scan_func_cache_data"]

_ADDRESS = re.compile(r"<(.*) at (.*)>")


def _signature_text(func: Callable[..., Any], defaults: dict[str, Any]) -> str:
    sig = inspect.signature(func)
    params = [
        p.replace(default=defaults[name]) if name in defaults else p
        for name, p in sig.parameters.items()
    ]
    return func.__name__ + _ADDRESS.sub(r"<\1>", str(sig.replace(parameters=params)))


@g3decorator
class cache_frame_data:
    """Decorator: call the function with values cached from earlier frames (see the module docs).

    ``type`` is the frame type the function handles (None: all); each
    further keyword maps a function argument to the frame key whose latest
    value it receives.
    """

    def __init__(self, type: G3FrameType | None, **cached: str) -> None:  # noqa: A002
        self.type = type
        self.cached = cached

    def __call__(self, func: Callable[..., Any]) -> type:
        frame_type = self.type
        cached = dict(self.cached)

        class CachingModule:
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                self.args = args
                self.kwargs = kwargs
                # an argument named like a cached one chooses the frame key to watch
                self.sources = {arg: kwargs.pop(arg, key) for arg, key in cached.items()}

            def __call__(self, frame: G3Frame) -> Any:
                for arg, key in self.sources.items():
                    if key and key in frame:
                        self.kwargs[arg] = frame[key]
                if frame_type is None or frame.type == frame_type:
                    return func(frame, *self.args, **self.kwargs)
                return None

        listing = "".join(f'    {arg} = "{key}"\n' for arg, key in cached.items())
        which = str(frame_type) if frame_type is not None else "any type of"
        CachingModule.__doc__ = (
            _signature_text(func, cached)
            + "\n\n"
            + textwrap.dedent(func.__doc__ or "")
            + f"\n\nRuns on {which} frames, with these arguments taken from the latest "
            "frame holding the given key (override the key by passing the argument):\n\n" + listing
        )
        CachingModule.__name__ = func.__name__
        CachingModule.__qualname__ = getattr(func, "__qualname__", func.__name__)
        CachingModule.__module__ = func.__module__
        CachingModule.__wrapped__ = func  # type: ignore[attr-defined]
        CachingModule.__g3module__ = True  # type: ignore[attr-defined]
        return CachingModule


@g3decorator
class scan_func_cache_data(cache_frame_data):
    """``cache_frame_data`` for functions that handle Scan frames."""

    def __init__(self, **cached: str) -> None:
        super().__init__(G3FrameType.Scan, **cached)
