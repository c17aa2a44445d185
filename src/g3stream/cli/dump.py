"""``g3stream dump``: print the frames of files, standard input or a live stream.

Without options each frame is printed as spt3g-dump prints it (its type,
then every key with the value's type and summary).  ``--json`` writes one
frame per line in the FRAME schema of the test vectors, for ``jq`` and
scripts.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from types import ModuleType
from typing import Any

from ..frame import G3Frame
from ..jsonform import frame_to_json
from .common import EXIT_OK, frame_type_arg, non_negative_int_arg
from .inputs import STDIN_NAME, add_decode_options, check_url, is_url, iter_source

orjson: ModuleType | None
try:  # optional (the json extra): writes numpy arrays itself, much faster
    orjson = importlib.import_module("orjson")
except ImportError:
    orjson = None

HELP = "print the frames of .g3 files, stdin (-) or a tcp:// stream"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``dump`` subcommand."""
    p = subparsers.add_parser(
        "dump",
        help=HELP,
        description=(
            "Print frames like spt3g-dump. Sources are read in order: .g3 files "
            "(.gz/.bz2/.xz by extension), '-' for standard input, or tcp://host:port "
            "(tcp://*:port waits for a sender to connect)."
        ),
    )
    p.add_argument("sources", nargs="+", metavar="FILE|URL", help="files, '-' or tcp:// URLs")
    p.add_argument("--json", action="store_true", help="one JSON object per frame and line")
    p.add_argument(
        "-n",
        "--max-frames",
        type=non_negative_int_arg,
        default=0,
        metavar="N",
        help="stop after printing N frames (0: all)",
    )
    p.add_argument(
        "-t",
        "--type",
        dest="types",
        action="append",
        type=frame_type_arg,
        metavar="TYPE",
        help="print only frames of this type (Scan, Timepoint, ..., or an ad-hoc code); repeatable",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=-1.0,
        metavar="SECONDS",
        help="for tcp:// sources: give up waiting for data after this long (default: wait forever)",
    )
    add_decode_options(p)
    p.set_defaults(run=run)
    return p


def frame_json(frame: G3Frame, fast: bool = True) -> bytes:
    """One frame as a line of JSON (UTF-8, no newline) in the test vectors' FRAME schema.

    With orjson installed (and ``fast``) the values are the same, written
    faster; numbers may be spelled differently (``0.00001`` for ``1e-05``).
    """
    if fast and orjson is not None:
        try:
            return orjson.dumps(
                frame_to_json(frame, numpy_arrays=True), option=orjson.OPT_SERIALIZE_NUMPY
            )
        except orjson.JSONEncodeError:
            pass  # e.g. a key that is not valid UTF-8: the standard library copes
    obj = frame_to_json(frame)
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8", "surrogateescape")


def _announce_listening(port: int) -> None:
    # stdout carries the frames: say it on stderr
    print(f"g3stream dump: listening on port {port}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Print the frames; stops after ``-n`` frames or at the end of the last source."""
    wanted = set(args.types) if args.types else None
    out = sys.stdout
    # JSON lines are bytes: straight to the binary stream when there is one
    binary = getattr(out, "buffer", None) if args.json else None
    printed = 0
    for name in args.sources:
        if is_url(name):
            check_url(name)
    for name in args.sources:
        kwargs: dict[str, Any] = {"max_decoded_size": args.max_decoded_size}
        if args.timeout >= 0:
            kwargs["timeout"] = args.timeout
        live = is_url(name) or name == STDIN_NAME  # show frames as they arrive
        for frame in iter_source(name, on_listen=_announce_listening, **kwargs):
            if wanted is not None and frame.type not in wanted:
                continue
            if binary is not None:
                binary.write(frame_json(frame))
                binary.write(b"\n")
            elif args.json:
                out.write(frame_json(frame).decode("utf-8", "surrogateescape"))
                out.write("\n")
            else:
                out.write(str(frame))
                out.write("\n")
            if live:
                (binary or out).flush()
            printed += 1
            if args.max_frames and printed >= args.max_frames:
                (binary or out).flush()
                return EXIT_OK
        (binary or out).flush()
    return EXIT_OK
