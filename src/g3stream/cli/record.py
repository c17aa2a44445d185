"""``g3stream record``: write a live stream to .g3 files.

Reads ``tcp://host:port`` (or ``tcp://*:port`` to wait for a sender) and
writes every frame to OUT_PATTERN.  With ``--size-limit`` a new file is
started whenever the current one reaches the limit (G3MultiFileWriter; the
metadata frames are repeated at the top of each file); the pattern then
holds a number field such as ``run-%04u.g3``, added before the extension
when missing.  Compression follows the extension (.g3.gz, .g3.bz2, .g3.xz).
``-`` writes the raw stream to standard output.  With ``--reconnect`` the
recorder survives restarts of the sender.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import threading
import time
from typing import Any

from ..frame import G3FrameType
from ..io import G3MultiFileWriter, G3Writer
from ..nats import is_nats_url
from ..nats.recorder import DurableRecorder
from .common import (
    EXIT_OK,
    UsageError,
    format_bytes,
    frame_size,
    frame_type_arg,
    non_negative_int_arg,
    positive_float_arg,
    size_arg,
)
from .inputs import (
    FrameSkipper,
    add_reader_options,
    add_skip_option,
    check_url,
    is_url,
    listening_port,
    open_reader,
    reader_frames,
    reader_options,
)
from .prometheus import add_metrics_options, start_metrics
from .streaming import announce, close_module, end_processing

HELP = "record a live stream to (rotating, optionally compressed) .g3 files"

log = logging.getLogger("g3stream.cli")

_EXTENSIONS = (".g3.gz", ".g3.bz2", ".g3.xz", ".g3")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``record`` subcommand."""
    p = subparsers.add_parser(
        "record",
        help=HELP,
        description=(
            "Record a stream to .g3 files, rotating them by size. Stop with Ctrl-C: "
            "the current file is closed cleanly."
        ),
    )
    p.add_argument(
        "url",
        metavar="URL",
        help="tcp://host:port, tcp://*:port to listen, or nats://host:port/STREAM?durable=NAME "
        "(resumable: see docs/NATS.md)",
    )
    p.add_argument(
        "out", metavar="OUT_PATTERN", help="output file (run.g3, run-%%04u.g3.gz, ...) or -"
    )
    p.add_argument(
        "--size-limit",
        type=size_arg,
        default=None,
        metavar="SIZE",
        help="start a new file when the current one reaches SIZE (for example 500M)",
    )
    p.add_argument(
        "--divide-on",
        action="append",
        default=[],
        type=frame_type_arg,
        metavar="TYPE",
        help="also start a new file before each frame of TYPE (with --size-limit); repeatable",
    )
    p.add_argument(
        "-n",
        "--max-frames",
        type=non_negative_int_arg,
        default=0,
        metavar="N",
        help="stop after recording N frames (0: no limit)",
    )
    p.add_argument(
        "--duration",
        type=positive_float_arg,
        default=None,
        metavar="SECONDS",
        help="stop after this many seconds",
    )
    add_reader_options(p)
    add_skip_option(p)
    add_metrics_options(p)
    p.set_defaults(run=run)
    return p


def numbered_pattern(out: str) -> str:
    """``out`` with a ``%04u`` file-number field before its extension, unless it has one."""
    if re.search(r"%0?\d*[ud]", out):
        return out
    for ext in _EXTENSIONS:
        if out.endswith(ext):
            return f"{out[: -len(ext)]}-%04u{ext}"
    return f"{out}-%04u"


class _StdoutWriter:
    """A module that writes each frame's bytes to standard output."""

    def __init__(self) -> None:
        self._out = sys.stdout.buffer

    def __call__(self, frame: Any) -> None:
        if frame.type == G3FrameType.EndProcessing:
            self._out.flush()
            return
        self._out.write(frame.encoded())
        self._out.flush()


