"""Large reads of plain files, split between two threads, give exactly the file's bytes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from g3stream.io import file_source
from g3stream.io.file_source import FileSource


@pytest.fixture
def split_small_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Split every read of 64 bytes or more, so small files exercise the path."""
    monkeypatch.setattr(file_source, "PARALLEL_READ", 64)


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 1000, 4097])
@pytest.mark.parametrize("chunk", [64, 100, 999, 10_000])
def test_split_reads_match_the_file(
    tmp_path: Path, size: int, chunk: int, split_small_reads: None
) -> None:
    data = os.urandom(size)
    path = tmp_path / "data.g3"
    path.write_bytes(data)
    src = FileSource(path)
    got = bytearray()
    buf = bytearray(chunk)
    while True:
        n = src.readinto(buf)
        if n == 0:
            break
        got += buf[:n]
        assert src.position == len(got)
    # an ordinary read carries on where the split reads stopped
    assert src.read(10) == b""
    src.close()
    assert bytes(got) == data


def test_split_read_then_plain_read_continue_in_order(
    tmp_path: Path, split_small_reads: None
) -> None:
    data = os.urandom(5000)
    path = tmp_path / "data.g3"
    path.write_bytes(data)
    src = FileSource(path)
    buf = bytearray(1000)
    assert src.readinto(buf) == 1000
    assert src.read(100) == data[1000:1100]
    assert src.readinto(buf) == 1000
    assert bytes(buf) == data[1100:2100]
    src.close()


def test_compressed_files_read_whole(tmp_path: Path, split_small_reads: None) -> None:
    import gzip

    data = os.urandom(3000)
    path = tmp_path / "data.g3.gz"
    path.write_bytes(gzip.compress(data))
    src = FileSource(path)
    buf = bytearray(5000)
    got = bytearray()
    while n := src.readinto(buf):
        got += buf[:n]
    src.close()
    assert bytes(got) == data


def test_a_busy_helper_is_not_waited_for(tmp_path: Path, split_small_reads: None) -> None:
    """While the second reader is held up, this thread reads both halves itself."""
    import threading
    import time

    data = os.urandom(20_000)
    path = tmp_path / "data.g3"
    path.write_bytes(data)
    src = FileSource(path)
    buf = bytearray(3000)
    assert src.readinto(buf) == 3000  # the helper exists now
    helper = src._halves
    assert helper is not None
    release = threading.Event()
    blocker = helper.submit(release.wait, 30)
    try:
        got = bytearray(buf)
        t0 = time.monotonic()
        while n := src.readinto(buf):
            got += buf[:n]
        assert time.monotonic() - t0 < 10
        assert not blocker.done()
    finally:
        release.set()
    assert blocker.result(timeout=30) is True
    src.close()
    assert bytes(got) == data


@pytest.mark.parametrize("mapped", [False, True], ids=["read", "mmap"])
def test_large_frames_are_read_and_checksummed_by_two_threads(
    tmp_path: Path, make_frame, stream_of, monkeypatch: pytest.MonkeyPatch, mapped: bool
) -> None:
    """A plain file's large frames are read (or, mapped, checksummed) half by each of two threads.

    A flipped bit in the helper's half of a large frame is found, at that
    frame's offset, and the frames after it are still read.
    """
    import numpy as np

    from g3stream import G3Reader, G3VectorDouble
    from g3stream.codec import container
    from g3stream.codec.container import encode_frame_bytes
    from g3stream.errors import CRCMismatchError

    monkeypatch.setattr(file_source, "PARALLEL_READ", 1 << 20)
    monkeypatch.setattr(container, "SPLIT_CRC", 4096)
    split_reads = 0
    read_halves = FileSource._read_halves

    def counting_read_halves(self: FileSource, view: memoryview, span: int) -> tuple[int, int]:
        nonlocal split_reads
        split_reads += 1
        return read_halves(self, view, span)

    monkeypatch.setattr(FileSource, "_read_halves", counting_read_halves)
    frames = [make_frame(i, size=300_000 if i % 2 else 10) for i in range(6)]
    frames[3]["more"] = G3VectorDouble(np.full(200_000, 3.0))
    sizes = [len(encode_frame_bytes(f)) for f in frames]
    assert min(sizes[1::2]) >= 2 * file_source.PARALLEL_READ
    data = bytearray(stream_of(frames))
    path = tmp_path / "large.g3"
    path.write_bytes(bytes(data))
    src = FileSource(path)
    assert src.large_piece == 0 and src.crc_helper is not None  # what G3Reader is offered
    src.close()
    got = list(G3Reader(path, mmap=mapped))
    assert b"".join(bytes(f.original_bytes) for f in got) == bytes(data)
    if not mapped:
        assert split_reads >= 3  # every large frame was read in halves
    # one flipped bit late in frame 3 (in the half the helper reads and checksums) is found
    start = sum(sizes[:3])
    data[start + sizes[3] - 100] ^= 0x10
    path.write_bytes(bytes(data))
    reader = G3Reader(path, mmap=mapped)
    assert [reader(None)[0]["index"] for _ in range(3)] == [0, 1, 2]
    with pytest.raises(CRCMismatchError) as info:
        reader(None)
    assert info.value.offset == start
    assert [f["index"] for f in reader] == [4, 5]


@pytest.mark.skipif(not os.path.isdir("/dev/fd"), reason="no /dev/fd to open a pipe by name")
def test_compressed_and_piped_sources_keep_pieces(tmp_path: Path) -> None:
    """Only a plain regular file asks for whole frames: others are checksummed piece by piece."""
    import gzip

    path = tmp_path / "data.g3.gz"
    path.write_bytes(gzip.compress(b"x" * 100))
    src = FileSource(path)
    assert src.large_piece is None and src.crc_helper is None
    src.close()
    read_end, write_end = os.pipe()
    try:
        pipe = FileSource(f"/dev/fd/{read_end}")
        assert pipe.large_piece is None and pipe.crc_helper is None
        pipe.close()
    finally:
        os.close(write_end)
        try:
            os.close(read_end)
        except OSError:
            pass


@pytest.mark.parametrize("size", [100, 1000, 4097])
@pytest.mark.parametrize("span", [0, 1, 30, 499, 500, 501, 900, 5000])
def test_checksummed_reads_give_the_crc_of_the_span(
    tmp_path: Path, size: int, span: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Split or not, the CRC covers the first ``span`` bytes read, or all read if fewer."""
    from g3stream.cereal.crc import g3_crc_of

    data = os.urandom(size)
    path = tmp_path / "data.g3"
    path.write_bytes(data)
    for split in (False, True):
        monkeypatch.setattr(file_source, "PARALLEL_READ", 64 if split else 1 << 30)
        src = FileSource(path)
        buf = bytearray(1000)
        pos = 0
        while True:
            n, crc = src.readinto_checksummed(buf, span)
            assert bytes(buf[:n]) == data[pos : pos + n]
            assert crc == (g3_crc_of(buf[: min(n, span)]) if span else 0)
            if n == 0:
                break
            pos += n
        src.close()
        assert pos == size
