"""The decoder's receive-into-buffer path (get_buffer / buffer_updated)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import numpy as np
import pytest
from buffered_receive import receive_in_views

from g3stream import G3Frame, G3VectorDouble
from g3stream.codec import decoder as decoder_module
from g3stream.codec.container import encode_frame_bytes
from g3stream.codec.decoder import FrameDecoder
from g3stream.errors import CRCMismatchError, TruncatedFrameError

VECTORS = Path(__file__).parent.parent / "vectors"


def _stream() -> bytes:
    data = b"".join(p.read_bytes() for p in sorted(VECTORS.glob("*.g3")))
    big = G3Frame("S")
    big["a"] = G3VectorDouble(np.arange(50_000.0))
    big["b"] = G3VectorDouble(np.arange(7_000.0))
    big["c"] = 3
    return data + encode_frame_bytes(big) * 3 + (VECTORS / "scalars.g3").read_bytes()


@pytest.fixture
def small_large_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every frame of a few kB 'large', so the vectors exercise that path."""
    monkeypatch.setattr(decoder_module, "LARGE_FRAME", 1000)
    monkeypatch.setattr(decoder_module, "LARGE_FRAME_STEP", 3000)


@pytest.mark.parametrize("seed", range(40))
def test_any_mix_of_feed_and_buffers_gives_the_same_frames(
    seed: int, small_large_threshold: None
) -> None:
    data = _stream()
    reference = FrameDecoder()
    reference.feed(data)
    expected = [bytes(f.encoded()) for f in reference.frames()]
    rnd = random.Random(seed)
    dec = FrameDecoder()
    got: list[bytes] = []
    pos = 0
    while pos < len(data):
        if rnd.random() < 0.6:
            view = dec.get_buffer(rnd.randint(1, 5000))
            k = min(len(view), len(data) - pos, rnd.randint(1, 70_000))
            view[:k] = data[pos : pos + k]
            dec.buffer_updated(k)
        else:
            k = rnd.randint(1, 9000)
            dec.feed(data[pos : pos + k])
        pos += k
        got += [bytes(f.encoded()) for f in dec.frames(rnd.choice([0, 1, 3]))]
    got += [bytes(f.encoded()) for f in dec.frames()]
    dec.close()
    assert got == expected


def test_large_frame_keeps_its_buffer_read_only() -> None:
    frame = G3Frame("S")
    frame["v"] = G3VectorDouble(np.arange(300_000.0))
    data = encode_frame_bytes(frame)
    (out,) = receive_in_views(FrameDecoder(), data)
    # received into a buffer of its own, which the frame keeps
    assert isinstance(out.original_bytes, memoryview)
    arr = np.asarray(out["v"])
    assert not arr.flags.writeable
    assert np.array_equal(arr, np.arange(300_000.0))


def test_lying_length_allocates_only_what_arrived(small_large_threshold: None) -> None:
    head = b"\x01" + (1).to_bytes(4, "little") + (1).to_bytes(4, "little") + b"S\0\0\0"
    entry = (1).to_bytes(8, "little") + b"x" + (1_500_000_000).to_bytes(8, "little")
    dec = FrameDecoder()
    dec.feed(head + entry)
    assert dec.frames() == []
    view = dec.get_buffer(100)
    # the frame claims 1.5 GB; its buffer holds what arrived plus the growth step
    assert len(view) <= 2 * (len(head) + len(entry)) + decoder_module.LARGE_FRAME_STEP
    dec.buffer_updated(0)
    with pytest.raises(TruncatedFrameError):
        dec.close()


def test_bad_crc_in_a_large_frame_loses_nothing_else(small_large_threshold: None) -> None:
    frame = G3Frame("S")
    frame["v"] = G3VectorDouble(np.arange(1000.0))
    good = encode_frame_bytes(frame)
    bad = bytearray(good)
    bad[-100] ^= 0xFF
    data = good + bytes(bad) + good
    dec = FrameDecoder()
    frames = []
    errors = []
    pos = 0
    while pos < len(data) or not dec.at_boundary:
        view = dec.get_buffer(4096)
        k = min(len(view), len(data) - pos)
        view[:k] = data[pos : pos + k]
        dec.buffer_updated(k)
        pos += k
        while True:
            try:
                got = dec.frames()
            except CRCMismatchError as exc:
                errors.append(exc.offset)
                continue
            frames += got
            if not got:
                break
        if k == 0:
            break
    assert len(frames) == 2
    assert errors == [len(good)]


