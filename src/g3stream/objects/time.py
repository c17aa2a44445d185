"""G3Time: 10 ns ticks since the Unix epoch (FORMAT.md 13.1)."""

from __future__ import annotations

import datetime as _dt
import re
import struct
import time as _time
from typing import TYPE_CHECKING, Any

from ..cereal import G3FrameObject, register, register_fixed_blob, scalar_blob_prefix

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


def _civil_to_ticks(y: int, mo: int, d: int, h: int, mi: int, s: int, frac: str | None) -> int:
    days = (_dt.date(y, mo, d) - _dt.date(1970, 1, 1)).days
    ns = int((frac or "").ljust(9, "0")) if frac else 0
    return ((days * 86400 + h * 3600 + mi * 60 + s) * 1_000_000_000 + ns) // 10


def parse_time(text: str) -> int:
    """Ticks for a G3 text time (``25-Nov-2026:16:39:43.386186000``) or an ISO 8601 time."""
    t = text.strip()
    m = _G3_TEXT.match(t)
    if m:
        d, mon, y, h, mi, s, frac = m.groups()
        month = _MONTH_NUMBER.get(mon.lower())
        if month is None:
            raise ValueError(f"unknown month in time {text!r}")
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
    raise ValueError(f"cannot parse time {text!r}")


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
        """Text form ``DD-Mon-YYYY:HH:MM:SS.nnnnnnnnn`` (UTC)."""
        y, mo, d, h, mi, sec, ns = _split(self.time)
        return f"{d:02d}-{_MONTHS[mo - 1]}-{y}:{h:02d}:{mi:02d}:{sec:02d}.{ns:09d}"

    def isoformat(self) -> str:
        """ISO 8601 form ``YYYY-MM-DDTHH:MM:SS.nnnnnnnnn`` (UTC)."""
        y, mo, d, h, mi, sec, ns = _split(self.time)
        return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{sec:02d}.{ns:09d}"

    def __str__(self) -> str:
        return self.GetFileFormatString()

    def __repr__(self) -> str:
        return f"G3Time({self.GetFileFormatString()!r})"

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

    def __add__(self, ticks: float) -> G3Time:
        return G3Time(self.time + int(ticks))

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        if isinstance(other, G3Time):
            return self.time - other.time
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
        return _TIME_PREFIX + _pack_i64(self.time)

    def _json_payload(self) -> Any:
        return self.time

    @classmethod
    def _from_json_payload(cls, payload: Any) -> G3Time:
        return cls(int(payload))


_pack_i64 = struct.Struct("<q").pack
_TIME_PREFIX = scalar_blob_prefix(G3Time)
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
