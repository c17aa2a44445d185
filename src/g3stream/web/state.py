"""What the web monitor shows, as JSON-ready data: rates, health, inspector, plots.

:class:`MonitorState` owns the :class:`~g3stream.live.LiveReader` and the
:class:`~g3stream.rates.RateBoard` (the same frame, drop and gap counting
as ``g3stream stats``).  It knows no HTTP: the server asks it for the
payloads at its own pace.  The parts every browser sees (rates, health,
inspector) are built once per update whatever the number of browsers; the
parts a browser chooses (timestream and scalar plots) once per distinct
choice.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..frame import G3Frame
from ..live import LiveReader, frame_type
from ..rates import RateBoard
from .downsample import minmax_downsample

__all__ = ["MonitorState", "TimestreamChoice", "ScalarChoice", "frame_listing"]

#: Seconds of rate history kept (and drawn).
RATE_HISTORY_SECONDS = 300
#: Longest summary of one value in the inspector.
SHORT_VALUE = 120
#: Longest detailed description of one value.
LONG_VALUE = 20000
#: Most plot columns a browser may ask for.
MAX_COLUMNS = 4000
#: Most channels drawn at once.
MAX_CHANNELS = 32
#: Longest timestream window, in seconds.
MAX_SECONDS = 600.0


def _finite(values: np.ndarray) -> list[float | None]:
    """A float array as a JSON list (NaN and infinities become null)."""
    return [None if not math.isfinite(x) else x for x in values.tolist()]


def frame_listing(frame: G3Frame) -> list[dict[str, str]]:
    """Every key of ``frame`` with its value's type name and short summary, as ``dump`` prints.

    Read from the frame's own listing (:meth:`G3Frame.Summary`), so the
    inspector shows exactly what ``g3stream dump`` shows.
    """
    keys = sorted(frame.keys())
    lines = frame.Summary().split("\n")[1:-1]
    rows: list[dict[str, str]] = []
    pending = iter(keys)
    expect = next(pending, None)
    for line in lines:
        if expect is not None and line.startswith(f'"{expect}" ('):
            rest = line[len(expect) + 4 :]
            name, _, summary = rest.partition(") => ")
            rows.append({"key": expect, "type": name, "summary": summary})
            expect = next(pending, None)
        elif rows:  # a summary that spans lines
            rows[-1]["summary"] += " " + line.strip()
    for row in rows:
        if len(row["summary"]) > SHORT_VALUE:
            row["summary"] = row["summary"][: SHORT_VALUE - 1] + "\u2026"
    return rows


def value_detail(frame: G3Frame, key: str) -> str:
    """A long description of one value of ``frame`` (cut at :data:`LONG_VALUE` characters)."""
    obj = frame[key]
    if hasattr(obj, "items") and callable(obj.items):
        text = "\n".join(f"{k}: {v}" for k, v in obj.items())
    elif isinstance(obj, str | bytes) or not hasattr(obj, "__len__"):
        describe = getattr(obj, "Description", None)
        text = describe() if callable(describe) else str(obj)
    else:
        try:
            text = np.array2string(np.asarray(obj), threshold=2000, max_line_width=100)
        except Exception:  # noqa: BLE001 - not an array: its description instead
            text = str(obj)
    if len(text) > LONG_VALUE:
        text = text[:LONG_VALUE] + f"\n\u2026 ({len(text) - LONG_VALUE} more characters)"
    return text


@dataclass(frozen=True)
class TimestreamChoice:
    """What a browser wants drawn from the timestreams."""

    key: str
    channels: tuple[str, ...] | None
    seconds: float
    columns: int

    @classmethod
    def from_json(cls, data: Any) -> TimestreamChoice | None:
        """A choice from a browser's message (bounded); None when absent or malformed."""
        if not isinstance(data, dict) or not isinstance(data.get("key"), str):
            return None
        chans = data.get("channels")
        channels = (
            tuple(str(c) for c in chans[:MAX_CHANNELS])
            if isinstance(chans, list) and chans
            else None
        )
        try:
            seconds = min(max(float(data.get("seconds", 10.0)), 0.1), MAX_SECONDS)
            columns = min(max(int(data.get("columns", 600)), 10), MAX_COLUMNS)
        except (TypeError, ValueError):
            return None
        return cls(data["key"], channels, seconds, columns)


@dataclass(frozen=True)
class ScalarChoice:
    """A numeric key of a frame type that a browser wants drawn over time."""

    type: str
    key: str
    columns: int

    @classmethod
    def from_json(cls, data: Any) -> ScalarChoice | None:
        """A choice from a browser's message; None when absent or malformed."""
        if not isinstance(data, dict):
            return None
        t, k = data.get("type"), data.get("key")
        if not isinstance(t, str) or not isinstance(k, str):
            return None
        try:
            frame_type(t)
            columns = min(max(int(data.get("columns", 600)), 10), MAX_COLUMNS)
        except (TypeError, ValueError):
            return None
        return cls(t, k, columns)


