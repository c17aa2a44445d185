"""Servers failing mid-stream: a killed and restarted server, a cluster losing a member."""

from __future__ import annotations

import threading
from pathlib import Path

from natshelpers import numbered, read_numbers
from natsservers import NatsServer, wait_for

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
