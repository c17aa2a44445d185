"""Compression by suffix: reference codec parameters on write, tolerant reading."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import random
import struct
import zlib
from pathlib import Path

import pytest

from g3stream import G3Frame, G3Reader, G3Writer
from g3stream.errors import TruncatedFrameError
from g3stream.io.compression import (
    GZIP_HEADER,
    CompressedDataError,
    Compression,
    compression_for_path,
    end_gzip_at_sync_point,
    open_compressing_writer,
    open_decompressed,
)
from g3stream.io.file_source import FileSource

PAYLOAD = bytes(range(256)) * 4000 + b"tail"


@pytest.mark.parametrize(
    ("name", "codec"),
    [
        ("a.g3", Compression.NONE),
        ("a.g3.gz", Compression.GZIP),
        ("a.g3.bz2", Compression.BZIP2),
        ("a.g3.xz", Compression.XZ),
        ("a.gz", Compression.GZIP),
        ("a.g3.gz.part", Compression.NONE),
        ("noext", Compression.NONE),
    ],
)
def test_codec_is_chosen_by_final_suffix(name: str, codec: Compression) -> None:
    assert compression_for_path(name) is codec
    assert compression_for_path(Path("dir") / name) is codec


def write_compressed(path: Path, codec: Compression, chunks: list[bytes]) -> None:
    with open(path, "wb") as raw:
        w = open_compressing_writer(raw, codec)
        w.writelines(chunks)
        w.close()


def test_gzip_output_has_the_reference_header_and_default_level(tmp_path: Path) -> None:
    path = tmp_path / "x.g3.gz"
    write_compressed(path, Compression.GZIP, [PAYLOAD[:1000], memoryview(PAYLOAD)[1000:]])
    data = path.read_bytes()
    # deflate, no flags (no name), mtime 0, no extra flags, OS = Unix
    assert data[:10] == GZIP_HEADER == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
    crc, size = struct.unpack("<II", data[-8:])
    assert crc == zlib.crc32(PAYLOAD)
    assert size == len(PAYLOAD)
    # one member whose deflate stream is what zlib's default level makes
    c = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -zlib.MAX_WBITS)
    assert data[10:-8] == c.compress(PAYLOAD) + c.flush()
    assert gzip.decompress(data) == PAYLOAD


def test_bzip2_output_uses_block_size_9(tmp_path: Path) -> None:
    path = tmp_path / "x.g3.bz2"
    write_compressed(path, Compression.BZIP2, [PAYLOAD])
    data = path.read_bytes()
    assert data[:4] == b"BZh9"
    assert data == bz2.compress(PAYLOAD, 9)


def test_xz_output_uses_preset_6_and_crc64(tmp_path: Path) -> None:
    path = tmp_path / "x.g3.xz"
    write_compressed(path, Compression.XZ, [PAYLOAD])
    data = path.read_bytes()
    assert data[:6] == b"\xfd7zXZ\x00"
    assert data[6:8] == b"\x00\x04"  # stream flags: CRC64 check
    assert data == lzma.compress(PAYLOAD, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=6)


@pytest.mark.parametrize("suffix", [".g3", ".g3.gz", ".g3.bz2", ".g3.xz"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"x{suffix}"
    codec = compression_for_path(path)
    if codec is Compression.NONE:
        path.write_bytes(PAYLOAD)
    else:
        write_compressed(path, codec, [PAYLOAD])
    with open_decompressed(path) as f:
        assert f.read() == PAYLOAD


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [
        (".g3.gz", lambda b: gzip.compress(b, mtime=0)),
        (".g3.bz2", bz2.compress),
        (".g3.xz", lzma.compress),
    ],
)
def test_concatenated_members_are_all_read(tmp_path: Path, suffix: str, compress) -> None:
    path = tmp_path / f"cat{suffix}"
    path.write_bytes(compress(PAYLOAD[:5000]) + compress(PAYLOAD[5000:]))
    src = FileSource(path)
    got = bytearray()
    while chunk := src.read(4096):
        got += chunk
    src.close()
    assert bytes(got) == PAYLOAD
    assert src.position == len(PAYLOAD)


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [
        (".g3.gz", lambda b: gzip.compress(b, mtime=0)),
        (".g3.bz2", bz2.compress),
        (".g3.xz", lzma.compress),
    ],
)
def test_truncated_compressed_file_is_a_typed_error(tmp_path: Path, suffix: str, compress) -> None:
    path = tmp_path / f"cut{suffix}"
    payload = random.Random(7).randbytes(2_000_000)  # incompressible, several bzip2 blocks
    data = compress(payload)
    path.write_bytes(data[: len(data) // 2])
    src = FileSource(path)
    with pytest.raises(TruncatedFrameError) as info:
        while src.read(1 << 16):
            pass
    err = info.value
    assert str(path) in str(err)
    assert err.filename == str(path)
    assert err.offset == src.position
    assert 0 < err.offset < len(payload)


@pytest.mark.parametrize(
    ("suffix", "compress", "flip_at"),
    [
        (".g3.gz", lambda b: gzip.compress(b, mtime=0), 40),
        (".g3.bz2", bz2.compress, 40),
        (".g3.xz", lzma.compress, 80),
    ],
)
def test_corrupt_compressed_data_is_a_typed_error(
    tmp_path: Path, suffix: str, compress, flip_at: int
) -> None:
    path = tmp_path / f"bad{suffix}"
    data = bytearray(compress(PAYLOAD))
    for i in range(flip_at, flip_at + 8):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    src = FileSource(path)
    with pytest.raises((CompressedDataError, TruncatedFrameError)) as info:
        while src.read(1 << 16):
            pass
    assert str(path) in str(info.value)
    assert info.value.offset is not None


def test_not_compressed_at_all_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "plain.g3.gz"
    path.write_bytes(b"this is not gzip data at all" * 10)
    src = FileSource(path)
    with pytest.raises(CompressedDataError) as info:
        src.read(100)
    assert info.value.offset == 0
    assert "plain.g3.gz" in str(info.value)


def test_compressed_file_sources_seek_in_the_decompressed_stream(tmp_path: Path) -> None:
    path = tmp_path / "s.g3.gz"
    path.write_bytes(gzip.compress(PAYLOAD))
    src = FileSource(path)
    assert src.compressed
    src.read(300_000)
    assert src.seek(1000) == 1000
    assert src.read(10) == PAYLOAD[1000:1010]
    assert src.seek(500_000) == 500_000
    assert src.read(10) == PAYLOAD[500_000:500_010]
    src.close()
    src.close()
    assert src.closed


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
@pytest.mark.parametrize("suffix", [".g3", ".g3.gz", ".g3.bz2", ".g3.xz"])
def test_closing_a_source_closes_its_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"x{suffix}"
    codec = compression_for_path(path)
    if codec is Compression.NONE:
        path.write_bytes(PAYLOAD)
    else:
        write_compressed(path, codec, [PAYLOAD])

    def open_on_path() -> int:
        n = 0
        for fd in Path("/proc/self/fd").iterdir():
            try:
                n += os.readlink(fd) == str(path)
            except OSError:  # closed meanwhile
                pass
        return n

    sources = [FileSource(path) for _ in range(20)]
    assert open_on_path() == 20
    for src in sources:
        src.read(100)
        src.close()
    assert open_on_path() == 0


def _gzip_cut_at_a_flush(tmp_path: Path) -> tuple[Path, Path, int]:
    """A gzip G3 file of 30 frames, and a copy cut at its flush after 20 (as a kill leaves it)."""
    whole, cut = tmp_path / "whole.g3.gz", tmp_path / "cut.g3.gz"
    with G3Writer(str(whole), flush_interval=None) as w:
        for i in range(30):
            f = G3Frame()
            f["i"] = i
            f["noise"] = random.Random(i).randbytes(3000).hex()
            w(f)
            if i == 19:
                w.Flush()
                committed = whole.stat().st_size
    cut.write_bytes(whole.read_bytes()[:committed])
    return whole, cut, committed


def test_a_gzip_file_cut_at_a_flush_is_ended_into_a_complete_file(tmp_path: Path):
    whole, cut, committed = _gzip_cut_at_a_flush(tmp_path)
    with pytest.raises(EOFError):  # no end of stream: every strict reader fails
        gzip.decompress(cut.read_bytes())
    assert end_gzip_at_sync_point(cut) is True
    assert cut.read_bytes()[:committed] == whole.read_bytes()[:committed]
    data = gzip.decompress(cut.read_bytes())
    assert data and gzip.decompress(whole.read_bytes()).startswith(data)
    assert [int(f["i"]) for f in G3Reader(str(cut))] == list(range(20))
    # a complete file is left alone
    before = cut.read_bytes()
    assert end_gzip_at_sync_point(cut) is False
    assert end_gzip_at_sync_point(whole) is False
    assert cut.read_bytes() == before


def test_a_gzip_file_cut_inside_a_block_is_refused_and_left_alone(tmp_path: Path):
    _, cut, committed = _gzip_cut_at_a_flush(tmp_path)
    os.truncate(cut, committed - 7)
    before = cut.read_bytes()
    with pytest.raises(CompressedDataError, match="sync point"):
        end_gzip_at_sync_point(cut)
    assert cut.read_bytes() == before
