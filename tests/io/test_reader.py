"""G3Reader: vectors, lists, the module protocol, typed errors, tell/seek."""

from __future__ import annotations

import bz2
import gzip
import json
import logging
import lzma
from pathlib import Path

import numpy as np
import pytest

from g3stream import (
    CRCMismatchError,
    G3Frame,
    G3FrameType,
    G3Reader,
    InvalidEndianError,
    InvalidLengthError,
    TruncatedFrameError,
)
from g3stream.codec.container import encode_frame_bytes
from g3stream.io.reader import ReaderSeekError

VECTORS = Path(__file__).parent.parent / "vectors"
VECTOR_FILES = sorted(p for p in VECTORS.iterdir() if ".g3" in p.name)
DECOMPRESS = {".gz": gzip.decompress, ".bz2": bz2.decompress, ".xz": lzma.decompress}


def stream_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return DECOMPRESS.get(path.suffix, lambda b: b)(data)


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda p: p.name)
def test_every_vector_reads_to_its_frames_and_bytes(path: Path) -> None:
    with open(VECTORS / (path.name.split(".")[0] + ".json"), encoding="utf-8") as fh:
        expected = json.load(fh)
    frames = list(G3Reader(str(path)))
    assert len(frames) == len(expected["frames"])
    offset = 0
    raw = stream_bytes(path)
    for frame, want in zip(frames, expected["frames"], strict=True):
        assert int(frame.type) == want["type_code"]
        assert frame.stream_offset == offset
        original = bytes(frame.original_bytes)
        assert original == raw[offset : offset + len(original)]
        assert (
            int.from_bytes(original[-4:], "little" if want["endian"] == "little" else "big")
            == (want["crc"])
        )
        offset += len(original)
    assert offset == len(raw)


