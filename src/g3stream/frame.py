"""G3Frame and G3FrameType.

A frame is a typed dictionary from string keys to frame objects.  A frame
decoded from bytes keeps those bytes: each value is decoded on first access,
and writing the frame again re-uses the blob of every entry that was not
replaced (and the whole original frame when nothing changed).

Invariants:
* ``_objs`` holds decoded or assigned objects; ``_blobs`` holds the original
  blob of every entry read from bytes and not replaced.  A key is in at least
  one of them.  ``_keys`` holds the live keys in insertion order.
* ``_history`` records deletions, when there were any, so the reference's
  entry order can be reproduced (FORMAT.md section 6).
* ``_raw`` is the frame's original serialization, dropped on any change.
* Every value decoded from ``_raw`` charges the frame's one ``DecodeBudget``
  (created on first decode from ``_limits``, the decoder's limits): the
  values of one frame together decode to at most ``max_decoded_size`` bytes.
"""

from __future__ import annotations

import struct
from collections.abc import ItemsView, Iterator, KeysView, ValuesView
from concurrent.futures import Executor
from typing import Any

from ._accel import accel
from ._types import Buffer
from .cereal import OpaqueFrameObject, decode_object, encode_object
from .cereal.blobs import decode_fixed_blob
from .cereal.budget import DEFAULT_LIMITS, DecodeBudget, DecodeLimits
from .cereal.crc import SPLIT_CRC, g3_crc, g3_crc_in_halves, g3_crc_of
from .cereal.keyorder import history_to_disk_order, insertion_order_to_disk_order
from .errors import DuplicateKeyError
from .frametype import G3FrameType
from .objects.plain import unwrap_value, wrap_value


