"""Frames named by their source position: batched, and never stored twice by a restarted relay.

Positions: ``file@offset`` for frames read from files, ``nats:STREAM:CREATED@seq[.index]``
for frames read from a JetStream stream.  A sender reads its stream's last message at start
and skips the frames of that source it holds already, whatever the batches of earlier runs.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
from natshelpers import deliveries, numbered
from natsservers import NatsServer

from g3stream.frame import G3Frame, G3FrameType
from g3stream.io import G3Reader, G3Writer
from g3stream.io.source import SourcePosition
from g3stream.nats import G3NatsSender, NatsSource
from g3stream.nats.connection import connect
from g3stream.nats.layout import (
    HDR_FRAME,
    HDR_MSG_ID,
    HDR_PART,
    HDR_POSITION,
    HDR_TYPE,
    HEADER_ROOM,
    data_subject,
    parse_position,
)
from g3stream.nats.sender import frame_position
from g3stream.nats.url import parse_nats_url
from g3stream.objects.vectors import G3VectorDouble

TOTAL = 3000


def _frames(total: int = TOTAL) -> list[G3Frame]:
    """Timepoints with a Calibration every 500 frames and a 2.5 MB Scan (sent in parts)."""
    out = []
    for i in range(total):
        if i % 500 == 250:
            out.append(numbered(i, "Calibration"))
        elif i == total // 2:
            big = numbered(i, G3FrameType.Scan)
            big["data"] = G3VectorDouble(np.random.default_rng(i).random(2_500_000 // 8))
            out.append(big)
        else:
            out.append(numbered(i))
    return out


def _write(path: Path, frames: list[G3Frame]) -> list[bytes]:
    with G3Writer(str(path)) as writer:
        for f in frames:
            writer(f)
    return [bytes(f.encoded()) for f in G3Reader(str(path))]


def _stored(url: str) -> list[bytes]:
    with G3Reader(f"{url}?start=first", timeout=1) as reader:
        return [bytes(f.encoded()) for f in reader]


def _relay(source, url: str, limit: int = 0, **options) -> G3NatsSender:  # type: ignore[no-untyped-def]
    """Publish the frames of reader ``source`` to ``url`` (the first ``limit``), then close."""
    # streams small enough for several of them on the test server
    with G3NatsSender(f"{url}?max_bytes={64 << 20}", **options) as sender:
        for n, frame in enumerate(source, 1):
            sender(frame)
            if n == limit:
                break
    return sender


def _last_headers(url: str) -> dict[str, str]:
    async def last() -> dict[str, str]:
        addr = parse_nats_url(url)
        nc = await connect(addr, 10)
        try:
            js = nc.jetstream()
            info = await js.stream_info(addr.stream)
            msg = await js.get_msg(addr.stream, seq=info.state.last_seq, direct=True)
            return dict(msg.headers or {})
        finally:
            await nc.close()

    return asyncio.run(last())


def test_file_frames_are_batched_and_a_second_run_publishes_nothing(nats_server, tmp_path):
    path = tmp_path / "in.g3"
    expected = _write(path, [numbered(i) for i in range(2000)])
    url = f"{nats_server.url}/FILES"
    first = _relay(G3Reader(str(path), track_filename=True), url).statistics()
    assert first.frames_sent == 2000 and first.duplicates == 0
    assert first.messages_sent < 2000  # frames queued together travelled in batches
    last = parse_position(_last_headers(url)[HDR_POSITION])
    assert last is not None and last.source == str(path)
    again = _relay(G3Reader(str(path), track_filename=True), url).statistics()
    assert (again.frames_sent, again.duplicates, again.messages_sent) == (2000, 2000, 0)
    assert _stored(url) == expected


def test_a_restart_batching_otherwise_stores_every_frame_once(nats_server, tmp_path):
    path = tmp_path / "in.g3"
    expected = _write(path, _frames())
    url = f"{nats_server.url}/REBATCH"
    reader = G3Reader(str(path), track_filename=True)
    first = _relay(reader, url, limit=1234, max_batch_frames=7).statistics()
    assert first.frames_sent == 1234
    second = _relay(G3Reader(str(path), track_filename=True), url, max_batch_frames=50)
    stats = second.statistics()
    assert stats.duplicates == 1234 and stats.frames_sent == TOTAL
    assert _stored(url) == expected


def test_a_late_message_of_an_earlier_run_is_refused_and_skipped(nats_server, tmp_path):
    """A message of a dead run reaching the server after the restarted sender read the stream."""
    path = tmp_path / "in.g3"
    expected = _write(path, _frames())
    url = f"{nats_server.url}/LATE"
    restarted = G3NatsSender(
        f"{url}?max_bytes={64 << 20}"
    )  # has read the (empty) stream: expects to publish first
    try:
        _relay(G3Reader(str(path), track_filename=True), url, limit=1000, max_batch_frames=9)
        for frame in G3Reader(str(path), track_filename=True):
            restarted(frame)
    finally:
        restarted.Close()
    stats = restarted.statistics()
    assert stats.duplicates == 1000 and stats.frames_sent == TOTAL
    assert _stored(url) == expected


def test_a_relay_between_streams_restarted_from_the_first_frame_stores_every_frame_once(
    nats_server, tmp_path
):
    upstream = f"{nats_server.url}/UP"
    down = f"{nats_server.url}/DOWN"
    _relay(iter(_frames()), upstream)  # batched upstream (run-unique ids)
    expected = _stored(upstream)
    assert len(expected) == TOTAL
    with G3Reader(f"{upstream}?start=first", timeout=1) as reader:
        first = next(iter(reader))
        pos = frame_position(first)
        assert pos is not None and pos.source.startswith("nats:UP:") and pos.major == 1
    for stop in (777, 1600):  # stopped mid-stream twice (the second time inside a batch)
        with G3Reader(f"{upstream}?start=first", timeout=1) as reader:
            _relay(reader, down, limit=stop)
    with G3Reader(f"{upstream}?start=first", timeout=1) as reader:
        stats = _relay(reader, down).statistics()
    assert stats.duplicates == 1600 and stats.frames_sent == TOTAL
    assert _stored(down) == expected


def test_frames_read_again_from_a_durable_consumer_are_stored_once(nats_server):
    upstream = f"{nats_server.url}/UPD"
    down = f"{nats_server.url}/DOWND"
    _relay(iter(_frames()), upstream)
    expected = _stored(upstream)
    durable = f"{upstream}?durable=relay&start=first"
    for stop in (1000, 1100):
        # G3Reader acknowledges every few hundred frames: some of those read come again
        with G3Reader(durable, timeout=1) as reader:
            _relay(reader, down, limit=stop)
    with G3Reader(durable, timeout=1) as reader:
        stats = _relay(reader, down).statistics()
    assert stats.duplicates > 0  # frames delivered again and recognised
    assert _stored(down) == expected


def test_two_upstreams_of_the_same_name_do_not_collide(nats_server, tmp_path):
    other = NatsServer(tmp_path / "other").start()
    try:
        a, b = f"{nats_server.url}/SAME", f"{other.url}/SAME"
        _relay(iter([numbered(i) for i in range(300)]), a)
        _relay(iter([numbered(i) for i in range(300, 500)]), b)
        down = f"{nats_server.url}/BOTH"
        for url in (a, b):
            with G3Reader(f"{url}?start=first", timeout=1) as reader:
                _relay(reader, down)
        with G3Reader(f"{down}?start=first", timeout=1) as reader:
            assert [int(f["i"]) for f in reader] == list(range(500))
    finally:
        other.stop()


def test_a_frame_cut_short_in_parts_is_completed_with_its_next_parts(nats_server, tmp_path):
    path = tmp_path / "in.g3"
    frames = [numbered(i) for i in range(10)]
    big = numbered(10, G3FrameType.Scan)
    big["data"] = G3VectorDouble(np.random.default_rng(3).random(2_500_000 // 8))
    expected = _write(path, [*frames, big, *(numbered(i) for i in range(11, 20))])
    url = f"{nats_server.url}/CUT"
    _relay(G3Reader(str(path), track_filename=True), url, limit=10)
    cut = list(G3Reader(str(path), track_filename=True))[10]
    pos = str(frame_position(cut))

    async def first_two_parts() -> int:
        # what a relay killed between the second and the third part of the frame leaves
        addr = parse_nats_url(url)
        nc = await connect(addr, 10)
        try:
            js = nc.jetstream()
            data = bytes(cut.encoded())
            size = nc.max_payload - HEADER_ROOM
            parts = [data[i : i + size] for i in range(0, len(data), size)]
            for i in range(2):
                await js.publish(
                    data_subject("CUT", int(G3FrameType.Scan)),
                    parts[i],
                    headers={
                        HDR_TYPE: str(int(G3FrameType.Scan)),
                        HDR_PART: f"{i}/{len(parts)}",
                        HDR_FRAME: pos,
                        HDR_POSITION: pos,
                        HDR_MSG_ID: f"{pos}.{i}",
                    },
                )
            return len(parts)
        finally:
            await nc.close()

    assert asyncio.run(first_two_parts()) == 3
    again = _relay(G3Reader(str(path), track_filename=True), url)
    assert again.statistics().duplicates == 10

    async def scan_messages() -> int:
        nc = await connect(parse_nats_url(url), 10)
        try:
            subject = data_subject("CUT", int(G3FrameType.Scan))
            info = await nc.jetstream().stream_info("CUT", subjects_filter=subject)
            return int((info.state.subjects or {}).get(subject, 0))
        finally:
            await nc.close()

    assert asyncio.run(scan_messages()) == 3  # the frame's third part only was published again
    source = NatsSource(f"{url}?start=first")
    try:
        got = [bytes(f.encoded()) for f in deliveries(source, len(expected))]
        assert source.statistics().incomplete_frames == 0
    finally:
        source.close()
    assert got == expected


def test_positions_read_back_from_their_header_form():
    for pos in (
        SourcePosition("/data/run@2.g3", 123_456),
        SourcePosition("nats:DAQ:1764158400123456", 42, 7),
        SourcePosition("nats:DAQ:1764158400123456", 42),
    ):
        assert parse_position(str(pos)) == pos
    assert str(SourcePosition("f.g3", 8)) == "f.g3@8"  # the id files always had
    for bad in (None, "", "no-at-sign", "@12", "f.g3@x", "f.g3@1.y"):
        assert parse_position(bad) is None
