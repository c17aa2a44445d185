"""g3stream.aio: async readers (native tcp:// and worker-thread sources) and the async sender."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from g3stream import G3Reader
from g3stream.aio import HIGH_WATER, AsyncReader, AsyncSender, read_frames
from g3stream.codec.decoder import DEFAULT_READ_SIZE
from g3stream.errors import TruncatedFrameError
from g3stream.net.errors import G3ConnectionRefusedError
from g3stream.sim import SimulatedDAQ

TIMEOUT = 30.0


def run(coro: object) -> object:
    return asyncio.run(asyncio.wait_for(coro, TIMEOUT))  # type: ignore[arg-type]


def _stream_bytes(n_samples: int = 400) -> tuple[list[bytes], bytes]:
    frames = [bytes(f.encoded()) for f in SimulatedDAQ(n_detectors=4, n_samples=n_samples)]
    return frames, b"".join(frames)


class _RawServer:
    """A loopback server that sends ``data`` to the first client, then closes."""

    def __init__(self, data: bytes, chunk: int = 7001) -> None:
        self.data = data
        self.chunk = chunk
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            for i in range(0, len(self.data), self.chunk):
                conn.sendall(self.data[i : i + self.chunk])
        self.sock.close()

    def join(self) -> None:
        self.thread.join(TIMEOUT)


def test_native_reader_gives_the_frames_byte_for_byte() -> None:
    frames, data = _stream_bytes()
    server = _RawServer(data)

    async def main() -> list[bytes]:
        async with AsyncReader(f"tcp://127.0.0.1:{server.port}") as reader:
            assert reader.native
            return [bytes(f.encoded()) async for f in reader]

    got = run(main())
    server.join()
    assert got == frames


def test_a_stream_cut_inside_a_frame_is_an_error_after_the_good_frames() -> None:
    frames, data = _stream_bytes(100)
    server = _RawServer(data[:-10])

    async def main() -> tuple[int, BaseException | None]:
        n = 0
        try:
            async with AsyncReader(f"tcp://127.0.0.1:{server.port}") as reader:
                async for _ in reader:
                    n += 1
        except TruncatedFrameError as exc:
            return n, exc
        return n, None

    n, err = run(main())  # type: ignore[misc]
    server.join()
    assert n == len(frames) - 1
    assert isinstance(err, TruncatedFrameError)


def test_refused_connection_is_the_package_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(G3ConnectionRefusedError):
        run(read_frames(f"tcp://127.0.0.1:{port}"))


def test_a_slow_consumer_pauses_the_socket_and_the_backlog_stays_bounded() -> None:
    frames, data = _stream_bytes(3000)
    server = _RawServer(data, chunk=1 << 16)

    async def main() -> tuple[int, int, bool]:
        most = 0
        paused = False
        n = 0
        async with AsyncReader(f"tcp://127.0.0.1:{server.port}") as reader:
            protocol = reader._protocol
            assert protocol is not None
            async for _ in reader:
                n += 1
                most = max(most, len(protocol.frames))
                paused = paused or protocol.paused
                if n % 50 == 0:
                    await asyncio.sleep(0.01)  # a consumer slower than the socket
        return n, most, paused

    n, most, paused = run(main())  # type: ignore[misc]
    server.join()
    assert n == len(frames)
    assert paused
    # beyond the high-water mark, one receive (at most the decoder's default
    # read size) can add only the frames that fit in it
    per_receive = DEFAULT_READ_SIZE // min(len(f) for f in frames) + 1
    assert most < HIGH_WATER + per_receive


def test_files_are_read_in_a_worker_thread(vectors_dir: Path) -> None:
    path = sorted(vectors_dir.glob("*.g3"))[0]
    expected = [bytes(f.encoded()) for f in G3Reader(str(path))]

    async def main() -> list[bytes]:
        async with AsyncReader(str(path)) as reader:
            assert not reader.native
            return [bytes(f.encoded()) async for f in reader]

    assert run(main()) == expected


def test_async_sender_to_async_reader() -> None:
    frames = list(SimulatedDAQ(n_detectors=4, n_samples=300))

    async def main() -> list[bytes]:
        async with AsyncSender(port=0, bind_address="127.0.0.1") as sender:
            reader = AsyncReader(f"tcp://127.0.0.1:{sender.port}")
            await reader.open()
            # the sender starts sending once it has seen the client
            for _ in range(200):
                if sender.statistics().connected_clients:
                    break
                await asyncio.sleep(0.02)
            for f in frames:
                await sender.send(f)
            got = []
            async for f in reader:
                got.append(bytes(f.encoded()))
                if len(got) == len(frames):
                    break
            await reader.close()
            return got

    assert run(main()) == [bytes(f.encoded()) for f in frames]


_SPT3G_SENDER = """
    import sys, time
    from spt3g import core

    port = int(sys.argv[1])
    state = {"i": 0}

    def source(frame):
        i = state["i"]
        state["i"] += 1
        time.sleep(0.001)  # a live source: late clients get the metadata, then live frames
        if i == 0:
            f = core.G3Frame(core.G3FrameType.Observation)
            f["SourceName"] = "spt3g-daq"
            return [f]
        f = core.G3Frame(core.G3FrameType.Timepoint)
        f["SampleIndex"] = i
        f["Samples"] = core.G3VectorDouble([float(i), 2.0 * i])
        return [f]

    print("ready", flush=True)
    pipe = core.G3Pipeline()
    pipe.Add(source)
    pipe.Add(core.G3NetworkSender, hostname="*", port=port, max_queue_size=0)
    pipe.Run()
"""


@pytest.mark.reference
def test_native_reader_reads_spt3g_s_sender() -> None:
    pytest.importorskip("spt3g")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    n = 500
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_SPT3G_SENDER), str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"

        async def main() -> list[object]:
            # spt3g's sender binds when its pipeline starts: retry until it listens
            for _ in range(200):
                try:
                    return await read_frames(f"tcp://127.0.0.1:{port}", n=n + 2)
                except G3ConnectionRefusedError:
                    await asyncio.sleep(0.05)
            raise AssertionError("spt3g's sender never listened")

        frames = run(main())
    finally:
        proc.kill()
        proc.wait(TIMEOUT)
    # spt3g's pipeline adds a PipelineInfo frame of its own
    by_type: dict[str, list[object]] = {}
    for f in frames:  # type: ignore[attr-defined]
        by_type.setdefault(str(f.type), []).append(f)
    assert set(by_type) == {"Observation", "PipelineInfo", "Timepoint"}
    assert by_type["Observation"][0]["SourceName"] == "spt3g-daq"  # type: ignore[index]
    body: list = by_type["Timepoint"]
    first = int(body[0]["SampleIndex"])
    assert [int(f["SampleIndex"]) for f in body] == list(range(first, first + len(body)))
    assert len(body) == n
    assert [list(f["Samples"]) for f in body] == [
        [float(i), 2.0 * i] for i in range(first, first + n)
    ]
