"""Batches: runs of small data frames packed into one JetStream message, split again by readers."""

from __future__ import annotations

from pathlib import Path

import pytest
from natshelpers import numbered

from g3stream.codec.container import decode_frame
from g3stream.frame import G3FrameType
from g3stream.io import G3Reader
from g3stream.nats import G3NatsSender, NatsSource
from g3stream.nats.layout import (
    HDR_BATCH,
    HDR_PART,
    HDR_TYPE,
    AssembledFrame,
    FrameAssembler,
    Rejected,
    batch_starts,
    split_batch,
)
from g3stream.nats.recorder import DurableRecorder, journal_path, load_journal
from g3stream.nats.sender import frame_position
from g3stream.nats.source import Delivery

TP = int(G3FrameType.Timepoint)
TOTAL = 3000


def _encoded(i: int) -> bytes:
    return bytes(numbered(i).encoded())


def test_assembler_splits_a_batch_into_its_frames_in_order():
    payload = b"".join(_encoded(i) for i in range(5))
    out = list(FrameAssembler().add(7, {HDR_TYPE: str(TP), HDR_BATCH: "5"}, payload))
    assert all(isinstance(o, AssembledFrame) for o in out)
    assert [int(decode_frame(o.data)["i"]) for o in out] == list(range(5))
    assert [(o.first_seq, o.index, o.count) for o in out] == [(7, k, 5) for k in range(5)]


def test_assembler_keeps_a_batch_whole_unless_its_type_is_split():
    encoded = [_encoded(i) for i in range(5)]
    payload = b"".join(encoded)
    headers = {HDR_TYPE: str(TP), HDR_BATCH: "5"}
    (whole,) = FrameAssembler(whole_batches=True).add(7, headers, payload)
    assert isinstance(whole, AssembledFrame)
    assert (whole.data, whole.index, whole.count, whole.first_seq) == (payload, 0, 5, 7)
    assert whole.starts == [sum(len(e) for e in encoded[:k]) for k in range(5)]
    assert batch_starts(payload, 5) == whole.starts
    split = list(
        FrameAssembler(whole_batches=True, split_types=frozenset({TP})).add(7, headers, payload)
    )
    assert [o.data for o in split] == encoded  # type: ignore[union-attr]
    # kept whole or not, a batch that is not what its header says is rejected whole
    bad = list(FrameAssembler(whole_batches=True).add(8, headers, payload[:-3]))
    assert len(bad) == 1 and isinstance(bad[0], Rejected) and bad[0].not_g3


@pytest.mark.parametrize(
    ("headers", "payload"),
    [
        ({HDR_TYPE: str(TP), HDR_BATCH: "4"}, b"".join(_encoded(i) for i in range(3))),
        ({HDR_TYPE: str(TP), HDR_BATCH: "2"}, _encoded(0) + b"not a frame"),
        ({HDR_TYPE: str(TP), HDR_BATCH: "2"}, (_encoded(0) + _encoded(1))[:-3]),
        ({HDR_TYPE: str(TP), HDR_BATCH: "2", HDR_PART: "0/2"}, _encoded(0) + _encoded(1)),
        ({HDR_TYPE: str(TP), HDR_BATCH: "0"}, _encoded(0)),
    ],
    ids=["count-mismatch", "garbage-tail", "cut-short", "batch-and-part", "zero-count"],
)
def test_a_bad_batch_is_rejected_whole(headers: dict[str, str], payload: bytes):
    out = list(FrameAssembler().add(3, headers, payload))
    assert len(out) == 1 and isinstance(out[0], Rejected) and out[0].not_g3
    if HDR_PART not in headers and int(headers[HDR_BATCH]) > 0:
        with pytest.raises(ValueError):
            split_batch(payload, int(headers[HDR_BATCH]))


def _publish(url: str, **options: object) -> G3NatsSender:
    sender = G3NatsSender(url, **options)  # type: ignore[arg-type]
    with sender:
        sender(numbered(0, "Observation"))
        for i in range(1, TOTAL):
            sender(numbered(i))
            if i % 1000 == 0:
                sender(numbered(i, "Calibration"))
    return sender


def _all(source: NatsSource, count: int) -> list[Delivery]:
    out = []
    while len(out) < count:
        d = source.next_delivery(30)
        assert d is not None, f"timed out after {len(out)} of {count} frames"
        out.append(d)
    assert source.next_delivery(0.3) is None
    return out


