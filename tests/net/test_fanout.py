"""FanOut, the sender's policy, driven through an in-memory link: no socket, no thread.

``Link`` plays a transport: it takes buffers from a client, "sends" as many
bytes as its peer window allows, acknowledges them, and decodes what the peer
received, so every rule is checked on the bytes a receiver would see.
"""

from __future__ import annotations

import random

import pytest
from g3net_testutil import S, T, decode_all, make_frame, seqs, types

from g3stream import G3FrameType
from g3stream.net.fanout import (
    ClientStatistics,
    DisconnectReason,
    FanOut,
    FanOutClient,
    WhenFull,
)

W, C, H = G3FrameType.Wiring, G3FrameType.Calibration, G3FrameType.Housekeeping
END = int(G3FrameType.EndProcessing)


def encoded(frame_type: G3FrameType, seq: int, payload: int = 0) -> bytes:
    return bytes(make_frame(frame_type, seq, payload).encoded())


class Link:
    """An in-memory transport for one client: a peer that reads ``window`` bytes per pump."""

    def __init__(self, client: FanOutClient) -> None:
        self.client = client
        self.received = bytearray()
        self.ended = False

    def pump(self, window: int | None = None, max_frames: int = 256, max_bytes: int = 1 << 30):
        """Send what the client has, up to ``window`` bytes; return the bytes sent."""
        buffers, size = self.client.take(max_frames, max_bytes)
        if not buffers:
            if self.client.done:
                self.ended = True
            return 0
        data = b"".join(bytes(b) for b in buffers)
        assert len(data) == size
        sent = len(data) if window is None else min(window, len(data))
        self.received += data[:sent]
        self.client.acknowledge(sent)
        return sent

    def drain(self) -> None:
        while self.pump():
            pass
        self.pump()

    def frames(self) -> list:
        return decode_all(bytes(self.received))


def offer(fanout: FanOut, frame_type: G3FrameType, seq: int, payload: int = 0) -> list:
    return fanout.offer(int(frame_type), encoded(frame_type, seq, payload))


def test_every_client_receives_every_frame_in_order_byte_exact() -> None:
    fanout = FanOut()
    links = [Link(fanout.add_client(f"c{i}")) for i in range(3)]  # type: ignore[arg-type]
    sent = b""
    for i in range(20):
        frame_type = T if i % 3 else H
        data = encoded(frame_type, i, 10)
        sent += data
        assert fanout.offer(int(frame_type), data) == []
        links[i % 3].pump()  # clients read at different moments
    for link in links:
        link.drain()
        assert bytes(link.received) == sent
    stats = fanout.statistics()
    assert stats.frames_sent == 60 and stats.bytes_sent == 3 * len(sent)
    assert stats.queue_frames == 0 and stats.frames_offered == 20


def test_one_buffer_is_shared_by_every_client() -> None:
    fanout = FanOut()
    a, b = fanout.add_client("a"), fanout.add_client("b")
    assert a is not None and b is not None
    data = encoded(T, 1)
    fanout.offer(int(T), data)
    assert a.take(10, 1 << 20)[0][0] is b.take(10, 1 << 20)[0][0] is data


def test_replay_latest_metadata_in_first_seen_order() -> None:
    fanout = FanOut()
    adhoc = G3FrameType("Ab")
    history = [(W, 1), (C, 2), (T, 3), (H, 4), (C, 5), (S, 6), (adhoc, 7), (W, 8)]
    for frame_type, seq in history:
        offer(fanout, frame_type, seq)
    late = Link(fanout.add_client("late"))  # type: ignore[arg-type]
    late.drain()
    assert seqs(late.frames()) == [8, 5, 4, 7]
    assert types(late.frames()) == [W, C, H, 0x4162]
    offer(fanout, T, 9)
    late.drain()
    assert seqs(late.frames()) == [8, 5, 4, 7, 9]


def test_replay_can_be_skipped_for_a_point_to_point_link() -> None:
    fanout = FanOut()
    offer(fanout, W, 1)
    client = fanout.add_client("peer", replay=False)
    assert client is not None and client.queue_frames == 0