def check_output(args: argparse.Namespace) -> None:
    """Reject output options that cannot work, before anything is connected or created."""
    if args.out == "-":
        if args.size_limit:
            raise UsageError("--size-limit needs a file pattern, not -")
    elif not args.out.endswith(_EXTENSIONS):
        raise UsageError(
            f"{args.out}: the output name must end in .g3, .g3.gz, .g3.bz2 or .g3.xz "
            "(the suffix chooses the compression), or be - for standard output"
        )
    if args.divide_on and not args.size_limit:
        raise UsageError("--divide-on needs --size-limit")


def make_writer(args: argparse.Namespace) -> Any:
    """The file writer the options ask for (checked by :func:`check_output`)."""
    if args.out == "-":
        return _StdoutWriter()
    try:
        if args.size_limit:
            return G3MultiFileWriter(
                filename=numbered_pattern(args.out),
                size_limit=args.size_limit,
                divide_on=list(args.divide_on) or None,
            )
        return G3Writer(args.out)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _announce_stderr(what: str) -> None:
    print(what, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Record until the stream ends, a limit is reached, or Ctrl-C."""
    if is_nats_url(args.url):
        return run_nats(args)
    if not is_url(args.url):
        raise UsageError(f"{args.url}: expected a tcp://host:port URL (to copy files use cp)")
    check_url(args.url)
    check_output(args)
    kwargs = reader_options(args)
    reader = open_reader(args.url, **kwargs)
    try:
        writer = make_writer(args)  # after connecting: an unreachable source creates no file
    except BaseException:
        close_module(reader)
        raise
    # with "-" standard output carries the data: announcements go to stderr
    say = announce if args.out != "-" else _announce_stderr
    listen_port = listening_port(args.url, reader)
    if listen_port:
        say(f"listening on port {listen_port}")

    metrics = start_metrics(args, reader=reader)
    frames = nbytes = 0
    skipper = FrameSkipper(args.skip_key)
    deadline = time.monotonic() + args.duration if args.duration else None
    timer = None
    if deadline is not None:
        # a stream that goes quiet must not keep the recorder past its duration
        timer = threading.Timer(args.duration, lambda: close_module(reader))
        timer.daemon = True
        timer.start()
    try:
        for frame in skipper(reader_frames(reader)):
            writer(frame)
            metrics.count(frame)
            if not frames:
                say(f"recording {args.url} to {args.out}")
            frames += 1
            nbytes += frame_size(frame)
            if args.max_frames and frames >= args.max_frames:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
    except KeyboardInterrupt:
        log.warning("interrupted: closing the output")
    except Exception:
        if deadline is None or time.monotonic() < deadline:
            raise
    finally:
        if timer is not None:
            timer.cancel()
        end_processing([writer])
        close_module(reader)
        metrics.close()
    skipped = f", skipped {skipper.skipped} frames with {'/'.join(args.skip_key)}"
    summary = f"recorded {frames} frames ({format_bytes(nbytes)})"
    print(summary + (skipped if args.skip_key else ""), file=sys.stderr, flush=True)
    return EXIT_OK


def run_nats(args: argparse.Namespace) -> int:
    """Record a JetStream stream through a durable consumer, resuming where a previous run stopped."""
    if args.out == "-" or args.size_limit or args.divide_on:
        raise UsageError(
            "nats:// recording writes numbered .g3 files: no -, --size-limit or --divide-on"
        )
    try:
        recorder = DurableRecorder(args.url, args.out)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    announce(f"recording {recorder.source.name} to {recorder.filename}")
    try:
        frames = recorder.run(
            max_frames=args.max_frames,
            duration=args.duration,
            idle_timeout=args.timeout if args.timeout >= 0 else None,
        )
    except KeyboardInterrupt:
        log.warning("interrupted: committing and closing the output")
        recorder.close()
        frames = recorder.frames_written
    print(
        f"recorded {frames} frames ({recorder.frames_skipped} already recorded were skipped)",
        file=sys.stderr,
        flush=True,
    )
    return EXIT_OK
