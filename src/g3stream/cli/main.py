"""Entry point of the ``g3stream`` command (also ``python -m g3stream``).

Exit status: 0 on success, 1 for bad data, a missing file or an unreachable
source, 2 for wrong arguments, 130 when Ctrl-C interrupts a command that
had not finished (``dump``, ``verify``).  For the long-running commands
(``serve``, ``record``, ``relay``, ``stats``, ``demo``) Ctrl-C is the normal
way to stop and gives 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence

from .._version import __version__
from ..errors import FLACUnavailableError, G3ConnectionError, G3FormatError
from . import demo, dump, record, relay, salvage, serve, stats, verify, web
from .common import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, CommandError

SUBCOMMANDS = (dump, verify, salvage, serve, record, relay, stats, demo, web)

log = logging.getLogger("g3stream.cli")


def _version() -> str:
    return __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the whole command, with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="g3stream",
        description=(
            "Tools for SPT-3G G3 frame files and network streams: inspect, verify, "
            "serve, record, relay and monitor."
        ),
        epilog="Run 'g3stream demo' to watch a simulated telescope stream live.",
    )
    parser.add_argument("--version", action="version", version=f"g3stream {_version()}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log messages (-vv for debug)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="only log errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return parser


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    if not verbose and not quiet:
        level = logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("g3stream: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def _quiet_broken_pipe() -> None:
    """Downstream closed our stdout (``| head``): stop without a traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _stop_signal(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _install_signal_handlers() -> None:
    """Make Ctrl-C (SIGINT) and SIGTERM stop every command cleanly.

    A shell without job control starts background commands with SIGINT
    ignored, and Python keeps it that way; a server started like that could
    not be stopped with SIGINT.  SIGTERM (``kill``, service managers) gets
    the same clean shutdown as Ctrl-C.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop_signal)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose, args.quiet)
    _install_signal_handlers()
    prog = f"g3stream {args.command}"
    try:
        status = args.run(args)
    except CommandError as exc:
        if exc.status == 2:
            parser.print_usage(sys.stderr)
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return exc.status
    except G3FormatError as exc:
        print(f"{prog}: bad data: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except G3ConnectionError as exc:
        print(f"{prog}: connection failed: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except FLACUnavailableError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except BrokenPipeError:
        _quiet_broken_pipe()
        return EXIT_OK
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
