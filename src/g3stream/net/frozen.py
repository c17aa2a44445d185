"""Sending a new frame's arrays without a private copy, safely: freeze them while they are sent.

A listening sender cannot make the pipeline wait for its clients, so the
frame it was given moves downstream while clients still read its bytes. To
send those bytes from the frame's own arrays, :func:`freeze_arrays` makes
them read-only until :meth:`Frozen.release` (called once no client holds the
bytes any more). Meanwhile a later module that changes the frame through
its objects (``ts[i] = x``, ``ts *= 2``, ``vec.append(x)``) changes a private
copy, as g3stream's array-backed objects copy read-only storage before
writing; a module that writes into the memory directly (``np.asarray(ts)[:]
= 0``) gets numpy's ``ValueError: assignment destination is read-only``. The
bytes being sent never change.

An array is frozen only when nothing else can write to it: it owns its
memory (not a view of a caller's array) and no other view of it exists (a
view holds a reference to it; references are counted). :func:`stable_parts`
then keeps as they are only the buffers whose memory is provably immutable
(bytes, or a frozen array) and copies the others, so whatever an object
encodes, the bytes queued cannot change.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from g3stream._types import Buffer

__all__ = ["Frozen", "frozen_parts"]

_lock = threading.Lock()
# Arrays frozen by a sender: id -> [array, holders]. Several queued frames may
# share an array (the same object sent twice); the last release thaws it.
_frozen: dict[int, list[Any]] = {}


def _reference_counts(arrays: Sequence[np.ndarray]) -> list[int]:
    """References to each array of a list made here (compared with :data:`_BASELINE`)."""
    return [sys.getrefcount(a) for a in arrays]


class _Holder:
    __slots__ = ("array",)

    def __init__(self) -> None:
        self.array = np.zeros(2)


# References to an array held by one attribute of its object and by the list
# given to _reference_counts, counted as this interpreter counts them.
_PROBE = _Holder()
_BASELINE = _reference_counts([_PROBE.array])[0]
del _PROBE


class Frozen:
    """Arrays made read-only by :func:`frozen_parts`; :meth:`release` makes them writable again."""

    __slots__ = ("_arrays",)

    def __init__(self, arrays: list[np.ndarray]) -> None:
        self._arrays = arrays

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


def _address(buffer: Buffer) -> int:
    """Address of the first byte of ``buffer``."""
    return int(np.frombuffer(buffer, dtype=np.uint8).ctypes.data)


def _freeze(arr: np.ndarray, count: int) -> bool:
    """Make ``arr`` read-only if nothing else can write to it (caller holds the lock)."""
    entry = _frozen.get(id(arr))
    if entry is not None and entry[0] is arr:
        entry[1] += 1  # frozen for a frame still queued: now for this one too
        return True
    flags = arr.flags
    if not flags.writeable or not flags.owndata or not flags.c_contiguous or count > _BASELINE:
        return False
    flags.writeable = False
    _frozen[id(arr)] = [arr, 1]
    return True


#: One buffer of a frame: kept as it is, or ``size`` bytes at ``offset`` in owner ``index``.
_Piece = tuple[int, Buffer | None, int, int]


def _locate(parts: list[Buffer], owners: list[np.ndarray]) -> list[_Piece]:
    """Where each buffer lies (appending the arrays owning their memory to ``owners``).

    Every view in ``parts`` is released and ``parts`` is emptied, so that
    only references held elsewhere remain on the arrays.
    """
    pieces: list[_Piece] = []
    index_of: dict[int, int] = {}
    for part in parts:
        owner: Any = part.obj if isinstance(part, memoryview) else part
        if isinstance(owner, np.ndarray) and isinstance(owner.base, np.ndarray):
            owner = owner.base  # numpy points every view at the array that owns the memory
        if isinstance(owner, bytes):
            pieces.append((-1, part, 0, 0))  # immutable
        elif not isinstance(owner, np.ndarray):
            pieces.append((-1, bytes(part), 0, 0))  # memory of unknown owner: a private copy
        else:
            index = index_of.get(id(owner))
            if index is None:
                index = index_of[id(owner)] = len(owners)
                owners.append(owner)
            with memoryview(part) as view:
                pieces.append((index, None, _address(view) - owner.ctypes.data, view.nbytes))
            if isinstance(part, memoryview):
                part.release()
    parts.clear()
    return pieces


def frozen_parts(parts: list[Buffer]) -> tuple[list[Buffer], Frozen]:
    """The buffers of an encoded frame, safe to queue without copying, and what to release.

    ``parts`` is what :func:`~g3stream.frame.encode_frame` returned; it is
    emptied here (its views must be gone before references are counted).
    Every buffer viewing an array that can be frozen is replaced by an equal
    view of that array, now read-only; immutable bytes stay as they are;
    every other buffer is copied. Call :meth:`Frozen.release` once no client
    holds the buffers any more.
    """
    owners: list[np.ndarray] = []
    pieces = _locate(parts, owners)
    with _lock:
        counts = _reference_counts(owners)
        ok = [_freeze(arr, count) for arr, count in zip(owners, counts, strict=True)]
    out: list[Buffer] = []
    frozen: list[np.ndarray] = []
    views: dict[int, memoryview] = {}
    for index, kept, offset, size in pieces:
        if index < 0:
            assert kept is not None
            out.append(kept)
            continue
        arr = owners[index]
        if ok[index]:
            whole = views.get(index)
            if whole is None:
                whole = views[index] = memoryview(arr).cast("B")  # type: ignore[arg-type]
                frozen.append(arr)
            out.append(whole[offset : offset + size])
        else:  # a private copy, read from the memory the buffer viewed
            out.append(ctypes.string_at(arr.ctypes.data + offset, size))
    return out, Frozen(frozen)