class G3Frame:
    """A typed dictionary from string keys to frame objects.

    ``G3Frame(G3FrameType.Scan)``, ``G3Frame('AB')`` for an ad-hoc type, or
    ``G3Frame()`` for the type ``none``.
    """

    __slots__ = (
        "type",
        "_keys",
        "_objs",
        "_blobs",
        "_history",
        "_raw",
        "_order",
        "_offset",
        "_lazy",
        "_limits",
        "_budget",
        "_source_name",  # set by G3Reader(track_filename=True); unset otherwise
        "_source_position",  # set by G3Reader from sources with stable positions; else unset
        "__weakref__",
    )

    def __init__(self, type: G3FrameType | int | str = 0x4E) -> None:  # noqa: A002
        self.type = type if isinstance(type, G3FrameType) else G3FrameType(type)
        self._keys: dict[str, None] = {}
        self._objs: dict[str, Any] = {}
        self._blobs: dict[str, tuple[memoryview, int]] = {}
        self._history: list[tuple[bool, str]] | None = None
        self._raw: Buffer | None = None
        self._order: tuple[str, ...] | None = None
        self._offset: int | None = None
        self._lazy: list[slice] | None = None
        self._limits: DecodeLimits = DEFAULT_LIMITS
        self._budget: DecodeBudget | None = None

    # -- construction from bytes -------------------------------------------
    @classmethod
    def _from_scan(
        cls,
        type_code: int,
        raw: Buffer,
        entries: list[slice],
        offset: int,
        limits: DecodeLimits = DEFAULT_LIMITS,
    ) -> G3Frame:
        """A frame over ``raw``, one frame's bytes; ``entries`` holds, per entry,
        the slice of its name and of its blob (indexed on first use).  Its
        values decode within ``limits``."""
        f = cls.__new__(cls)
        t = G3FrameType.values.get(type_code)
        f.type = t if t is not None else G3FrameType(type_code)
        f._keys = None  # type: ignore[assignment]
        f._lazy = entries
        f._history = None
        f._raw = raw
        f._order = None
        f._offset = offset
        f._limits = limits
        f._budget = None
        return f

    def _ensure(self) -> None:
        """Index the keys and blobs of a frame read from bytes (first use only)."""
        if self._keys is not None:
            return
        raw = self._raw
        assert raw is not None
        e = self._lazy
        mv = memoryview(raw)
        offset = self._offset or 0
        blobs: dict[str, tuple[memoryview, int]] = {}
        for i in range(0, len(e), 2):
            key = str(raw[e[i]], "utf-8", "surrogateescape")  # raw may be a memoryview
            if key not in blobs:  # the first of duplicate keys wins, as in the reference
                blob = e[i + 1]
                blobs[key] = (mv[blob], offset + blob.start)
        if len(blobs) * 2 != len(e):
            self._raw = None  # the reference drops duplicates when it writes
        self._blobs = blobs
        self._objs = {}
        self._keys = dict.fromkeys(blobs)
        self._lazy = None

    # -- mapping protocol --------------------------------------------------
    def _object(self, key: str) -> Any:
        if self._keys is None:
            self._ensure()
        obj = self._objs.get(key, _MISSING)
        if obj is _MISSING:
            blob, boff = self._blobs[key]
            budget = self._budget
            if budget is None:
                # single values need no budget: make one only for the first other value
                obj = decode_fixed_blob(blob)
                if obj is None:
                    budget = self._budget = self._limits.budget()
                    obj = decode_object(blob, boff, budget)
            else:
                obj = decode_object(blob, boff, budget)
            self._objs[key] = obj
        return obj

    def __getitem__(self, key: str) -> Any:
        if self._keys is None:
            self._ensure()
        if key not in self._keys:
            raise KeyError(key)
        return unwrap_value(self._object(key))

    def __setitem__(self, key: str, value: Any) -> None:
        if self._keys is None:
            self._ensure()
        if not isinstance(key, str):
            raise TypeError(f"frame keys are strings, not {type(key).__name__}")
        if key in self._keys:
            raise DuplicateKeyError(f'frame already contains key "{key}"; delete it first')
        obj = wrap_value(value)
        self._keys[key] = None
        if isinstance(obj, OpaqueFrameObject):
            mv = memoryview(obj.blob)
            self._blobs[key] = (mv, 0)
        self._objs[key] = obj
        if self._history is not None:
            self._history.append((True, key))
        self._changed()

    def __delitem__(self, key: str) -> None:
        if self._keys is None:
            self._ensure()
        if key not in self._keys:
            raise KeyError(key)
        if self._history is None:
            # until now the insertion sequence was simply the key order
            self._history = [(True, k) for k in self._keys]
        self._history.append((False, key))
        del self._keys[key]
        self._objs.pop(key, None)
        self._blobs.pop(key, None)
        self._changed()

    def _changed(self) -> None:
        self._raw = None
        self._order = None

    def __contains__(self, key: object) -> bool:
        if self._keys is None:
            self._ensure()
        return key in self._keys

    def __len__(self) -> int:
        if self._keys is None:
            self._ensure()
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        if self._keys is None:
            self._ensure()
        return iter(list(self._keys))

    def keys(self) -> KeysView[str]:
        """The keys, in insertion order (on-disk order for a frame that was read)."""
        if self._keys is None:
            self._ensure()
        return self._keys.keys()

    def values(self) -> ValuesView[Any]:
        """The values (plain Python values for scalars), in key order."""
        if self._keys is None:
            self._ensure()
        return {k: self[k] for k in self._keys}.values()

    def items(self) -> ItemsView[str, Any]:
        """``(key, value)`` pairs, in key order."""
        if self._keys is None:
            self._ensure()
        return {k: self[k] for k in self._keys}.items()

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, or ``default`` when absent."""
        if self._keys is None:
            self._ensure()
        if key in self._keys:
            return self[key]
        return default

    def pop(self, key: str, *default: Any) -> Any:
        """Remove ``key`` and return its value (or ``default`` when absent)."""
        if self._keys is None:
            self._ensure()
        if key not in self._keys:
            if default:
                return default[0]
            raise KeyError(key)
        value = self[key]
        del self[key]
        return value

    # -- encoding support -------------------------------------------------
    def insertion_history(self) -> list[tuple[bool, str]] | None:
        """Recorded ``(inserted, key)`` operations if keys were ever deleted, else ``None``."""
        return self._history

    def entry_order(self) -> tuple[str, ...]:
        """The order in which the reference would write this frame's entries."""
        if self._keys is None:
            self._ensure()
        order = self._order
        if order is None:
            if self._history is None:
                order = insertion_order_to_disk_order(tuple(self._keys))
            else:
                order = history_to_disk_order(self._history)
            self._order = order
        return order

    def blob(self, key: str) -> Buffer | list[Buffer]:
        """The serialized object of ``key``: its original blob if untouched, else a new encoding."""
        if self._keys is None:
            self._ensure()
        hit = self._blobs.get(key)
        if hit is not None:
            return hit[0]
        return encode_object(self._objs[key])

    def encoded(self) -> Buffer:
        """This frame's bytes: the original ones when read and unchanged, else a new encoding."""
        raw = self._raw
        if raw is None:
            raw = b"".join(encode_frame(self))
            self._raw = raw
        return raw

    @property
    def original_bytes(self) -> Buffer | None:
        """The bytes this frame was decoded from, if it has not been changed since."""
        return self._raw

    @property
    def _filename(self) -> str:
        """The file this frame was read from when the reader tracks file names, else ``""``.

        spt3g's attribute of the same name (``G3Reader(..., track_filename=True)``).
        """
        return getattr(self, "_source_name", "")

    @_filename.setter
    def _filename(self, name: str) -> None:
        self._source_name = name

    @property
    def decoded_size(self) -> int:
        """Bytes charged so far by decoding this frame's values (see ``max_decoded_size``)."""
        return self._budget.used if self._budget is not None else 0

    @property
    def max_decoded_size(self) -> int:
        """The most its values may decode to, in bytes (the decoder's limit; 4 GiB by default)."""
        return self._limits.max_decoded_size

    @property
    def stream_offset(self) -> int | None:
        """Byte offset in its stream at which this frame was read, if it was read."""
        return self._offset

    def drop_blobs(self) -> None:
        """Decode every entry and forget the original bytes (frees the read buffer)."""
        if self._keys is None:
            self._ensure()
        for k in self._keys:
            self._object(k)
        self._blobs.clear()
        self._raw = None

    def drop_objects(self) -> None:
        """Forget the decoded objects that still have their serialized copy, as spt3g does.

        Saves memory for frames about to be written; an object asked for again
        is decoded again.  Like spt3g, an object changed in place after it was
        decoded keeps its serialized copy, so the change is dropped here (and
        not written).
        """
        if self._keys is None:
            return  # nothing was decoded yet
        for key in [k for k in self._objs if k in self._blobs]:
            del self._objs[key]

    def generate_blobs(self, drop_objects: bool = False) -> None:
        """Serialize every object now (as spt3g): writing the frame later re-uses these bytes.

        With ``drop_objects`` the decoded objects are then forgotten (see ``drop_objects``).
        """
        if self._keys is None:
            self._ensure()
        for key, obj in self._objs.items():
            if key not in self._blobs:
                fast = getattr(obj, "_g3_blob", None)
                blob = fast() if fast is not None else b"".join(encode_object(obj))
                self._blobs[key] = (memoryview(blob), 0)
        if drop_objects:
            self.drop_objects()

    @property
    def hash(self) -> bytes:
        """The serialized frame, as spt3g's ``hash`` gives it (the bytes a file holds).

        A property, as in spt3g; equal frames (same keys, type and values
        written the same way) give equal bytes.
        """
        return b"".join(bytes(b) if isinstance(b, memoryview) else b for b in encode_frame(self))

    # -- display -----------------------------------------------------------
    def Summary(self) -> str:
        """Listing of keys, type names and short summaries, like spt3g's."""
        if self._keys is None:
            self._ensure()
        shown = "None" if self.type == G3FrameType.none else str(self.type)
        lines = [f"Frame ({shown}) ["]
        for k in sorted(self._keys):
            try:
                obj = self._object(k)
                listing = getattr(obj, "_listing_summary", None) or getattr(obj, "Summary", None)
                summary = listing() if listing is not None else str(obj)
                name = (
                    type(obj).__name__ if not isinstance(obj, OpaqueFrameObject) else obj.class_name
                )
            except Exception as exc:  # an undecodable entry must not hide the others
                name, summary = "undecodable", f"<{exc}>"
            lines.append(f'"{k}" ({name}) => {summary}')
        lines.append("]")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.Summary()

    def __repr__(self) -> str:
        return f"<G3Frame {self.type} with {len(self)} keys>"

    def __copy__(self) -> G3Frame:
        if self._keys is None:
            self._ensure()
        f = G3Frame.__new__(G3Frame)
        f.type = self.type
        f._keys = dict(self._keys)
        f._objs = dict(self._objs)
        f._blobs = dict(self._blobs)
        f._history = list(self._history) if self._history is not None else None
        f._raw = self._raw
        f._order = self._order
        f._offset = self._offset
        f._limits = self._limits
        f._budget = self._budget.copy() if self._budget is not None else None
        return f

    def copy(self) -> G3Frame:
        """A shallow copy (objects are shared)."""
        return self.__copy__()


