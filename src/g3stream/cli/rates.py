"""Live per-type frame and byte rates, drops and gaps, shown in place.

:class:`RateDisplay` shows a :class:`~g3stream.rates.RateBoard`: a rich
table refreshed in place on a terminal, or one plain summary line per
interval when the output is a file or a pipe (easy to log and to test).
"""

from __future__ import annotations

import json
import sys
from typing import IO, Any

from ..io.source import SourceStatistics
from ..rates import RateBoard, RateSnapshot
from .common import format_bytes

__all__ = ["RateDisplay", "snapshot_json", "snapshot_line"]


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
        f"{format_bytes(snap.nbytes)} | gaps {snap.gaps}{_liveness_text(snap.source)}"
    )


def _liveness_text(source: SourceStatistics | None) -> str:
    """`` | reconnects N, last frame X s ago`` for a known source, else nothing."""
    if source is None:
        return ""
    age = source.last_frame_age_s
    last = "no frame yet" if age is None else f"last frame {age:.1f} s ago"
    return f" | reconnects {source.reconnects}, {last}"


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
    live = _liveness_text(snap.source).replace(" | ", " - ")
    return f"{snap.status} - {snap.elapsed:.1f} s - gaps {snap.gaps}{gap}{live} - Ctrl-C to stop"


def snapshot_json(snap: RateSnapshot) -> str:
    """A snapshot as one line of JSON (for scripts and monitoring systems).

    Besides the counts it carries the source's liveness: ``state`` (a
    :class:`~g3stream.io.source.SourceState` value, null when unknown),
    ``connected``, ``reconnects``, ``outages``, ``last_frame_age_s`` (null
    before the first frame) and ``partial_frames_discarded`` (frames an
    outage cut in half).
    """
    source = snap.source
    age = None if source is None else source.last_frame_age_s
    return json.dumps(
        {
            "elapsed": round(snap.elapsed, 3),
            "status": snap.status,
            "state": None if source is None else source.state.value,
            "connected": False if source is None else source.connected,
            "reconnects": 0 if source is None else source.reconnects,
            "outages": 0 if source is None else source.outages,
            "last_frame_age_s": None if age is None else round(age, 3),
            "partial_frames_discarded": 0 if source is None else source.partial_frames_discarded,
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
