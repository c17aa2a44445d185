"""G3Time: 10 ns ticks since the Unix epoch (FORMAT.md 13.1)."""

from __future__ import annotations

import datetime as _dt
import re
import struct
import time as _time
from typing import TYPE_CHECKING, Any

import numpy as np

from ..cereal import G3FrameObject, register, register_fixed_blob, scalar_blob_prefix
from ..errors import G3TimeParseError

if TYPE_CHECKING:
    from ..cereal import ArchiveReader, ArchiveWriter

#: Ticks per second (G3Units.s).
TICKS_PER_SECOND = 100_000_000
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_MONTH_NUMBER = {m.lower(): i + 1 for i, m in enumerate(_MONTHS)}
_G3_TEXT = re.compile(r"^(\d{1,2})-([A-Za-z]{3})-(-?\d+):(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?$")
_ISO_TEXT = re.compile(
    r"^(-?\d{4,})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)?$"
)


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date; a day past the month's end
    rolls over into the next month (as C's ``timegm`` normalises it)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_to_ticks(y: int, mo: int, d: int, h: int, mi: int, s: int, frac: str | None) -> int:
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h <= 23 and mi <= 59 and s <= 61):
        raise G3TimeParseError(f"time field out of range in {y}-{mo}-{d} {h}:{mi}:{s}")
    days = _days_from_civil(y, mo, d)
    ns = int((frac or "").ljust(9, "0")) if frac else 0
    return ((days * 86400 + h * 3600 + mi * 60 + s) * 1_000_000_000 + ns) // 10


# The string forms spt3g reads, tried in its order, each read as C's strptime
# reads it (numbers of 1..n digits after optional white space, range-checked;
# white space in a form matches any amount), then an optional ".digits"
# fraction of a second; anything after that is ignored, as there.
_SPT3G_FORMS = (
    "%d-%b-%Y:%H:%M:%S",
    "%y%m%d_%H%M%S",
    "%Y%m%d_%H%M%S",
    "%y%m%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S%z",
)
#: conversion -> (smallest, largest, most digits)
_NUMBER_FIELDS = {
    "d": (1, 31, 2),
    "m": (1, 12, 2),
    "Y": (0, 9999, 4),
    "y": (0, 99, 2),
    "H": (0, 23, 2),
    "M": (0, 59, 2),
    "S": (0, 61, 2),
}
_MONTH_NAMES = [
    "january", "february", "march", "april", "may", "june", "july",
    "august", "september", "october", "november", "december",
]  # fmt: skip


def _read_number(text: str, pos: int, lo: int, hi: int, width: int) -> tuple[int, int] | None:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos >= len(text) or not "0" <= text[pos] <= "9":
        return None
    val = 0
    n = width
    while True:
        val = val * 10 + ord(text[pos]) - 48
        pos += 1
        n -= 1
        if not (n > 0 and val * 10 <= hi and pos < len(text) and "0" <= text[pos] <= "9"):
            break
    if not lo <= val <= hi:
        return None
    return val, pos


def _read_month_name(text: str, pos: int) -> tuple[int, int] | None:
    low = text[pos:].lower()
    for i, name in enumerate(_MONTH_NAMES):
        for candidate in (name, name[:3]):
            if low.startswith(candidate):
                return i + 1, pos + len(candidate)
    return None


