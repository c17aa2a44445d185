"""Files cut short (a crash, a full disk, a copy in progress) give every complete frame."""

from __future__ import annotations

import bz2
import lzma
import random
import zlib
from pathlib import Path

import pytest

from g3stream import G3Reader, G3Writer, TruncatedFrameError
from g3stream.sim import SimulatedDAQ

SUFFIXES = [".g3", ".g3.gz", ".g3.bz2", ".g3.xz"]


def decodable_prefix(suffix: str, data: bytes) -> bytes:
    """What the codec library itself recovers from a cut compressed file."""
    if suffix == ".g3.gz":
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        return d.decompress(data) + d.flush()
    if suffix == ".g3.bz2":
        return bz2.BZ2Decompressor().decompress(data)
    if suffix == ".g3.xz":
        return lzma.LZMADecompressor().decompress(data)
    return data


def write_daq(path: Path, n_samples: int) -> list[tuple[int, int]]:
    """Write a simulated DAQ stream; the (offset, size) of each frame in the stream."""
    with G3Writer(path) as w:
        for f in SimulatedDAQ(n_samples=n_samples, n_detectors=8, samples_per_scan=50):
            w(f)
    spans = []
    for f in G3Reader(path):
        assert f.stream_offset is not None and f.original_bytes is not None
        spans.append((f.stream_offset, len(f.original_bytes)))
    return spans


def read_until_error(path: Path) -> tuple[list[int], BaseException | None]:
    offsets: list[int] = []
    with G3Reader(path) as reader:
        try:
            for f in reader:
                assert f.stream_offset is not None
                offsets.append(f.stream_offset)
        except TruncatedFrameError as exc:
            return offsets, exc
    return offsets, None


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_file_cut_anywhere_gives_every_complete_frame(tmp_path: Path, suffix: str) -> None:
    full = tmp_path / f"full{suffix}"
    spans = write_daq(full, 2000)
    data = full.read_bytes()
    rng = random.Random(suffix)
    cuts = sorted(rng.randrange(1, len(data)) for _ in range(12)) + [len(data) * 4 // 5]
    cut_path = tmp_path / f"cut{suffix}"
    for cut in cuts:
        cut_path.write_bytes(data[:cut])
        available = len(decodable_prefix(suffix, data[:cut]))
        whole = [off for off, size in spans if off + size <= available]
        offsets, err = read_until_error(cut_path)
        assert offsets == whole, f"cut at {cut} of {len(data)}"
        assert err is not None, f"cut at {cut} of {len(data)} was not reported"
        # the error names the first frame the file does not hold whole
        assert err.offset == (spans[len(whole)][0] if len(whole) < len(spans) else available)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_spt3g_reads_no_more_of_a_torn_file_than_g3stream(tmp_path: Path, suffix: str) -> None:
    core = pytest.importorskip("spt3g.core")
    full = tmp_path / f"full{suffix}"
    spans = write_daq(full, 2000)
    data = full.read_bytes()
    cut_path = tmp_path / f"cut{suffix}"
    cut_path.write_bytes(data[: len(data) * 4 // 5])
    ref = 0
    try:  # spt3g raises at the tear (or, for bzip2, may see an "empty file")
        for _ in core.G3File(str(cut_path)):
            ref += 1
    except RuntimeError:
        pass
    offsets, err = read_until_error(cut_path)
    assert err is not None
    assert ref <= len(offsets) < len(spans)
    if suffix in (".g3", ".g3.gz"):
        assert len(offsets) == ref  # both read up to the tear


def test_a_cut_at_a_frame_boundary_of_a_compressed_file_is_still_reported(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sync.g3.gz"
    w = G3Writer(path, flush_interval=None)
    frames = list(SimulatedDAQ(n_samples=40, n_detectors=4, samples_per_scan=10))
    for f in frames:
        w(f)
    w.Flush()  # a sync point: every frame so far decodes, the stream has no end
    torn = path.read_bytes()
    w.Close()
    path.write_bytes(torn)
    offsets, err = read_until_error(path)
    assert len(offsets) == len(frames)
    assert err is not None
    assert err.offset == sum(len(f.encoded()) for f in frames)


def test_garbage_after_a_gzip_member_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "good.g3.gz"
    write_daq(path, 20)
    path.write_bytes(path.read_bytes() + b"not a gzip member")
    with pytest.raises(ValueError):
        list(G3Reader(path))
