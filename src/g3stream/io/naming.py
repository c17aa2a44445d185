"""File-name patterns for recordings: clock fields, a file number, the source.

A pattern such as ``"%Y/%m/%d/run-%H%M%S-{n:04d}-{host}.g3.gz"`` names each
new file of a :class:`~g3stream.io.multifile.G3MultiFileWriter` (it is a
``f(frame, seqno)`` callable):

* ``strftime`` fields (``%Y``, ``%m``, ``%d``, ``%H``, ...) take the UTC
  time at which the file is started;
* ``{n}`` (with an optional format, ``{n:04d}``) is the file number;
* ``{host}`` and ``{port}`` name the source, when given;
* spt3g's single integer field (``%04u``, ``%u``, ``%3d``) still works as
  the file number (a bare ``%d`` is the day of the month).

Directories in a name are created by the writer.  With ``no_overwrite`` a
name that is already taken (on disk, or earlier by this pattern) is never
used: a numbered pattern moves on to the next free number, any other gets
``.1``, ``.2``, ... before its extension, so an earlier recording is never
overwritten.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["FileNamePattern", "split_extension"]

#: spt3g's integer field; a bare %d is strftime's day of the month.
_LEGACY_COUNTER = re.compile(r"%(0?\d+)[ud]|%u")
_STRFTIME_FIELD = re.compile(r"%[a-zA-Z]")
_G3_EXTENSIONS = (".g3.gz", ".g3.bz2", ".g3.xz", ".g3")


def split_extension(name: str) -> tuple[str, str]:
    """``name`` split before its G3 extension (``.g3``, ``.g3.gz``, ...), or before none."""
    for ext in _G3_EXTENSIONS:
        if name.endswith(ext):
            return name[: -len(ext)], ext
    return name, ""


def _legacy_to_format(match: re.Match[str]) -> str:
    width = match.group(1)
    return f"{{n:{width}d}}" if width else "{n}"


class FileNamePattern:
    """Names files from ``pattern`` (see the module documentation); a ``f(frame, seqno)`` callable.

    ``host`` and ``port`` fill ``{host}`` and ``{port}``; ``clock`` gives
    the time (seconds since the epoch) for the clock fields.  ``ValueError``
    for a pattern whose fields cannot be filled.
    """

    def __init__(
        self,
        pattern: str,
        host: str | None = None,
        port: int | None = None,
        no_overwrite: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.pattern = pattern
        template = pattern.replace("%%", "\0")
        counters = _LEGACY_COUNTER.findall(template)
        if len(counters) > 1 or (counters and "{n" in template):
            raise ValueError(f"file name pattern {pattern!r} has more than one file-number field")
        self._template = _LEGACY_COUNTER.sub(_legacy_to_format, template).replace("\0", "%%")
        self.host = host
        self.port = port
        self.no_overwrite = no_overwrite
        self._clock = clock
        self._skip = 0
        self._used: set[str] = set()
        self.has_counter = "{n" in self._template
        self.has_clock = bool(_STRFTIME_FIELD.search(self._template.replace("%%", "")))
        try:
            first, second = self._expand(0, 0.0), self._expand(1, 0.0)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"file name pattern {pattern!r}: cannot fill its fields ({exc!r}); "
                "use strftime fields, {n}, {host} and {port}"
            ) from None
        if self.has_counter and first == second:
            raise ValueError(f"file name pattern {pattern!r} gives the same name for every file")

    @property
    def varies(self) -> bool:
        """Whether the pattern gives different names to different files (a number or the clock)."""
        return self.has_counter or self.has_clock

    def _expand(self, n: int, when: float) -> str:
        fields: dict[str, Any] = {"n": n}
        if self.host is not None:
            fields["host"] = self.host
        if self.port is not None:
            fields["port"] = self.port
        stamped = time.strftime(self._template, time.gmtime(when))
        return stamped.format(**fields)

    def name(self, seqno: int) -> str:
        """The name of file number ``seqno``, started now."""
        when = self._clock()
        name = self._expand(seqno + self._skip, when)
        if not self.no_overwrite:
            return name
        if self.has_counter:
            while name in self._used or os.path.lexists(name):
                self._skip += 1
                name = self._expand(seqno + self._skip, when)
        else:
            stem, ext = split_extension(name)
            k = 0
            while name in self._used or os.path.lexists(name):
                k += 1
                name = f"{stem}.{k}{ext}"
        if name != self._expand(seqno, when):
            log.warning("%s exists: writing %s instead", self._expand(seqno, when), name)
        self._used.add(name)
        return name

    def __call__(self, frame: object, seqno: int) -> str:
        """``G3MultiFileWriter``'s file-name callable."""
        return self.name(seqno)

    def __repr__(self) -> str:
        return f"FileNamePattern({self.pattern!r})"
