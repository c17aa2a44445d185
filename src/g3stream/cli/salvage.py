"""``g3stream salvage``: copy every complete, intact frame of a damaged file to a clean one.

A recording torn by a crash (its last frame cut, its compressed stream
unterminated) or holding a frame with a bad checksum is read as far as it
goes: frames whose CRC fails are left out and reading goes on after them;
the copy stops at a tear, or at damage that hides where the next frame
starts.  Frames are copied byte for byte; the output's compression follows
its name.  The output appears only once it is complete (it is written
under a temporary name, synced to disk and renamed), and an existing file
is not replaced unless ``--force`` is given.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..errors import CRCMismatchError, G3FormatError
from ..io.compression import check_output_name
from ..io.file_sink import FileSink, fsync_directory
from ..io.naming import split_extension
from ..io.reader import G3Reader
from .common import EXIT_OK, CommandError, UsageError, format_bytes

HELP = "copy the complete frames of a torn or damaged .g3 file to a clean file"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``salvage`` subcommand."""
    p = subparsers.add_parser(
        "salvage",
        help=HELP,
        description=(
            "Copy every complete frame with a good checksum from IN to OUT, byte for byte: "
            "frames with a bad CRC are skipped, and copying stops where the file is torn. "
            "A report of what was left out goes to standard error."
        ),
    )
    p.add_argument("infile", metavar="IN", help="the damaged file (.g3, .g3.gz, .g3.bz2, .g3.xz)")
    p.add_argument("outfile", metavar="OUT", help="the clean file to write (its suffix chooses)")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p.set_defaults(run=run)
    return p


def _temporary_name(out: str) -> str:
    directory, base = os.path.split(out)
    stem, ext = split_extension(base)
    return os.path.join(directory, f".{stem}.salvage-{os.getpid()}{ext}")


def salvage(infile: str, outfile: str) -> tuple[int, list[str]]:
    """Copy the good frames of ``infile`` to ``outfile``; (frames copied, problems found)."""
    try:
        check_output_name(outfile)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    tmp = _temporary_name(outfile)
    sink = FileSink(tmp)
    copied = 0
    problems: list[str] = []
    try:
        with G3Reader(infile) as reader:
            while True:
                try:
                    got = reader(None)
                except CRCMismatchError as exc:  # the reader goes on after the bad frame
                    problems.append(f"left out the frame at byte offset {exc.offset}: bad CRC")
                    continue
                except G3FormatError as exc:
                    problems.append(f"stopped at byte offset {exc.offset}: {_reason(exc, infile)}")
                    break
                if not got:
                    break
                sink.write_buffers([got[0].encoded()])
                copied += 1
        sink.close()
        os.replace(tmp, outfile)
        fsync_directory(outfile)
    except BaseException:
        sink.close(fsync=False)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return copied, problems


def _reason(exc: G3FormatError, name: str) -> str:
    return exc.message.removeprefix(f"{name}: ")


def run(args: argparse.Namespace) -> int:
    """Salvage IN into OUT and report what was left out."""
    infile, outfile = args.infile, args.outfile
    if not os.path.exists(infile):
        raise CommandError(f"{infile}: no such file")
    if os.path.exists(outfile):
        if os.path.samefile(infile, outfile):
            raise UsageError("OUT must be a new file, not IN itself")
        if not args.force:
            raise UsageError(f"{outfile} exists (use --force to replace it)")
    copied, problems = salvage(infile, outfile)
    for problem in problems:
        print(f"{infile}: {problem}", file=sys.stderr)
    size = os.path.getsize(outfile)
    state = "intact" if not problems else "damaged"
    print(
        f"salvaged {copied} frames ({format_bytes(size)} on disk) of {state} {infile} "
        f"into {outfile}",
        file=sys.stderr,
        flush=True,
    )
    return EXIT_OK
