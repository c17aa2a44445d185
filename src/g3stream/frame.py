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
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, ValuesView
from typing import Any

import numpy as np

from .cereal import G3FrameObject, OpaqueFrameObject, decode_object
from .cereal.keyorder import history_to_disk_order, insertion_order_to_disk_order
from .errors import DuplicateKeyError
from .objects.quat import G3Quat, Quat
from .objects.scalars import G3Bool, G3Double, G3Int, G3String

_Buffer = bytes | bytearray | memoryview


class G3FrameType(int):
    """A frame's type code: one of the standard types or an ad-hoc 1-4 character code.

    Compares and hashes as its integer code; ``str()`` gives the name
    (``Scan``) or the ad-hoc characters.
    """

    Timepoint: G3FrameType
    Housekeeping: G3FrameType
    Observation: G3FrameType
    Scan: G3FrameType
    Map: G3FrameType
    InstrumentStatus: G3FrameType
    Wiring: G3FrameType
    Calibration: G3FrameType
    GcpSlow: G3FrameType
    PipelineInfo: G3FrameType
    Ephemeris: G3FrameType
    LightCurve: G3FrameType
    Statistics: G3FrameType
    EndProcessing: G3FrameType
    none: G3FrameType

    #: code -> standard type, like spt3g's ``G3FrameType.values``.
    values: dict[int, G3FrameType]
    #: name -> standard type, like spt3g's ``G3FrameType.names``.
    names: dict[str, G3FrameType]

    def __new__(cls, code: int | str | G3FrameType = 0x4E) -> G3FrameType:
        if isinstance(code, str):
            if code in cls.names:
                return cls.names[code]
            code = adhoc_type_code(code)
        return super().__new__(cls, int(code) & 0xFFFFFFFF)

    @property
    def name(self) -> str:
        """The standard name (``Scan``), or the ad-hoc characters."""
        std = _STANDARD_NAMES.get(int(self))
        if std is not None:
            return std
        return adhoc_type_text(int(self))

    @property
    def is_standard(self) -> bool:
        """Whether this is one of spt3g's named frame types."""
        return int(self) in _STANDARD_NAMES

    def __str__(self) -> str:
        n = _STANDARD_NAMES.get(int(self))
        if n is None:
            return adhoc_type_text(int(self))
        return n

    def __repr__(self) -> str:
        n = _STANDARD_NAMES.get(int(self))
        if n is not None:
            return f"G3FrameType.{n}"
        return f"G3FrameType({adhoc_type_text(int(self))!r})"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


_STANDARD = {
    "Timepoint": "T",
    "Housekeeping": "H",
    "Observation": "O",
    "Scan": "S",
    "Map": "M",
    "InstrumentStatus": "I",
    "Wiring": "W",
    "Calibration": "C",
    "GcpSlow": "G",
    "PipelineInfo": "P",
    "Ephemeris": "E",
    "LightCurve": "L",
    "Statistics": "R",
    "EndProcessing": "Z",
    "none": "N",
}
_STANDARD_NAMES = {ord(c): n for n, c in _STANDARD.items()}
G3FrameType.names = {}
G3FrameType.values = {}
for _name, _char in _STANDARD.items():
    _t = int.__new__(G3FrameType, ord(_char))
    setattr(G3FrameType, _name, _t)
    G3FrameType.names[_name] = _t
    G3FrameType.values[ord(_char)] = _t
G3FrameType.names["None"] = G3FrameType.none
_STANDARD_TYPES = G3FrameType.values

#: Frame types a streaming server never drops and replays to late clients' complement.
DATA_FRAME_TYPES = frozenset({G3FrameType.Timepoint, G3FrameType.Scan})