_MISSING = object()


# -- encoding ------------------------------------------------------------------
_HEAD_FULL_LE = struct.Struct("<BIiI")
_pack_u64 = struct.Struct("<Q").pack
_pack_u32 = struct.Struct("<I").pack
#: Frames up to this size are checksummed in one call over joined bytes.
_JOIN_LIMIT = 65536

_KEY_HEADS: dict[str, tuple[bytes, bytes]] = {}
# the accelerator's whole-frame encoder for small frames of simple values (None: pure Python)
_encode_small = accel.encode_small if accel is not None else None


def _key_head(key: str) -> tuple[bytes, bytes]:
    """A key's bytes, and its length field followed by them (memoised: keys repeat)."""
    name = key.encode("utf-8", "surrogateescape")
    if len(_KEY_HEADS) >= 4096:
        _KEY_HEADS.clear()
    head = _KEY_HEADS[key] = (name, _pack_u64(len(name)) + name)
    return head


def encode_frame(frame: G3Frame, crc_helper: Executor | None = None) -> list[Buffer]:
    """The frame's bytes as the reference writes them: a list of buffers.

    Entries come in the reference's hash-table order; untouched entries
    re-use their original blobs byte for byte. ``crc_helper`` checksums
    half of a large frame's bytes while this thread does the other half.
    """
    order = frame.entry_order()  # loads a lazily decoded frame's entries too
    if _encode_small is not None and type(order) is tuple:
        whole = _encode_small(frame.type, order, _KEY_HEADS, frame._blobs, frame._objs, _JOIN_LIMIT)
        if whole is not None:
            return [whole]
    out: list[Buffer] = [_HEAD_FULL_LE.pack(1, 1, len(order), frame.type)]
    covered: list[Buffer] = []  # the bytes the CRC covers, in order
    total = 0
    blobs = frame._blobs
    objs = frame._objs
    pack_u64 = _pack_u64
    heads = _KEY_HEADS
    for key in order:
        name, head = heads.get(key) or _key_head(key)
        hit = blobs.get(key)
        if hit is not None:
            blob: Buffer = hit[0]
        else:
            obj = objs[key]
            fast = getattr(obj, "_g3_blob", None)
            if fast is None:  # a composite object: several buffers
                parts = encode_object(obj)
                size = 0
                for b in parts:
                    size += b.nbytes if isinstance(b, memoryview) else len(b)
                total += size
                out.append(head + pack_u64(size))
                out.extend(parts)
                covered.append(name)
                covered.extend(parts)
                continue
            blob = fast()
        size = blob.nbytes if isinstance(blob, memoryview) else len(blob)
        total += size
        out += (head + pack_u64(size), blob)
        covered += (name, blob)
    if total <= _JOIN_LIMIT:
        crc = g3_crc_of(b"".join(covered))
    elif crc_helper is not None and total >= SPLIT_CRC:
        crc = g3_crc_in_halves(covered, crc_helper)
    else:
        crc = g3_crc(covered)
    out.append(_pack_u32(crc))
    return out


def encode_frame_bytes(frame: G3Frame) -> bytes:
    """The frame's bytes as the reference writes them, as one bytes object."""
    return b"".join(encode_frame(frame))


__all__ = ["G3Frame", "G3FrameType", "encode_frame", "encode_frame_bytes"]
