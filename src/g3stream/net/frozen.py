"""Sending a new frame's arrays without a private copy, safely: freeze them while they are sent.

A sender passes a frame downstream while its bytes may still be queued
(listen mode always; connect mode so that the next frame is encoded while
this one is sent). To send those bytes from the frame's own arrays,
:func:`frozen_parts` makes them read-only until :meth:`Frozen.release`
(called once no client holds the bytes any more). Meanwhile a later module
that changes the frame through its objects (``ts[i] = x``, ``ts *= 2``,
``vec.append(x)``) changes a private copy, as g3stream's array-backed
objects copy read-only storage before writing; a module that writes into
the memory directly (``np.asarray(ts)[:] = 0``) gets numpy's ``ValueError:
assignment destination is read-only``. The bytes being sent never change.

An array is frozen only when nothing else can write to it: it owns its
memory (not a view of a caller's array) and no view of it exists but those
the encoder just made (a view holds a reference to the array it views;
references are counted). Every buffer whose memory is not provably
immutable (``bytes``, or a frozen array) is copied, so whatever an object
encodes, the bytes queued cannot change; or, when the caller can wait until
the bytes are sent instead (``copy=False``), kept as it is and reported
(:attr:`Frozen.exposed`). Writes through raw pointers (ctypes, C extensions
ignoring the read-only flag) are beyond any check.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from g3stream._types import Buffer, byte_length

__all__ = ["Frozen", "frozen_parts"]

#: Buffers shorter than this that may change are copied even with ``copy=False``.
COPY_ALWAYS_BELOW = 65536

_lock = threading.Lock()
# Arrays frozen by a sender: id -> [array, holders]. Several queued frames may
# share an array (the same object sent twice); the last release thaws it.
_frozen: dict[int, list[Any]] = {}


#: Interpreters without reference counts (PyPy) cannot tell whether other views
#: exist: there every buffer is copied.
_COUNTED = hasattr(sys, "getrefcount")
_UNKNOWN = 1 << 62  # a count that never passes the checks below


def _reference_counts(arrays: Sequence[np.ndarray]) -> list[int]:
    """References to each array of a list made here (compared with :data:`_BASELINE`)."""
    if not _COUNTED:  # pragma: no cover - CPython counts references
        return [_UNKNOWN] * len(arrays)
    return [sys.getrefcount(a) for a in arrays]


class _Holder:
    __slots__ = ("array",)

    def __init__(self) -> None:
        self.array = np.zeros(2)


# References, counted as this interpreter counts them, to an array held by one
# attribute of its object and by the list given to _reference_counts; and to
# an array held by that list only.
_PROBE = _Holder()
_BASELINE = _reference_counts([_PROBE.array])[0] if _COUNTED else 0
_LIST_ONLY = _reference_counts([_PROBE.array[:]])[0] if _COUNTED else 0
del _PROBE


class Frozen:
    """Arrays made read-only by :func:`frozen_parts`; :meth:`release` makes them writable again."""

    __slots__ = ("_arrays", "exposed")

    def __init__(self, arrays: list[np.ndarray], exposed: bool = False) -> None:
        self._arrays = arrays
        #: True when some buffer still views memory that may change (``copy=False``):
        #: the frame must not go on until those bytes are sent.
        self.exposed = exposed

    def release(self) -> None:
        """Give the arrays back (writable again once no other queued frame holds them)."""
        arrays, self._arrays = self._arrays, []
        with _lock:
            for arr in arrays:
                entry = _frozen.get(id(arr))
                if entry is None or entry[0] is not arr:  # pragma: no cover - released twice
                    continue
                entry[1] -= 1
                if entry[1] == 0:
                    del _frozen[id(arr)]
                    arr.flags.writeable = True

    def __len__(self) -> int:
        """Number of arrays held read-only."""
        return len(self._arrays)


def _freeze(arr: np.ndarray, count: int, views: int) -> bool:
    """Make ``arr`` read-only if nothing else can write to it (caller holds the lock).

    ``views`` is the number of views of ``arr`` (or ``arr`` itself) the
    caller holds in a list; every further reference means another view.
    """
    entry = _frozen.get(id(arr))
    if entry is not None and entry[0] is arr:
        entry[1] += 1  # frozen for a frame still queued: now for this one too
        return True
    flags = arr.flags
    if not flags.writeable or not flags.owndata or count > _BASELINE + views:
        return False
    flags.writeable = False
    _frozen[id(arr)] = [arr, 1]
    return True


def _in_bytes(owner: Any) -> bool:
    """True when ``owner``'s memory belongs to a ``bytes`` object (immutable)."""
    while True:
        if isinstance(owner, bytes):
            return True
        if isinstance(owner, memoryview) and owner.readonly:
            owner = owner.obj
        elif isinstance(owner, np.ndarray) and owner.base is not None:
            owner = owner.base
        else:
            return False


