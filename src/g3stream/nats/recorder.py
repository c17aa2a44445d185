"""DurableRecorder: a JetStream stream to .g3 files, every frame exactly once across restarts.

The recorder reads through a durable consumer (``durable=NAME`` in the URL)
and acknowledges a frame only after it is on disk.  Its progress is kept in
a journal next to the output (``.NAME.journal``: the current file, how many
of its bytes are committed, the stream sequence of the last message whose
frames are all committed, and, when a batch of several frames was committed
only in part, its sequence and how many of its frames), replaced atomically
at every commit, in this order:

1. write frames to the current file;
2. commit: flush (and fsync) the file, write the journal, then acknowledge
   up to its sequence (a batch is acknowledged once all its frames are
   committed).

A recorder killed at any moment and started again truncates the journal's
file to the committed length (dropping frames written after the last
commit, and any half-written frame), starts a new file, and skips frames
the server delivers again that the journal already covers (whole messages,
and the first frames of a partly committed batch).  So
the union of the files holds every frame exactly once, in order.  Each
run writes new files (``run-0000.g3``, ``run-0001.g3``, ...); output is
uncompressed, because a compressed file cannot be cut at a frame.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from g3stream.codec.container import decode_frame
from g3stream.io import G3Writer

from .source import NatsSource
from .url import parse_nats_url

log = logging.getLogger(__name__)

#: Seconds between commits while frames arrive.
DEFAULT_COMMIT_INTERVAL = 0.5
#: Frames between commits at high rates.
DEFAULT_COMMIT_FRAMES = 5000


@dataclass(frozen=True)
class Journal:
    """The recorder's committed state."""

    file: str
    index: int
    offset: int
    sequence: int
    #: A batch committed in part: its sequence and how many of its frames.
    partial_sequence: int = 0
    partial_frames: int = 0


def numbered_name(out: str, index: int) -> str:
    """The ``index``-th file name of the pattern ``out`` (``run.g3`` -> ``run-0003.g3``)."""
    if re.search(r"%0?\d*[ud]", out):
        return out % index
    if not out.endswith(".g3"):
        raise ValueError(f"{out}: a durable recording is written to uncompressed .g3 files")
    return f"{out[:-3]}-{index:04d}.g3"


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
    )


def save_journal(path: Path, journal: Journal, fsync: bool) -> None:
    """Replace the journal atomically (a crash leaves the old or the new one)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(journal.__dict__, f)
        if fsync:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)


def recover(journal: Journal) -> None:
    """Cut the journal's file back to its committed length (removing it when that is 0)."""
    try:
        size = os.path.getsize(journal.file)
    except FileNotFoundError:
        return
    if journal.offset == 0:
        os.remove(journal.file)
        log.info("removed %s: nothing of it was committed", journal.file)
    elif size > journal.offset:
        with open(journal.file, "r+b") as f:
            f.truncate(journal.offset)
        log.info("cut %s to its committed %d bytes (was %d)", journal.file, journal.offset, size)


class DurableRecorder:
    """Record ``url`` (with ``durable=NAME``) to ``out`` files; see the module documentation.

    ``run(max_frames=0, duration=None, idle_timeout=None)`` records until a
    limit is reached or no frame arrives for ``idle_timeout`` seconds, then
    commits and closes.  ``fsync`` makes commits survive a power cut, not
    only a killed process.
    """

    def __init__(
        self,
        url: str,
        out: str,
        *,
        commit_interval: float = DEFAULT_COMMIT_INTERVAL,
        commit_frames: int = DEFAULT_COMMIT_FRAMES,
        fsync: bool = True,
        **source_options: Any,
    ) -> None:
        self.out = out
        self.commit_interval = float(commit_interval)
        self.commit_frames = int(commit_frames)
        self.fsync = bool(fsync)
        numbered_name(out, 0)  # reject a bad pattern before connecting
        durable = parse_nats_url(url).durable
        if durable is None:
            raise ValueError(f"{url}: a resumable recording needs durable=NAME in the URL")
        self.journal_file = journal_path(out, durable)
        journal = load_journal(self.journal_file)
        if journal is not None:
            recover(journal)
        # the journal, not the server, knows what is on disk
        self.source = NatsSource(
            url, start_after=journal.sequence if journal is not None else None, **source_options
        )
        self._skip_through = journal.sequence if journal is not None else 0
        # frames of a partly committed batch already on disk: (sequence, frames)
        self._skip_partial = (
            (journal.partial_sequence, journal.partial_frames) if journal is not None else (0, 0)
        )
        index = journal.index + 1 if journal is not None else 0
        while os.path.exists(numbered_name(out, index)):
            index += 1
        self._index = index
        self.filename = numbered_name(out, index)
        self._writer: G3Writer | None = None
        self._committed = self._skip_through
        self._pending = self._skip_through
        self._partial = self._committed_partial = self._skip_partial
        self._since_commit = 0
        #: Frames written by this run, and frames skipped as already recorded.
        self.frames_written = 0
        self.frames_skipped = 0

    def _open(self) -> G3Writer:
        writer = G3Writer(self.filename)
        save_journal(
            self.journal_file,
            Journal(self.filename, self._index, 0, self._committed, *self._committed_partial),
            self.fsync,
        )
        log.info("recording to %s", self.filename)
        return writer

    def commit(self) -> None:
        """Put what was written on disk, record that, then acknowledge it."""
        writer = self._writer
        if writer is None or (
            self._pending == self._committed and self._partial == self._committed_partial
        ):
            return
        writer.Flush()
        if self.fsync:
            with open(self.filename, "rb") as f:
                os.fsync(f.fileno())
        journal = Journal(self.filename, self._index, writer.tell(), self._pending, *self._partial)
        save_journal(self.journal_file, journal, self.fsync)
        self.source.acknowledge(self._pending)
        self._committed = self._pending
        self._committed_partial = self._partial
        self._since_commit = 0

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
                d = self.source.next_delivery(self.commit_interval)
                now = time.monotonic()
                if d is not None:
                    last_frame = now
                    if not d.snapshot and (
                        d.sequence <= self._skip_through
                        or (d.sequence == self._skip_partial[0] and d.index < self._skip_partial[1])
                    ):
                        self.frames_skipped += 1
                    else:
                        if self._writer is None:
                            self._writer = self._open()
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
            self.commit()
        finally:
            if self._writer is not None:
                self._writer.Close()
                self._writer = None
            self.source.close()


__all__ = ["DurableRecorder", "Journal", "journal_path", "numbered_name"]
