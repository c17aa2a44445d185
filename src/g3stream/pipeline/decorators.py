"""Decorators that mark pipeline building blocks: ``indexmod``, ``pipesegment``, ``usefulfunc``.

They change nothing about how the decorated object runs; they mark it so
that ``G3Pipeline.Add`` (for segments) and documentation tools can find it.
"""

from __future__ import annotations

import functools
import re
import textwrap
from collections.abc import Callable
from typing import Any, TypeVar

from .module import module_name

__all__ = ["g3decorator", "usefulfunc", "indexmod", "pipesegment", "pipesegment_nodoc"]

F = TypeVar("F", bound=Callable[..., Any])


def g3decorator(func: F) -> F:
    """Mark ``func`` as a decorator, for documentation tools."""
    func.__g3decorator__ = True  # type: ignore[attr-defined]
    return func


@g3decorator
def usefulfunc(func: F) -> F:
    """Mark ``func`` as a useful function, for documentation tools."""
    func.__g3usefulfunc__ = True  # type: ignore[attr-defined]
    return func


@g3decorator
def indexmod(func: F) -> F:
    """Mark ``func`` (a function or class) as a pipeline module, for documentation tools."""
    func.__g3module__ = True  # type: ignore[attr-defined]
    return func


@g3decorator
def pipesegment_nodoc(func: F) -> F:
    """Mark ``func(pipe, **kwargs)`` as a pipeline segment that adds several modules.

    ``pipe.Add(segment, **kwargs)`` then calls ``func(pipe, **kwargs)``, and
    the modules it adds are named ``<segment name>/<module name>``.
    """
    func.__pipesegment__ = True  # type: ignore[attr-defined]
    return func


_ADDRESS = re.compile(r"<(.*) at (.*)>")


class _RecordingPipe:
    """Stands in for a pipeline to list what a segment adds (for its docstring)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def Add(self, thing: Any, *args: Any, **kwargs: Any) -> None:
        parts = [module_name(thing)]
        parts += [repr(a) for a in args]
        # drop object addresses so the text is stable
        parts += [k + "=" + _ADDRESS.sub(r"<\1>", repr(v)) for k, v in kwargs.items()]
        arguments = ", ".join(parts)
        line = f"pipe.Add({arguments})"
        if len(line) <= 88:
            self.lines.append(line)
        elif len(arguments) <= 84:
            self.lines += ["pipe.Add(", "    " + arguments, ")"]
        else:
            self.lines += ["pipe.Add(", *(f"    {p}," for p in parts), ")"]


@g3decorator
class pipesegment:
    """Decorator marking ``func(pipe, **kwargs)`` as a pipeline segment that adds several modules.

    ``pipe.Add(segment, **kwargs)`` calls ``func(pipe, **kwargs)``; the
    modules it adds are named ``<segment name>/<module name>``.  The
    segment's ``__doc__`` lists the ``pipe.Add`` calls it makes with its
    default arguments.  Use ``pipesegment_nodoc`` for segments that cannot
    be run without a real pipeline.
    """

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        self.__wrapped__ = func
        self.__pipesegment__ = True
        func.__pipesegment__ = True  # type: ignore[attr-defined]
        functools.update_wrapper(self, func, assigned=("__module__", "__qualname__"), updated=())
        self._autodoc: str | None = None

    def __call__(self, pipe: Any, *args: Any, **kwargs: Any) -> Any:
        return self.func(pipe, *args, **kwargs)

    @property
    def __name__(self) -> str:  # type: ignore[override]
        return str(self.func.__name__)

    @property  # type: ignore[misc]
    def __doc__(self) -> str:  # type: ignore[override]
        if self._autodoc is None:
            intro = textwrap.dedent(self.func.__doc__ or "")
            fake = _RecordingPipe()
            try:
                self.func(fake)
            except Exception as exc:  # documentation must never fail
                fake.lines.append(f"Exception evaluating equivalence ({exc})")
            text = intro + ("\n\n" if intro else "") + "\nEquivalent to\n-------------\n\n::\n\n"
            self._autodoc = text + "".join(f"    {line}\n" for line in fake.lines)
        return self._autodoc
