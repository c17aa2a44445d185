"""Frames through a real JetStream server: order, identity, large frames, foreign messages."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from natshelpers import deliveries, numbered, read_numbers

from g3stream.codec.container import decode_frame
from g3stream.frame import G3Frame, G3FrameType
from g3stream.nats import G3NatsSender, NatsSource, NotAG3FrameError
from g3stream.nats.layout import HDR_TYPE, data_subject
from g3stream.objects.vectors import G3VectorDouble


def test_frames_arrive_in_order_with_their_original_bytes(nats_server):
    url = f"{nats_server.url}/ORDER"
    frames = [numbered(0, "Observation")] + [numbered(i) for i in range(1, 3000)]
    with G3NatsSender(url) as sender:
        for f in frames:
            assert sender(f) == [f]
    stats = sender.statistics()
    assert stats.frames_sent == len(frames) and stats.inflight_bytes == 0
    src = NatsSource(url + "?start=first")
    try:
        got = list(deliveries(src, len(frames)))
    finally:
        src.close()
    assert [bytes(g.encoded()) for g in got] == [bytes(f.encoded()) for f in frames]


def test_a_20_MB_frame_round_trips_in_parts(nats_server):
    url = f"{nats_server.url}/BIG"
    big = G3Frame(G3FrameType.Scan)
    big["data"] = G3VectorDouble(np.random.default_rng(1).random(20 * 2**20 // 8))
    with G3NatsSender(url) as sender:
        sender(numbered(0))
        sender(big)
        sender(numbered(1))
    assert sender.statistics().messages_sent > 3  # the large frame went in parts
    src = NatsSource(url + "?start=first")
    try:
        got = list(deliveries(src, 3))
    finally:
        src.close()
    assert bytes(got[1].encoded()) == bytes(big.encoded())
    assert [int(got[0]["i"]), int(got[2]["i"])] == [0, 1]


def test_pipeline_waits_when_unacknowledged_bytes_reach_the_bound(nats_server):
    url = f"{nats_server.url}/BOUND"
    frame = G3Frame(G3FrameType.Scan)
    frame["data"] = G3VectorDouble(np.zeros(100_000))  # 800 kB
    with G3NatsSender(url, max_inflight_bytes=2_000_000) as sender:
        for _ in range(40):
            sender(frame)
            assert sender.statistics().inflight_bytes <= 2_000_000
    assert sender.statistics().peak_inflight_bytes <= 2_000_000
    assert sender.statistics().frames_sent == 40


def _publish_foreign(url: str, stream: str, payloads: list[tuple[bytes, dict[str, str] | None]]):
    import nats

    async def main() -> None:
        nc = await nats.connect(url)
        js = nc.jetstream()
        for payload, headers in payloads:
            await js.publish(data_subject(stream, G3FrameType.Timepoint), payload, headers=headers)
        await nc.close()

    asyncio.run(main())


@pytest.mark.parametrize("policy", ["error", "skip"])
def test_a_message_that_is_not_a_frame_is_reported_and_nothing_else_is_lost(nats_server, policy):
    url = f"{nats_server.url}/MIXED"
    with G3NatsSender(url) as sender:
        sender(numbered(0))
    # one message without the G3 header, one claiming to be a frame but holding text
    _publish_foreign(
        nats_server.url,
        "MIXED",
        [(b"hello", None), (b"not a frame at all", {HDR_TYPE: str(int(G3FrameType.Timepoint))})],
    )
    with G3NatsSender(url) as sender:
        sender(numbered(1))
    src = NatsSource(f"{url}?start=first&bad={policy}", timeout=5)
    try:
        numbers, errors = [], []
        while len(numbers) < 2:
            try:
                d = src.next_delivery(10)
            except NotAG3FrameError as exc:
                errors.append(exc)
                continue
            assert d is not None, "a frame went missing"
            numbers.append(int(decode_frame(d.data)["i"]))
        stats = src.statistics()
    finally:
        src.close()
    assert numbers == [0, 1]
    if policy == "error":
        assert [e.sequence for e in errors] == [2, 3]
        assert stats.skipped_bad == 0
    else:
        assert errors == [] and stats.skipped_bad == 2


def test_server_side_type_filter_and_reader_side_decimation(nats_server):
    url = f"{nats_server.url}/FILTER"
    with G3NatsSender(url) as sender:
        for i in range(100):
            sender(numbered(i, G3FrameType.Scan if i % 10 == 0 else G3FrameType.Timepoint))
    scans = NatsSource(f"{url}?start=first&types=Scan")
    every_5th = NatsSource(f"{url}?start=first&decimate=Timepoint:5")
    try:
        assert read_numbers(scans, 10) == list(range(0, 100, 10))
        expected = [i for i in range(100) if i % 10 == 0 or (i - i // 10 - 1) % 5 == 4]
        got = read_numbers(every_5th, len(expected))
        assert got == expected
        assert every_5th.statistics().decimated == 90 - 90 // 5
    finally:
        scans.close()
        every_5th.close()