class _Layout:
    """The buffers of one encoded frame, sorted by where their memory lies."""

    __slots__ = ("pieces", "owners", "views", "exporters", "exporter_owner", "copy", "exposed")

    def __init__(self, copy: bool) -> None:
        #: Per buffer: the buffer kept as it is, or the index of its exporter.
        self.pieces: list[Buffer | int] = []
        #: Arrays owning the memory of the exporters, and how many exporters view each.
        self.owners: list[np.ndarray] = []
        self.views: list[int] = []
        #: Arrays the buffers viewed whole, and the index of the owner of each.
        self.exporters: list[np.ndarray] = []
        self.exporter_owner: list[int] = []
        #: Copy buffers of memory that may change (else keep them, ``exposed``).
        self.copy = copy
        self.exposed = False

    def unsafe(self, buffer: Buffer) -> Buffer:
        """``buffer``, whose memory may change: a private copy, or itself, exposed.

        Short buffers (headers, small members) are always copied: that costs
        less than waiting for them to be sent.
        """
        if self.copy or byte_length(buffer) < COPY_ALWAYS_BELOW:
            return bytes(buffer)
        self.exposed = True
        return buffer


def _locate(parts: list[Buffer], copy: bool) -> _Layout:
    """Sort the buffers of ``parts`` by their memory; release the views and empty ``parts``.

    A buffer viewing the whole of a C-contiguous array is recorded as that
    array (its exporter), and the view itself released: only references
    held elsewhere then remain on the arrays. Buffers of immutable bytes are
    kept; any other buffer is copied (or, without ``copy``, kept and exposed).
    """
    layout = _Layout(copy)
    unsafe = layout.unsafe
    pieces = layout.pieces
    owners = layout.owners
    views = layout.views
    exporters = layout.exporters
    exporter_owner = layout.exporter_owner
    owner_index: dict[int, int] = {}
    exporter_index: dict[int, int] = {}
    ndarray = np.ndarray
    add = pieces.append
    for part in parts:
        if type(part) is bytes:
            add(part)  # immutable
            continue
        exporter: Any = part.obj if type(part) is memoryview else part
        if type(exporter) is not ndarray:
            # memory of an unknown owner: a private copy, unless it is immutable bytes
            add(part if _in_bytes(exporter) else unsafe(part))
            continue
        base = exporter.base
        if base is not None and type(base) is not ndarray and _in_bytes(base):
            add(part)  # a view of immutable bytes
            continue
        # A C-contiguous view of all of an array's bytes implies a C-contiguous array.
        if not (type(part) is memoryview and part.c_contiguous and part.nbytes == exporter.nbytes):
            add(part if _in_bytes(exporter) else unsafe(part))  # else part of an array: a copy
            continue
        index = exporter_index.get(id(exporter))
        if index is None:
            owner = exporter if base is None else base  # numpy's base is the owning array
            if type(owner) is not ndarray:
                add(unsafe(part))
                continue
            at = owner_index.get(id(owner))
            if at is None:
                at = owner_index[id(owner)] = len(owners)
                owners.append(owner)
                views.append(0)
            views[at] += 1
            index = exporter_index[id(exporter)] = len(exporters)
            exporters.append(exporter)
            exporter_owner.append(at)
        try:
            part.release()
        except BufferError:  # something else uses this view: it cannot be frozen
            add(unsafe(part))
            continue
        add(index)
    parts.clear()
    return layout


def frozen_parts(parts: list[Buffer], *, copy: bool = True) -> tuple[list[Buffer], Frozen]:
    """The buffers of an encoded frame, safe to queue without copying, and what to release.

    ``parts`` is what :func:`~g3stream.frame.encode_frame` returned; it is
    emptied here (its views must be gone before references are counted).
    Every buffer viewing an array that can be frozen is replaced by an equal
    view of that array, now read-only; immutable bytes stay as they are;
    every other buffer is copied, or with ``copy=False`` kept as it is
    (:attr:`Frozen.exposed` then says so, and the caller must keep the frame
    until those bytes are sent). Call :meth:`Frozen.release` once no client
    holds the buffers any more.
    """
    layout = _locate(parts, copy)
    owners = layout.owners
    exporters = layout.exporters
    with _lock:
        counts = _reference_counts(owners)
        ok = list(map(_freeze, owners, counts, layout.views))
    # An exporter (a view made by the encoder) held anywhere else could write too.
    exporter_counts = _reference_counts(exporters)
    frozen = [arr for arr, good in zip(owners, ok, strict=True) if good]
    out: list[Buffer] = []
    add = out.append
    exporter_owner = layout.exporter_owner
    unsafe = layout.unsafe
    for piece in layout.pieces:
        if not isinstance(piece, int):
            add(piece)
            continue
        exporter = exporters[piece]
        at = exporter_owner[piece]
        whole = memoryview(exporter).cast("B")  # type: ignore[arg-type]
        if ok[at] and (exporter is owners[at] or exporter_counts[piece] <= _LIST_ONLY):
            add(whole)
        else:
            add(unsafe(whole))
    return out, Frozen(frozen, layout.exposed)
