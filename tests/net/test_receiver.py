"""G3NetworkReceiver, spt3g's old receiver name, reads a live stream in a pipeline."""

from __future__ import annotations

import threading

from g3stream import core


def test_network_receiver_reads_a_listening_sender() -> None:
    sender = core.G3NetworkSender(hostname="*", port=0)
    seen: list[int] = []

    def count(frame: core.G3Frame) -> None:
        if frame.type == core.G3FrameType.Timepoint:
            seen.append(frame["n"])

    def feed() -> None:
        for i in range(20):
            f = core.G3Frame(core.G3FrameType.Timepoint)
            f["n"] = i
            sender(f)
        sender(core.G3Frame(core.G3FrameType.EndProcessing))

    pipe = core.G3Pipeline()
    # connects here; a client connected before a frame is sent receives that frame
    pipe.Add(core.G3NetworkReceiver, hostname="localhost", port=sender.port)
    pipe.Add(count)
    feeder = threading.Thread(target=feed)
    feeder.start()
    pipe.Run()
    feeder.join(10)
    assert seen == list(range(20))
