"""Writers bound what a crash or a full disk can lose, and say what is on disk."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from g3stream import G3Frame, G3FrameType, G3MultiFileWriter, G3Reader, G3Writer
from g3stream.sim import SimulatedDAQ

from .test_torn_files import read_until_error

SUFFIXES = [".g3", ".g3.gz", ".g3.bz2", ".g3.xz"]


def daq_frames(n: int) -> list[G3Frame]:
    return list(SimulatedDAQ(n_samples=n, n_detectors=4, samples_per_scan=25))


def readable(path: Path) -> int:
    """Complete frames a reader gets from ``path`` as it is now (possibly torn)."""
    offsets, _ = read_until_error(path)
    return len(offsets)


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.mark.parametrize("suffix", [".g3", ".g3.gz"])
def test_a_quiet_stream_reaches_the_file_within_the_flush_interval(
    tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"quiet{suffix}"
    frames = daq_frames(30)
    flushed: list[int] = []
    w = G3Writer(path, flush_interval=0.05, on_flush=flushed.append)
    try:
        for f in frames:
            w(f)
        # no more frames arrive: the flusher alone must make them readable
        assert wait_for(lambda: w.frames_flushed == len(frames))
        assert readable(path) == len(frames)
        assert flushed[-1] == len(frames)
        assert flushed == sorted(flushed)
    finally:
        w.Close()
    assert readable(path) == len(frames)


def test_without_a_timer_frames_are_flushed_at_close_only(tmp_path: Path) -> None:
    path = tmp_path / "untimed.g3.gz"
    frames = daq_frames(10)
    w = G3Writer(path, flush_interval=None)
    for f in frames:
        w(f)
    assert w.frames_written == len(frames)
    assert w.frames_flushed == 0
    w.Flush()
    assert w.frames_flushed == len(frames)
    assert readable(path) == len(frames)
    w.Close()
    assert w.frames_flushed == len(frames)


@pytest.mark.parametrize("suffix", [".g3.bz2", ".g3.xz"])
def test_bzip2_and_xz_frames_count_as_flushed_only_once_closed(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"blocky{suffix}"
    w = G3Writer(path, flush_interval=0, fsync=True)
    for f in daq_frames(5):
        w(f)
    w.Flush()
    assert w.frames_flushed == 0  # their streams cannot be flushed without ending them
    w.Close()
    assert w.frames_flushed == w.frames_written == readable(path)


def test_interval_zero_flushes_every_frame(tmp_path: Path) -> None:
    path = tmp_path / "each.g3.gz"
    w = G3Writer(path, flush_interval=0)
    for i, f in enumerate(daq_frames(6)):
        w(f)
        assert w.frames_flushed == i + 1
        assert readable(path) == i + 1
    w.Close()


def test_bad_flush_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        G3Writer(tmp_path / "x.g3", flush_interval=-1)
    with pytest.raises(TypeError):
        G3Writer(tmp_path / "y.g3", on_flush=3)  # type: ignore[arg-type]
    assert not (tmp_path / "x.g3").exists() or (tmp_path / "x.g3").stat().st_size == 0


def test_multifile_counts_frames_over_rotations(tmp_path: Path) -> None:
    frames = daq_frames(200)
    w = G3MultiFileWriter(str(tmp_path / "sub" / "dir" / "r-%03u.g3"), 5_000)
    for f in frames:
        w(f)
    w.Close()
    assert len(w.files) > 2
    assert w.frames_written == w.frames_flushed == len(frames)
    for name in w.files:
        first = [f.type for f in G3Reader(name)][:3]
        assert first == [G3FrameType.Observation, G3FrameType.Wiring, G3FrameType.Calibration]


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_rotation_by_age_and_on_the_clock(tmp_path: Path) -> None:
    frames = daq_frames(60)
    clock = FakeClock(3600.0 * 277_777 + 3500.0)  # 100 s before a whole hour
    aged = G3MultiFileWriter(
        str(tmp_path / "age-%02u.g3"), None, rotate_every=3600, clock=clock, flush_interval=None
    )
    aligned = G3MultiFileWriter(
        str(tmp_path / "clock-%02u.g3"),
        None,
        rotate_every=3600,
        rotate_aligned=True,
        clock=clock,
        flush_interval=None,
    )
    for f in frames:
        clock.now += 10.0  # 10 s a frame: 600 s in all
        aged(f)
        aligned(f)
    aged.Close()
    aligned.Close()
    assert len(aged.files) == 1  # never an hour old
    assert len(aligned.files) == 2  # the hour struck once
    second = list(G3Reader(aligned.files[1]))
    assert [f.type for f in second[:3]] == [
        G3FrameType.Observation,
        G3FrameType.Wiring,
        G3FrameType.Calibration,
    ]


def test_rotate_starts_a_file_before_the_next_frame(tmp_path: Path) -> None:
    frames = daq_frames(20)
    w = G3MultiFileWriter(str(tmp_path / "s-%u.g3"), None, flush_interval=None)
    for f in frames[:10]:
        w(f)
    w.rotate()
    for f in frames[10:]:
        w(f)
    w.Close()
    assert len(w.files) == 2
    n_first = len(list(G3Reader(w.files[0])))
    assert n_first == 10


def test_rotation_options_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        G3MultiFileWriter(str(tmp_path / "a-%u.g3"), None, rotate_every=0)
    with pytest.raises(ValueError):
        G3MultiFileWriter(str(tmp_path / "a-%u.g3"), None, rotate_aligned=True)


# -- full disks ---------------------------------------------------------------


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs: a disk that really fills up."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root and mount(8)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True, timeout=30)


def test_a_full_disk_fails_the_frame_that_does_not_fit(small_fs: Path) -> None:
    path = small_fs / "full.g3"
    frames = daq_frames(4000)
    w = G3Writer(path)
    written = 0
    with pytest.raises(OSError) as info:
        for f in frames:
            w(f)
            written += 1
    assert info.value.errno == errno.ENOSPC
    assert 0 < written < len(frames)
    w.Close()  # the file keeps what fitted
    # every frame the writer accepted is in the file, whole, and nothing else
    got = list(G3Reader(path))
    assert len(got) == written
    assert [f.encoded() for f in got] == [f.encoded() for f in frames[:written]]


def test_a_full_disk_under_gzip_is_reported_and_loses_no_flushed_frame(small_fs: Path) -> None:
    path = small_fs / "full.g3.gz"
    frames = daq_frames(20_000)
    w = G3Writer(path, flush_interval=0)
    written = 0
    with pytest.raises(OSError) as info:
        for f in frames:
            w(f)
            written += 1
    assert info.value.errno == errno.ENOSPC
    flushed = w.frames_flushed
    assert flushed == written
    with pytest.raises(OSError):
        w(frames[written])  # a broken compressed stream takes no more frames
    try:
        w.Close()
    except OSError:
        pass
    offsets, _ = read_until_error(path)
    assert len(offsets) >= flushed


def test_dev_full_fails_the_first_frame(tmp_path: Path) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    link = tmp_path / "full.g3"  # a G3 name is required: link one to the device
    link.symlink_to("/dev/full")
    w = G3Writer(link)
    with pytest.raises(OSError) as info:
        w(daq_frames(1)[0])
    assert info.value.errno == errno.ENOSPC
    assert w.frames_written == 0
    w.Close()


def test_the_flusher_stops_with_the_writer(tmp_path: Path) -> None:
    before = {t.name for t in threading.enumerate()}
    w = G3Writer(tmp_path / "t.g3", flush_interval=0.01)
    assert any(t.name.startswith("g3stream-flush") for t in threading.enumerate())
    w.Close()
    assert {t.name for t in threading.enumerate()} <= before


EXIT_SCRIPT = """
import sys
from g3stream import G3Writer
from g3stream.sim import SimulatedDAQ
w = G3Writer(sys.argv[1], flush_interval=None)
for f in SimulatedDAQ(n_samples=10, n_detectors=2):
    w(f)
w.itself = w  # a reference cycle: nothing but the exit hook closes it
"""


@pytest.mark.parametrize("suffix", [".g3", ".g3.gz"])
def test_a_writer_left_open_is_finished_at_exit(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"left-open{suffix}"
    done = subprocess.run(
        [sys.executable, "-c", EXIT_SCRIPT, str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    offsets, err = read_until_error(path)
    assert err is None
    assert len(offsets) == 14
