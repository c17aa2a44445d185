"""``g3stream stats``: a live table of frame and byte rates per frame type.

Shows frames/s and bytes/s per frame type, totals, frames dropped (from the
stream's sequence numbers) and gaps in the time stamps, refreshing in place
on a terminal (one summary line per interval otherwise).  The status and,
with ``--json``, the fields ``state``, ``connected``, ``reconnects``,
``outages`` and ``last_frame_age_s`` tell whether the stream is alive.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from ..io.schemes import redact_url
from ..rates import RateBoard
from .common import EXIT_OK, UsageError, positive_float_arg
from .inputs import (
    add_reader_options,
    add_skip_option,
    check_url,
    is_url,
    listening_port,
    reader_options,
)
from .monitor import StreamMonitor, show_until_done
from .prometheus import add_metrics_options, start_metrics
from .rates import RateDisplay

HELP = "live frames/s and bytes/s per frame type, drops and gaps of a stream"

log = logging.getLogger("g3stream.cli")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``stats`` subcommand."""
    p = subparsers.add_parser(
        "stats",
        help=HELP,
        description="Watch a stream's rates live. Stop with Ctrl-C.",
    )
    p.add_argument("url", metavar="URL", help="tcp://host:port, or tcp://*:port to listen")
    p.add_argument(
        "--interval",
        type=positive_float_arg,
        default=1.0,
        metavar="SECONDS",
        help="refresh interval (default 1 s)",
    )
    p.add_argument(
        "--duration",
        type=positive_float_arg,
        default=None,
        metavar="SECONDS",
        help="stop after this long (default: until the stream ends or Ctrl-C)",
    )
    p.add_argument(
        "--json", action="store_true", help="print one JSON object per interval instead of a table"
    )
    p.add_argument(
        "--seq-key",
        default=None,
        metavar="KEY",
        help=(
            "count dropped frames from this frame-number key, in frames of every type "
            "(default: SampleIndex of Timepoints, ScanNumber of Scans; SO streams: frame_num)"
        ),
    )
    p.add_argument(
        "--time-key",
        default=None,
        metavar="KEY",
        help=(
            "find gaps from this time-stamp key (a G3Time), in frames of every type "
            "(default: EventHeader of Timepoints; SO streams: time)"
        ),
    )
    add_reader_options(p)
    add_skip_option(p)
    add_metrics_options(p)
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Show the rates until the stream ends, ``--duration`` passes, or Ctrl-C."""
    if not is_url(args.url):
        raise UsageError(f"{args.url}: expected a tcp://host:port URL")
    check_url(args.url)
    kwargs = reader_options(args)
    board = RateBoard(seq_key=args.seq_key, time_key=args.time_key)
    monitor = StreamMonitor(args.url, board, skip_keys=args.skip_key, **kwargs).start()
    listen_port = listening_port(args.url, monitor.reader)
    if listen_port:
        # with --json stdout carries only JSON: say it on stderr
        print(
            f"listening on port {listen_port}", flush=True, file=sys.stderr if args.json else None
        )
    metrics = start_metrics(args, board=board, reader=monitor.reader)
    title = f"g3stream stats {redact_url(args.url)}"
    with RateDisplay(board, title, json_lines=args.json) as display:
        try:
            show_until_done(monitor, display, args.interval, args.duration)
        except KeyboardInterrupt:
            pass
    monitor.stop()
    metrics.close()
    if monitor.error is not None:
        raise monitor.error
    return EXIT_OK
