"""G3ThrottledNetworkSender: exact decimation counts, every frame passes downstream."""

from __future__ import annotations

from g3net_testutil import Background, S, T, connect_client, decode_all, make_frame, recv_all

from g3stream import G3Frame, G3FrameType
from g3stream.net import G3NetworkSender, G3ThrottledNetworkSender

H = G3FrameType.Housekeeping


def test_decimation_counts_are_exact() -> None:
    sender = G3ThrottledNetworkSender(
        hostname="*", port=0, frame_decimation={T: 3, S: 0}, max_queue_size=0
    )
    assert isinstance(sender, G3NetworkSender)
    client = Background(recv_all, connect_client(sender.port))
    sent = []
    n_t = 0
    for i in range(120):
        frame_type = [T, T, S, H][i % 4]
        frame = make_frame(frame_type, i)
        assert sender(frame) == [frame]  # every frame passes downstream
        if frame_type == T:
            n_t += 1
            if n_t % 3 == 0:  # the 3rd, 6th, 9th, ... Timepoint
                sent.append(i)
        elif frame_type == H:
            sent.append(i)
    end = G3Frame(G3FrameType.EndProcessing)
    assert sender(end) == [end]
    got = decode_all(client.result())
    assert [f["seq"] for f in got] == sent
    assert not any(f.type == S for f in got)
    assert sender.counts == {int(T): 60, int(S): 30}
    assert sender.statistics().frames_skipped == 60 - 20 + 30


def test_options_reach_the_sender() -> None:
    sender = G3ThrottledNetworkSender("*", 0, {T: 2}, 10, close_timeout=0.5, max_clients=3)
    try:
        assert (sender.max_queue_size, sender.close_timeout, sender.max_clients) == (10, 0.5, 3)
        assert sender.decimation == {int(T): 2}
    finally:
        sender.Close()


def test_default_decimation_is_every_tenth_timepoint() -> None:
    sender = G3ThrottledNetworkSender(port=0)
    client = Background(recv_all, connect_client(sender.port))
    for i in range(35):
        sender(make_frame(T, i))
    sender(G3Frame(G3FrameType.EndProcessing))
    assert [f["seq"] for f in decode_all(client.result())] == [9, 19, 29]
