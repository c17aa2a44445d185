"""Helpers shared by the subcommands: exit codes, errors and argument parsers."""

from __future__ import annotations

import argparse
import logging
import re

from ..frame import G3Frame, G3FrameType

#: Exit status: success.
EXIT_OK = 0
#: Exit status: bad data, a missing file or an unreachable source.
EXIT_FAILURE = 1
#: Exit status: wrong command-line arguments.
EXIT_USAGE = 2
#: Exit status of a command stopped by Ctrl-C before it finished its job.
EXIT_INTERRUPTED = 130

log = logging.getLogger("g3stream.cli")


class CommandError(Exception):
    """A failure to report as one line on stderr, with the exit status to use."""

    def __init__(self, message: str, status: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.status = status


class UsageError(CommandError):
    """Arguments that parse but make no sense together (exit status 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_USAGE)


def frame_type_arg(text: str) -> G3FrameType:
    """argparse type: a frame type by name (``Scan``), code letter (``S``) or ad-hoc text."""
    if text in G3FrameType.names:
        return G3FrameType.names[text]
    lowered = {name.lower(): t for name, t in G3FrameType.names.items()}
    if text.lower() in lowered and len(text) > 1:
        return lowered[text.lower()]
    try:
        return G3FrameType(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"unknown frame type {text!r}: use a name such as Scan or Timepoint, "
            "or an ad-hoc type of 1-4 characters"
        ) from None


_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
_SIZE_FACTORS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def size_arg(text: str) -> int:
    """argparse type: a byte count such as ``1000000``, ``512k``, ``100M`` or ``2GiB``."""
    m = _SIZE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 100M or 2G)")
    value = float(m.group(1)) * _SIZE_FACTORS[m.group(2).lower()]
    if value < 1:
        raise argparse.ArgumentTypeError(f"size must be at least one byte: {text!r}")
    return int(value)


def positive_float_arg(text: str) -> float:
    """argparse type: a number greater than zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than zero: {text!r}")
    return value


def non_negative_int_arg(text: str) -> int:
    """argparse type: an integer of zero or more."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def port_arg(text: str) -> int:
    """argparse type: a TCP port, 0 (a free port chosen by the system) to 65535."""
    value = non_negative_int_arg(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {text!r}")
    return value


def decimation_arg(text: str) -> tuple[G3FrameType, int]:
    """argparse type: ``TYPE=N`` (send every Nth frame of TYPE; 0 sends none)."""
    name, sep, count = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected TYPE=N, for example Timepoint=10, not {text!r}")
    return frame_type_arg(name.strip()), non_negative_int_arg(count.strip())


def frame_size(frame: G3Frame) -> int:
    """The number of bytes ``frame`` occupies in a stream."""
    return len(frame.encoded())


def format_bytes(value: float) -> str:
    """A byte count with binary prefixes: ``1.5 MiB``."""
    for factor, prefix in ((1 << 40, "Ti"), (1 << 30, "Gi"), (1 << 20, "Mi"), (1 << 10, "Ki")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}B"
    return f"{int(value)} B"
