"""``g3stream relay SOURCE --to nats://`` SIGKILLed at random moments and restarted: every frame once.

The source is a file (frames named ``file@offset``) or a JetStream stream read
through a durable consumer (frames named by the upstream's sequences).  Each
run is killed once the destination stored a random number of messages more;
the last run finishes, and the destination then holds every frame of the
source exactly once, in order, whatever the batches of the killed runs.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
from natshelpers import numbered
from natsservers import NatsServer, wait_for

from g3stream.frame import G3Frame, G3FrameType
from g3stream.io import G3Reader, G3Writer
from g3stream.nats import G3NatsSender
from g3stream.objects.vectors import G3VectorDouble

TOTAL = 30_000
KILLS = 4
#: Streams small enough for several on the test server.
LIMIT = f"max_bytes={256 << 20}"


def _frames() -> list[G3Frame]:
    """About 30 MB: 1 kB Timepoints, a Calibration every 5,000 and three 2.5 MB Scans (in parts)."""
    out = []
    for i in range(TOTAL):
        if i % 5000 == 2500:
            out.append(numbered(i, "Calibration"))
        elif i % 10_000 == 7000:
            big = numbered(i, G3FrameType.Scan)
            big["data"] = G3VectorDouble(np.random.default_rng(i).random(2_500_000 // 8))
            out.append(big)
        else:
            out.append(numbered(i, pad="x" * 1000))
    return out


def _messages(server: NatsServer, stream: str) -> int:
    url = f"http://127.0.0.1:{server.http_port}/jsz?streams=true"
    with urllib.request.urlopen(url, timeout=5) as resp:
        info = json.load(resp)
    for account in info.get("account_details", []):
        for detail in account.get("stream_detail", []):
            if detail["name"] == stream:
                return int(detail["state"]["messages"])
    return 0


def _relay(source: str, to: str, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "g3stream", "-q", "relay", source, "--to", to, *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _kill_and_restart(
    server: NatsServer, source: str, stream: str, seed: int, *extra: str
) -> list[bytes]:
    """Relay ``source`` to ``stream``, SIGKILLed ``KILLS`` times, then to its end; the stream's frames."""
    to = f"{server.url}/{stream}?{LIMIT}"
    rng = random.Random(seed)
    proc = None
    try:
        for _ in range(KILLS):
            before = _messages(server, stream)
            proc = _relay(source, to, *extra)
            more = rng.randint(1, 60)
            wait_for(
                lambda b=before, m=more, p=proc: (
                    _messages(server, stream) >= b + m or p.poll() is not None
                ),
                60,
                "the relay publishing",
                interval=0.01,
            )
            if proc.poll() is None:  # (a late run may have found everything stored)
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        proc = _relay(source, to, *extra)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    with G3Reader(f"{server.url}/{stream}?start=first", timeout=1) as reader:
        return [bytes(f.encoded()) for f in reader]


def test_a_file_relay_killed_four_times_stores_every_frame_once(nats_server, tmp_path: Path):
    path = tmp_path / "in.g3"
    with G3Writer(str(path)) as writer:
        for f in _frames():
            writer(f)
    expected = [bytes(f.encoded()) for f in G3Reader(str(path))]
    got = _kill_and_restart(nats_server, str(path), "FROMFILE", 3)
    assert len(got) == len(expected)
    assert got == expected


def test_a_relay_between_streams_killed_four_times_stores_every_frame_once(nats_server):
    upstream = f"{nats_server.url}/UPSTREAM"
    with G3NatsSender(f"{upstream}?{LIMIT}") as sender:
        for f in _frames():
            sender(f)
    with G3Reader(f"{upstream}?start=first", timeout=1) as reader:
        expected = [bytes(f.encoded()) for f in reader]
    assert len(expected) == TOTAL
    source = f"{upstream}?durable=relay&start=first"
    got = _kill_and_restart(nats_server, source, "RELAYED", 5, "--timeout", "2")
    assert len(got) == len(expected)
    assert got == expected
