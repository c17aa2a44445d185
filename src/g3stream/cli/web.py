"""``g3stream web``: a live monitor of a stream in the browser.

Reads SOURCE (a ``tcp://`` stream, reconnecting when the sender restarts,
or a file replayed at ``--rate`` frames per second) and serves one page at
``http://BIND:PORT/`` with the rates per frame type, drops and gaps,
connection health, live timestream and value plots, and the latest frame
of each type.  Needs the ``g3stream[web]`` extra.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from ..frame import G3Frame, G3FrameType
from ..io.schemes import redact_url
from ..live import DEFAULT_STALE_AFTER, LiveReader
from ..metrics import StreamMetrics, serve_metrics
from ..web import MonitorState, WebMonitor
from .common import EXIT_OK, CommandError, UsageError, port_arg, positive_float_arg
from .inputs import STDIN_NAME, iter_source
from .prometheus import add_metrics_options
from .streaming import announce, paced

HELP = "a live web monitor of a stream: rates, health, timestream plots, latest frames"

log = logging.getLogger("g3stream.cli")

#: Frames kept per type (beyond the types below).
OTHER_HISTORY = 16
#: Timepoint frames kept (for the value plots): about 13 s at 152.6 Hz.
TIMEPOINT_HISTORY = 2048


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``web`` subcommand."""
    p = subparsers.add_parser(
        "web",
        help=HELP,
        description=(
            "Serve a live monitor of SOURCE to web browsers. The page and its scripts "
            "come from the installed packages (no internet needed). Stop with Ctrl-C."
        ),
    )
    p.add_argument(
        "source",
        metavar="SOURCE",
        help="tcp://host:port (or tcp://*:port to listen), or a .g3 file to replay",
    )
    p.add_argument(
        "--port", type=port_arg, default=8080, help="HTTP port of the page (default 8080; 0: free)"
    )
    p.add_argument(
        "--bind",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="local address to serve on (default 127.0.0.1; 0.0.0.0 for every interface)",
    )
    p.add_argument(
        "--rate",
        type=positive_float_arg,
        default=None,
        metavar="HZ",
        help="files: replay at most HZ frames per second (default: as fast as possible)",
    )
    p.add_argument("--loop", action="store_true", help="files: replay forever")
    p.add_argument(
        "--interval",
        type=positive_float_arg,
        default=0.5,
        metavar="SECONDS",
        help="seconds between two updates of the page (default 0.5)",
    )
    p.add_argument(
        "--scan-history",
        type=int,
        default=30,
        metavar="N",
        help="Scan frames kept for the timestream plots (default 30: memory is N Scan frames)",
    )
    p.add_argument(
        "--stale-after",
        type=positive_float_arg,
        default=DEFAULT_STALE_AFTER,
        metavar="SECONDS",
        help=f"show the stream red after this long without a frame (default {DEFAULT_STALE_AFTER:g})",
    )
    p.add_argument(
        "--no-reconnect",
        action="store_true",
        help="tcp://: stop at the first disconnection instead of waiting for the sender",
    )
    p.add_argument(
        "--duration",
        type=positive_float_arg,
        default=None,
        metavar="SECONDS",
        help="stop after this long (default: until Ctrl-C)",
    )
    add_metrics_options(p)
    p.set_defaults(run=run)
    return p


def _file_frames(
    name: str, loop: bool, rate: float | None, stop: threading.Event
) -> Iterator[G3Frame]:
    passes = itertools.count() if loop else range(1)
    frames = itertools.chain.from_iterable(iter_source(name) for _ in passes)
    return paced(frames, rate, stop)


def _open_live(args: argparse.Namespace, stop: threading.Event) -> LiveReader:
    history: dict[G3FrameType | int | str, int] = {
        "Scan": max(1, args.scan_history),
        "Timepoint": TIMEPOINT_HISTORY,
    }
    name = args.source
    if name == STDIN_NAME or os.path.exists(name):
        if name == STDIN_NAME and args.loop:
            raise UsageError("--loop cannot replay standard input")
        source: Any = _file_frames(name, args.loop, args.rate, stop)
        return LiveReader(source, OTHER_HISTORY, history, stale_after=args.stale_after)
    if "://" not in name:
        raise CommandError(f"{name}: no such file")
    options = {} if args.no_reconnect else {"reconnect": True}
    return LiveReader(name, OTHER_HISTORY, history, stale_after=args.stale_after, **options)


def run(args: argparse.Namespace) -> int:
    """Serve the monitor until Ctrl-C or ``--duration``."""
    stop = threading.Event()
    live = _open_live(args, stop)
    try:
        live.start()
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot read {args.source}: {exc}") from None
    state = MonitorState(live, source=redact_url(args.source))
    monitor = WebMonitor(state, args.port, args.bind, args.interval)
    metrics = None
    try:
        try:
            monitor.start()
        except ImportError as exc:
            raise CommandError(
                f"{exc}: install the web extra, pip install 'g3stream[web]'"
            ) from None
        listen = getattr(live.reader, "port", None)
        if listen and args.source.startswith("tcp://*"):
            announce(f"listening on port {listen}")
        announce(f"monitor on {monitor.url}")
        if args.metrics_port is not None:
            collector = StreamMetrics(
                rates=state.board, health=_health(live), extra=monitor.metric_samples
            )
            try:
                metrics = serve_metrics(collector, args.metrics_port, args.metrics_bind)
            except ImportError as exc:
                raise CommandError(str(exc)) from None
            announce(f"metrics on port {metrics.port}")
        end = None if args.duration is None else time.monotonic() + args.duration
        try:
            while end is None or time.monotonic() < end:
                time.sleep(0.2 if end is None else min(0.2, max(end - time.monotonic(), 0)))
        except KeyboardInterrupt:
            pass
    finally:
        stop.set()
        if metrics is not None:
            metrics.close()
        monitor.stop()
        live.stop()
    return EXIT_OK


def _health(live: LiveReader) -> Any:
    def health() -> tuple[bool | None, int, float | None]:
        h = live.health()
        return h.connected, h.reconnects, h.last_frame_age_s

    return health
