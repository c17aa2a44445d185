"""nats:// through the scheme table: G3Reader, and the dump and stats commands."""

from __future__ import annotations

import json
import subprocess
import sys

from natshelpers import numbered

from g3stream.io import G3Reader
from g3stream.nats import G3NatsSender


def _publish(url: str, n: int, **options: int) -> None:
    with G3NatsSender(url, **options) as sender:
        sender(numbered(0, "Observation"))
        for i in range(1, n):
            sender(numbered(i))


def test_g3reader_reads_a_nats_url_in_order(nats_server):
    url = f"{nats_server.url}/READER"
    _publish(url, 500)
    reader = G3Reader(f"{url}?start=first", timeout=2)
    try:
        assert [int(f["i"]) for f in reader] == list(range(500))
    finally:
        reader.close()


def test_g3reader_late_joiner_and_type_filter(nats_server):
    url = f"{nats_server.url}/JOIN"
    # one frame per message, so that sequence N is frame N-1 (seq:N names messages)
    _publish(url, 50, max_batch_frames=1)
    with G3Reader(url, timeout=1) as reader:  # start=new: the metadata snapshot, then live
        assert [(str(f.type), int(f["i"])) for f in reader] == [("Observation", 0)]
    with G3Reader(f"{url}?start=seq:10&types=Timepoint", timeout=1) as reader:
        assert [int(f["i"]) for f in reader] == list(range(9, 50))


def test_dump_and_stats_commands_read_nats_urls(nats_server):
    url = f"{nats_server.url}/CLI"
    _publish(url, 20)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "g3stream",
            "dump",
            "--json",
            "--timeout",
            "2",
            f"{url}?start=first",
        ],
        capture_output=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr.decode()
    lines = [json.loads(line) for line in out.stdout.decode().splitlines()]
    assert len(lines) == 20
    stats = subprocess.run(
        [
            sys.executable,
            "-m",
            "g3stream",
            "stats",
            "--json",
            "--timeout",
            "2",
            f"{url}?start=first",
        ],
        capture_output=True,
        timeout=60,
    )
    assert stats.returncode == 0, stats.stderr.decode()
    last = json.loads(stats.stdout.decode().splitlines()[-1])
    assert last["frames"] == 20 and last["types"]["Timepoint"]["frames"] == 19


def test_g3reader_with_a_durable_consumer_resumes_after_what_it_read(nats_server):
    url = f"{nats_server.url}/RESUME"
    _publish(url, 1000)
    durable = f"{url}?durable=viewer&start=first"
    with G3Reader(durable, n_frames_to_read=600, timeout=2) as reader:
        assert [int(f["i"]) for f in reader] == list(range(600))
    with G3Reader(durable, timeout=2) as reader:
        rest = [int(f["i"]) for f in reader]
    # read frames are acknowledged every few hundred: the second reader starts
    # after the last acknowledged one, at the latest where the first stopped
    assert 0 < rest[0] <= 600
    assert rest == list(range(rest[0], 1000))
