"""Small frames batched by G3NetworkSender, on real loopback sockets.

Consecutive small Timepoint and Scan frames share one buffer until a writer
takes it (see :mod:`g3stream.net.fanout`); these tests check, on the bytes
real peers receive, that batching changes nothing a client can see: order,
drops of ``max_queue_size`` counted per frame, metadata never dropped, the
replay of a late client, exact statistics, and no waiting for a batch to fill.
"""

from __future__ import annotations

import socket

from g3net_testutil import (
    TIMEOUT,
    Background,
    C,
    S,
    T,
    connect_client,
    decode_all,
    make_frame,
    recv_all,
    seqs,
    small_buffer_listener,
    wait_until,
)

from g3stream import G3Frame, G3FrameType
from g3stream.codec.decoder import FrameDecoder
from g3stream.net import G3NetworkSender
from g3stream.net.fanout import BATCH_FRAME_MAX_BYTES

END = G3FrameType.EndProcessing


def small(frame_type: G3FrameType, seq: int, payload: int = 8) -> G3Frame:
    """A new frame (never encoded yet) small enough to be batched."""
    return make_frame(frame_type, seq, payload)


def test_the_frames_here_are_small_enough_to_be_batched() -> None:
    assert len(small(T, 0, 1024).encoded()) <= BATCH_FRAME_MAX_BYTES


def test_connect_mode_small_frames_arrive_whole_in_order_and_counted() -> None:
    n = 20_000
    with small_buffer_listener(rcvbuf=1 << 16) as listener:
        sender = G3NetworkSender("127.0.0.1", listener.getsockname()[1])
        conn, _ = listener.accept()
        conn.settimeout(TIMEOUT)
        reader = Background(recv_all, conn)
        kinds = [T if i % 3 else S for i in range(n)]
        expected = b"".join(bytes(small(k, i).encoded()) for i, k in enumerate(kinds))
        for i, kind in enumerate(kinds):
            sender(small(kind, i))
        sender(G3Frame(END))
        got = reader.result()
    assert got == expected
    stats = sender.statistics()
    assert (stats.frames_sent, stats.frames_dropped, stats.bytes_sent) == (n, 0, len(expected))


def test_a_lone_small_frame_is_sent_without_waiting_for_more(
    senders: list[G3NetworkSender],
) -> None:
    sender = G3NetworkSender("*", 0)
    senders.append(sender)
    client = connect_client(sender.port)
    client.settimeout(TIMEOUT)
    wait_until(lambda: sender.statistics().connected_clients == 1)
    decoder = FrameDecoder()
    for seq in range(3):
        sender(small(T, seq))  # nothing follows until this one has arrived
        received: list[G3Frame] = []
        while not received:
            data = client.recv(65536)
            assert data, "stream ended early"
            decoder.feed(data)
            received = decoder.frames()
        assert seqs(received) == [seq]
    client.close()


def test_listen_mode_queue_limit_drops_per_frame_with_batches(
    senders: list[G3NetworkSender],
) -> None:
    max_queue = 20
    sender = G3NetworkSender("*", 0, max_queue_size=max_queue, close_timeout=TIMEOUT)
    senders.append(sender)
    slow = connect_client(sender.port, rcvbuf=4096)  # reads only at the end
    fast_sock = connect_client(sender.port)
    fast = Background(recv_all, fast_sock)
    wait_until(lambda: sender.statistics().connected_clients == 2)
    fast_peer = f"127.0.0.1:{fast_sock.getsockname()[1]}"
    sent_meta, sent_data = [], []
    for i in range(3000):  # 25 MB: more than socket buffers hold
        if i % 500 == 250:
            sender(make_frame(C, i))
            sent_meta.append(i)
        else:
            sender(small(T, i, 1024))
            sent_data.append(i)
        if i % 10 == 0:  # let the fast client keep up (fewer than max_queue waiting)
            wait_until(lambda: sender.statistics().clients[fast_peer].queue_frames == 0)
    slow_reader = Background(recv_all, slow)
    sender(G3Frame(END))
    fast_got = decode_all(fast.result())
    slow_got = decode_all(slow_reader.result())
    assert seqs(fast_got) == sorted(sent_meta + sent_data)
    slow_meta = [f["seq"] for f in slow_got if f.type == C]
    slow_data = [f["seq"] for f in slow_got if f.type != C]
    assert slow_meta == sent_meta  # metadata is never dropped
    assert slow_data == sorted(slow_data) and set(slow_data) < set(sent_data)
    stats = sender.statistics()
    assert stats.frames_dropped == len(sent_data) - len(slow_data) > 0
    assert stats.frames_sent == len(fast_got) + len(slow_got)


def test_late_client_gets_the_replay_then_only_whole_later_frames(
    senders: list[G3NetworkSender],
) -> None:
    sender = G3NetworkSender("*", 0, close_timeout=TIMEOUT)
    senders.append(sender)
    first = connect_client(sender.port)
    first_reader = Background(recv_all, first)
    wait_until(lambda: sender.statistics().connected_clients == 1)
    sender(make_frame(C, 0))
    for i in range(1, 3000):
        sender(small(T, i))
    late: socket.socket = connect_client(sender.port)
    late_reader = Background(recv_all, late)
    wait_until(lambda: sender.statistics().connected_clients == 2)
    for i in range(3000, 6000):
        sender(small(T, i))
    sender(G3Frame(END))
    assert seqs(decode_all(first_reader.result())) == list(range(6000))
    late_got = seqs(decode_all(late_reader.result()))
    assert late_got[0] == 0  # the replay: the Calibration frame
    assert late_got[1:] == list(range(3000, 6000))  # then what was offered after it joined
