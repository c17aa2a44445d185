"""DurableRecorder: a JetStream stream to .g3 files, every frame exactly once across restarts.

The recorder reads through a durable consumer (``durable=NAME`` in the URL)
and writes with a :class:`~g3stream.io.G3MultiFileWriter`: plain or gzip
files (the suffix chooses), rotated by size, frame type or age like any
recording, each new file starting with the latest metadata frames.  A frame
is acknowledged only once the writer reports it flushed to disk
(``frames_flushed``, heard through its ``on_flush`` callback).

Progress is kept in a journal next to the output (``.NAME.journal``),
replaced atomically:

* ``file``, ``index`` and ``offset``: the last file holding committed
  frames and how many of its bytes (on disk: compressed bytes for gzip) are
  committed;
* ``sequence``: the stream sequence of the last message whose frames are
  all committed and, when a batch of several frames was committed only in
  part, ``partial_sequence`` and ``partial_frames`` (how many of its frames);
* ``later``: the files started since, which hold nothing committed.  A file
  is entered there before it is created.

A commit happens whenever the writer flushes: every ``commit_interval``
seconds or ``commit_frames`` frames (the recorder asks the writer for a
flush: a gzip sync point, and an fsync with ``fsync=True``), when a file is
finished at rotation, and at the end.  It writes the journal, then
acknowledges up to its sequence (a batch once all its frames are committed).

A recorder killed at any moment and started again cuts the journal's file
back to its committed length (dropping frames written after the last
commit, and any half-written frame), ends a gzip file there (an empty final
block and the trailer after its sync point: a complete gzip file again),
removes the ``later`` files, starts a new file (with the latest metadata
frames of the journal's file, so that it stands alone), and skips frames the server
delivers again that the journal already covers (whole messages, and the
first frames of a partly committed batch).  So the union of the files holds
every frame exactly once, in order (metadata frames repeated at the top of
a file aside, as in every rotated recording), and each file is a complete
G3 file that spt3g reads.  Each run writes new files (``run-0000.g3.gz``,
``run-0001.g3.gz``, ...).  bzip2 and xz cannot be flushed without ending
their stream, so they are refused: compress closed files afterwards.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from g3stream.codec.container import decode_frame
from g3stream.errors import TruncatedFrameError
from g3stream.frame import G3Frame
from g3stream.frametype import DATA_FRAME_TYPES, G3FrameType
from g3stream.io import G3MultiFileWriter, G3Reader
from g3stream.io.compression import Compression, compression_for_path, end_gzip_at_sync_point
from g3stream.io.file_sink import fsync_directory
from g3stream.io.naming import split_extension

from .source import Delivery, NatsSource
from .url import parse_nats_url

log = logging.getLogger(__name__)

#: Seconds between commits while frames arrive.
DEFAULT_COMMIT_INTERVAL = 0.5
#: Frames between commits at high rates.
DEFAULT_COMMIT_FRAMES = 5000


@dataclass(frozen=True)
class Journal:
    """The recorder's committed state (see the module documentation)."""

    file: str
    index: int
    offset: int
    sequence: int
    #: A batch committed in part: its sequence and how many of its frames.
    partial_sequence: int = 0
    partial_frames: int = 0
    #: Files started after ``file``: nothing in them is committed.
    later: tuple[str, ...] = ()


def numbered_name(out: str, index: int) -> str:
    """The ``index``-th file name of the pattern ``out`` (``run.g3.gz`` -> ``run-0003.g3.gz``).

    ``out`` ends in ``.g3`` or ``.g3.gz``; it may hold spt3g's ``%04u``
    field for the number; :func:`check_output_pattern` refuses other names.
    """
    if re.search(r"%0?\d*[ud]", out):
        return out % index
    stem, ext = split_extension(out)
    return f"{stem}-{index:04d}{ext}"


def check_output_pattern(out: str) -> None:
    """``ValueError`` unless ``out`` names files a durable recording can write."""
    stem, ext = split_extension(out)
    if ext in (".g3.bz2", ".g3.xz"):
        raise ValueError(
            f"{out}: a durable recording is written to .g3 or .g3.gz files: bzip2 and xz "
            "streams cannot be flushed without ending them, so no frame could be "
            "acknowledged before its file is closed (compress closed files afterwards)"
        )
    if ext not in (".g3", ".g3.gz"):
        raise ValueError(f"{out}: a durable recording is written to .g3 or .g3.gz files")


def journal_path(out: str, durable: str) -> Path:
    """Where the journal of recording ``out`` with consumer ``durable`` lives."""
    path = Path(out)
    stem = path.name.split("%")[0].rstrip("-_.") or "g3"
    return path.parent / f".{stem}.{durable}.journal"


