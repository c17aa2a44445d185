"""The remote-site case: a leaf node with JetStream at the site, a data centre sourcing from it."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from pathlib import Path

from natshelpers import deliveries, numbered, read_numbers
from natsservers import NatsServer, free_port, wait_for

from g3stream.frame import G3FrameType
from g3stream.nats import G3NatsSender, NatsSource
from g3stream.nats.deploy import source_streams

RATE = 152.6  # Hz, a DAQ's Timepoint rate
TOTAL = 1200  # about 8 s of data
OUTAGE_FRAMES = 450  # about 3 s of data published while the hub is down


def _leaf_connections(hub: NatsServer) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{hub.http_port}/leafz", timeout=2) as r:
            return int(json.load(r).get("leafnodes", 0))
    except OSError:
        return 0


def _hub_messages(hub: NatsServer, stream: str) -> int:
    url = f"http://127.0.0.1:{hub.http_port}/jsz?streams=true"
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            data = json.load(r)
    except OSError:
        return -1
    for account in data.get("account_details", []):
        for s in account.get("stream_detail", []):
            if s["name"] == stream:
                return int(s["state"]["messages"])
    return -1


def test_hub_catches_up_with_the_site_after_the_link_was_down(tmp_path: Path):
    hub = NatsServer(tmp_path / "hub", "hub.conf", leaf_port=free_port())
    site = NatsServer(tmp_path / "site", "leaf.conf", hub_leaf_port=hub.values["leaf_port"])
    try:
        hub.start()
        site.start()
        wait_for(lambda: _leaf_connections(hub) == 1, 60, "the site's leaf connection")
        sender = G3NatsSender(f"{site.url}/DAQ")  # the DAQ publishes at its own site
        sender(numbered(0, "Observation"))
        assert source_streams(f"{hub.url}/DAQ", "site") == ["DAQ", "DAQ_META"]
        published = [0]

        def daq() -> None:
            start = time.monotonic()
            for i in range(1, TOTAL):
                delay = start + i / RATE - time.monotonic()
                if delay > 0:
                    time.sleep(delay)  # the DAQ's clock, not synchronisation
                sender(numbered(i, G3FrameType.Timepoint))
                published[0] = i
            sender.Close()

        thread = threading.Thread(target=daq, daemon=True)
        thread.start()
        wait_for(lambda: _hub_messages(hub, "DAQ") > 100, 60, "the hub sourcing")
        hub.stop()  # the link is down
        cut_at = published[0]
        wait_for(
            lambda: published[0] > cut_at + OUTAGE_FRAMES,
            OUTAGE_FRAMES / RATE + 60,
            "data published during the outage",
        )
        hub.start()
        thread.join(TOTAL / RATE + 60)
        assert not thread.is_alive()
        # every frame reaches the data centre, in order, once
        # (frames queued together travel in one message: compare messages with the site's)
        site_messages = _hub_messages(site, "DAQ")
        assert 0 < site_messages <= TOTAL
        wait_for(lambda: _hub_messages(hub, "DAQ") == site_messages, 90, "the hub catching up")
        reader = NatsSource(f"{hub.url}/DAQ?start=first")
        try:
            assert read_numbers(reader, TOTAL) == list(range(TOTAL))
            assert reader.next_delivery(0.5) is None
        finally:
            reader.close()
        # and a late joiner at the data centre gets the site's metadata
        joiner = NatsSource(f"{hub.url}/DAQ")
        try:
            snapshot = list(deliveries(joiner, joiner.statistics().snapshot_frames))
            assert [(str(f.type), int(f["i"])) for f in snapshot] == [("Observation", 0)]
        finally:
            joiner.close()
    finally:
        site.stop()
        hub.stop()