def test_sender_batches_data_frames_and_readers_get_every_frame(nats_server):
    url = f"{nats_server.url}/BATCH"
    stats = _publish(url).statistics()
    frames = TOTAL + 2
    assert stats.frames_sent == frames
    assert stats.messages_sent < frames  # frames queued together were packed
    src = NatsSource(f"{url}?start=first")
    try:
        got = _all(src, frames)
    finally:
        src.close()
    decoded = [decode_frame(d.data) for d in got]
    assert [(str(f.type), int(f["i"])) for f in decoded if str(f.type) == "Timepoint"] == [
        ("Timepoint", i) for i in range(1, TOTAL)
    ]
    assert [str(f.type) for f in decoded][:1] == ["Observation"]
    # metadata frames travel alone; sequences name messages and never go back
    assert all(d.count == 1 for d in got if d.type_code != TP)
    assert max(d.count for d in got) > 1
    assert all(a.sequence <= b.sequence for a, b in zip(got, got[1:], strict=False))
    # a late joiner still gets the latest metadata frame of each type from the snapshot
    joiner = NatsSource(url)
    try:
        snap = [decode_frame(joiner.next_delivery(10).data) for _ in range(2)]  # type: ignore[union-attr]
        assert [(str(f.type), int(f["i"])) for f in snap] == [
            ("Observation", 0),
            ("Calibration", 2000),
        ]
    finally:
        joiner.close()

    # start=seq:N names a message: reading starts with the first frame of batch N
    batch = next(d for d in got if d.count > 1 and d.index == 0)
    first = decoded[got.index(batch)]
    with G3Reader(f"{url}?start=seq:{batch.sequence}&types=Timepoint", timeout=1) as reader:
        numbers = [int(f["i"]) for f in reader]
    assert numbers == list(range(int(first["i"]), TOTAL))

    # filters and decimation apply to the frames of batches
    with G3Reader(f"{url}?start=first&decimate=Timepoint:7", timeout=1) as reader:
        kept = [int(f["i"]) for f in reader if str(f.type) == "Timepoint"]
    assert kept == list(range(7, TOTAL, 7))
    with G3Reader(f"{url}?start=first&types=Calibration", timeout=1) as reader:
        assert [int(f["i"]) for f in reader] == [1000, 2000]


def test_g3reader_names_each_frame_of_a_batch_by_its_message_and_index(nats_server):
    url = f"{nats_server.url}/BATCHPOS"
    _publish(url)
    src = NatsSource(f"{url}?start=first")
    try:
        expected = [(d.sequence, d.index) for d in _all(src, TOTAL + 2)]
    finally:
        src.close()
    assert max(index for _, index in expected) > 0
    with G3Reader(f"{url}?start=first", timeout=1) as reader:
        frames = list(reader)
    assert [int(f["i"]) for f in frames if str(f.type) == "Timepoint"] == list(range(1, TOTAL))
    named = [frame_position(f) for f in frames]
    assert all(p is not None and p.source.startswith("nats:BATCHPOS:") for p in named)
    assert [(p.major, p.minor) for p in named] == expected  # type: ignore[union-attr]


def test_one_frame_per_message_when_batching_is_off(nats_server):
    url = f"{nats_server.url}/NOBATCH"
    stats = _publish(url, max_batch_frames=1).statistics()
    assert stats.messages_sent == stats.frames_sent == TOTAL + 2


def test_recorder_stopped_inside_a_batch_resumes_without_loss_or_repeat(
    nats_server, tmp_path: Path
):
    stream_url = f"{nats_server.url}/RECB"
    _publish(stream_url)
    src = NatsSource(f"{stream_url}?start=first")
    try:
        got = _all(src, TOTAL + 2)
    finally:
        src.close()
    # stop the first recording after the second frame of a batch of at least three
    at = next(k for k, d in enumerate(got) if d.index == 1 and d.count >= 3)
    batch_seq = got[at].sequence
    url = f"{stream_url}?durable=rec&start=first"
    out = tmp_path / "run.g3"
    first = DurableRecorder(url, str(out), fsync=False)
    assert first.run(max_frames=at + 1) == at + 1
    journal = load_journal(journal_path(str(out), "rec"))
    assert journal is not None
    assert (journal.partial_sequence, journal.partial_frames) == (batch_seq, 2)
    assert journal.sequence == batch_seq - 1  # the batch is not acknowledged yet

    second = DurableRecorder(url, str(out), fsync=False)
    written = second.run(idle_timeout=2)
    assert second.frames_skipped == 2  # the batch's frames already on disk
    assert written == TOTAL + 2 - (at + 1)
    numbers: list[tuple[str, int]] = []
    for path in sorted(tmp_path.glob("run-*.g3")):
        frames = [(str(f.type), int(f["i"])) for f in G3Reader(str(path))]
        # a restarted recording's file starts with copies of the latest metadata
        while frames and frames[0][0] not in ("Timepoint", "Scan") and frames[0] in numbers:
            frames.pop(0)
        numbers.extend(frames)
    assert numbers == [
        (str(decode_frame(d.data).type), int(decode_frame(d.data)["i"])) for d in got
    ]


def test_batches_respect_their_frame_and_byte_bounds(nats_server):
    # frames queued while the publisher is busy join the open batch only within both bounds
    one = len(_encoded(1))
    for name, options, most in (
        ("BOUNDFRAMES", {"max_batch_frames": 7}, 7),
        ("BOUNDBYTES", {"max_batch_bytes": 5 * one}, 5),
    ):
        url = f"{nats_server.url}/{name}"
        stats = _publish(f"{url}?max_bytes={16 << 20}", **options).statistics()
        assert stats.frames_sent == TOTAL + 2
        src = NatsSource(f"{url}?start=first")
        try:
            got = _all(src, TOTAL + 2)
        finally:
            src.close()
        assert max(d.count for d in got) == most
        decoded = [decode_frame(d.data) for d in got]
        assert [int(f["i"]) for f in decoded if str(f.type) == "Timepoint"] == list(range(1, TOTAL))