def test_large_frames_read_one_after_another_reuse_their_buffers() -> None:
    import tracemalloc
    import weakref

    frame = G3Frame("S")
    frame["v"] = G3VectorDouble(np.arange(400_000.0))  # 3.2 MB
    data = encode_frame_bytes(frame)
    dec = FrameDecoder()
    first = None
    tracemalloc.start()
    try:
        for _ in range(20):
            (got,) = receive_in_views(dec, data)
            assert got["v"][-1] == 399_999.0
            raw = got.original_bytes
            assert isinstance(raw, memoryview)
            if first is None:
                first = weakref.ref(raw.obj)
            del got, raw
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # twenty frames went through a handful of buffers, not twenty: the first
    # one is still in use, and memory never held many frames
    assert first is not None and first() is not None
    assert peak < 4 * len(data)


def test_a_decoder_can_start_at_a_given_stream_offset() -> None:
    data = _stream()
    dec = FrameDecoder(offset=1000)
    dec.feed(data)
    frames = dec.frames()
    assert frames[0].stream_offset == 1000
    assert dec.offset == 1000 + len(data)
    assert [f.stream_offset - 1000 for f in frames] == [f.stream_offset for f in _decode_all(data)]


def _decode_all(data: bytes) -> list[G3Frame]:
    dec = FrameDecoder()
    dec.feed(data)
    return dec.frames()


@pytest.mark.parametrize("hint", [-1, 0])
def test_get_buffer_without_a_size_offers_a_non_empty_buffer(hint: int) -> None:
    dec = FrameDecoder()
    view = dec.get_buffer(hint)
    assert len(view) > 0
    dec.buffer_updated(0)


def test_asyncio_buffered_protocol_receives_frames_into_the_decoder() -> None:
    """asyncio calls get_buffer(-1); a protocol built on the decoder gets every frame."""
    data = _stream()
    expected = [f.encoded() for f in _decode_all(data)]

    class Receiver(asyncio.BufferedProtocol):
        def __init__(self) -> None:
            self.decoder = FrameDecoder()
            self.frames: list[G3Frame] = []
            self.done = asyncio.get_running_loop().create_future()

        def get_buffer(self, sizehint: int) -> memoryview:
            return self.decoder.get_buffer(sizehint)

        def buffer_updated(self, nbytes: int) -> None:
            self.decoder.buffer_updated(nbytes)
            self.frames.extend(self.decoder.frames())

        def eof_received(self) -> bool:
            self.decoder.close()
            self.done.set_result(None)
            return False

    async def main() -> list[G3Frame]:
        loop = asyncio.get_running_loop()

        async def send(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(data)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(send, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            _, proto = await loop.create_connection(Receiver, "127.0.0.1", port)
            await asyncio.wait_for(proto.done, 30)
        return proto.frames

    frames = asyncio.run(main())
    assert [bytes(f.encoded()) for f in frames] == [bytes(e) for e in expected]


def test_recycled_buffers_never_change_a_frame_still_held() -> None:
    payloads = []
    for seed in range(12):  # 1.2 MB each
        frame = G3Frame("S")
        frame["v"] = G3VectorDouble(np.random.default_rng(seed).standard_normal(150_000))
        payloads.append(bytes(encode_frame_bytes(frame)))
    dec = FrameDecoder()
    held: dict[int, G3Frame] = {}
    for i, data in enumerate(payloads):
        (frame,) = receive_in_views(dec, data)
        if i % 3 == 0:
            held[i] = frame  # kept while later frames arrive
        del frame
        for j, kept in held.items():
            assert bytes(kept.encoded()) == payloads[j]
    assert len(held) == 4
