"""``g3stream verify``: check the checksum of every frame of one or more files.

Like spt3g-verify, it prints ``File NAME OK`` for each good file.  On the
first corrupt or truncated frame it stops with exit status 1, naming the
file and the byte offset of the bad frame; for a torn file (cut inside a
frame, or a compressed stream without its end) it says how many complete
frames precede the tear and points to ``g3stream salvage``.  Large files get a progress bar
on a terminal.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..cereal.budget import DEFAULT_MAX_DECODED_SIZE
from ..errors import G3FormatError, TruncatedFrameError
from ..frame import G3Frame
from .common import EXIT_OK, CommandError, format_bytes
from .inputs import add_decode_options, file_size, stream_frames

HELP = "check the checksum of every frame of .g3 files"

#: Files at least this large get a progress bar (when stderr is a terminal).
PROGRESS_THRESHOLD = 32 << 20


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``verify`` subcommand."""
    p = subparsers.add_parser(
        "verify",
        help=HELP,
        description=(
            "Read every frame of each file and check its CRC, like spt3g-verify. "
            "Exit status 1 names the file and byte offset of the first bad frame."
        ),
    )
    p.add_argument("files", nargs="+", metavar="FILE", help=".g3 files (.gz/.bz2/.xz too), or -")
    p.add_argument(
        "--decode",
        action="store_true",
        help="also decode every value of every frame (finds damaged objects inside good frames)",
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar (default: for files over 32 MiB, on a terminal)",
    )
    add_decode_options(p)
    p.set_defaults(run=run)
    return p


def _decode_all(frame: G3Frame) -> None:
    for key in frame.keys():
        frame[key]


class _Bar:
    """A rich progress bar on stderr for one file."""

    def __init__(self, name: str, total: int | None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(binary_units=True),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task = self._progress.add_task(name, total=total)
        self._progress.start()

    def update(self, position: int) -> None:
        """Show ``position`` bytes of the file as done."""
        self._progress.update(self._task, completed=position)

    def close(self) -> None:
        """Remove the bar."""
        self._progress.stop()


def verify_file(
    name: str,
    decode: bool,
    show_progress: bool | None,
    max_decoded_size: int = DEFAULT_MAX_DECODED_SIZE,
) -> tuple[int, int]:
    """Check one file; return (frames, bytes).  Raises CommandError on bad data.

    With ``decode``, the values of each frame may decode to ``max_decoded_size`` bytes.
    """
    size = file_size(name)
    compressed = name.endswith((".gz", ".bz2", ".xz"))
    if show_progress is None:
        show_progress = size is not None and size >= PROGRESS_THRESHOLD and sys.stderr.isatty()
    # the position is in the decompressed stream: its total is known for plain files only
    bar = _Bar(name, None if compressed else size) if show_progress else None
    frames = 0
    end = 0
    decoding = False  # a blob that runs short inside a frame is damage, not a tear
    try:
        for frame in stream_frames(
            name, progress=bar.update if bar else None, max_decoded_size=max_decoded_size
        ):
            if decode:
                decoding = True
                _decode_all(frame)
                decoding = False
            frames += 1
            end = (frame.stream_offset or 0) + frame_size_hint(frame)
    except G3FormatError as exc:
        where = exc.offset if exc.offset is not None else end
        stream = " of the decompressed stream" if compressed else ""
        reason = exc.message.removeprefix(f"{name}: ")
        if isinstance(exc, TruncatedFrameError) and not decoding:
            tail = ""
            if not compressed and size is not None and size > where:
                tail = f", followed by {size - where} bytes of an incomplete frame"
            raise CommandError(
                f"{name}: torn at byte offset {where}{stream}: {frames} complete frames "
                f"end there{tail} ({reason}); "
                f"'g3stream salvage {name} OUT' copies them to a clean file"
            ) from None
        raise CommandError(
            f"{name}: corrupt frame at byte offset {where}{stream} (frame {frames}): {reason}"
        ) from None
    finally:
        if bar is not None:
            bar.close()
    return frames, end


def frame_size_hint(frame: G3Frame) -> int:
    """Size of a frame that was read (its original bytes)."""
    raw = frame.original_bytes
    return len(raw) if raw is not None else len(frame.encoded())


def run(args: argparse.Namespace) -> int:
    """Verify each file in turn; stop at the first bad one."""
    for name in args.files:
        frames, nbytes = verify_file(name, args.decode, args.progress, args.max_decoded_size)
        print(f"File {name} OK ({frames} frames, {format_bytes(nbytes)})", flush=True)
    return EXIT_OK