def adhoc_type_code(text: str) -> int:
    """The u32 code of an ad-hoc type string of 1-4 characters (FORMAT.md section 5)."""
    raw = text.encode("utf-8")
    if not 1 <= len(raw) <= 4:
        raise ValueError(f"an ad-hoc frame type has 1 to 4 characters, not {text!r}")
    code = 0
    for byte in raw:
        # the reference ORs sign-extended chars: non-ASCII bytes smear 0xFF upward
        value = byte - 256 if byte >= 0x80 else byte
        code = ((code << 8) | (value & 0xFFFFFFFF)) & 0xFFFFFFFF
    return code


def adhoc_type_text(code: int) -> str:
    """The characters of an ad-hoc code: its non-zero bytes, most significant first."""
    out = bytes(b for b in int(code).to_bytes(4, "big") if b)
    return out.decode("latin-1")


def wrap_value(value: Any) -> G3FrameObject:
    """The frame object that stores ``value``: G3 objects as they are, plain values wrapped."""
    if isinstance(value, G3FrameObject):
        return value
    if isinstance(value, bool | np.bool_):
        return G3Bool(bool(value))
    if isinstance(value, int | np.integer):
        return G3Int(int(value))
    if isinstance(value, float | np.floating):
        return G3Double(float(value))
    if isinstance(value, str):
        return G3String(value)
    if isinstance(value, Quat):
        return G3Quat(value)
    raise TypeError(
        f"cannot store a {type(value).__name__} in a G3Frame: use a G3 frame object "
        "(for example G3VectorDouble for a list of floats) or bool/int/float/str"
    )


def unwrap_value(obj: Any) -> Any:
    """What reading a key returns: plain values for G3Bool/G3Int/G3Double/G3String/G3Quat."""
    cls = type(obj)
    if cls is G3Int or cls is G3Double or cls is G3String or cls is G3Bool:
        return obj.value
    if cls is G3Quat:
        return obj.value
    return obj


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
        "_source_name",  # set by G3Reader(track_filename=True); unset otherwise
        "__weakref__",
    )

    def __init__(self, type: G3FrameType | int | str = 0x4E) -> None:  # noqa: A002
        self.type = type if isinstance(type, G3FrameType) else G3FrameType(type)
        self._keys: dict[str, None] = {}
        self._objs: dict[str, Any] = {}
        self._blobs: dict[str, tuple[memoryview, int]] = {}
        self._history: list[tuple[bool, str]] | None = None
        self._raw: _Buffer | None = None
        self._order: tuple[str, ...] | None = None
        self._offset: int | None = None
        self._lazy: list[slice] | None = None

    # -- construction from bytes -------------------------------------------
    @classmethod
    def _from_scan(cls, type_code: int, raw: _Buffer, entries: list[slice], offset: int) -> G3Frame:
        """A frame over ``raw``, one frame's bytes; ``entries`` holds, per entry,
        the slice of its name and of its blob (indexed on first use)."""
        f = cls.__new__(cls)
        t = _STANDARD_TYPES.get(type_code)
        f.type = t if t is not None else G3FrameType(type_code)
        f._keys = None  # type: ignore[assignment]
        f._lazy = entries
        f._history = None
        f._raw = raw
        f._order = None
        f._offset = offset
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
            obj = decode_object(blob, boff)
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
                order = insertion_order_to_disk_order(list(self._keys))
            else:
                order = history_to_disk_order(self._history)
            self._order = order
        return order

    def blob(self, key: str) -> _Buffer | list[_Buffer]:
        """The serialized object of ``key``: its original blob if untouched, else a new encoding."""
        if self._keys is None:
            self._ensure()
        hit = self._blobs.get(key)
        if hit is not None:
            return hit[0]
        from .cereal import encode_object

        return encode_object(self._objs[key])

    def encoded(self) -> _Buffer:
        """This frame's bytes: the original ones when read and unchanged, else a new encoding."""
        raw = self._raw
        if raw is None:
            from .codec.container import encode_frame

            raw = b"".join(encode_frame(self))
            self._raw = raw
        return raw

    @property
    def original_bytes(self) -> _Buffer | None:
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
        return f

    def copy(self) -> G3Frame:
        """A shallow copy (objects are shared)."""
        return self.__copy__()


_MISSING = object()
