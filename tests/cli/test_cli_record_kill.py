"""A recorder killed with SIGKILL at random moments loses at most its flush interval.

The sender is the simulated DAQ in real time (152.6 Hz, time stamps from
the wall clock).  After each kill, the file must hold the stream from the
first frame received, in order, without gaps, up to a frame no older than
the flush interval (plus a margin for the network and a loaded machine),
and spt3g must read the same frames.  bench/bench_kill.py runs the long
version and measures the data at risk.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from clihelpers import Background

from g3stream import G3FrameType, G3Reader, TruncatedFrameError

INTERVAL = 0.25
#: Delivery latency and scheduling on a loaded two-core machine.
MARGIN = 1.0
TICKS_PER_SECOND = 100_000_000


def recorded(path: Path) -> list:
    frames = []
    with G3Reader(path) as reader:
        try:
            for f in reader:
                frames.append(f)
        except TruncatedFrameError:  # a compressed stream is unterminated after a kill
            pass
    return frames


def spt3g_count(path: Path) -> int:
    core = pytest.importorskip("spt3g.core")
    n = 0
    try:
        for _ in core.G3File(str(path)):
            n += 1
    except RuntimeError:  # its reader's complaint about the missing end
        pass
    return n


def check_killed_recording(path: Path, started: float, killed_at: float) -> float:
    """Assert the recording's integrity; return the age of its newest frame at the kill.

    ``started``: when the recorder reported its first frame written.
    """
    frames = recorded(path)
    samples = [f for f in frames if f.type == G3FrameType.Timepoint]
    if not samples:  # killed early: only what arrived within the interval may be missing
        assert killed_at - started <= INTERVAL + MARGIN, f"{path.name}: no Timepoint on disk"
        assert spt3g_count(path) == len(frames)
        return killed_at - started
    assert frames[0].type == G3FrameType.Observation
    indices = [int(f["SampleIndex"]) for f in samples]
    assert indices == list(range(indices[0], indices[0] + len(indices))), "frames lost or reordered"
    newest = samples[-1]["EventHeader"].time / TICKS_PER_SECOND
    age = killed_at - newest
    assert age <= INTERVAL + MARGIN, f"{path.name}: newest frame on disk is {age:.2f} s old"
    assert spt3g_count(path) == len(frames)
    return age


def test_sigkill_at_random_moments_loses_at_most_the_flush_interval(
    tmp_path: Path, background: type[Background]
) -> None:
    server = background(["serve", "--simulate", "--port", "0", "--bind", "127.0.0.1"])
    port = server.port()
    rng = random.Random(152)
    ages = []
    for i in range(8):
        suffix = ".g3" if i % 2 == 0 else ".g3.gz"
        out = tmp_path / f"killed-{i}{suffix}"
        rec = background(
            [
                "record",
                f"tcp://127.0.0.1:{port}",
                str(out),
                "--flush-interval",
                str(INTERVAL),
            ]
        )
        rec.wait_for_line(r"^recording ")  # the first frame is written
        started = time.time()
        time.sleep(rng.uniform(0.05, 1.5))  # the random moment of the crash
        killed_at = time.time()
        rec.proc.kill()
        rec.wait()
        ages.append(check_killed_recording(out, started, killed_at))
    assert max(ages) <= INTERVAL + MARGIN
