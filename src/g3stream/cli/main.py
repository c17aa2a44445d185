"""Entry point of the ``g3stream`` command (also ``python -m g3stream``).

Exit status: 0 on success, 1 for bad data, a missing file or an unreachable
source, 2 for wrong arguments, 130 when Ctrl-C interrupts a command that
had not finished (``dump``, ``verify``).  For the long-running commands
(``serve``, ``record``, ``relay``, ``stats``, ``demo``) Ctrl-C is the normal
way to stop and gives 0.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import ModuleType

from .._version import __version__
from ..errors import FLACUnavailableError, G3ConnectionError, G3FormatError
from .common import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, CommandError

#: Every subcommand, in the order ``--help`` lists them, with its one-line
#: help; each is implemented by the module of this package of the same name
#: (``add_parser(subparsers)``, ``run(args)``, ``HELP``).  A command line that
#: names a subcommand imports that module only: ``dump`` does not pay for the
#: web server, the simulator or the NATS relay, which matters to a short command.
SUBCOMMANDS: dict[str, str] = {
    "dump": "print the frames of .g3 files, stdin (-) or a tcp:// stream",
    "verify": "check the checksum of every frame of .g3 files",
    "salvage": "copy the complete frames of a torn or damaged .g3 file to a clean file",
    "serve": "serve .g3 files or a simulated DAQ to network clients",
    "record": "record a live stream to (rotating, optionally compressed) .g3 files",
    "relay": "re-serve a stream to many clients (fan-out)",
    "stats": "live frames/s and bytes/s per frame type, drops and gaps of a stream",
    "demo": "watch a simulated telescope stream live (server and monitor on this machine)",
    "web": "a live web monitor of a stream: rates, health, timestream plots, latest frames",
}


def subcommand_module(name: str) -> ModuleType:
    """The module that implements subcommand ``name`` (imported now if it was not)."""
    if name not in SUBCOMMANDS:
        raise KeyError(f"no subcommand {name!r}")
    return importlib.import_module(f"{__package__}.{name}")


def _chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` runs, when it names one (the first word not an option)."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word if word in SUBCOMMANDS else None
    return None


log = logging.getLogger("g3stream.cli")


def _version() -> str:
    return __version__


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of the whole command.

    With ``command`` (a subcommand's name) only that subcommand's module is
    imported and given its full arguments; the others are listed by name
    and help.  Without it every subcommand is complete.
    """
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
    for name, help_text in SUBCOMMANDS.items():
        if command is None or name == command:
            subcommand_module(name).add_parser(sub)
        else:
            sub.add_parser(name, help=help_text)
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
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_chosen_command(words))
    args = parser.parse_args(words)
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