def test_max_queue_size_drops_only_data_frames() -> None:
    fanout = FanOut(max_queue_size=3)
    link = Link(fanout.add_client("slow"))  # type: ignore[arg-type]
    for i in range(10):
        offer(fanout, T if i % 2 else S, i)
    offer(fanout, C, 10)  # metadata is never dropped, even past the depth
    offer(fanout, T, 11)  # still full: dropped
    client = link.client
    assert client.statistics() == ClientStatistics(
        frames_sent=0,
        bytes_sent=0,
        frames_dropped=8,
        queue_frames=4,
        queue_bytes=client.queue_bytes,
    )
    link.drain()
    assert seqs(link.frames()) == [0, 1, 2, 10]
    offer(fanout, T, 12)  # room again once sent
    link.drain()
    assert seqs(link.frames())[-1] == 12
    assert fanout.statistics().frames_dropped == 8


def test_frames_being_sent_do_not_count_against_max_queue_size() -> None:
    fanout = FanOut(max_queue_size=2)
    client = fanout.add_client("c")
    assert client is not None
    offer(fanout, T, 0)
    offer(fanout, T, 1)
    buffers, _ = client.take(1, 0)  # frames 0 and 1 (one batch) handed to the transport
    assert len(buffers) == 1
    offer(fanout, T, 2)  # waiting: 2 and 3 -> accepted
    offer(fanout, T, 3)
    offer(fanout, T, 4)  # dropped
    client.acknowledge(sum(len(b) for b in buffers))
    assert client.frames_dropped == 1 and client.queue_frames == 2
    assert client.frames_sent == 2


def test_frames_sent_no_longer_reduce_the_depth_that_counts() -> None:
    """Once acknowledged, the frames taken before count for nothing: the limit holds again."""
    fanout = FanOut(max_queue_size=2)
    client = fanout.add_client("c")
    assert client is not None
    offer(fanout, T, 0, 100_000)  # too large to share a batch: one frame per item
    offer(fanout, T, 1, 100_000)
    buffers, size = client.take(10, 1 << 30)
    assert len(buffers) == 2
    client.acknowledge(size)
    assert client.frames_sent == 2 and client.queue_frames == 0
    for i in range(2, 7):
        offer(fanout, T, i, 100_000)
    assert client.queue_frames == 2 and client.frames_dropped == 3


def test_partial_acknowledgements_resume_mid_frame() -> None:
    fanout = FanOut()
    link = Link(fanout.add_client("c"))  # type: ignore[arg-type]
    for i in range(5):
        offer(fanout, T, i, 100)
    while link.pump(window=333, max_frames=2):
        pass
    assert seqs(link.frames()) == list(range(5))
    assert link.client.statistics().frames_sent == 5
    assert link.client.queue_bytes == 0


def test_take_respects_frame_and_byte_limits_but_always_gives_one_frame() -> None:
    fanout = FanOut()
    client = fanout.add_client("c")
    assert client is not None
    big, small = encoded(H, 0, 1000), encoded(H, 1)  # metadata: never batched
    fanout.offer(int(H), big)
    fanout.offer(int(H), small)
    fanout.offer(int(H), small)
    buffers, size = client.take(10, 100)  # first frame alone exceeds the byte limit
    assert buffers == [big] and size == len(big)
    assert client.take(10, 100) == ([], 0)  # nothing while buffers are taken
    client.acknowledge(size)
    buffers, size = client.take(1, 1 << 20)
    assert len(buffers) == 1


