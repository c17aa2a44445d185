"""G3Module, and turning anything ``G3Pipeline.Add`` accepts into a frame processor.

A processor is a callable taking one frame (``None`` for the first module of
a pipeline) and returning what the module returned.  ``frames_out`` turns
that return value into the list of frames passed on, with spt3g's rules:

* ``None`` or a true value: the input frame;
* ``False`` (or another false value): nothing;
* a frame: that frame;
* an iterable of frames (list, tuple, generator): those frames, in order.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Iterable
from typing import Any

from ..frame import G3Frame, G3FrameType
from .errors import G3ModuleArgumentError, G3PipelineError

__all__ = ["G3Module", "Processor", "frames_out", "module_name", "build_processor"]

#: A frame processor: called with a frame (or None) and returns a module's result.
Processor = Callable[[Any], Any]


class G3Module:
    """Base class for pipeline modules: override ``Process(frame)``.

    ``Process`` returns None/True (pass the frame on), False (drop it), a
    frame, or a list of frames.  Calling a module returns the list of frames
    it outputs for the given frame.
    """

    def Process(self, frame: G3Frame | None) -> Any:
        """Handle one frame; see the class documentation for the return values."""
        raise NotImplementedError(f"{type(self).__name__} does not implement Process()")

    def __call__(self, frame: G3Frame | None) -> list[G3Frame]:
        return frames_out(self.Process(frame), frame, type(self).__name__)


def frames_out(result: Any, frame: G3Frame | None, module: str) -> list[G3Frame]:
    """The frames a module passes on, given its return value for ``frame``.

    A false value returned for an EndProcessing frame passes it on (dropping
    it is always a mistake).  Raises ``G3PipelineError`` (naming ``module``)
    for a return value that is neither a frame, an iterable of frames, None
    nor a truth value, and when a pipeline's first module (``frame`` is None)
    asks for its input to be passed on.
    """
    if isinstance(result, G3Frame):
        return [result]
    if isinstance(result, list | tuple):
        out = list(result)
    elif result is not None and not isinstance(result, bool) and isinstance(result, Iterable):
        # any other iterable (a generator, or even a str or dict) is taken as frames
        out = list(result)
    else:
        # None, booleans and any other object count by their truth value
        if result is None or result:
            if frame is None:
                raise G3PipelineError(
                    f'first module "{module}" returned {result!r}: a first module '
                    "returns the frames it produces, or [] when it has no more",
                    module,
                )
            return [frame]
        if frame is not None and frame.type == G3FrameType.EndProcessing:
            return [frame]
        return []
    for item in out:
        if not isinstance(item, G3Frame):
            raise G3PipelineError(
                f'module "{module}" returned a {type(result).__name__} containing a '
                f"{type(item).__name__}; modules return None, a bool, a G3Frame or "
                "a list of G3Frames",
                module,
            )
    return out


def module_name(obj: Any) -> str:
    """The name spt3g gives a module or segment: ``<python module>.<callable name>``.

    Wrapped callables (``__wrapped__``) are named after what they wrap;
    bound methods are named ``<module>.<class>.<method>`` (builtin functions,
    bound to the builtins module, come out as ``builtins.module.<name>`` as
    in spt3g); instances are named after their class.
    """
    target = getattr(obj, "__wrapped__", obj)
    name = getattr(target, "__name__", None)
    if not isinstance(name, str):
        name = type(target).__name__
    owner = getattr(target, "__self__", None)
    if owner is not None:
        # as in spt3g, even for builtins (whose __self__ is the builtins module)
        cls = type(owner)
        prefix = f"{cls.__module__}.{cls.__name__}"
    else:
        prefix = getattr(target, "__module__", None) or type(target).__module__
    return f"{prefix}.{name}"


def build_processor(obj: Any, kwargs: dict[str, Any]) -> tuple[Processor, Any]:
    """A processor for ``obj`` and the module instance behind it.

    * a G3Module instance: its ``Process`` (no keyword arguments allowed);
    * a plain function: called as ``obj(frame, **kwargs)``;
    * a class: instantiated with ``kwargs``, then used as below;
    * any other callable: called as ``obj(frame)`` (no keyword arguments allowed).
    """
    if isinstance(obj, types.FunctionType):
        return (functools.partial(obj, **kwargs) if kwargs else obj), obj
    if isinstance(obj, type):
        obj = obj(**kwargs)
    elif kwargs:
        raise G3ModuleArgumentError(
            f"keyword arguments {sorted(kwargs)} cannot be passed to an already "
            f"constructed {type(obj).__name__}; pass the class or a function instead"
        )
    if isinstance(obj, G3Module):
        return obj.Process, obj
    if not callable(obj):
        raise TypeError(f"a pipeline module must be callable, not a {type(obj).__name__}")
    return obj, obj