def load_journal(path: Path) -> Journal | None:
    """The committed state, or None when nothing was committed yet."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    return Journal(
        data["file"],
        int(data["index"]),
        int(data["offset"]),
        int(data["sequence"]),
        int(data.get("partial_sequence", 0)),
        int(data.get("partial_frames", 0)),
        tuple(data.get("later", ())),
    )


def save_journal(path: Path, journal: Journal, fsync: bool) -> None:
    """Replace the journal atomically (a crash leaves the old or the new one)."""
    tmp = path.with_name(path.name + ".tmp")
    state = dict(journal.__dict__, later=list(journal.later))
    with open(tmp, "w") as f:
        json.dump(state, f)
        if fsync:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)
    if fsync:
        fsync_directory(str(path))


def recover(journal: Journal) -> None:
    """Bring the files back to the journal's committed state (see the module documentation).

    Raises :class:`~g3stream.errors.TruncatedFrameError` when the journal's
    file holds fewer bytes than were committed (frames acknowledged upstream
    are missing: the file was altered, or lost in a power cut without fsync).
    """
    for name in journal.later:
        try:
            os.remove(name)
            log.info("removed %s: nothing of it was committed", name)
        except FileNotFoundError:
            pass
    if not journal.file:
        return
    try:
        size = os.path.getsize(journal.file)
    except FileNotFoundError:
        if journal.offset == 0:
            return
        raise TruncatedFrameError(
            f"{journal.file} is missing: it held {journal.offset} committed bytes", 0
        ) from None
    if size < journal.offset:
        raise TruncatedFrameError(
            f"{journal.file} holds {size} bytes, fewer than the {journal.offset} committed "
            "(frames acknowledged upstream are missing)",
            size,
        )
    if journal.offset == 0:
        os.remove(journal.file)
        log.info("removed %s: nothing of it was committed", journal.file)
        return
    if size > journal.offset:
        with open(journal.file, "r+b") as f:
            f.truncate(journal.offset)
        log.info("cut %s to its committed %d bytes (was %d)", journal.file, journal.offset, size)
    if compression_for_path(journal.file) is Compression.GZIP and end_gzip_at_sync_point(
        journal.file
    ):
        log.info("ended the gzip stream of %s at its last commit", journal.file)


def committed_metadata(journal: Journal) -> list[G3Frame]:
    """The latest metadata frame of each type in the journal's file (after :func:`recover`).

    In the order their types first appear.  Every file of a recording starts
    with the latest metadata, so its last file holds the latest of all.
    """
    if not journal.file or not os.path.exists(journal.file):
        return []
    latest: dict[G3FrameType, G3Frame] = {}
    with G3Reader(journal.file) as reader:
        for frame in reader:
            if frame.type not in DATA_FRAME_TYPES:
                latest[frame.type] = frame
    return list(latest.values())


@dataclass(frozen=True)
class _AckState:
    """What is acknowledged once the first ``count`` frames written are on disk."""

    count: int
    sequence: int
    partial: tuple[int, int]


class DurableRecorder:
    """Record ``url`` (with ``durable=NAME``) to ``out`` files; see the module documentation.

    ``out`` ends in ``.g3`` or ``.g3.gz`` (optionally with a ``%04u``
    field).  ``size_limit`` (bytes), ``divide_on`` (frame types),
    ``rotate_every`` (seconds) and ``rotate_aligned`` start new files as for
    :class:`~g3stream.io.G3MultiFileWriter`.  ``run(max_frames=0,
    duration=None, idle_timeout=None)`` records until a limit is reached or
    no frame arrives for ``idle_timeout`` seconds, then commits and closes.
    ``fsync`` makes commits survive a power cut, not only a killed process.
    """

    def __init__(
        self,
        url: str,
        out: str,
        *,
        commit_interval: float = DEFAULT_COMMIT_INTERVAL,
        commit_frames: int = DEFAULT_COMMIT_FRAMES,
        fsync: bool = True,
        size_limit: int | None = None,
        divide_on: Iterable[G3FrameType | int | str] | None = None,
        rotate_every: float | None = None,
        rotate_aligned: bool = False,
        **source_options: Any,
    ) -> None:
        self.out = out
        self.commit_interval = float(commit_interval)
        self.commit_frames = max(1, int(commit_frames))
        self.fsync = bool(fsync)
        check_output_pattern(out)  # reject a bad name before connecting
        durable = parse_nats_url(url).durable
        if durable is None:
            raise ValueError(f"{url}: a resumable recording needs durable=NAME in the URL")
        self.journal_file = journal_path(out, durable)
        journal = load_journal(self.journal_file)
        if journal is not None:
            recover(journal)
        index = journal.index + 1 if journal is not None else 0
        if journal is None:
            while os.path.exists(numbered_name(out, index)):
                index += 1
            journal = Journal("", index - 1, 0, 0)
        journal = replace(journal, later=())
        save_journal(self.journal_file, journal, self.fsync)
        self._journal = journal
        # the first file of this run starts with them, as a rotated file does
        self._header = committed_metadata(journal)
        self._writer = G3MultiFileWriter(
            self._name_file,
            size_limit,
            divide_on=list(divide_on) if divide_on else None,
            rotate_every=rotate_every,
            rotate_aligned=rotate_aligned,
            flush_interval=None,  # flushed by the recorder: commits follow its pace
            fsync=self.fsync,
            on_flush=self._on_flush,
        )
        # the journal, not the server, knows what is on disk
        self.source = NatsSource(url, start_after=journal.sequence or None, **source_options)
        self._skip_through = journal.sequence
        # frames of a partly committed batch already on disk: (sequence, frames)
        self._skip_partial = (journal.partial_sequence, journal.partial_frames)
        self._next_index = index
        self._indices: dict[str, int] = {}
        self._started: list[str] = []
        self.filename = numbered_name(out, self._next_index)
        self._pending = self._skip_through
        self._partial = self._skip_partial
        self._states: deque[_AckState] = deque()
        self._since_commit = 0
        #: Frames written by this run, and frames skipped as already recorded.
        self.frames_written = 0
        self.frames_skipped = 0

    @property
    def files(self) -> list[str]:
        """The files this run started, in order."""
        return list(self._writer.files)

    def _name_file(self, frame: G3Frame, seqno: int) -> str:
        """The writer's file-name callable: the next free number, entered in the journal first."""
        index = self._next_index
        while os.path.exists(numbered_name(self.out, index)):
            index += 1
        self._next_index = index + 1
        name = numbered_name(self.out, index)
        self._indices[name] = index
        self._started.append(name)
        self._save(replace(self._journal, later=(*self._journal.later, name)))
        self.filename = name
        log.info("recording to %s", name)
        return name

    def _save(self, journal: Journal) -> None:
        save_journal(self.journal_file, journal, self.fsync)
        self._journal = journal

    def _on_flush(self, flushed: int) -> None:
        """The writer put its first ``flushed`` frames on disk: commit and acknowledge them."""
        state = None
        while self._states and self._states[0].count <= flushed:
            state = self._states.popleft()
        if state is None:
            return
        # the callback runs in the recording thread, right after the flush or the
        # close of the current file (before a new file is opened): its size is exact
        name = self._writer.current_file
        # at a rotation the next file is named (and journaled) before this one is closed
        later = tuple(self._started[self._started.index(name) + 1 :])
        journal = Journal(
            name,
            self._indices[name],
            os.path.getsize(name),
            state.sequence,
            *state.partial,
            later,
        )
        self._save(journal)
        self.source.acknowledge(state.sequence)
        self._since_commit = 0

    def commit(self) -> None:
        """Flush the writer: what it reports on disk is journaled, then acknowledged."""
        self._writer.Flush()

    def _write(self, d: Delivery) -> None:
        if self._header:
            header, self._header = self._header, []
            for frame in header:  # copies of frames already recorded: nothing to acknowledge
                self._writer(frame)
        self._writer(decode_frame(d.data))
        self.frames_written += 1
        self._since_commit += 1
        if d.snapshot or d.message_done:
            self._pending = max(self._pending, d.sequence)
            self._partial = (0, 0)
        else:
            # the messages before this batch are whole; of it, frames 0..index
            self._pending = max(self._pending, d.sequence - 1)
            self._partial = (d.sequence, d.index + 1)
        self._states.append(_AckState(self._writer.frames_written, self._pending, self._partial))

    def _already_recorded(self, d: Delivery) -> bool:
        return not d.snapshot and (
            d.sequence <= self._skip_through
            or (d.sequence == self._skip_partial[0] and d.index < self._skip_partial[1])
        )

    def run(
        self, max_frames: int = 0, duration: float | None = None, idle_timeout: float | None = None
    ) -> int:
        """Record (see the class documentation); the number of frames written."""
        start = time.monotonic()
        last_commit = last_frame = start
        try:
            while True:
                now = time.monotonic()
                if duration is not None and now - start >= duration:
                    break
                if idle_timeout is not None and now - last_frame >= idle_timeout:
                    break
                d = self.source.next_delivery(self.commit_interval or 0.05)
                now = time.monotonic()
                if d is not None:
                    last_frame = now
                    if self._already_recorded(d):
                        self.frames_skipped += 1
                    else:
                        self._write(d)
                        if max_frames and self.frames_written >= max_frames:
                            break
                if self._since_commit >= self.commit_frames or (
                    self._since_commit and now - last_commit >= self.commit_interval
                ):
                    self.commit()
                    last_commit = now
        finally:
            self.close()
        return self.frames_written

    def close(self) -> None:
        """Commit, close the file and disconnect.  Idempotent."""
        try:
            self._writer.Close()  # the last commit comes with the close
        finally:
            self.source.close()


__all__ = [
    "DurableRecorder",
    "Journal",
    "check_output_pattern",
    "journal_path",
    "numbered_name",
]
