"""The code blocks of spt3g's "Network Streaming" page, run with g3stream.

Each block runs as written after ``from g3stream import core``, with a
loopback host and a free port in place of the remote host names and 4536.
"""

from __future__ import annotations

from pathlib import Path

from g3net_testutil import (
    TIMEOUT,
    Background,
    C,
    T,
    connect_client,
    decode_all,
    free_port,
    make_frame,
    read_source,
    recv_all,
    seqs,
)

from g3stream import G3Frame, G3FrameType, core
from g3stream.net import TcpSource

P = G3FrameType.PipelineInfo


def source_of(frames: list[G3Frame]):  # type: ignore[no-untyped-def]
    """A first pipeline module emitting ``frames`` one by one."""
    pending = list(frames)

    def source(frame: object) -> list[G3Frame]:
        return [pending.pop(0)] if pending else []

    return source


def data_frames(frames: list[G3Frame]) -> list[G3Frame]:
    """Drop the PipelineInfo frame a pipeline adds and the closing EndProcessing."""
    return [f for f in frames if f.type not in (P, G3FrameType.EndProcessing)]


def test_send_to_remote_host() -> None:
    receiver = TcpSource("tcp://*:0", timeout=TIMEOUT)
    remote = Background(read_source, receiver)
    frames = [make_frame(C, 0)] + [make_frame(T, i) for i in range(1, 20)]

    pipe = core.G3Pipeline()
    pipe.Add(source_of(frames))
    pipe.Add(core.G3NetworkSender, hostname="127.0.0.1", port=receiver.port)
    pipe.Run()

    got = remote.result()
    assert got[1].type == P  # the pipeline's own PipelineInfo frame travels too
    assert seqs(data_frames(got)) == list(range(20))


def listening_pipeline(frames: list[G3Frame], add_sender) -> list[G3Frame]:  # type: ignore[no-untyped-def]
    """Run a pipeline whose sender listens; one client connected before it runs."""
    pipe = core.G3Pipeline()
    pipe.Add(source_of(frames))
    port = add_sender(pipe)
    client = Background(recv_all, connect_client(port))
    pipe.Run()
    return decode_all(client.result())


def test_serve_to_clients() -> None:
    port = free_port()
    frames = [make_frame(T, i) for i in range(30)]

    def add(pipe: core.G3Pipeline) -> int:
        pipe.Add(core.G3NetworkSender, hostname="*", port=port)
        return port

    assert seqs(data_frames(listening_pipeline(frames, add))) == list(range(30))


def test_serve_with_max_queue_size() -> None:
    port = free_port()
    frames = [make_frame(T, i) for i in range(30)]

    def add(pipe: core.G3Pipeline) -> int:
        pipe.Add(core.G3NetworkSender, hostname="*", port=port, max_queue_size=10)
        return port

    got = data_frames(listening_pipeline(frames, add))
    assert seqs(got) == sorted(seqs(got)) and got  # in order; data frames may be dropped


def test_throttled_sender() -> None:
    port = free_port()
    frames = [make_frame(C, 0)] + [make_frame(T, i) for i in range(1, 41)]

    def add(pipe: core.G3Pipeline) -> int:
        from g3stream import G3FrameType

        pipe.Add(
            core.G3ThrottledNetworkSender,
            hostname="*",
            port=port,
            max_queue_size=10,
            frame_decimation={G3FrameType.Timepoint: 10},
        )
        return port

    assert seqs(data_frames(listening_pipeline(frames, add))) == [0, 10, 20, 30, 40]


def test_read_from_streamer() -> None:
    sender = core.G3NetworkSender(hostname="*", port=0)
    got: list[G3Frame] = []

    pipe = core.G3Pipeline()
    pipe.Add(core.G3Reader, filename=f"tcp://127.0.0.1:{sender.port}")
    pipe.Add(lambda frame: got.append(frame))

    feeder = Background(
        lambda: (
            [sender(make_frame(T, i)) for i in range(12)]
            and sender(G3Frame(G3FrameType.EndProcessing))
        )
    )
    pipe.Run()
    feeder.result()
    assert seqs(data_frames(got)) == list(range(12))


def test_read_cal_file_then_streamer(tmp_path: Path) -> None:
    cal = tmp_path / "cal.g3"
    writer = core.G3Writer(str(cal))
    writer(make_frame(C, -1))
    writer(G3Frame(G3FrameType.EndProcessing))
    sender = core.G3NetworkSender(hostname="*", port=0)
    got: list[G3Frame] = []

    pipe = core.G3Pipeline()
    pipe.Add(core.G3Reader, filename=[str(cal), f"tcp://127.0.0.1:{sender.port}"])
    pipe.Add(lambda frame: got.append(frame))

    feeder = Background(
        lambda: (
            [sender(make_frame(T, i)) for i in range(5)]
            and sender(G3Frame(G3FrameType.EndProcessing))
        )
    )
    pipe.Run()
    feeder.result()
    assert seqs(data_frames(got)) == [-1, 0, 1, 2, 3, 4]


def test_listen_for_streamer() -> None:
    port = free_port()
    got: list[G3Frame] = []

    pipe = core.G3Pipeline()
    pipe.Add(core.G3Reader, filename=f"tcp://*:{port}")
    pipe.Add(lambda frame: got.append(frame))

    # The reader is listening from the moment it was added: the streamer connects now.
    sender = core.G3NetworkSender(hostname="127.0.0.1", port=port)
    feeder = Background(
        lambda: (
            [sender(make_frame(T, i)) for i in range(8)]
            and sender(G3Frame(G3FrameType.EndProcessing))
        )
    )
    pipe.Run()
    feeder.result()
    assert seqs(data_frames(got)) == list(range(8))