def test_a_list_is_read_in_order_and_empty_files_are_skipped(
    tmp_path: Path, make_frame, stream_of, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = tmp_path / "a.g3", tmp_path / "b.g3.gz"
    empty = tmp_path / "empty.g3"
    a.write_bytes(stream_of([make_frame(0), make_frame(1)]))
    b.write_bytes(gzip.compress(stream_of([make_frame(2)])))
    empty.write_bytes(b"")
    with caplog.at_level(logging.WARNING, logger="g3stream.io.reader"):
        frames = list(G3Reader([str(empty), str(a), empty, b, str(empty)]))
    assert [f["index"] for f in frames] == [0, 1, 2]
    skipped = [r for r in caplog.records if "empty" in r.getMessage()]
    assert len(skipped) == 3
    assert str(empty) in skipped[0].getMessage()


def test_only_empty_files_give_no_frames(tmp_path: Path) -> None:
    empty = tmp_path / "empty.g3.xz"
    empty.write_bytes(lzma.compress(b""))
    reader = G3Reader(empty)
    assert reader(None) == []
    assert reader(None) == []


def test_module_protocol(tmp_path: Path, make_frame, stream_of) -> None:
    path = tmp_path / "m.g3"
    path.write_bytes(stream_of([make_frame(i) for i in range(3)]))
    reader = G3Reader(str(path))
    assert reader.__g3module__ is True
    got = [reader(None) for _ in range(5)]
    assert [len(x) for x in got] == [1, 1, 1, 0, 0]
    assert [x[0]["index"] for x in got[:3]] == [0, 1, 2]


def test_given_a_frame_the_reader_prepends_the_whole_file(
    tmp_path: Path, make_frame, stream_of
) -> None:
    path = tmp_path / "m.g3"
    path.write_bytes(stream_of([make_frame(i) for i in range(3)]))
    reader = G3Reader(str(path))
    incoming = G3Frame(G3FrameType.Housekeeping)
    out = reader.Process(incoming)
    assert [f.type for f in out] == [G3FrameType.Scan] * 3 + [G3FrameType.Housekeeping]
    assert out[-1] is incoming
    again = G3Frame(G3FrameType.Calibration)
    assert reader(again) == [again]


def test_n_frames_to_read(tmp_path: Path, make_frame, stream_of) -> None:
    a, b = tmp_path / "a.g3", tmp_path / "b.g3"
    a.write_bytes(stream_of([make_frame(0), make_frame(1)]))
    b.write_bytes(stream_of([make_frame(2), make_frame(3)]))
    reader = G3Reader([a, b], n_frames_to_read=3)
    assert [len(reader(None)) for _ in range(5)] == [1, 1, 1, 0, 0]
    assert [f["index"] for f in G3Reader([a, b], 3)] == [0, 1, 2]


def test_track_filename(tmp_path: Path, make_frame, stream_of) -> None:
    a, b = tmp_path / "a.g3", tmp_path / "b.g3.bz2"
    a.write_bytes(stream_of([make_frame(0)]))
    b.write_bytes(bz2.compress(stream_of([make_frame(1), make_frame(2)])))
    frames = list(G3Reader([str(a), str(b)], track_filename=True))
    assert [f._filename for f in frames] == [str(a), str(b), str(b)]
    assert G3Frame()._filename == ""
    untracked = next(iter(G3Reader(str(a))))
    assert untracked._filename == ""


def test_missing_file_and_empty_list(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        G3Reader(str(tmp_path / "missing.g3"))
    with pytest.raises(ValueError):
        G3Reader([])


def test_a_missing_file_later_in_a_list_fails_when_reached(
    tmp_path: Path, make_frame, stream_of
) -> None:
    a = tmp_path / "a.g3"
    a.write_bytes(stream_of([make_frame(0)]))
    reader = G3Reader([a, tmp_path / "missing.g3"])
    assert reader(None)[0]["index"] == 0
    with pytest.raises(FileNotFoundError):
        reader(None)


@pytest.mark.parametrize("suffix", [".g3", ".g3.gz", ".g3.bz2", ".g3.xz"])
def test_truncated_file_names_file_and_frame_offset(
    tmp_path: Path, make_frame, stream_of, suffix: str
) -> None:
    frames = [make_frame(i) for i in range(3)]
    data = stream_of(frames)
    second = len(encode_frame_bytes(frames[0]))
    third = second + len(encode_frame_bytes(frames[1]))
    compress = {
        ".g3": bytes,
        ".g3.gz": gzip.compress,
        ".g3.bz2": bz2.compress,
        ".g3.xz": lzma.compress,
    }[suffix]
    for cut in (third + 1, third + 13, len(data) - 1):
        path = tmp_path / f"cut{cut}{suffix}"
        path.write_bytes(compress(data[:cut]))
        reader = G3Reader(str(path))
        assert reader(None)[0]["index"] == 0
        assert reader(None)[0]["index"] == 1
        with pytest.raises(TruncatedFrameError) as info:
            reader(None)
        assert info.value.offset == third
        assert str(path) in str(info.value)
        assert info.value.filename == str(path)
        assert reader(None) == []


def test_crc_error_names_file_and_offset_after_good_frames(
    tmp_path: Path, make_frame, stream_of
) -> None:
    frames = [make_frame(i) for i in range(4)]
    data = bytearray(stream_of(frames))
    second = len(encode_frame_bytes(frames[0]))
    data[second + 40] ^= 0x01  # inside the second frame's first entry
    path = tmp_path / "crc.g3"
    path.write_bytes(bytes(data))
    reader = G3Reader(path)
    assert reader(None)[0]["index"] == 0
    with pytest.raises(CRCMismatchError) as info:
        reader(None)
    assert info.value.offset == second
    assert str(path) in str(info.value)
    # the framing survived: the frames after the damaged one are still read
    assert [f["index"] for f in reader] == [2, 3]


def test_garbage_is_rejected_at_once_without_allocating(tmp_path: Path) -> None:
    path = tmp_path / "html.g3"
    path.write_bytes(b"<html><body>not a G3 file</body></html>\n" * 100)
    with pytest.raises(InvalidEndianError) as info:
        list(G3Reader(path))
    assert info.value.offset == 0
    assert "html.g3" in str(info.value)
    huge = tmp_path / "huge.g3"
    # a plausible header claiming one entry whose key is 2**62 bytes long
    huge.write_bytes(
        b"\x01"
        + (1).to_bytes(4, "little")
        + (1).to_bytes(4, "little")
        + b"S\0\0\0"
        + (1 << 62).to_bytes(8, "little")
    )
    with pytest.raises(InvalidLengthError) as info2:
        list(G3Reader(huge))
    assert info2.value.offset == 13
    assert "huge.g3" in str(info2.value)


def test_max_frame_size_is_passed_to_the_decoder(tmp_path: Path, make_frame, stream_of) -> None:
    path = tmp_path / "big.g3"
    path.write_bytes(stream_of([make_frame(0, size=100_000)]))
    with pytest.raises(InvalidLengthError):
        list(G3Reader(path, max_frame_size=10_000))
    assert len(list(G3Reader(path, max_frame_size=1_000_000))) == 1


def test_unknown_options_for_files_are_refused(tmp_path: Path, make_frame, stream_of) -> None:
    path = tmp_path / "a.g3"
    path.write_bytes(stream_of([make_frame(0)]))
    with pytest.raises(TypeError):
        G3Reader(path, bogus_option=1)


def test_large_frames_across_many_reads(tmp_path: Path, make_frame, stream_of) -> None:
    frames = [make_frame(i, size=300_000 + i) for i in range(4)]
    path = tmp_path / "large.g3"
    data = stream_of(frames)
    path.write_bytes(data)
    for buffersize in (1, 7, 4096, 1 << 20):
        got = list(G3Reader(path, buffersize=buffersize))
        assert b"".join(bytes(f.original_bytes) for f in got) == data
        assert [len(f["samples"]) for f in got] == [300_000 + i for i in range(4)]


@pytest.mark.parametrize("suffix", [".g3", ".g3.gz"])
def test_tell_and_seek(tmp_path: Path, make_frame, stream_of, suffix: str) -> None:
    frames = [make_frame(i) for i in range(5)]
    data = stream_of(frames)
    path = tmp_path / f"t{suffix}"
    path.write_bytes(gzip.compress(data) if suffix == ".g3.gz" else data)
    sizes = [len(encode_frame_bytes(f)) for f in frames]
    starts = [sum(sizes[:i]) for i in range(6)]
    reader = G3Reader(str(path))
    assert reader.tell() == 0
    offsets = []
    for _ in range(5):
        reader(None)
        offsets.append(reader.tell())
    assert offsets == starts[1:]
    # seek back to the third frame and read on from there
    assert reader.seek(starts[2]) == starts[2]
    assert reader.tell() == starts[2]
    assert [f["index"] for f in reader] == [2, 3, 4]
    # at the end, tell is -1 and only seek(tell()) is accepted, as in spt3g
    assert reader.tell() == -1
    assert reader.seek(-1) == -1
    with pytest.raises(ReaderSeekError):
        reader.seek(0)


def test_seek_in_the_middle_of_a_list_applies_to_the_current_file(
    tmp_path: Path, make_frame, stream_of
) -> None:
    a, b = tmp_path / "a.g3", tmp_path / "b.g3"
    a.write_bytes(stream_of([make_frame(0), make_frame(1)]))
    b.write_bytes(stream_of([make_frame(2), make_frame(3)]))
    reader = G3Reader([a, b])
    assert [reader(None)[0]["index"] for _ in range(3)] == [0, 1, 2]
    reader.seek(0)
    assert [f["index"] for f in reader] == [2, 3]


def test_seek_discards_frames_read_ahead(tmp_path: Path, make_frame, stream_of) -> None:
    path = tmp_path / "a.g3"
    frames = [make_frame(i) for i in range(10)]
    path.write_bytes(stream_of(frames))
    reader = G3Reader(path)
    assert reader(None)[0]["index"] == 0  # the reader decoded all ten already
    mark = reader.tell()
    assert reader(None)[0]["index"] == 1
    assert reader(None)[0]["index"] == 2
    reader.seek(mark)
    assert reader(None)[0]["index"] == 1


def test_close_and_context_manager(tmp_path: Path, make_frame, stream_of) -> None:
    path = tmp_path / "a.g3"
    path.write_bytes(stream_of([make_frame(0), make_frame(1)]))
    with G3Reader(path) as reader:
        assert reader(None)[0]["index"] == 0
    assert reader(None) == []
    assert reader.tell() == -1
    assert reader.port is None


def mixed_frames(make_frame) -> list[G3Frame]:
    """Small and large frames, some with several large entries."""
    from g3stream import G3VectorDouble

    frames = []
    for i in range(8):
        f = make_frame(i, size=200_000 if i % 3 == 1 else 10)
        if i % 4 == 2:
            f["more"] = G3VectorDouble(np.full(150_000, float(i)))
            f["most"] = G3VectorDouble(np.full(120_000, -float(i)))
        frames.append(f)
    return frames


@pytest.mark.parametrize("buffersize", [4096, 65536, 1 << 20])
def test_large_and_multi_entry_frames_read_exactly(
    tmp_path: Path, make_frame, stream_of, buffersize: int
) -> None:
    frames = mixed_frames(make_frame)
    data = stream_of(frames)
    path = tmp_path / "mixed.g3"
    path.write_bytes(data)
    reader = G3Reader(path, buffersize=buffersize)
    got = list(reader)
    assert b"".join(bytes(f.original_bytes) for f in got) == data
    assert [f["index"] for f in got] == list(range(8))
    np.testing.assert_array_equal(np.asarray(got[2]["most"]), np.full(120_000, -2.0))
    starts = np.cumsum([0] + [len(encode_frame_bytes(f)) for f in frames])
    assert [f.stream_offset for f in got] == list(starts[:-1])


def test_corrupt_large_frame_is_reported_and_skipped(tmp_path: Path, make_frame, stream_of) -> None:
    frames = mixed_frames(make_frame)
    sizes = [len(encode_frame_bytes(f)) for f in frames]
    data = bytearray(stream_of(frames))
    start = sum(sizes[:4])  # frame 4 is large
    data[start + sizes[4] // 2] ^= 0xFF
    path = tmp_path / "bad-large.g3"
    path.write_bytes(bytes(data))
    reader = G3Reader(path, buffersize=4096)
    assert [reader(None)[0]["index"] for _ in range(4)] == [0, 1, 2, 3]
    with pytest.raises(CRCMismatchError) as info:
        reader(None)
    assert info.value.offset == start
    assert str(path) in str(info.value)
    assert [f["index"] for f in reader] == [5, 6, 7]


@pytest.mark.parametrize("mapped", [False, True])
@pytest.mark.parametrize("missing", [1, 5000, 100_000])
def test_truncated_large_frame(
    tmp_path: Path, make_frame, stream_of, missing: int, mapped: bool
) -> None:
    frames = mixed_frames(make_frame)[:5]
    data = stream_of(frames)
    start = sum(len(encode_frame_bytes(f)) for f in frames[:4])
    path = tmp_path / "cut-large.g3"
    path.write_bytes(data[:-missing])
    reader = G3Reader(path, buffersize=4096, mmap=mapped)
    assert len([reader(None) for _ in range(4)]) == 4
    with pytest.raises(TruncatedFrameError) as info:
        reader(None)
    assert info.value.offset == start
    assert info.value.filename == str(path)


def test_seek_among_large_frames(tmp_path: Path, make_frame, stream_of) -> None:
    frames = mixed_frames(make_frame)
    path = tmp_path / "seek-large.g3"
    path.write_bytes(stream_of(frames))
    reader = G3Reader(path, buffersize=4096)
    marks = []
    for _ in range(8):
        marks.append(reader.tell())
        reader(None)
    for i in (4, 1, 7, 0):
        reader.seek(marks[i])
        assert reader(None)[0]["index"] == i


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda p: p.name)
def test_memory_mapped_reading_gives_the_same_frames(path: Path) -> None:
    plain = list(G3Reader(path, buffersize=64))
    mapped = list(G3Reader(path, buffersize=64, mmap=True))
    assert [bytes(f.original_bytes) for f in mapped] == [bytes(f.original_bytes) for f in plain]
    assert [sorted(f.keys()) for f in mapped] == [sorted(f.keys()) for f in plain]


def test_memory_mapped_large_frames_outlive_the_reader(
    tmp_path: Path, make_frame, stream_of
) -> None:
    frames = mixed_frames(make_frame)
    data = stream_of(frames)
    path = tmp_path / "mapped.g3"
    path.write_bytes(data)
    with G3Reader(path, buffersize=4096, mmap=True) as reader:
        got = list(reader)
    # the reader and its file are closed; the frames still see their bytes
    assert isinstance(got[1].original_bytes, memoryview)
    assert b"".join(bytes(f.original_bytes) for f in got) == data
    np.testing.assert_array_equal(np.asarray(got[4]["samples"]), np.arange(200_000) + 4.0)
    assert got[2]["label"] == "frame 2"
    del got


def test_memory_mapped_corrupt_large_frame(tmp_path: Path, make_frame, stream_of) -> None:
    frames = mixed_frames(make_frame)
    sizes = [len(encode_frame_bytes(f)) for f in frames]
    data = bytearray(stream_of(frames))
    start = sum(sizes[:1])
    data[start + sizes[1] - 100] ^= 0x10
    path = tmp_path / "bad-mapped.g3"
    path.write_bytes(bytes(data))
    reader = G3Reader(path, buffersize=4096, mmap=True)
    assert reader(None)[0]["index"] == 0
    with pytest.raises(CRCMismatchError) as info:
        reader(None)
    assert info.value.offset == start
    assert [f["index"] for f in reader] == list(range(2, 8))


def test_a_huge_length_field_is_not_allocated(tmp_path: Path) -> None:
    import tracemalloc

    # one entry named "x" whose blob claims 1.5 GB, in a file of 120 bytes
    head = b"\x01" + (1).to_bytes(4, "little") + (1).to_bytes(4, "little") + b"S\0\0\0"
    entry = (1).to_bytes(8, "little") + b"x" + (1_500_000_000).to_bytes(8, "little")
    path = tmp_path / "liar.g3"
    path.write_bytes(head + entry + b"\0" * 90)
    for mapped in (False, True):
        tracemalloc.start()
        try:
            with pytest.raises(TruncatedFrameError) as info:
                list(G3Reader(path, mmap=mapped))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert info.value.offset == 0
        assert peak < 32 << 20


def test_a_lying_second_entry_is_not_allocated_either(tmp_path: Path) -> None:
    import tracemalloc

    blob = b"\x01" + bytes(300_000)
    head = b"\x01" + (1).to_bytes(4, "little") + (2).to_bytes(4, "little") + b"S\0\0\0"
    first = (1).to_bytes(8, "little") + b"a" + len(blob).to_bytes(8, "little") + blob
    second = (1).to_bytes(8, "little") + b"b" + (1_500_000_000).to_bytes(8, "little")
    path = tmp_path / "liar2.g3"
    path.write_bytes(head + first + second + b"\0" * 50)
    for mapped in (False, True):
        tracemalloc.start()
        try:
            with pytest.raises(TruncatedFrameError):
                list(G3Reader(path, buffersize=4096, mmap=mapped))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 32 << 20