def test_byte_cap_cut_ends_the_stream_at_a_frame_boundary() -> None:
    frame_size = len(encoded(T, 0, 100))
    fanout = FanOut(max_pending_bytes=5 * frame_size, when_full=WhenFull.CUT)
    slow = Link(fanout.add_client("slow"))  # type: ignore[arg-type]
    fast = Link(fanout.add_client("fast"))  # type: ignore[arg-type]
    offer(fanout, T, 0, 100)
    slow.pump(window=frame_size // 2)  # the slow peer is inside frame 0
    cut: list = []
    for i in range(1, 10):
        cut += offer(fanout, T, i, 100)
        fast.drain()
    assert cut == [slow.client]
    assert slow.client.ending is DisconnectReason.OVERFLOW
    # Frames 1..4 were waiting, 5 overflowed, 6..9 were never queued: only 1..5 count.
    assert slow.client.frames_dropped == 5
    slow.drain()  # the frame in progress completes, then the stream ends
    assert slow.ended and seqs(slow.frames()) == [0]
    assert fanout.remove(slow.client) == 0
    stats = fanout.statistics()
    assert stats.clients_overflowed == 1 and stats.connected_clients == 1
    assert stats.disconnects == {DisconnectReason.OVERFLOW: 1}
    assert seqs(fast.frames()) == list(range(10))


def test_byte_cap_keeps_the_frames_handed_to_the_transport() -> None:
    frame_size = len(encoded(T, 0, 100))
    fanout = FanOut(max_pending_bytes=3 * frame_size)
    link = Link(fanout.add_client("c"))  # type: ignore[arg-type]
    for i in range(2):
        offer(fanout, T, i, 100)
    buffers, size = link.client.take(2, 1 << 20)  # 0 and 1 (one batch) are inside a send
    offer(fanout, T, 2, 100)  # a new batch: the one taken is closed
    assert offer(fanout, T, 3, 100) == [link.client]
    link.received += b"".join(bytes(b) for b in buffers)
    link.client.acknowledge(size)
    link.drain()
    assert link.ended and seqs(link.frames()) == [0, 1]


def test_byte_cap_applies_with_no_max_queue_size_and_not_to_metadata_replay() -> None:
    frame_size = len(encoded(C, 0, 100))
    fanout = FanOut(max_pending_bytes=2 * frame_size)
    for i, frame_type in enumerate([W, C, H, G3FrameType.Observation]):
        offer(fanout, frame_type, i, 100)
    client = fanout.add_client("late")  # a replay larger than the cap is queued whole
    assert client is not None and client.queue_frames == 4
    assert offer(fanout, T, 9) == [client]


def test_wait_mode_reports_the_blocking_client_and_never_cuts() -> None:
    frame_size = len(encoded(T, 0, 100))
    fanout = FanOut(max_pending_bytes=2 * frame_size, when_full=WhenFull.WAIT)
    link = Link(fanout.add_client("peer", replay=False))  # type: ignore[arg-type]
    assert fanout.blocking_client(frame_size) is None
    offer(fanout, T, 0, 100)
    offer(fanout, T, 1, 100)
    assert fanout.blocking_client(frame_size) is link.client
    link.pump(window=frame_size)
    assert fanout.blocking_client(frame_size) is None
    for i in range(2, 6):  # a transport that did not wait still loses nothing
        assert offer(fanout, T, i, 100) == []
    link.drain()
    assert seqs(link.frames()) == list(range(6))


def test_a_frame_larger_than_the_cap_goes_to_an_empty_queue() -> None:
    fanout = FanOut(max_pending_bytes=10)
    link = Link(fanout.add_client("c"))  # type: ignore[arg-type]
    assert offer(fanout, T, 0, 100) == []
    assert fanout.blocking_client(10) is link.client
    link.drain()
    assert seqs(link.frames()) == [0]


def test_end_processing_is_never_sent_and_finishes_every_client() -> None:
    fanout = FanOut()
    link = Link(fanout.add_client("c"))  # type: ignore[arg-type]
    offer(fanout, T, 0)
    fanout.offer(END, b"never sent")
    assert fanout.finished and link.client.ending is DisconnectReason.FINISHED
    assert not link.client.done  # its queue first
    offer(fanout, T, 1)  # after the end: sent to no one, counted
    link.drain()
    assert link.ended and seqs(link.frames()) == [0]
    fanout.remove(link.client)
    stats = fanout.statistics()
    assert stats.frames_after_finish == 1 and stats.frames_offered == 1
    assert stats.disconnects == {DisconnectReason.FINISHED: 1}
    assert fanout.add_client("too late") is None


def test_max_clients_refuses_and_counts() -> None:
    fanout = FanOut(max_clients=2)
    a = fanout.add_client("a")
    assert a is not None and fanout.add_client("b") is not None
    assert fanout.add_client("c") is None
    fanout.remove(a, DisconnectReason.LOST)
    assert fanout.add_client("d") is not None
    stats = fanout.statistics()
    assert (stats.clients_accepted, stats.clients_refused, stats.connected_clients) == (3, 1, 2)
    assert sorted(stats.clients) == ["b", "d"]


def test_remove_discards_the_queue_counts_it_and_keeps_totals() -> None:
    fanout = FanOut()
    link = Link(fanout.add_client("c"))  # type: ignore[arg-type]
    for i in range(4):
        offer(fanout, T, i, 10)
    link.pump(window=len(encoded(T, 0, 10)) + 5)  # frame 0 and part of 1
    sent_bytes = link.client.bytes_sent
    assert fanout.remove(link.client, DisconnectReason.LOST) == 3
    assert fanout.remove(link.client, DisconnectReason.LOST) == 0  # twice: nothing
    assert link.client.take(10, 1 << 20) == ([], 0)
    stats = fanout.statistics()
    assert stats.clients == {}
    assert (stats.frames_sent, stats.bytes_sent, stats.frames_dropped) == (1, sent_bytes, 3)
    assert stats.clients_lost == 1 and stats.queue_bytes == 0


def test_statistics_are_frozen_values() -> None:
    fanout = FanOut()
    fanout.add_client("c")
    stats = fanout.statistics()
    with pytest.raises(AttributeError):
        stats.frames_sent = 3  # type: ignore[misc]
    offer(fanout, T, 1)
    assert stats.clients["c"].queue_frames == 0  # a snapshot, not a view
    assert fanout.statistics().clients["c"].queue_frames == 1


def test_invalid_limits_are_rejected() -> None:
    with pytest.raises(ValueError):
        FanOut(max_queue_size=-1)
    with pytest.raises(ValueError):
        FanOut(max_pending_bytes=0)


def test_a_frame_of_several_buffers_is_sent_in_order_and_resumes_mid_buffer() -> None:
    fanout = FanOut()
    client = fanout.add_client("a")
    assert client is not None
    link = Link(client)
    whole = [encoded(S, i, payload=100) for i in range(3)]
    parts = [whole[1][:10], memoryview(whole[1][10:500]), bytearray(whole[1][500:])]
    fanout.offer(S, whole[0])
    fanout.offer(S, parts)  # one frame, never joined
    fanout.offer(S, whole[2])
    while link.pump(window=333):  # cuts inside every buffer sooner or later
        pass
    assert bytes(link.received) == b"".join(whole)
    stats = client.statistics()
    assert (stats.frames_sent, stats.bytes_sent, stats.queue_frames) == (3, len(b"".join(whole)), 0)


# -- batches of small frames ---------------------------------------------------------


def test_consecutive_small_frames_are_taken_as_one_batch_counted_per_frame() -> None:
    fanout = FanOut()
    link = Link(fanout.add_client("c"))  # type: ignore[arg-type]
    sent = b""
    for i in range(50):
        data = encoded(T, i)
        sent += data
        fanout.offer(int(T), data)
    assert link.client.queue_frames == 50 and link.client.queue_bytes == len(sent)
    buffers, size = link.client.take(256, 1 << 20)
    assert len(buffers) == 1 and size == len(sent)  # one buffer for 50 frames
    link.client.acknowledge(size)
    assert bytes(buffers[0]) == sent
    stats = fanout.statistics()
    assert (stats.frames_sent, stats.queue_frames, stats.bytes_sent) == (50, 0, len(sent))


def test_a_batch_being_sent_is_never_written_to() -> None:
    fanout = FanOut()
    client = fanout.add_client("c")
    assert client is not None
    fanout.offer(int(T), encoded(T, 0))
    fanout.offer(int(T), encoded(T, 1))
    buffers, size = client.take(256, 1 << 20)
    snapshot = bytes(buffers[0])
    view = memoryview(buffers[0])  # as a send in progress would hold it
    for i in range(2, 20):
        fanout.offer(int(T), encoded(T, i))  # go to a new batch
    assert bytes(view) == snapshot and size == len(snapshot)
    assert seqs(decode_all(snapshot)) == [0, 1]
    view.release()
    client.acknowledge(size)
    buffers, size = client.take(256, 1 << 20)
    assert seqs(decode_all(b"".join(bytes(b) for b in buffers))) == list(range(2, 20))


def test_batches_end_at_metadata_and_a_new_client_never_gets_an_older_batch() -> None:
    fanout = FanOut()
    first = Link(fanout.add_client("first"))  # type: ignore[arg-type]
    offer(fanout, T, 0)
    offer(fanout, C, 1)
    offer(fanout, T, 2)
    offer(fanout, T, 3)
    late = Link(fanout.add_client("late"))  # type: ignore[arg-type]  # joins mid-batch
    offer(fanout, T, 4)
    offer(fanout, T, 5)
    first.drain()
    late.drain()
    assert seqs(first.frames()) == [0, 1, 2, 3, 4, 5]
    assert seqs(late.frames()) == [1, 4, 5]  # replay, then what came after it joined
    stats = fanout.statistics()
    assert stats.frames_sent == 9 and stats.frames_dropped == 0


def test_max_queue_size_drops_per_frame_and_per_client_with_batches() -> None:
    fanout = FanOut(max_queue_size=3)
    slow = Link(fanout.add_client("slow"))  # type: ignore[arg-type]
    fast = Link(fanout.add_client("fast"))  # type: ignore[arg-type]
    for i in range(10):
        offer(fanout, T, i)
        if i == 5:
            offer(fanout, H, 100 + i)  # metadata: never dropped
        fast.drain()
    slow.drain()
    assert seqs(fast.frames()) == [0, 1, 2, 3, 4, 5, 105, 6, 7, 8, 9]
    assert seqs(slow.frames()) == [0, 1, 2, 105]
    assert slow.client.frames_dropped == 7 and fast.client.frames_dropped == 0
    stats = fanout.statistics()
    assert stats.frames_dropped == 7 and stats.frames_sent == 11 + 4


def test_partly_sent_batch_counts_the_frames_sent_whole() -> None:
    fanout = FanOut()
    link = Link(fanout.add_client("c"))  # type: ignore[arg-type]
    size = len(encoded(T, 0))
    for i in range(5):
        offer(fanout, T, i)
    link.pump(window=2 * size + 3)
    assert link.client.frames_sent == 2 and link.client.queue_frames == 3
    link.pump(window=size)
    assert link.client.frames_sent == 3 and link.client.queue_frames == 2
    assert fanout.remove(link.client, DisconnectReason.LOST) == 2
    stats = fanout.statistics()
    assert (stats.frames_sent, stats.frames_dropped, stats.queue_frames) == (3, 2, 0)


def test_cut_inside_a_batch_ends_the_stream_after_that_batch() -> None:
    size = len(encoded(T, 0))
    fanout = FanOut(max_pending_bytes=6 * size, when_full=WhenFull.CUT)
    link = Link(fanout.add_client("c"))  # type: ignore[arg-type]
    for i in range(4):
        offer(fanout, T, i)
    link.pump(window=size + 1)  # inside frame 1 of the batch 0..3
    cut = []
    for i in range(4, 12):
        cut += offer(fanout, T, i)
    assert cut == [link.client]
    link.drain()
    assert link.ended and seqs(link.frames()) == [0, 1, 2, 3]
    stats = fanout.statistics()
    # 4..6 were queued and are discarded by the cut, 7 overflowed, 8..11 came after it.
    assert link.client.frames_sent == 4 and link.client.frames_dropped == 4
    assert stats.frames_dropped == 4


@pytest.mark.parametrize("seed", range(6))
def test_random_interleaving_keeps_every_stream_whole_and_every_count_exact(seed: int) -> None:
    rng = random.Random(seed)
    fanout = FanOut(max_queue_size=rng.choice([0, 5, 40]), max_pending_bytes=1 << 30)
    links: list[Link] = []
    expected: list[list[int]] = []  # per client: the replay, then every frame offered since
    metadata: list[int] = []
    latest_h: int | None = None
    offered = 0
    for step in range(600):
        action = rng.random()
        if action < 0.03 or not links:
            links.append(Link(fanout.add_client(f"c{len(links)}")))  # type: ignore[arg-type]
            expected.append([] if latest_h is None else [latest_h])
        elif action < 0.75:
            frame_type = H if rng.random() < 0.05 else rng.choice([T, S])
            offer(fanout, frame_type, step)
            offered += 1
            if frame_type == H:
                latest_h = step
                metadata.append(step)
            for seq_list in expected:
                seq_list.append(step)
        else:
            link = rng.choice(links)
            link.pump(window=rng.randrange(1, 3000), max_frames=rng.randrange(1, 6))
    fanout.finish()
    for link, wanted in zip(links, expected, strict=True):
        link.drain()
        assert link.ended
        client = link.client
        received = link.frames()  # decodes whole: every stream ends at a frame boundary
        got = seqs(received)
        assert set(got) <= set(wanted) and got == sorted(set(got))  # in order, no repeats
        assert set(wanted) & set(metadata) <= set(got)  # metadata is never dropped
        assert client.frames_sent == len(got) and client.queue_frames == 0
        assert client.frames_dropped == len(wanted) - len(got)
    stats = fanout.statistics()
    assert stats.frames_offered == offered
    total = sum(link.client.frames_sent + link.client.frames_dropped for link in links)
    assert total == stats.frames_sent + stats.frames_dropped


# -- release of frames queued without a copy -------------------------------------------


def test_release_runs_once_every_client_has_sent_or_dropped_the_frame() -> None:
    fanout = FanOut()
    released: list[int] = []
    a = Link(fanout.add_client("a"))  # type: ignore[arg-type]
    b = Link(fanout.add_client("b"))  # type: ignore[arg-type]
    fanout.offer(int(S), [encoded(S, 0, 100)], lambda: released.append(0))
    a.drain()
    assert released == []  # b still holds it
    b.pump(window=10)
    assert released == []
    b.drain()
    assert released == [0]
    fanout.offer(int(S), [encoded(S, 1, 100)], lambda: released.append(1))
    assert released == [0]
    fanout.remove(a.client, DisconnectReason.LOST)
    fanout.remove(b.client, DisconnectReason.LOST)
    assert released == [0, 1]  # discarded everywhere
    fanout.offer(int(S), [encoded(S, 2, 100)], lambda: released.append(2))
    assert released == [0, 1, 2]  # no client: nobody holds it


def test_release_waits_for_a_send_in_progress_even_when_the_client_is_removed() -> None:
    fanout = FanOut()
    released: list[int] = []
    client = fanout.add_client("c")
    assert client is not None
    fanout.offer(int(S), [encoded(S, 0, 100)], lambda: released.append(0))
    buffers, size = client.take(256, 1 << 20)  # a transport is inside sendmsg()
    fanout.remove(client, DisconnectReason.LOST)  # another thread aborts the client
    assert released == []  # the buffers are still being read
    client.acknowledge(size)  # the send returned
    del buffers
    assert released == [0]


def test_a_pinned_frame_taken_after_others_is_held_until_acknowledged() -> None:
    fanout = FanOut()
    released: list[int] = []
    client = fanout.add_client("c")
    assert client is not None
    fanout.offer(int(T), encoded(T, 0))
    fanout.offer(int(S), [encoded(S, 1, 100)], lambda: released.append(1))
    buffers, size = client.take(256, 1 << 20)
    assert len(buffers) == 2  # both frames in one take, the pinned one second
    fanout.remove(client, DisconnectReason.LOST)
    assert released == []  # still being read
    client.acknowledge(size)
    del buffers
    assert released == [1]


def test_join_batch_only_appends_to_an_open_batch_and_enqueue_never_does() -> None:
    fanout = FanOut()
    link = Link(fanout.add_client("c"))  # type: ignore[arg-type]
    assert not fanout.join_batch(int(T), encoded(T, 0))  # no batch open yet
    assert fanout.enqueue(int(T), encoded(T, 0)) == []  # opens one
    assert fanout.join_batch(int(T), encoded(T, 1))
    assert not fanout.join_batch(int(H), encoded(H, 2))  # metadata never joins
    assert fanout.enqueue(int(T), encoded(T, 3)) == []  # a new item, a new batch
    assert fanout.join_batch(int(T), encoded(T, 4))
    assert link.client.queue_frames == 4
    buffers, size = link.client.take(256, 1 << 20)
    assert len(buffers) == 2  # two batches, of two frames each
    link.received += b"".join(bytes(b) for b in buffers)
    link.client.acknowledge(size)
    assert fanout.enqueue(int(T), encoded(T, 5)) == []
    fanout.finish()
    assert not fanout.join_batch(int(T), encoded(T, 6))  # finished: nothing joins
    assert fanout.offer(int(T), encoded(T, 7)) == []
    link.drain()
    stats = fanout.statistics()
    assert seqs(link.frames()) == [0, 1, 3, 4, 5]
    assert (stats.frames_offered, stats.frames_after_finish) == (5, 1)
