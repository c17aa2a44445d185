"""``g3stream serve``: a streaming server for files or a simulated DAQ.

Replays .g3 files (``--loop`` to start over at the end, ``--rate`` to pace
them) or serves the simulated DAQ (``--simulate``) to every client that
connects, through a G3NetworkSender (or a G3ThrottledNetworkSender with
``--decimate``).  Prints ``serving on port N`` once clients can connect.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import threading
from collections.abc import Iterator
from typing import Any

from ..frame import G3Frame
from ..objects.time import G3Time
from ..sim import SPT3G_SAMPLE_RATE, SimulatedDAQ
from .common import EXIT_OK, UsageError, positive_float_arg
from .inputs import STDIN_NAME, is_url, iter_source
from .prometheus import add_metrics_options, start_metrics
from .streaming import (
    add_sender_options,
    announce,
    end_processing,
    log_sender_statistics,
    make_sender,
    paced,
    sender_port,
    wait_for_clients,
)

HELP = "serve .g3 files or a simulated DAQ to network clients"

log = logging.getLogger("g3stream.cli")


def add_simulation_options(p: argparse.ArgumentParser) -> None:
    """Options of the simulated DAQ (shared with ``demo``)."""
    g = p.add_argument_group("simulated DAQ")
    g.add_argument("--detectors", type=int, default=16, metavar="N", help="detectors (default 16)")
    g.add_argument(
        "--samples-per-scan",
        type=int,
        default=152,
        metavar="N",
        help="Timepoint frames per Scan frame (default 152, about 1 s)",
    )
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    g.add_argument(
        "--start-time",
        default="now",
        metavar="TIME",
        help="time stamp of the first sample, ISO 8601 (default: now); with --seed and "
        "--fast the stream is then the same on every run",
    )


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``serve`` subcommand."""
    p = subparsers.add_parser(
        "serve",
        help=HELP,
        description=(
            "Serve frames over TCP. Clients that connect late first get the latest "
            "metadata frames (Observation, Wiring, Calibration, ...), then the live stream. "
            "Stop with Ctrl-C."
        ),
    )
    p.add_argument("files", nargs="*", metavar="FILE", help=".g3 files to replay, or - for stdin")
    p.add_argument("--simulate", action="store_true", help="serve the simulated DAQ")
    p.add_argument("--loop", action="store_true", help="replay the files forever")
    p.add_argument(
        "--rate",
        type=positive_float_arg,
        default=None,
        metavar="HZ",
        help="files: send at most HZ frames per second (default: as fast as possible); "
        f"--simulate: the sample rate (default {SPT3G_SAMPLE_RATE:.4g} Hz)",
    )
    p.add_argument(
        "--duration",
        type=positive_float_arg,
        default=None,
        metavar="SECONDS",
        help="--simulate: stop after this many seconds of data (default: run until Ctrl-C)",
    )
    p.add_argument(
        "--fast",
        action="store_true",
        help="--simulate: produce data as fast as possible instead of in real time",
    )
    add_sender_options(p)
    add_simulation_options(p)
    add_metrics_options(p)
    p.set_defaults(run=run)
    return p


def _file_frames(files: list[str], loop: bool) -> Iterator[G3Frame]:
    passes = itertools.count() if loop else range(1)
    for n in passes:
        if n:
            log.info("replaying from the start (pass %d)", n + 1)
        for name in files:
            yield from iter_source(name)


def start_time_arg(text: str) -> Any:
    """The simulated DAQ's start time from the command line (a usage error if unreadable)."""
    if text == "now":
        return text
    try:
        return G3Time(text)
    except ValueError as exc:
        raise UsageError(f"--start-time: {exc}") from None


def run(args: argparse.Namespace) -> int:
    """Serve until the source ends or Ctrl-C."""
    if args.simulate and args.files:
        raise UsageError("give either FILEs or --simulate, not both")
    if not args.simulate and not args.files:
        raise UsageError("nothing to serve: give .g3 FILEs or --simulate")
    if args.loop and STDIN_NAME in args.files:
        raise UsageError("--loop cannot replay standard input")
    for name in args.files:
        if is_url(name):
            raise UsageError(f"{name}: to re-serve a stream use 'g3stream relay'")
    stop = threading.Event()
    frames: Any
    if args.simulate:
        rate = args.rate or SPT3G_SAMPLE_RATE
        sim = SimulatedDAQ(
            n_detectors=args.detectors,
            sample_rate=rate,
            samples_per_scan=args.samples_per_scan,
            n_samples=None if args.duration is None else max(1, round(args.duration * rate)),
            seed=args.seed,
            start_time=start_time_arg(args.start_time),
            realtime=not args.fast,
        )
        frames = iter(sim)
    else:
        frames = paced(_file_frames(args.files, args.loop), args.rate, stop)
        sim = None

    sender = make_sender(args)
    port = sender_port(sender, args.port)
    if args.host == "*":
        announce(f"serving on port {port}")
    else:
        announce(f"sending to {args.host}:{port}")
    metrics = start_metrics(args, sender=sender)
    count = 0
    try:
        wait_for_clients(sender, args.wait_for_client, stop)
        for frame in frames:
            sender(frame)
            metrics.count(frame)
            count += 1
    except KeyboardInterrupt:
        log.warning("interrupted: closing client connections")
        stop.set()
        if sim is not None:
            sim.halt()
    finally:
        end_processing([sender])
        log_sender_statistics(sender)
        metrics.close()
    log.info("served %d frames", count)
    return EXIT_OK
