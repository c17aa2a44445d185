"""The durable recorder: SIGKILLed at random moments and restarted, every frame exactly once."""

from __future__ import annotations

import gzip
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from natshelpers import numbered
from natsservers import wait_for

from g3stream.errors import TruncatedFrameError
from g3stream.frame import G3Frame
from g3stream.io import G3Reader, G3Writer
from g3stream.nats import G3NatsSender
from g3stream.nats.recorder import (
    DurableRecorder,
    Journal,
    check_output_pattern,
    numbered_name,
    recover,
)

TOTAL = 100_000
KILLS = 10


def _recorder(
    url: str, out: Path, *options: str, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """``g3stream record`` in a process group of its own; its log to ``log`` (-v) if given."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "g3stream",
            "-v" if log is not None else "-q",
            "record",
            url,
            str(out),
            "--timeout",
            "2",
            *options,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE if log is None else log.open("ab"),
        start_new_session=True,
    )


def _sizes(directory: Path, pattern: str = "run-*.g3") -> dict[str, int]:
    sizes = {}
    for p in directory.glob(pattern):
        try:
            sizes[p.name] = p.stat().st_size
        except FileNotFoundError:  # removed between listing and stat by a starting recorder
            continue
    return sizes


def _numbers(directory: Path) -> list[int]:
    files = sorted(directory.glob("run-*.g3"))
    out: list[int] = []
    for name in files:
        out.extend(int(f["i"]) for f in G3Reader(str(name)))
    return out


def _publish_paced(
    sender: G3NatsSender, frame: Callable[[int], G3Frame], total: int, burst: int, rate: float
) -> tuple[threading.Thread, threading.Event]:
    """A thread sending ``frame(i)`` for ``i < total``, then closing ``sender``; set when done.

    Frames go in bursts of ``burst`` at ``rate`` frames per second on
    average: the DAQ's clock, not synchronisation.
    """
    done = threading.Event()

    def publish() -> None:
        start = time.monotonic()
        for i in range(total):
            sender(frame(i))
            if i % burst == burst - 1:
                delay = start + (i + 1) / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
        sender.Close()
        done.set()

    thread = threading.Thread(target=publish, daemon=True)
    thread.start()
    return thread, done


def _kill(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def _kill_repeatedly(
    start: Callable[[], subprocess.Popen[bytes]],
    sizes: Callable[[], dict[str, int]],
    done: threading.Event,
    kills: int,
    *,
    seed: int,
    pause: float,
    starting_every: int,
    write_timeout: float,
) -> None:
    """Start a recorder with ``start()`` and SIGKILL it, ``kills`` times.

    Most kills fall once it records (``sizes()`` changed, or everything is
    published: then nothing may be left to write), every
    ``starting_every``-th one while it starts; each after a random pause of
    up to ``pause`` seconds (catching up, committing, waiting for live frames).
    """
    rng = random.Random(seed)
    for k in range(kills):
        before = sizes()
        proc = start()
        try:
            if k % starting_every != starting_every - 1:
                wait_for(
                    lambda b=before: sizes() != b or done.is_set(),
                    write_timeout,
                    "the recorder writing",
                )
            time.sleep(rng.uniform(0.0, pause))
        finally:
            _kill(proc)


def test_recorder_killed_ten_times_records_every_frame_exactly_once(nats_server, tmp_path: Path):
    stream_url = f"{nats_server.url}/SOAK"
    url = f"{stream_url}?durable=rec&start=first"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "run.g3"
    # bursts of 50 frames every 10 ms (about 20 s), so the kills fall while
    # frames (and batches of them) are recorded live
    thread, done = _publish_paced(G3NatsSender(stream_url), numbered, TOTAL, 50, 5000)
    proc = None
    try:
        _kill_repeatedly(
            lambda: _recorder(url, out),
            lambda: _sizes(out_dir),
            done,
            KILLS,
            seed=11,
            pause=0.6,
            starting_every=4,
            write_timeout=60,
        )
        assert done.wait(120), "the sender did not finish"
        proc = _recorder(url, out)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    finally:
        if proc is not None and proc.poll() is None:
            _kill(proc)
        thread.join(60)
    numbers = _numbers(out_dir)
    assert len(numbers) == TOTAL
    assert numbers == list(range(TOTAL))
    assert len(list(out_dir.glob("run-*.g3"))) > 1  # the kills did cut the recording


def test_recorder_restarted_after_a_clean_stop_continues_in_a_new_file(nats_server, tmp_path):
    stream_url = f"{nats_server.url}/CLEAN"
    url = f"{stream_url}?durable=rec&start=first"
    out = tmp_path / "run.g3"
    with G3NatsSender(stream_url) as sender:
        for i in range(100):
            sender(numbered(i))
    first = _recorder(url, out)
    first.communicate(timeout=60)
    with G3NatsSender(stream_url) as sender:
        for i in range(100, 150):
            sender(numbered(i))
    second = _recorder(url, out)
    second.communicate(timeout=60)
    wait_for(lambda: len(list(tmp_path.glob("run-*.g3"))) == 2, 10, "two files")
    assert _numbers(tmp_path) == list(range(150))


GZ_TOTAL = 40_000
GZ_KILLS = 6
OBSERVATION_EVERY = 5_000


def _gz_frame(i: int):  # type: ignore[no-untyped-def]
    """Frame ``i`` of the gzip test: an Observation every 5,000 frames, Timepoints between."""
    if i % OBSERVATION_EVERY == 0:
        return numbered(i, "Observation")
    return numbered(i, payload=f"sample {i * 7919 % 100_003}")


def test_gzip_rotated_recording_killed_and_restarted_has_every_frame_once(
    nats_server, tmp_path: Path
):
    """A gzip recording rotated by size: files cut back at kills are ended as gzip files again."""
    stream_url = f"{nats_server.url}/GZSOAK"
    url = f"{stream_url}?durable=gzrec&start=first"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "run.g3.gz"
    options = ("--size-limit", "40k", "--flush-interval", "0.2")
    logs = tmp_path / "recorders.log"
    # 40 frames every 10 ms (about 10 s)
    thread, done = _publish_paced(G3NatsSender(stream_url), _gz_frame, GZ_TOTAL, 40, 4000)
    proc = None
    try:
        _kill_repeatedly(
            lambda: _recorder(url, out, *options, log=logs),
            lambda: _sizes(out_dir, "run-*.g3.gz"),
            done,
            GZ_KILLS,
            seed=5,
            pause=0.8,
            starting_every=3,
            write_timeout=30,
        )
        assert done.wait(60 + GZ_TOTAL / 4000), "the sender did not finish"
        # the last run stops once the stream has been quiet for 5 s: it has caught up
        proc = _recorder(url, out, *options, "--timeout", "5", log=logs)
        assert proc.wait(60 + GZ_TOTAL / 2000) == 0, logs.read_text()[-3000:]
    finally:
        if proc is not None and proc.poll() is None:
            _kill(proc)
        thread.join(60)
    # the kills did fall inside files: some were cut back to a commit and ended there
    assert "ended the gzip stream" in logs.read_text()
    files = sorted(out_dir.glob("run-*.g3.gz"))
    assert len(files) > GZ_KILLS  # cut by the kills and rotated by size
    recorded: list[tuple[str, int]] = []
    seen_metadata: set[int] = set()
    for name in files:
        # every file, also one cut back at a kill, is a complete gzip stream of whole frames
        assert gzip.decompress(name.read_bytes())
        for position, f in enumerate(G3Reader(str(name))):
            kind, i = str(f.type), int(f["i"])
            if position == 0:  # each file stands alone: restarted and rotated ones too
                assert kind == "Observation", f"{name.name} starts with {kind} {i}"
            if kind == "Observation" and position == 0 and i in seen_metadata:
                continue  # the latest metadata, repeated at the top of a rotated file
            if kind == "Observation":
                seen_metadata.add(i)
            recorded.append((kind, i))
    expected = [(str(_gz_frame(i).type), i) for i in range(GZ_TOTAL)]
    assert recorded == expected


@pytest.mark.parametrize("suffix", [".g3.bz2", ".g3.xz"])
def test_a_durable_recording_refuses_codecs_that_cannot_flush(nats_server, tmp_path, suffix):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / f"run{suffix}"
    proc = _recorder(f"{nats_server.url}/REFUSE?durable=rec", out)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "cannot be flushed" in err.decode()
    assert not list(out_dir.iterdir())  # refused before anything was created


def test_recovery_ends_the_journal_file_at_its_commit_and_removes_later_files(tmp_path: Path):
    """The state a kill leaves just after a rotation, brought back to the journal's commit."""
    whole = tmp_path / "whole.g3.gz"
    with G3Writer(str(whole), flush_interval=None) as w:
        for i in range(10):
            w(numbered(i))
            if i == 3:
                w.Flush()
                committed = whole.stat().st_size
    first, cut, later = (tmp_path / f"run-{n:04d}.g3.gz" for n in range(3))
    first.write_bytes(whole.read_bytes())  # an earlier file, complete
    cut.write_bytes(whole.read_bytes()[: committed + 25])  # frames after the commit, half a block
    later.write_bytes(whole.read_bytes()[:committed])  # started after the commit
    recover(Journal(str(cut), 1, committed, 4, later=(str(later),)))
    assert [int(f["i"]) for f in G3Reader(str(cut))] == [0, 1, 2, 3]
    assert gzip.decompress(cut.read_bytes())  # a complete gzip stream again
    assert not later.exists()
    assert first.read_bytes() == whole.read_bytes()
    # a journal claiming more than its file holds is an error, not a silent loss
    with pytest.raises(TruncatedFrameError, match="fewer than"):
        recover(Journal(str(first), 0, first.stat().st_size + 1, 4))


def test_durable_output_names(tmp_path: Path):
    assert numbered_name("/d/run.g3.gz", 3) == "/d/run-0003.g3.gz"
    assert numbered_name("/d/run-%03u.g3", 7) == "/d/run-007.g3"
    for good in ("run.g3", "run.g3.gz", "run-%04u.g3.gz"):
        check_output_pattern(good)
    for bad in ("run.g3.bz2", "run.g3.xz", "run.txt"):
        with pytest.raises(ValueError, match=r"\.g3 or \.g3\.gz"):
            check_output_pattern(bad)
        # the recorder refuses the name before connecting (no server listens here)
        with pytest.raises(ValueError, match=r"\.g3 or \.g3\.gz"):
            DurableRecorder("nats://127.0.0.1:1/NAMES?durable=rec", str(tmp_path / bad))
    assert not list(tmp_path.iterdir())