class MonitorState:
    """The web monitor's view of a live stream (thread-safe to read)."""

    def __init__(self, live: LiveReader, board: RateBoard | None = None, source: str = "") -> None:
        self.live = live
        self.board = board if board is not None else RateBoard()
        self.source = source
        live.add_observer(self._count)
        self._history: deque[tuple[float, dict[str, tuple[float, float]]]] = deque(
            maxlen=RATE_HISTORY_SECONDS
        )
        self._listing_cache: dict[str, tuple[int, float, list[dict[str, str]]]] = {}
        self._lock = threading.Lock()

    def _count(self, frame: G3Frame, nbytes: int, arrival: float) -> None:
        self.board.add(frame, nbytes)

    # -- shared parts --------------------------------------------------------
    def sample_rates(self) -> None:
        """Add the current rates to the history (call about once a second)."""
        snap = self.board.snapshot()
        point = {r.type_name: (r.frames_per_s, r.bytes_per_s) for r in snap.rows}
        with self._lock:
            self._history.append((time.time(), point))

    def rates(self) -> dict[str, Any]:
        """Rates per type now, totals, drops, gaps and the rate history."""
        snap = self.board.snapshot()
        with self._lock:
            history = list(self._history)
        types = sorted({t for _, p in history for t in p} | {r.type_name for r in snap.rows})
        hist: dict[str, Any] = {"t": [round(t, 3) for t, _ in history], "fps": {}, "bps": {}}
        for t in types:
            hist["fps"][t] = [round(p.get(t, (0.0, 0.0))[0], 3) for _, p in history]
            hist["bps"][t] = [round(p.get(t, (0.0, 0.0))[1], 1) for _, p in history]
        return {
            "rows": [
                {
                    "type": r.type_name,
                    "frames": r.frames,
                    "bytes": r.nbytes,
                    "fps": round(r.frames_per_s, 3),
                    "bps": round(r.bytes_per_s, 1),
                    "dropped": r.dropped,
                }
                for r in sorted(snap.rows, key=lambda r: r.type_name)
            ],
            "gaps": snap.gaps,
            "longest_gap": snap.longest_gap,
            "history": hist,
        }

    def health(self) -> dict[str, Any]:
        """Connected, reconnects, last frame age, state and whether all is well."""
        h = self.live.health()
        return {
            "ok": h.ok,
            "state": h.state,
            "connected": h.connected,
            "reconnects": h.reconnects,
            "last_frame_age_s": None
            if h.last_frame_age_s is None
            else round(h.last_frame_age_s, 3),
            "frames": h.frames,
            "error": h.error,
            "stale_after": self.live.stale_after,
        }

    def inspector(self) -> dict[str, Any]:
        """The latest frame of each type: arrival time and its keys, types and short values."""
        out = {}
        for t in self.live.types():
            entries = self.live.arrivals(t, 1)
            if not entries:
                continue
            arrival, frame = entries[-1]
            name = str(t)
            cached = self._listing_cache.get(name)
            if cached is None or cached[0] != id(frame) or cached[1] != arrival:
                cached = (id(frame), arrival, frame_listing(frame))
                self._listing_cache[name] = cached
            out[name] = {"received": arrival, "keys": cached[2]}
        return out

    def choices(self) -> dict[str, Any]:
        """What can be drawn: timestream-map keys of Scan frames, numeric keys per frame type."""
        scalars = {}
        for t in self.live.types():
            keys = self.live.scalar_keys(t)
            if keys:
                # plain numbers before time stamps: a time stamp over time is seldom wanted first
                latest = self.live.latest(t)
                keys.sort(key=lambda k: type(latest[k]).__name__ == "G3Time" if latest else False)
                scalars[str(t)] = keys
        return {"timestream_keys": self.live.timestream_keys("Scan"), "scalar_keys": scalars}

    def shared(self) -> dict[str, Any]:
        """Everything every browser gets in one update."""
        return {
            "source": self.source,
            "now": time.time(),
            "health": self.health(),
            "rates": self.rates(),
            "inspector": self.inspector(),
            "choices": self.choices(),
        }

    # -- chosen parts --------------------------------------------------------
    def channels(self, key: str) -> list[str]:
        """Channel names of timestream map ``key`` (newest Scan frame)."""
        return self.live.channels(key, "Scan")

    def timestream(self, choice: TimestreamChoice) -> dict[str, Any]:
        """The chosen timestreams over the last seconds, min/max-downsampled to the plot width."""
        win = self.live.timestream(choice.key, choice.channels, choice.seconds, "Scan")
        if len(win) == 0:
            return {"key": choice.key, "channels": win.channels, "n_samples": 0, "t": [], "y": []}
        end = float(win.times[-1])
        t, v = minmax_downsample(win.times - end, win.values, choice.columns)
        return {
            "key": choice.key,
            "channels": win.channels,
            "seconds": choice.seconds,
            "columns": choice.columns,
            "n_samples": len(win),
            "end": end,
            "t": [round(x, 4) for x in t.tolist()],
            "y": [_finite(row) for row in v],
        }

    def scalar(self, choice: ScalarChoice) -> dict[str, Any]:
        """The chosen numeric key over the kept frames of its type, downsampled to the plot width."""
        times, values = self.live.scalars(choice.type, choice.key)
        if times.shape[0] == 0:
            return {"type": choice.type, "key": choice.key, "n": 0, "t": [], "y": []}
        end = time.time()
        t, v = minmax_downsample(times - end, values, choice.columns)
        return {
            "type": choice.type,
            "key": choice.key,
            "n": int(times.shape[0]),
            "t": [round(x, 3) for x in t.tolist()],
            "y": _finite(v),
        }

    def detail(self, type_name: str, key: str) -> str | None:
        """A long description of ``key`` in the latest frame of ``type_name``; None if absent."""
        frame = self.live.latest(type_name)
        if frame is None or key not in frame:
            return None
        return value_detail(frame, key)
