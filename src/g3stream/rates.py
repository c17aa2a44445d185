"""Live per-type frame and byte rates, drops and gaps of a stream.

:class:`RateBoard` counts frames as they arrive (from any thread) and
reports rates over a sliding window as a :class:`RateSnapshot`; the
terminal display (``g3stream.cli.rates``), the web monitor and the
Prometheus exporter all read the same board.

Drops and gaps are found from the stream's own bookkeeping: a jump in the
``SampleIndex`` of Timepoint frames or the ``ScanNumber`` of Scan frames
counts the missing frames as dropped; a pause between the ``EventHeader``
time stamps of consecutive Timepoints of more than 2.5 times their usual
spacing counts as a gap.  Other streams name these keys differently (SO
numbers its frames with ``frame_num`` and stamps them with ``time``): with
``seq_key`` / ``time_key`` that key is followed in frames of every type
(each type on its own).

The board also reports the liveness of the network source (its state,
reconnections and the age of the last frame) when given a ``liveness``
function such as ``G3Reader.statistics``.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .frame import G3Frame, G3FrameType
from .io.source import SourceState, SourceStatistics

#: Counters that number frames, by frame type: a jump means frames went missing.
SEQUENCE_KEYS = {G3FrameType.Timepoint: "SampleIndex", G3FrameType.Scan: "ScanNumber"}
#: Key of a Timepoint frame's time stamp.
TIME_KEY = "EventHeader"
#: A pause of this many usual spacings between time stamps is a gap.
GAP_FACTOR = 2.5

#: How each state of a network source reads in the status line.
STATE_TEXT = {
    SourceState.CONNECTING: "connecting",
    SourceState.LISTENING: "waiting for a sender",
    SourceState.CONNECTED: "connected, waiting for data",
    SourceState.STREAMING: "reading",
    SourceState.RECONNECTING: "connection lost, reconnecting",
    SourceState.ENDED: "stream ended",
    SourceState.CLOSED: "closed",
}


@dataclass
class TypeCounts:
    """Totals for one frame type."""

    frames: int = 0
    nbytes: int = 0
    dropped: int = 0
    last_seq: int | None = None


@dataclass
class RateRow:
    """One line of the rate table."""

    type_name: str
    frames: int
    nbytes: int
    frames_per_s: float
    bytes_per_s: float
    dropped: int


@dataclass
class RateSnapshot:
    """What the board shows at one moment."""

    elapsed: float
    rows: list[RateRow] = field(default_factory=list)
    gaps: int = 0
    longest_gap: float = 0.0
    status: str = ""
    #: The network source's liveness at that moment (None: not known).
    source: SourceStatistics | None = None

    @property
    def frames(self) -> int:
        """Frames of every type so far."""
        return sum(r.frames for r in self.rows)

    @property
    def nbytes(self) -> int:
        """Bytes of every type so far."""
        return sum(r.nbytes for r in self.rows)


class _Clock:
    """The time stamps of one frame type: the last one and the usual spacing."""

    def __init__(self) -> None:
        self.last: int | None = None
        self.spacings: deque[int] = deque(maxlen=64)


def _stamp(value: Any) -> int | None:
    """A time stamp in G3Time ticks: a G3Time, or a number already in ticks."""
    try:
        return int(value.time if hasattr(value, "time") else value)
    except (TypeError, ValueError, OverflowError):
        return None


class RateBoard:
    """Thread-safe frame counter with rates over a sliding ``window`` of seconds.

    ``seq_key``: count drops from this key in frames of every type (default:
    ``SampleIndex`` of Timepoints, ``ScanNumber`` of Scans).  ``time_key``:
    find gaps from this key (a G3Time) in frames of every type (default:
    ``EventHeader`` of Timepoints).  ``liveness`` (settable later): a function
    returning the network source's statistics, shown with each snapshot;
    while ``status_live`` is true the status follows the source's state.
    """

    def __init__(
        self,
        window: float = 3.0,
        seq_key: str | None = None,
        time_key: str | None = None,
        liveness: Callable[[], SourceStatistics | None] | None = None,
    ) -> None:
        self.window = window
        self.seq_key = seq_key
        self.time_key = time_key
        self.liveness = liveness
        self.label = ""
        self.status_live = False
        self._lock = threading.Lock()
        self._counts: dict[G3FrameType, TypeCounts] = {}
        self._history: deque[tuple[float, dict[G3FrameType, tuple[int, int]]]] = deque()
        self._start = time.monotonic()
        self._history.append((self._start, {}))
        self._clocks: dict[G3FrameType, _Clock] = {}
        self.gaps = 0
        self.longest_gap = 0.0
        self.status = "waiting"

    def _keys(self, frame_type: G3FrameType) -> tuple[str | None, str | None]:
        seq_key = self.seq_key if self.seq_key else SEQUENCE_KEYS.get(frame_type)
        time_key = self.time_key
        if not time_key and frame_type == G3FrameType.Timepoint:
            time_key = TIME_KEY
        return seq_key, time_key

    def add(self, frame: G3Frame, nbytes: int) -> None:
        """Count one received frame of ``nbytes`` bytes."""
        seq_key, time_key = self._keys(frame.type)
        seq = None
        if seq_key is not None and seq_key in frame:
            try:
                seq = int(frame[seq_key])
            except (TypeError, ValueError):
                seq = None
        stamp = None
        if time_key is not None and time_key in frame:
            stamp = _stamp(frame[time_key])
        with self._lock:
            c = self._counts.get(frame.type)
            if c is None:
                c = self._counts[frame.type] = TypeCounts()
            c.frames += 1
            c.nbytes += nbytes
            if seq is not None:
                if c.last_seq is not None and seq > c.last_seq + 1:
                    c.dropped += seq - c.last_seq - 1
                c.last_seq = seq
            if stamp is not None:
                clock = self._clocks.get(frame.type)
                if clock is None:
                    clock = self._clocks[frame.type] = _Clock()
                self._note_time(clock, stamp)

    def _note_time(self, clock: _Clock, stamp: int) -> None:
        last = clock.last
        clock.last = stamp
        if last is None or stamp <= last:
            return
        delta = stamp - last
        if len(clock.spacings) >= 8:
            usual = statistics.median(clock.spacings)
            if delta > GAP_FACTOR * usual:
                self.gaps += 1
                self.longest_gap = max(self.longest_gap, delta / 1e8)
                return
        clock.spacings.append(delta)

    def snapshot(self) -> RateSnapshot:
        """Totals and the rates over the last ``window`` seconds, with the source's liveness."""
        source = self.liveness() if self.liveness is not None else None
        status = self.status
        if source is not None and self.status_live:
            text = STATE_TEXT.get(source.state, source.state.value)
            status = f"reading {self.label}" if text == "reading" else f"{self.label}: {text}"
        now = time.monotonic()
        with self._lock:
            current = {t: (c.frames, c.nbytes) for t, c in self._counts.items()}
            hist = self._history
            hist.append((now, current))
            while len(hist) > 2 and now - hist[1][0] >= self.window:
                hist.popleft()
            t0, old = hist[0]
            span = now - t0
            rows = []
            for t, c in self._counts.items():
                f0, b0 = old.get(t, (0, 0))
                if span > 0:
                    fps, bps = (c.frames - f0) / span, (c.nbytes - b0) / span
                else:
                    fps = bps = 0.0
                rows.append(RateRow(str(t), c.frames, c.nbytes, fps, bps, c.dropped))
            return RateSnapshot(
                now - self._start, rows, self.gaps, self.longest_gap, status, source
            )
