"""Live per-type frame and byte rates, drops and gaps, shown in place.

:class:`RateBoard` counts frames as they arrive (from any thread) and
reports rates over a sliding window.  :class:`RateDisplay` shows the board:
a rich table refreshed in place on a terminal, or one plain summary line
per interval when the output is a file or a pipe (easy to log and to test).

Drops and gaps are found from the stream's own bookkeeping: a jump in the
``SampleIndex`` of Timepoint frames or the ``ScanNumber`` of Scan frames
counts the missing frames as dropped; a pause between the ``EventHeader``
time stamps of consecutive Timepoints of more than 2.5 times their usual
spacing counts as a gap.
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import IO, Any

from ..frame import G3Frame, G3FrameType
from .common import format_bytes

#: Counters that number frames, by frame type: a jump means frames went missing.
SEQUENCE_KEYS = {G3FrameType.Timepoint: "SampleIndex", G3FrameType.Scan: "ScanNumber"}
#: Key of a Timepoint frame's time stamp.
TIME_KEY = "EventHeader"
#: A pause of this many usual spacings between time stamps is a gap.
GAP_FACTOR = 2.5


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

    @property
    def frames(self) -> int:
        """Frames of every type so far."""
        return sum(r.frames for r in self.rows)

    @property
    def nbytes(self) -> int:
        """Bytes of every type so far."""
        return sum(r.nbytes for r in self.rows)


class RateBoard:
    """Thread-safe frame counter with rates over a sliding ``window`` of seconds."""

    def __init__(self, window: float = 3.0) -> None:
        self.window = window
        self._lock = threading.Lock()
        self._counts: dict[G3FrameType, TypeCounts] = {}
        self._history: deque[tuple[float, dict[G3FrameType, tuple[int, int]]]] = deque()
        self._start = time.monotonic()
        self._history.append((self._start, {}))
        self._last_time: int | None = None
        self._spacings: deque[int] = deque(maxlen=64)
        self.gaps = 0
        self.longest_gap = 0.0
        self.status = "waiting"

    def add(self, frame: G3Frame, nbytes: int) -> None:
        """Count one received frame of ``nbytes`` bytes."""
        seq_key = SEQUENCE_KEYS.get(frame.type)
        seq = None
        if seq_key is not None and seq_key in frame:
            try:
                seq = int(frame[seq_key])
            except (TypeError, ValueError):
                seq = None
        stamp = None
        if frame.type == G3FrameType.Timepoint and TIME_KEY in frame:
            try:
                stamp = int(frame[TIME_KEY].time)
            except (AttributeError, TypeError, ValueError):
                stamp = None
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
                self._note_time(stamp)

    def _note_time(self, stamp: int) -> None:
        last = self._last_time
        self._last_time = stamp
        if last is None or stamp <= last:
            return
        delta = stamp - last
        if len(self._spacings) >= 8:
            usual = statistics.median(self._spacings)
            if delta > GAP_FACTOR * usual:
                self.gaps += 1
                self.longest_gap = max(self.longest_gap, delta / 1e8)
                return
        self._spacings.append(delta)

    def snapshot(self) -> RateSnapshot:
        """Totals and the rates over the last ``window`` seconds."""
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
            return RateSnapshot(now - self._start, rows, self.gaps, self.longest_gap, self.status)


def snapshot_line(snap: RateSnapshot) -> str:
    """A one-line summary of a snapshot (the display on a non-terminal)."""
    parts = [
        f"{r.type_name}: {r.frames} frames {r.frames_per_s:.1f}/s "
        f"{format_bytes(r.bytes_per_s)}/s dropped {r.dropped}"
        for r in snap.rows
    ]
    body = " | ".join(parts) if parts else "no frames yet"
    return (
        f"[{snap.elapsed:6.1f}s] {snap.status}: {body} | total {snap.frames} frames "
        f"{format_bytes(snap.nbytes)} | gaps {snap.gaps}"
    )


def snapshot_table(snap: RateSnapshot, title: str) -> Any:
    """A rich Table of a snapshot."""
    from rich.table import Table

    table = Table(title=title, caption=_caption(snap), expand=False)
    table.add_column("frame type")
    table.add_column("frames", justify="right")
    table.add_column("frames/s", justify="right")
    table.add_column("bytes/s", justify="right")
    table.add_column("total", justify="right")
    table.add_column("dropped", justify="right")
    for r in snap.rows:
        table.add_row(
            r.type_name,
            str(r.frames),
            f"{r.frames_per_s:.1f}",
            f"{format_bytes(r.bytes_per_s)}/s",
            format_bytes(r.nbytes),
            str(r.dropped),
        )
    table.add_row(
        "all",
        str(snap.frames),
        f"{sum(r.frames_per_s for r in snap.rows):.1f}",
        f"{format_bytes(sum(r.bytes_per_s for r in snap.rows))}/s",
        format_bytes(snap.nbytes),
        str(sum(r.dropped for r in snap.rows)),
        style="bold",
    )
    return table


def _caption(snap: RateSnapshot) -> str:
    gap = f", longest {snap.longest_gap:.2f} s" if snap.gaps else ""
    return f"{snap.status} - {snap.elapsed:.1f} s - gaps {snap.gaps}{gap} - Ctrl-C to stop"


def snapshot_json(snap: RateSnapshot) -> str:
    """A snapshot as one line of JSON (for scripts and monitoring systems)."""
    return json.dumps(
        {
            "elapsed": round(snap.elapsed, 3),
            "status": snap.status,
            "frames": snap.frames,
            "bytes": snap.nbytes,
            "gaps": snap.gaps,
            "longest_gap": snap.longest_gap,
            "types": {
                r.type_name: {
                    "frames": r.frames,
                    "bytes": r.nbytes,
                    "frames_per_s": round(r.frames_per_s, 3),
                    "bytes_per_s": round(r.bytes_per_s, 1),
                    "dropped": r.dropped,
                }
                for r in snap.rows
            },
        },
        separators=(",", ":"),
    )


class RateDisplay:
    """Shows a RateBoard: a live table on a terminal, summary lines otherwise.

    With ``json_lines=True`` every refresh prints one JSON object instead.
    """

    def __init__(
        self,
        board: RateBoard,
        title: str,
        stream: IO[str] | None = None,
        json_lines: bool = False,
    ) -> None:
        self.board = board
        self.title = title
        self.stream = stream if stream is not None else sys.stdout
        self.json_lines = json_lines
        self._live: Any = None
        if self.stream.isatty() and not json_lines:
            from rich.console import Console
            from rich.live import Live

            console = Console(file=self.stream)
            self._live = Live(
                snapshot_table(board.snapshot(), title),
                console=console,
                auto_refresh=False,
                transient=False,
            )

    def __enter__(self) -> RateDisplay:
        if self._live is not None:
            self._live.start()
        return self

    def refresh(self) -> RateSnapshot:
        """Redraw (terminal) or print one line (otherwise); returns the snapshot shown."""
        snap = self.board.snapshot()
        if self._live is not None:
            self._live.update(snapshot_table(snap, self.title), refresh=True)
        else:
            line = snapshot_json(snap) if self.json_lines else snapshot_line(snap)
            self.stream.write(line + "\n")
            self.stream.flush()
        return snap

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()
