"""A large frame's CRC computed piece by piece as it arrives (RunningCrc and the decoder)."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from g3stream import G3Frame, G3VectorDouble
from g3stream.cereal.crc import g3_crc, g3_crc_of
from g3stream.codec import container as container_module
from g3stream.codec import decoder as decoder_module
from g3stream.codec.container import (
    RunningCrc,
    ScannedFrame,
    check_crc,
    encode_frame_bytes,
    scan_frame,
)
from g3stream.codec.decoder import FrameDecoder
from g3stream.errors import CRCMismatchError, G3FormatError

VECTORS = Path(__file__).parent.parent / "vectors"


def _vector_frames() -> list[bytes]:
    """Every frame of the test vectors (both byte orders, empty and odd entries), one by one."""
    frames = []
    for path in sorted(VECTORS.glob("*.g3")):
        data = path.read_bytes()
        pos = 0
        while pos < len(data):
            scanned = scan_frame(data, pos, len(data), pos)
            assert isinstance(scanned, ScannedFrame)
            frames.append(data[pos : pos + scanned.size])
            pos += scanned.size
    return frames


def _large(seed: int, samples: int = 3000) -> bytes:
    frame = G3Frame("S")
    frame["v"] = G3VectorDouble(np.random.default_rng(seed).standard_normal(samples))
    frame[""] = 1  # an empty name
    frame["w"] = G3VectorDouble(np.arange(float(seed)))  # an empty blob body when seed is 0
    return bytes(encode_frame_bytes(frame))


@pytest.fixture
def helper() -> Iterator[ThreadPoolExecutor]:
    """A second thread for checksums; every stretch of 16 bytes or more is split."""
    with ThreadPoolExecutor(1) as pool:
        yield pool


@pytest.mark.parametrize("split", [False, True])
@pytest.mark.parametrize("seed", range(8))
def test_running_crc_matches_the_whole_frame_crc_however_the_bytes_arrive(
    seed: int, split: bool, helper: ThreadPoolExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(container_module, "SPLIT_CRC", 16)
    rnd = random.Random(seed)
    frames = _vector_frames() + [_large(seed)]
    assert any(f[0] == 0 for f in frames)  # big-endian frames are among them
    for data in frames:
        scanned = scan_frame(data, 0, len(data), 0)
        assert isinstance(scanned, ScannedFrame)
        running = RunningCrc(helper if split else None)
        fill = 0
        while fill < len(data):
            fill = min(len(data), fill + rnd.choice([1, 3, 8, 13, 100, 5000]))
            running.advance(data, fill)
        mv = memoryview(data)
        assert running.value_for(scanned) == g3_crc(mv[p] for p in scanned.entries)
        assert running.value_for(scanned) == scanned.crc


class _CountingPool(ThreadPoolExecutor):
    """A thread pool that counts the tasks it was given."""

    submitted = 0

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


@pytest.mark.parametrize("seed", range(4))
def test_a_complete_frame_is_checked_with_its_long_entries_split(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``check_crc`` with a helper splits each long name or blob, and finds a bit flipped in either half."""
    monkeypatch.setattr(container_module, "SPLIT_CRC", 16)
    with _CountingPool(1) as pool:
        for data in _vector_frames() + [_large(seed)]:
            scanned = scan_frame(data, 0, len(data), 0)
            assert isinstance(scanned, ScannedFrame)
            long = [p for p in scanned.entries if p.stop - p.start >= 16]
            before = pool.submitted
            check_crc(data, scanned, 1234, helper=pool)
            assert pool.submitted - before == len(long)
            for piece in long:
                for at in (piece.start, piece.stop - 1):  # this thread's half, the helper's
                    damaged = bytearray(data)
                    damaged[at] ^= 0x04
                    with pytest.raises(CRCMismatchError) as info:
                        check_crc(damaged, scanned, 1234, helper=pool)
                    assert info.value.offset == 1234


