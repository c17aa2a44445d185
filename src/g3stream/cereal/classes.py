"""The class table: spt3g class names to the Python classes that read and write them.

This module is the leaf of the serialization layer: it imports nothing of
g3stream.  A frame-object class joins the table with :func:`register`, which
also derives the class's wire identity from its name and version:

* ``_g3_name``: the spt3g class name (the Python class's name);
* ``_g3_chain``: ``(name, version)`` pairs from the class down to
  ``G3FrameObject``, most-derived first, in the order cereal announces them;
* ``_g3_write_versions``: the versions written, in the same order.

A class reads every version up to the one it writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

T = TypeVar("T", bound=type)

_CLASSES: dict[str, type] = {}


@overload
def register(cls: T, /) -> T: ...


@overload
def register(*, version: int = 1, base: type | None = None) -> Callable[[T], T]: ...


def register(
    cls: T | None = None, /, *, version: int = 1, base: type | None = None
) -> T | Callable[[T], T]:
    """Class decorator: make a frame-object class decodable under its own name.

    ``@register(version=N)`` declares that the class writes version ``N``
    (and reads every version up to it).  ``base`` is the class whose
    serialization this one extends (``G3FrameObject`` unless given): its
    chain of names and versions follows this class's on the wire.  A class
    that already carries ``_g3_chain`` of its own (the root) is registered
    as it is, with a plain ``@register``.
    """

    def apply(klass: T) -> T:
        target: Any = klass
        if "_g3_chain" not in vars(target):
            parent: Any = base if base is not None else _CLASSES["G3FrameObject"]
            target._g3_name = target.__name__
            target._g3_chain = ((target._g3_name, version), *parent._g3_chain)
            target._g3_write_versions = (version, *parent._g3_write_versions)
        name = target._g3_name
        if name in _CLASSES and _CLASSES[name] is not klass:
            raise ValueError(f"two classes registered as {name!r}")
        _CLASSES[name] = klass
        return klass

    if cls is not None:
        return apply(cls)
    return apply


def lookup_class(name: str) -> type | None:
    """The registered class for an spt3g class name, or ``None``."""
    return _CLASSES.get(name)


def registered_names() -> list[str]:
    """Every class name this package can decode."""
    return sorted(_CLASSES)


__all__ = ["register", "lookup_class", "registered_names"]
