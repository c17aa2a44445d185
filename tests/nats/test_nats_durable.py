"""The durable recorder: SIGKILLed at random moments and restarted, every frame exactly once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from natshelpers import numbered
from natsservers import wait_for

from g3stream.io import G3Reader
from g3stream.nats import G3NatsSender

TOTAL = 100_000
KILLS = 10


def _recorder(url: str, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "g3stream", "-q", "record", url, str(out), "--timeout", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _sizes(directory: Path) -> dict[str, int]:
    sizes = {}
    for p in directory.glob("run-*.g3"):
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


def test_recorder_killed_ten_times_records_every_frame_exactly_once(nats_server, tmp_path: Path):
    stream_url = f"{nats_server.url}/SOAK"
    url = f"{stream_url}?durable=rec&start=first"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "run.g3"
    sender = G3NatsSender(stream_url)
    done = threading.Event()

    def publish() -> None:
        # the DAQ's clock, not synchronisation: bursts of 50 frames every 10 ms (about 20 s),
        # so the kills fall while frames (and batches of them) are recorded live
        start = time.monotonic()
        for i in range(TOTAL):
            sender(numbered(i))
            if i % 50 == 49:
                delay = start + (i + 1) / 5000 - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
        sender.Close()
        done.set()

    rng = random.Random(11)
    thread = threading.Thread(target=publish, daemon=True)
    thread.start()
    proc = None
    try:
        for k in range(KILLS):
            before = _sizes(out_dir)
            proc = _recorder(url, out)
            if k % 4 != 3:  # most kills once it records; every fourth one while it starts
                # (once everything is published and recorded there is nothing left to write)
                wait_for(
                    lambda b=before: _sizes(out_dir) != b or done.is_set(),
                    60,
                    "the recorder writing",
                )
            # a random moment: catching up, committing, waiting for live frames
            time.sleep(rng.uniform(0.0, 0.6))
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        assert done.wait(120), "the sender did not finish"
        proc = _recorder(url, out)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
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