def _read_zone(text: str, pos: int) -> tuple[int, int] | None:
    """Seconds east of UTC of ``Z``, ``+hh``, ``+hhmm`` or ``+hh:mm``."""
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos < len(text) and text[pos] == "Z":
        return 0, pos + 1
    if pos >= len(text) or text[pos] not in "+-":
        return None
    negative = text[pos] == "-"
    pos += 1
    val = digits = 0
    while digits < 4 and pos < len(text) and "0" <= text[pos] <= "9":
        val = val * 10 + ord(text[pos]) - 48
        pos += 1
        digits += 1
        if digits == 2 and text[pos : pos + 1] == ":" and text[pos + 1 : pos + 2].isdigit():
            pos += 1
    if digits == 2:
        val *= 100
    elif digits != 4 or val % 100 >= 60:
        return None
    offset = (val // 100) * 3600 + (val % 100) * 60
    return (-offset if negative else offset), pos


def _scan(text: str, form: str) -> tuple[dict[str, int], int] | None:
    """The fields of ``text`` read with the strptime ``form``, and where reading stopped."""
    fields: dict[str, int] = {}
    pos = 0
    i = 0
    while i < len(form):
        c = form[i]
        if c == "%":
            conv = form[i + 1]
            i += 2
            got: tuple[int, int] | None
            if conv == "b":
                got = _read_month_name(text, pos)
                conv = "m"
            elif conv == "z":
                got = _read_zone(text, pos)
            else:
                got = _read_number(text, pos, *_NUMBER_FIELDS[conv])
            if got is None:
                return None
            fields[conv], pos = got
        elif c.isspace():
            while pos < len(text) and text[pos].isspace():
                pos += 1
            i += 1
        else:
            if pos >= len(text) or text[pos] != c:
                return None
            pos += 1
            i += 1
    return fields, pos


def _parse_spt3g_form(text: str) -> int | None:
    """Ticks of ``text`` read exactly as spt3g reads a time string, or None if it cannot."""
    for form in _SPT3G_FORMS:
        got = _scan(text, form)
        if got is not None:
            break
    else:
        return None
    f, pos = got
    year = f["Y"] if "Y" in f else f["y"] + (1900 if f["y"] >= 69 else 2000)
    secs = _days_from_civil(year, f["m"], f["d"]) * 86400 + f["H"] * 3600 + f["M"] * 60 + f["S"]
    secs -= f.get("z", 0)
    sub = 0
    if text[pos : pos + 1] == ".":
        end = pos + 1
        while end < len(text) and "0" <= text[end] <= "9":
            end += 1
        digits = text[pos + 1 : end]
        if digits:  # the first 8 digits are ticks; more digits are dropped
            sub = int(digits[:8]) * 10 ** (8 - len(digits[:8]))
    return secs * TICKS_PER_SECOND + sub


def parse_time(text: str) -> int:
    """Ticks of a time string.

    Every form spt3g reads gives spt3g's result (``YYYYMMDD_HHMMSS``,
    ``YYMMDD_HHMMSS``, ``YYMMDD HH:MM:SS``, ``DD-Mon-YYYY:HH:MM:SS``,
    ``YYYY-MM-DDTHH:MM:SS[+TZ]``, each with an optional ``.fraction``);
    also read: ISO 8601 with a space or a fraction and a zone, and negative
    years.  Anything else raises ``G3TimeParseError`` (a ``ValueError``
    and, as in spt3g, a ``RuntimeError``).
    """
    ticks = _parse_spt3g_form(text)
    if ticks is not None:
        return ticks
    t = text.strip()
    m = _G3_TEXT.match(t)
    if m:
        d, mon, y, h, mi, s, frac = m.groups()
        month = _MONTH_NUMBER.get(mon.lower())
        if month is not None:
            return _civil_to_ticks(int(y), month, int(d), int(h), int(mi), int(s), frac)
    m = _ISO_TEXT.match(t)
    if m:
        y, mo, d, h, mi, s, frac, tz = m.groups()
        ticks = _civil_to_ticks(int(y), int(mo), int(d), int(h), int(mi), int(s), frac)
        if tz and tz != "Z":
            sign = 1 if tz[0] == "+" else -1
            hh, mm = int(tz[1:3]), int(tz[-2:])
            ticks -= sign * (hh * 3600 + mm * 60) * TICKS_PER_SECOND
        return ticks
    raise G3TimeParseError(f'Could not convert time string "{text}"')


def _civil(days: int) -> tuple[int, int, int]:
    """Proleptic Gregorian (year, month, day) of a day count since 1970-01-01, any year."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (1 if m <= 2 else 0), m, d


def _split(ticks: int) -> tuple[int, int, int, int, int, int, int]:
    """(year, month, day, hour, minute, second, nanosecond) in UTC for any tick count."""
    secs, rem = divmod(ticks, TICKS_PER_SECOND)
    days, sod = divmod(secs, 86400)
    y, mo, d = _civil(days)
    return y, mo, d, sod // 3600, sod // 60 % 60, sod % 60, rem * 10


@register(version=1)
class G3Time(G3FrameObject):
    """A point in time, stored as 10 ns ticks since 1970-01-01 UTC.

    Built from ticks (``int``), a G3 or ISO time string, a ``datetime``
    (naive means UTC), or nothing (the epoch).
    """

    __slots__ = ("time",)

    def __init__(self, t: Any = 0) -> None:
        if isinstance(t, G3Time):
            self.time: int = t.time
        elif isinstance(t, str):
            self.time = parse_time(t)
        elif isinstance(t, _dt.datetime):
            self.time = self.from_datetime(t).time
        else:
            self.time = int(t)

    # -- construction ----------------------------------------------------
    @classmethod
    def Now(cls) -> G3Time:
        """The current time."""
        return cls(_time.time_ns() // 10)

    @classmethod
    def from_datetime(cls, when: _dt.datetime) -> G3Time:
        """The time of a ``datetime`` (naive datetimes are taken as UTC)."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=_dt.timezone.utc)
        delta = when - _EPOCH
        ticks = (delta.days * 86400 + delta.seconds) * TICKS_PER_SECOND + delta.microseconds * 100
        return cls(ticks)

    @classmethod
    def from_iso(cls, text: str) -> G3Time:
        """The time of an ISO 8601 string."""
        return cls(parse_time(text))

    # -- views -------------------------------------------------------------
    @property
    def mjd(self) -> float:
        """Modified Julian Date."""
        return 40587.0 + self.time / (86400.0 * TICKS_PER_SECOND)

    def to_datetime(self) -> _dt.datetime:
        """An aware UTC ``datetime`` (microsecond resolution)."""
        return _EPOCH + _dt.timedelta(microseconds=self.time // 100)

    datetime = property(to_datetime)

    def GetFileFormatString(self) -> str:
        """The ``YYYYMMDD_HHMMSS`` form (UTC) that SPTpol and GCP name files with, as spt3g."""
        t = self.time
        whole = t // TICKS_PER_SECOND if t >= 0 else -(-t // TICKS_PER_SECOND)  # C truncation
        y, mo, d, h, mi, sec, _ = _split(whole * TICKS_PER_SECOND)
        return f"{y}{mo:02d}{d:02d}_{h:02d}{mi:02d}{sec:02d}"

    def Description(self) -> str:
        """Text form ``DD-Mon-YYYY:HH:MM:SS.nnnnnnnnn`` (UTC), as ``str()``."""
        y, mo, d, h, mi, sec, ns = _split(self.time)
        return f"{d:02d}-{_MONTHS[mo - 1]}-{y}:{h:02d}:{mi:02d}:{sec:02d}.{ns:09d}"

    def isoformat(self) -> str:
        """ISO 8601 form ``YYYY-MM-DDTHH:MM:SS.nnnnnnnnn`` (UTC)."""
        y, mo, d, h, mi, sec, ns = _split(self.time)
        return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{sec:02d}.{ns:09d}"

    def __str__(self) -> str:
        return self.Description()

    def __repr__(self) -> str:
        return f"G3Time({self.Description()!r})"

    # -- arithmetic and ordering ---------------------------------------
    def __int__(self) -> int:
        return self.time

    def __float__(self) -> float:
        return float(self.time)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, G3Time):
            return self.time == other.time
        return NotImplemented

    def __lt__(self, other: G3Time) -> bool:
        return self.time < G3Time(other).time

    def __le__(self, other: G3Time) -> bool:
        return self.time <= G3Time(other).time

    def __gt__(self, other: G3Time) -> bool:
        return self.time > G3Time(other).time

    def __ge__(self, other: G3Time) -> bool:
        return self.time >= G3Time(other).time

    def __hash__(self) -> int:
        return hash(self.time)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        # the ticks, so that arrays and vectors combine with a time as spt3g's do
        return np.array(self.time, dtype=dtype or np.int64)

    def __add__(self, ticks: Any) -> Any:
        if (
            isinstance(ticks, np.ndarray)
            or hasattr(ticks, "__array__")
            and hasattr(ticks, "__len__")
        ):
            return NotImplemented  # numpy (or the vector) adds the ticks element by element
        return G3Time(self.time + int(ticks))

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        """A time minus ticks, or minus a time (a G3Time of the difference, as spt3g)."""
        if (
            isinstance(other, np.ndarray)
            or hasattr(other, "__array__")
            and hasattr(other, "__len__")
        ):
            return NotImplemented
        if isinstance(other, G3Time):
            return G3Time(self.time - other.time)
        return G3Time(self.time - int(other))

    # -- codec -------------------------------------------------------------
    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> G3Time:
        obj = cls.__new__(cls)
        obj.time = r.i64()
        return obj

    def _g3_write(self, w: ArchiveWriter) -> None:
        w.i64(self.time)

    def _g3_blob(self) -> bytes:
        return _pack_time_blob(_TIME_PREFIX, self.time)

    def _json_payload(self) -> Any:
        return self.time

    @classmethod
    def _from_json_payload(cls, payload: Any) -> G3Time:
        return cls(int(payload))


_TIME_PREFIX = scalar_blob_prefix(G3Time)
# A whole blob from its prefix and ticks in one call (no concatenation).
_pack_time_blob = struct.Struct(f"<{len(_TIME_PREFIX)}sq").pack
_unpack_i64 = struct.Struct("<q").unpack_from


def _time_from_blob(blob: Any, at: int) -> G3Time:
    obj = G3Time.__new__(G3Time)
    obj.time = _unpack_i64(blob, at)[0]
    return obj


register_fixed_blob(_TIME_PREFIX, 8, _time_from_blob)


def read_time_by_value(r: ArchiveReader) -> G3Time:
    """A G3Time stored inline (by value) inside another object."""
    r.begin(G3Time._g3_chain)
    obj = G3Time.__new__(G3Time)
    obj.time = r.i64()
    return obj


def write_time_by_value(w: ArchiveWriter, t: G3Time | int) -> None:
    """Store a G3Time inline (by value) inside another object."""
    w.begin(G3Time._g3_chain, G3Time._g3_write_versions)
    w.i64(t.time if isinstance(t, G3Time) else int(t))


__all__ = ["G3Time"]
