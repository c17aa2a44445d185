"""``g3stream record``: write a live stream to .g3 files, the data of record.

Reads ``tcp://host:port`` (or ``tcp://*:port`` to wait for a sender) and
writes every frame to OUT_PATTERN.  Compression follows the extension
(.g3.gz, .g3.bz2, .g3.xz); ``-`` writes the raw stream to standard output.

Durability: frames reach the file within ``--flush-interval`` seconds
(default 1; a gzip sync point each time), also when the stream goes quiet,
so a recorder killed at any moment leaves every older frame readable;
``--fsync`` puts each flush on stable storage (files are always fsynced
when closed).  bzip2 and xz files can only be completed when closed: rotate
them often.  A write error (a full disk) stops the recording with the
frames written so far intact.

Rotation (any combination): ``--size-limit``, ``--rotate-every`` (by age,
or with ``--rotate-aligned`` on the clock: ``--rotate-every 1h
--rotate-aligned`` starts a file every hour on the hour, UTC),
``--rotate-on-reconnect`` (a new file for each new session of the sender)
and ``--divide-on``.  Each file starts with the latest metadata frames, so
it stands alone.  OUT_PATTERN may hold strftime fields (UTC), ``{n}`` (the
file number, e.g. ``{n:04d}``), ``{host}``, ``{port}`` and spt3g's
``%04u``; a rotating pattern without a number or clock field gets
``-%04u`` before its extension, and a number field without a rotation
option is refused.  Directories are created as needed, and an existing
file is never overwritten (the next free name is used instead).

``nats://host:port/STREAM?durable=NAME`` records resumably, every frame
exactly once across kills and restarts (docs/NATS.md): numbered ``.g3`` or
``.g3.gz`` files with the same rotation options (not
``--rotate-on-reconnect``), each frame acknowledged to the server once the
writer reports it on disk; ``--flush-interval`` is the commit interval and
every commit is fsynced.  bzip2 and xz are refused there.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import threading
import time
from typing import Any

from ..frame import G3FrameType
from ..io import G3MultiFileWriter, G3Writer
from ..io.flushing import DEFAULT_FLUSH_INTERVAL
from ..io.naming import FileNamePattern, split_extension
from ..io.schemes import redact_url
from ..nats import is_nats_url
from ..nats.recorder import DurableRecorder
from ..net.url import parse_tcp_url
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
from .streaming import announce, close_module, end_processing, stop_reading_on_signal

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
    p.add_argument(
        "--rotate-every",
        type=duration_arg,
        default=None,
        metavar="DURATION",
        help="start a new file when the current one is DURATION old (90s, 10m, 1h, 1d)",
    )
    p.add_argument(
        "--rotate-aligned",
        action="store_true",
        help="with --rotate-every: start files at whole multiples of DURATION on the UTC "
        "clock (1h: every hour on the hour)",
    )
    p.add_argument(
        "--rotate-on-reconnect",
        action="store_true",
        help="start a new file for each new session of the sender (implies --reconnect)",
    )
    p.add_argument(
        "--flush-interval",
        type=non_negative_float_arg,
        default=DEFAULT_FLUSH_INTERVAL,
        metavar="SECONDS",
        help="make every frame readable from the file within SECONDS, also when the stream "
        "is quiet (default %(default)s; 0: after every frame)",
    )
    p.add_argument(
        "--fsync",
        action="store_true",
        help="fsync at every flush (files are always fsynced when closed)",
    )
    add_reader_options(p)
    add_skip_option(p)
    add_metrics_options(p)
    p.set_defaults(run=run)
    return p


_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(s|sec|m|min|h|d)?\s*$", re.IGNORECASE)
_DURATION_FACTORS = {
    "": 1.0,
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}


def duration_arg(text: str) -> float:
    """argparse type: a duration such as ``30``, ``90s``, ``10m``, ``1h`` or ``1d``, in seconds."""
    m = _DURATION.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 90s, 10m or 1h)")
    value = float(m.group(1)) * _DURATION_FACTORS[(m.group(2) or "").lower()]
    if not value > 0:
        raise argparse.ArgumentTypeError(f"a duration must be positive: {text!r}")
    return value


def non_negative_float_arg(text: str) -> float:
    """argparse type: a number of zero or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def rotating(args: argparse.Namespace) -> bool:
    """Whether the options ask for more than one file."""
    return bool(args.size_limit or args.rotate_every or args.rotate_on_reconnect or args.divide_on)


def numbered_pattern(out: str) -> str:
    """``out`` with a ``%04u`` file-number field before its extension, unless it has a
    number or clock field already."""
    probe = FileNamePattern(out, host="host", port=0)
    if probe.varies:
        return out
    stem, ext = split_extension(out)
    return f"{stem}-%04u{ext}"


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


