"""The incremental frame decoder on good, cut, corrupted and hostile input.

Good streams must give the same frames however the bytes arrive (one at a
time, in random pieces, all at once).  Bad input must raise a typed
``G3FormatError`` carrying the offset of the problem, quickly and without
allocating memory in proportion to a length field.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import struct
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from g3stream import G3Frame, G3FrameType
from g3stream.codec.container import encode_frame_bytes
from g3stream.codec.decoder import FrameDecoder
from g3stream.errors import (
    CRCMismatchError,
    G3FormatError,
    InvalidEndianError,
    InvalidLengthError,
    TruncatedFrameError,
    UnsupportedVersionError,
)
from g3stream.objects import G3Bool, G3Int, G3Time
from g3stream.objects.vectors import G3VectorDouble, G3VectorInt

VECTORS = Path(__file__).parent.parent / "vectors"
_OPENERS = {"none": open, "gzip": gzip.open, "bzip2": bz2.open, "xz": lzma.open}


def _load_streams() -> dict[str, bytes]:
    out = {}
    for meta_path in sorted(VECTORS.glob("*.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        with _OPENERS[meta["compression"]](VECTORS / meta["file"], "rb") as fh:
            out[meta_path.stem] = fh.read()
    return out


STREAMS = _load_streams()
NAMES = sorted(STREAMS)


def frames_of(chunks: list[bytes]) -> list[tuple[int | None, bytes]]:
    """(stream offset, frame bytes) of every frame, feeding the chunks in turn."""
    dec = FrameDecoder()
    out = []
    for chunk in chunks:
        dec.feed(chunk)
        while (f := dec.next_frame()) is not None:
            raw = f.original_bytes
            assert raw is not None
            out.append((f.stream_offset, bytes(raw)))
    assert dec.at_boundary
    dec.close()
    return out


def one_shot(name: str) -> list[tuple[int | None, bytes]]:
    return frames_of([STREAMS[name]])


# -- good input -------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_byte_by_byte_equals_one_shot(name: str) -> None:
    """Every vector fed one byte at a time gives exactly the frames of a single feed."""
    data = STREAMS[name]
    whole = one_shot(name)
    assert b"".join(raw for _, raw in whole) == data
    assert frames_of([data[i : i + 1] for i in range(len(data))]) == whole


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(NAMES), st.lists(st.integers(1, 700), max_size=40))
def test_random_pieces_equal_one_shot(name: str, sizes: list[int]) -> None:
    """Any cutting of a stream into pieces gives the same frames and offsets."""
    data = STREAMS[name]
    chunks, pos = [], 0
    for n in sizes:
        chunks.append(data[pos : pos + n])
        pos += n
    chunks.append(data[pos:])
    assert frames_of(chunks) == one_shot(name)


def test_empty_stream_has_no_frames() -> None:
    """An empty stream is legal and ends at a frame boundary."""
    dec = FrameDecoder()
    dec.feed(b"")
    assert dec.next_frame() is None and dec.at_boundary
    dec.close()


def test_worked_examples_byte_for_byte() -> None:
    """The frames of FORMAT.md sections 14.1 and 14.2, built here, are exactly those bytes."""
    f = G3Frame(G3FrameType.Scan)
    f["a"] = G3Bool(True)
    blob = bytes.fromhex("01 01000080 0600000000000000") + b"G3Bool"
    blob += bytes.fromhex("01000080 01000000 01000000 01")
    want = bytes.fromhex("01 01000000 01000000 53000000 0100000000000000") + b"a"
    want += struct.pack("<Q", len(blob)) + blob + bytes.fromhex("0f34f6a0")
    assert len(want) == 66
    assert encode_frame_bytes(f) == want

    f = G3Frame(G3FrameType.Timepoint)
    f["n"] = G3VectorInt([1, -2, 300])
    f["t"] = G3Time(100000000)
    data = encode_frame_bytes(f)
    t_blob = bytes.fromhex("01 01000080 0600000000000000") + b"G3Time"
    t_blob += bytes.fromhex("01000080 01000000 01000000 00e1f50500000000")
    n_blob = bytes.fromhex("01 01000080 0b00000000000000") + b"G3VectorInt"
    n_blob += bytes.fromhex("01000080 02000000 01000000 10000000 0300000000000000 0100 feff 2c01")
    want = bytes.fromhex("01 01000000 02000000 54000000")
    want += struct.pack("<Q", 1) + b"t" + struct.pack("<Q", len(t_blob)) + t_blob
    want += struct.pack("<Q", 1) + b"n" + struct.pack("<Q", len(n_blob)) + n_blob
    want += bytes.fromhex("e82a24dd")
    assert data == want


# -- cut input ----------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(NAMES), st.data())
def test_stream_cut_inside_a_frame(name: str, data: st.DataObject) -> None:
    """A stream that stops inside a frame yields the complete frames, then a typed error."""
    frames = one_shot(name)
    bounds = set()
    pos = 0
    for _, raw in frames:
        pos += len(raw)
        bounds.add(pos)
    stream = STREAMS[name]
    cut = data.draw(st.integers(1, len(stream) - 1).filter(lambda n: n not in bounds))
    dec = FrameDecoder()
    dec.feed(stream[:cut])
    got = dec.frames()
    assert len(got) == sum(1 for b in bounds if b <= cut)
    assert not dec.at_boundary
    with pytest.raises(TruncatedFrameError) as info:
        dec.close()
    assert info.value.offset == max([0, *(b for b in bounds if b <= cut)])


# -- corrupted input ------------------------------------------------------------------


def _two_frames() -> tuple[bytes, bytes]:
    f1 = G3Frame(G3FrameType.Scan)
    f1["x"] = G3VectorDouble([1.0, 2.0])
    f2 = G3Frame(G3FrameType.Timepoint)
    f2["y"] = G3Int(5)
    return encode_frame_bytes(f1), encode_frame_bytes(f2)


def test_crc_mismatch_is_reported_and_the_next_frame_is_still_read() -> None:
    """A flipped blob byte fails the CRC check; framing is intact, so decoding goes on."""
    a, b = _two_frames()
    bad = bytearray(a)
    bad[-10] ^= 0x40
    dec = FrameDecoder()
    dec.feed(bytes(bad) + b)
    with pytest.raises(CRCMismatchError) as info:
        dec.next_frame()
    assert info.value.offset == 0
    f = dec.next_frame()
    assert f is not None and f["y"] == 5 and f.stream_offset == len(a)


def test_crc_check_can_be_turned_off() -> None:
    """With verification off, a frame with a wrong CRC is returned."""
    a, _ = _two_frames()
    bad = a[:-4] + b"\0\0\0\0"
    dec = FrameDecoder(verify_crc=False)
    dec.feed(bad)
    assert dec.next_frame() is not None


@pytest.mark.parametrize("flag", [2, 0x7F, 0xFF])
def test_bad_endianness_flag(flag: int) -> None:
    """A container flag other than 0/1 is refused at the offset of the frame."""
    a, b = _two_frames()
    dec = FrameDecoder()
    dec.feed(a + bytes([flag]) + b[1:])
    assert dec.next_frame() is not None
    with pytest.raises(InvalidEndianError) as info:
        dec.next_frame()
    assert info.value.offset == len(a)


def test_newer_frame_version_is_refused() -> None:
    """A G3Frame version above 1 is refused."""
    a, _ = _two_frames()
    dec = FrameDecoder()
    dec.feed(a[:1] + struct.pack("<I", 2) + a[5:])
    with pytest.raises(UnsupportedVersionError):
        dec.next_frame()


def test_big_endian_container() -> None:
    """A big-endian container (header, lengths, CRC) decodes like a little-endian one."""
    data = STREAMS["bigendian"]
    assert data[0] == 0
    (f,) = [fr for fr in FrameDecoder_frames(data)]
    assert f.type == G3FrameType.Scan
    assert f["int"] == -123456789012
    # re-written, the container becomes little-endian with the same blobs
    out = encode_frame_bytes(f)
    assert out[0] == 1
    for key in f.keys():
        assert bytes(f.blob(key)) in out  # type: ignore[arg-type]


def FrameDecoder_frames(data: bytes) -> list[G3Frame]:
    dec = FrameDecoder()
    dec.feed(data)
    out = dec.frames()
    dec.close()
    return out


# -- hostile input: lengths that would need huge allocations ---------------------


def _quick_and_small(data: bytes, exc: type[BaseException], **kw: int) -> G3FormatError:
    """Decode ``data``: must raise ``exc`` within 1 s and allocate under 1 MB."""
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(exc) as info:
            dec = FrameDecoder(**kw)
            dec.feed(data)
            dec.next_frame()
            dec.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - t0 < 1.0
    assert peak < 1 << 20
    assert isinstance(info.value, G3FormatError)
    return info.value


def _header(n: int, little: bool = True) -> bytes:
    o = "<" if little else ">"
    return (b"\x01" if little else b"\x00") + struct.pack(o + "IiI", 1, n, 0x53)


@pytest.mark.parametrize("little", [True, False])
def test_hostile_blob_length(little: bool) -> None:
    """A blob length of 2^62 is refused at once, not waited for or allocated."""
    o = "<" if little else ">"
    data = _header(1, little) + struct.pack(o + "Q", 1) + b"k" + struct.pack(o + "Q", 1 << 62)
    err = _quick_and_small(data + b"\x01" * 100, InvalidLengthError)
    assert err.offset == 22


def test_hostile_name_length() -> None:
    """A key length of 2^63 is refused at once."""
    data = _header(1) + struct.pack("<Q", 1 << 63) + b"x" * 64
    _quick_and_small(data, InvalidLengthError)


def test_hostile_entry_count() -> None:
    """An entry count that cannot fit in the frame size limit is refused."""
    _quick_and_small(_header(2**31 - 1) + b"\0" * 64, InvalidLengthError, max_frame_size=1 << 20)
    _quick_and_small(_header(-5) + b"\0" * 64, InvalidLengthError)


def test_frame_over_the_size_limit() -> None:
    """A blob larger than max_frame_size is refused before it arrives."""
    data = _header(1) + struct.pack("<Q", 1) + b"k" + struct.pack("<Q", 5000)
    _quick_and_small(data, InvalidLengthError, max_frame_size=4096)