def test_a_busy_helper_is_not_waited_for(
    helper: ThreadPoolExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the helper is held up, this thread checksums both halves itself."""
    monkeypatch.setattr(container_module, "SPLIT_CRC", 16)
    data = _large(3)
    scanned = scan_frame(data, 0, len(data), 0)
    assert isinstance(scanned, ScannedFrame)
    release = threading.Event()
    blocker = helper.submit(release.wait, 30)
    try:
        running = RunningCrc(helper)
        running.advance(data, len(data))
        assert running.value_for(scanned) == scanned.crc
        assert not blocker.done()
    finally:
        release.set()
    assert blocker.result(timeout=30) is True


def test_a_receivers_checksum_is_used_only_within_the_stretch_offered() -> None:
    data = _large(2)
    scanned = scan_frame(data, 0, len(data), 0)
    assert isinstance(scanned, ScannedFrame)
    running = RunningCrc()
    assert running.stretch(0) == 0  # nothing known before the header
    running.advance(data, 40)
    span = running.stretch(40)
    assert 0 < span < len(data) - 40
    assert running.stretch(39) == 0  # only from where it stopped
    # a claim longer than the stretch is ignored: the bytes are checksummed here
    running.advance(data, 40 + span + 20, (span + 20, 0xDEADBEEF))
    running.advance(data, len(data))
    assert running.value_for(scanned) == scanned.crc
    # a claim inside the stretch is trusted: a wrong one shows as a wrong CRC
    for flip in (1, 0):
        claimed = RunningCrc()
        claimed.advance(data, 40)
        claimed.advance(data, 1000, (span, g3_crc_of(data[40 : 40 + span]) ^ flip))
        claimed.advance(data, len(data))
        assert (claimed.value_for(scanned) == scanned.crc) is (flip == 0)


def test_running_crc_gives_up_on_what_it_cannot_follow() -> None:
    data = bytearray(_large(1))
    scanned = scan_frame(data, 0, len(data), 0)
    assert isinstance(scanned, ScannedFrame)
    data[0] = 7  # no such byte order
    running = RunningCrc()
    running.advance(data, len(data))
    assert running.broken
    assert running.value_for(scanned) is None
    # a frame seen only in part has no CRC yet
    partial = RunningCrc()
    partial.advance(_large(1), 1000)
    assert partial.value_for(scanned) is None


def _decode_by_pieces(
    data: bytes,
    seed: int,
    helper: ThreadPoolExecutor | None = None,
    whole: bool = False,
    receiver_crc: bool = False,
) -> tuple[list[bytes], list[tuple[str, int]]]:
    """Frames and errors (type, offset) of a decoder receiving ``data`` through get_buffer.

    ``helper`` splits the CRC of long stretches; ``whole`` offers a large
    frame's whole rest per view; with ``receiver_crc`` the receiver
    checksums part of what ``crc_stretch`` allows, as a file source does.
    """
    rnd = random.Random(seed)
    dec = FrameDecoder()
    dec.crc_helper = helper
    if whole:
        dec.large_piece = 0
    frames: list[bytes] = []
    errors: list[tuple[str, int]] = []
    pos = 0
    while True:
        try:
            got = dec.frames()
        except G3FormatError as exc:
            errors.append((type(exc).__name__, exc.offset))
            if dec._fatal is not None:  # framing lost: nothing more comes out
                break
            continue
        frames += [bytes(f.encoded()) for f in got]
        if pos == len(data):
            if not got:
                break
            continue
        view = dec.get_buffer(rnd.randint(1, 20_000))
        k = min(len(view), len(data) - pos, rnd.randint(1, 9000))
        view[:k] = data[pos : pos + k]
        span = dec.crc_stretch() if receiver_crc else 0
        if span:
            length = min(k, span, rnd.choice([1, 50, span, span]))
            dec.buffer_updated(k, (length, g3_crc_of(view[:length])))
        else:
            dec.buffer_updated(k)
        pos += k
    return frames, errors


def _decode_at_once(data: bytes) -> tuple[list[bytes], list[tuple[str, int]]]:
    """The same, all bytes fed at once: every CRC computed over the complete frame."""
    dec = FrameDecoder()
    dec.feed(data)
    frames: list[bytes] = []
    errors: list[tuple[str, int]] = []
    while True:
        try:
            got = dec.frames()
        except G3FormatError as exc:
            errors.append((type(exc).__name__, exc.offset))
            if dec._fatal is not None:
                break
            continue
        if not got:
            break
        frames += [bytes(f.encoded()) for f in got]
    return frames, errors


@pytest.mark.parametrize(
    "mode", ["pieces", "split crc", "whole, split crc", "receiver crc", "whole, receiver crc"]
)
@pytest.mark.parametrize("seed", range(30))
def test_corrupt_bytes_give_the_same_frames_and_errors_as_a_whole_frame_check(
    seed: int, mode: str, helper: ThreadPoolExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # frames of a few kB take the large-frame path, in pieces of at most 700 bytes
    monkeypatch.setattr(decoder_module, "LARGE_FRAME", 1000)
    monkeypatch.setattr(decoder_module, "LARGE_FRAME_STEP", 3000)
    monkeypatch.setattr(decoder_module, "LARGE_FRAME_PIECE", 700)
    monkeypatch.setattr(container_module, "SPLIT_CRC", 64)
    rnd = random.Random(seed)
    data = bytearray(b"".join(_large(seed * 3 + i, 400 + 300 * i) for i in range(4)))
    for _ in range(rnd.choice([0, 1, 1, 2, 5])):
        data[rnd.randrange(len(data))] ^= 1 << rnd.randrange(8)
    expected = _decode_at_once(bytes(data))
    got = _decode_by_pieces(
        bytes(data),
        seed,
        helper if "split" in mode else None,
        whole=mode.startswith("whole"),
        receiver_crc="receiver" in mode,
    )
    assert got == expected


def test_a_large_frame_is_offered_in_pieces_and_then_a_small_view(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(decoder_module, "LARGE_FRAME_PIECE", 100_000)
    data = _large(5, 200_000)  # 1.6 MB: received into a buffer of its own
    dec = FrameDecoder()
    sizes = []
    pos = 0
    frames: list[G3Frame] = []
    while pos < len(data) or not frames:
        frames += dec.frames()
        if frames:
            break
        view = dec.get_buffer(1 << 22 if sizes else 65536)  # as a reader probes first
        sizes.append(len(view))
        k = min(len(view), len(data) - pos)
        view[:k] = data[pos : pos + k]
        dec.buffer_updated(k)
        pos += k
    frames += dec.frames()
    assert [bytes(f.encoded()) for f in frames] == [data]
    assert max(sizes[1:]) == 100_000
    # the next frame is looked at with small reads until its size is known,
    # however little each read brings
    following = _large(6, 200_000)
    pos = 0
    while True:
        view = dec.get_buffer(1 << 22)
        if dec.receiving_large:  # its size is known: the rest goes to its own buffer
            dec.buffer_updated(0)
            break
        assert len(view) == decoder_module.DEFAULT_READ_SIZE
        view[:7] = following[pos : pos + 7]
        dec.buffer_updated(7)
        pos += 7
        assert dec.frames() == []
    assert pos > 7
    # after a small frame, views are full-size again
    small = FrameDecoder()
    small.feed(data)
    small.frames()
    small.feed(_vector_frames()[0])
    assert len(small.frames()) == 1
    assert len(small.get_buffer(1 << 22)) == 1 << 22
    small.buffer_updated(0)
    # without CRC checks there is nothing to compute per piece: the whole rest is offered
    unchecked = FrameDecoder(verify_crc=False)
    unchecked.feed(data[:70_000])
    assert unchecked.frames() == []
    assert len(unchecked.get_buffer(1 << 22)) == len(data) - 70_000
    unchecked.buffer_updated(0)