def _source_fields(url: str) -> tuple[str, int]:
    address = parse_tcp_url(url)
    host = "any" if address.listen else address.host
    return host.replace(":", "_").replace("/", "_"), address.port


def check_output(args: argparse.Namespace) -> None:
    """Reject output options that cannot work, before anything is connected or created."""
    if args.rotate_aligned and not args.rotate_every:
        raise UsageError("--rotate-aligned needs --rotate-every (the period to align to)")
    if args.out == "-":
        if rotating(args):
            raise UsageError("rotation options need a file pattern, not -")
        return
    if not args.out.endswith(_EXTENSIONS):
        raise UsageError(
            f"{args.out}: the output name must end in .g3, .g3.gz, .g3.bz2 or .g3.xz "
            "(the suffix chooses the compression), or be - for standard output"
        )
    host, port = _source_fields(args.url)
    try:
        pattern = FileNamePattern(args.out, host=host, port=port)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if pattern.has_counter and not rotating(args):
        raise UsageError(
            f"{args.out}: the name has a file-number field but nothing starts a second file; "
            "add --size-limit, --rotate-every or --rotate-on-reconnect, or drop the field"
        )


def make_writer(args: argparse.Namespace) -> Any:
    """The file writer the options ask for (checked by :func:`check_output`)."""
    if args.out == "-":
        return _StdoutWriter()
    durability: dict[str, Any] = {
        "flush_interval": args.flush_interval,
        "fsync": args.fsync,
    }
    host, port = _source_fields(args.url)
    try:
        namer = FileNamePattern(
            numbered_pattern(args.out) if rotating(args) else args.out,
            host=host,
            port=port,
            no_overwrite=True,
        )
        if rotating(args):
            return G3MultiFileWriter(
                filename=namer,
                size_limit=args.size_limit,
                divide_on=list(args.divide_on) or None,
                rotate_every=args.rotate_every,
                rotate_aligned=args.rotate_aligned,
                **durability,
            )
        name = namer.name(0)
        directory = os.path.dirname(name)
        if directory:
            os.makedirs(directory, exist_ok=True)
        return G3Writer(name, **durability)
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
    if args.rotate_on_reconnect:
        args.reconnect = True  # a new session is a reconnect the reader survives
    if args.out.endswith((".bz2", ".xz")):
        log.warning(
            "%s: bzip2 and xz files are complete only once closed (a crash loses the "
            "current file); rotate them often (--rotate-every) or record .g3 or .g3.gz",
            args.out,
        )
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
    restarts = getattr(reader, "restarts", 0)
    rotate = getattr(writer, "rotate", None) if args.rotate_on_reconnect else None
    with stop_reading_on_signal(reader) as stopping:
        try:
            for frame in skipper(reader_frames(reader)):
                if rotate is not None and reader.restarts != restarts:
                    restarts = reader.restarts
                    log.info("%s: a new session began: starting a new file", redact_url(args.url))
                    rotate()
                writer(frame)
                metrics.count(frame)
                if not frames:
                    target = getattr(writer, "filename", None) or args.out
                    say(f"recording {redact_url(args.url)} to {target}")
                frames += 1
                nbytes += frame_size(frame)
                if args.max_frames and frames >= args.max_frames:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    break
        except KeyboardInterrupt:
            log.warning("interrupted: closing the output")
        except Exception:
            # a reader closed on purpose (duration over, a signal) may end with an error
            if not stopping.is_set() and (deadline is None or time.monotonic() < deadline):
                raise
        finally:
            if timer is not None:
                timer.cancel()
            end_processing([writer])
            close_module(reader)
            metrics.close()
    if stopping.is_set():
        log.info("stopped by a signal: the output is complete")
    skipped = f", skipped {skipper.skipped} frames with {'/'.join(args.skip_key)}"
    summary = f"recorded {frames} frames ({format_bytes(nbytes)})"
    print(summary + (skipped if args.skip_key else ""), file=sys.stderr, flush=True)
    return EXIT_OK


def run_nats(args: argparse.Namespace) -> int:
    """Record a JetStream stream through a durable consumer, resuming where a previous run stopped."""
    if args.out == "-" or args.rotate_on_reconnect:
        raise UsageError(
            "nats:// recording writes numbered .g3 or .g3.gz files: no - and no "
            "--rotate-on-reconnect (a JetStream stream has no sessions)"
        )
    if args.rotate_aligned and not args.rotate_every:
        raise UsageError("--rotate-aligned needs --rotate-every (the period to align to)")
    try:
        recorder = DurableRecorder(
            args.url,
            args.out,
            commit_interval=args.flush_interval,
            size_limit=args.size_limit,
            divide_on=list(args.divide_on) or None,
            rotate_every=args.rotate_every,
            rotate_aligned=args.rotate_aligned,
        )
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
