"""Servers failing mid-stream: a killed and restarted server, a cluster losing a member."""

from __future__ import annotations

import threading
from pathlib import Path

from natshelpers import numbered, read_numbers
from natsservers import NatsServer, start_cluster, wait_for

from g3stream.frame import G3FrameType
from g3stream.nats import G3NatsSender, NatsSource

TOTAL = 20_000


def _publish_in_background(sender: G3NatsSender, total: int, progress: list[int]):
    errors: list[BaseException] = []

    def run() -> None:
        try:
            sender(numbered(0, "Observation"))
            for i in range(1, total):
                sender(numbered(i, G3FrameType.Timepoint))
                progress[0] = i
            sender.Close()
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


def test_server_killed_and_restarted_mid_stream_loses_nothing(tmp_path: Path):
    server = NatsServer(tmp_path / "nats").start()
    try:
        url = f"{server.url}/RESTART"
        sender = G3NatsSender(url, outage_timeout=60)
        reader = NatsSource(f"{url}?start=first")
        progress = [0]
        thread, errors = _publish_in_background(sender, TOTAL, progress)
        got: list[int] = []
        got += read_numbers(reader, 2000)
        server.kill()  # SIGKILL: no clean shutdown; file storage keeps what was acknowledged
        wait_for(lambda: progress[0] > 0, 5, "the publisher")  # it goes on into the outage
        server.start()
        got += read_numbers(reader, TOTAL - len(got), timeout=120)
        thread.join(120)
        assert not errors, errors
        assert got == list(range(TOTAL))
        assert reader.next_delivery(0.5) is None  # and nothing twice
        stats = sender.statistics()
        assert stats.frames_sent == TOTAL
        reader.close()
        # the stream itself holds every frame once, in order
        again = NatsSource(f"{url}?start=first")
        try:
            assert read_numbers(again, TOTAL, timeout=120) == list(range(TOTAL))
            assert again.next_delivery(0.5) is None
        finally:
            again.close()
    finally:
        server.stop()


def _stream_leader(server_url: str, stream: str) -> str:
    import asyncio

    import nats

    async def ask() -> str:
        nc = await nats.connect(server_url)
        try:
            info = await nc.jetstream().stream_info(stream)
            return str(info.cluster.leader)
        finally:
            await nc.close()

    return asyncio.run(ask())


def test_cluster_keeps_publishing_and_reading_when_the_stream_leader_is_killed(tmp_path: Path):
    servers = start_cluster(tmp_path)
    try:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in servers)
        url = f"nats://{hosts}/REPLICATED"
        sender = G3NatsSender(f"{url}?replicas=3", outage_timeout=60)
        reader = NatsSource(f"{url}?start=first")
        progress = [0]
        thread, errors = _publish_in_background(sender, TOTAL, progress)
        got = read_numbers(reader, 2000)
        leader = _stream_leader(servers[0].url, "REPLICATED")
        victim = next(s for s in servers if s.values["name"] == leader)
        victim.kill()
        got += read_numbers(reader, TOTAL - len(got), timeout=150)
        thread.join(150)
        assert not errors, errors
        assert got == list(range(TOTAL))
        assert reader.next_delivery(0.5) is None
        reader.close()
        again = NatsSource(f"{url}?start=first")
        try:
            assert read_numbers(again, TOTAL, timeout=120) == list(range(TOTAL))
        finally:
            again.close()
    finally:
        for s in servers:
            s.stop()
