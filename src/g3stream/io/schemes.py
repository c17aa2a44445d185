"""The source-scheme table: which byte source reads a name such as ``tcp://host:port``.

G3Reader and the command line open every input through :func:`open_source`.
A name that starts with a registered prefix (``tcp://``) is handed to that
scheme's factory; any other name is a file.  A transport is added by one
call of :func:`register_scheme`; the package registers its built-in
transports by name when it is imported, so the table is complete before the
first reader is made while their modules load only on first use.

A factory is called as ``factory(url, timeout=..., reconnect=..., **options)``
and returns a :class:`~g3stream.io.source.ByteSource`.  It may instead be
given as ``"package.module:name"``, imported on first use, for a transport
whose dependencies are optional and costly to import.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .file_source import FileSource
from .source import ByteSource

#: What a scheme's factory is: ``factory(url, timeout=..., reconnect=..., **options)``.
SourceFactory = Callable[..., ByteSource]


@dataclass(frozen=True)
class Scheme:
    """One registered scheme: its prefix (``tcp://``) and how to open it."""

    prefix: str
    factory: SourceFactory | str
    description: str = ""

    def resolve(self) -> SourceFactory:
        """The factory itself, importing it first when it was given by name."""
        if not isinstance(self.factory, str):
            return self.factory
        module, _, attr = self.factory.partition(":")
        try:
            found: SourceFactory = getattr(importlib.import_module(module), attr)
        except ImportError as exc:
            raise ImportError(
                f"{self.prefix} sources need an optional dependency that is not installed "
                f"({exc}); see the README for the extra to install"
            ) from exc
        return found


_SCHEMES: dict[str, Scheme] = {}
_LOCK = threading.Lock()


def register_scheme(prefix: str, factory: SourceFactory | str, *, description: str = "") -> None:
    """Make names starting with ``prefix`` (e.g. ``"tcp://"``) open with ``factory``.

    Registering the same prefix again replaces the earlier entry.
    """
    if not prefix.endswith("://") or len(prefix) < 4:
        raise ValueError(f"a scheme prefix looks like 'name://', not {prefix!r}")
    with _LOCK:
        _SCHEMES[prefix] = Scheme(prefix, factory, description)


def registered_schemes() -> list[Scheme]:
    """Every registered scheme, in prefix order."""
    with _LOCK:
        return [_SCHEMES[p] for p in sorted(_SCHEMES)]


def scheme_for(name: object) -> Scheme | None:
    """The scheme that opens ``name``, or ``None`` when it is a file name."""
    if not isinstance(name, str) or "://" not in name:
        return None
    prefix = name[: name.index("://") + 3]
    with _LOCK:
        return _SCHEMES.get(prefix)


def is_stream_url(name: object) -> bool:
    """True when ``name`` is an address of a registered scheme rather than a file."""
    return scheme_for(name) is not None


def redact_url(name: str) -> str:
    """``name`` fit for logs and displays: a URL's password or token is replaced by ``***``.

    ``nats://user:secret@host:4222/S`` becomes ``nats://user:***@host:4222/S``
    and ``nats://token@host`` becomes ``nats://***@host``; file names and
    URLs without credentials are returned unchanged.
    """
    head, sep, rest = name.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return name
    userinfo, _, tail = rest.partition("@")
    user, colon, _ = userinfo.partition(":")
    shown = f"{user}:***" if colon else "***"
    return f"{head}://{shown}@{tail}"


def open_source(
    name: str | os.PathLike[str],
    *,
    timeout: float = -1.0,
    reconnect: bool = False,
    use_mmap: bool = False,
    **options: Any,
) -> ByteSource:
    """A byte source for ``name``: a registered scheme's source, or a file.

    ``timeout`` and ``reconnect`` (and any other keyword) go to a scheme's
    factory; ``use_mmap`` applies to files, which take no other option.
    Raises ``FileNotFoundError`` for a missing file and what the factory
    raises for a stream (``ValueError`` for a malformed address).
    """
    text = os.fspath(name)
    scheme = scheme_for(text)
    if scheme is None:
        if options:
            raise TypeError(f"unexpected option(s) for files: {', '.join(sorted(options))}")
        return FileSource(text, use_mmap=use_mmap)
    return scheme.resolve()(text, timeout=timeout, reconnect=reconnect, **options)


__all__ = [
    "Scheme",
    "SourceFactory",
    "register_scheme",
    "registered_schemes",
    "scheme_for",
    "is_stream_url",
    "open_source",
    "redact_url",
]
