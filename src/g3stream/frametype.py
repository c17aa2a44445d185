"""G3FrameType, and the one definition of which frame types carry data.

A frame's type is a u32 code: one of spt3g's standard types (a letter,
``Scan`` is ``'S'``) or an ad-hoc code of 1-4 characters (FORMAT.md
section 5).  Timepoint and Scan frames are *data*; every other type is
*metadata*, which streaming servers never drop and replay to late clients,
and which file rotation repeats at the start of each file.
"""

from __future__ import annotations


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
    def key(self) -> str:
        """The type's character (``'M'`` for ``Map``), as spt3g's ``key``; an ad-hoc
        type gives its characters."""
        return adhoc_type_text(int(self))

    @property
    def value(self) -> int:
        """The integer code (``77`` for ``Map``), as spt3g's ``value``."""
        return int(self)

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

#: The data frame types (spt3g's default ``dataframetype``); every other type is metadata,
#: which streaming servers never drop and replay to late clients.
DATA_FRAME_TYPES = (G3FrameType.Timepoint, G3FrameType.Scan)


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


__all__ = ["G3FrameType", "DATA_FRAME_TYPES", "adhoc_type_code", "adhoc_type_text"]
