"""G3Writer and G3File: bytes written, streams filter, EndProcessing, lifetime."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from pathlib import Path

import numpy as np
import pytest

from g3stream import G3File, G3Frame, G3FrameType, G3Reader, G3Writer
from g3stream.codec.container import encode_frame_bytes

DECOMPRESS = {".g3": bytes, ".gz": gzip.decompress, ".bz2": bz2.decompress, ".xz": lzma.decompress}


@pytest.mark.parametrize("suffix", [".g3", ".g3.gz", ".g3.bz2", ".g3.xz"])
def test_written_stream_is_the_concatenated_frame_encodings(
    tmp_path: Path, make_frame, stream_of, suffix: str
) -> None:
    frames = [make_frame(i, size=1000 * i) for i in range(5)]
    path = tmp_path / f"out{suffix}"
    w = G3Writer(str(path))
    for f in frames:
        assert w(f) == [f]
    w(G3Frame(G3FrameType.EndProcessing))
    assert w.closed
    assert DECOMPRESS[path.suffix](path.read_bytes()) == stream_of(frames)
    back = list(G3File(path))
    assert [f["index"] for f in back] == list(range(5))
    assert [len(f["samples"]) for f in back] == [1000 * i for i in range(5)]


def test_large_numpy_payloads_are_written_intact(tmp_path: Path) -> None:
    from g3stream import G3VectorDouble

    data = np.random.default_rng(3).standard_normal(3_000_000)
    f = G3Frame(G3FrameType.Scan)
    f["big"] = G3VectorDouble(data)
    path = tmp_path / "big.g3"
    with G3Writer(path, buffersize=4096) as w:
        w(f)
    (back,) = list(G3File(path))
    np.testing.assert_array_equal(np.asarray(back["big"]), data)
    assert path.read_bytes() == encode_frame_bytes(f)


def test_streams_filter_passes_every_frame_on(tmp_path: Path, make_frame) -> None:
    path = tmp_path / "filtered.g3"
    frames = [
        make_frame(0, G3FrameType.Observation),
        make_frame(1, G3FrameType.Scan),
        make_frame(2, G3FrameType.Timepoint),
        make_frame(3, G3FrameType.Scan),
    ]
    with G3Writer(path, streams=[G3FrameType.Scan, "Observation"]) as w:
        out = [w(f)[0] for f in frames]
    assert out == frames
    assert [f["index"] for f in G3File(path)] == [0, 1, 3]


def test_end_processing_is_not_written_and_closes(tmp_path: Path, make_frame) -> None:
    path = tmp_path / "ep.g3.gz"
    w = G3Writer(path)
    w(make_frame(0))
    end = G3Frame(G3FrameType.EndProcessing)
    assert w(end) == [end]
    # the gzip member is complete: the file is readable now
    assert [f.type for f in G3File(path)] == [G3FrameType.Scan]
    assert w(end) == [end]  # a second one is harmless
    with pytest.raises(ValueError, match="closed"):
        w(make_frame(1))


def test_context_manager_and_del_finish_compressed_files(tmp_path: Path, make_frame) -> None:
    a, b = tmp_path / "a.g3.xz", tmp_path / "b.g3.bz2"
    with G3Writer(a) as w:
        w(make_frame(0))
    assert w.closed
    assert len(list(G3File(a))) == 1
    w2 = G3Writer(str(b))
    w2(make_frame(1))
    del w2
    assert [f["index"] for f in G3File(b)] == [1]


def test_tell_gives_offsets_the_reader_can_seek_to(tmp_path: Path, make_frame) -> None:
    path = tmp_path / "t.g3"
    marks = []
    with G3Writer(path) as w:
        assert w.tell() == 0
        for i in range(4):
            marks.append(w.tell())
            w(make_frame(i, size=i * 10))
    reader = G3Reader(path)
    reader.seek(marks[2])
    assert [f["index"] for f in reader] == [2, 3]


def test_flush_makes_frames_readable_while_writing(tmp_path: Path, make_frame) -> None:
    for suffix in (".g3", ".g3.gz"):
        path = tmp_path / f"live{suffix}"
        w = G3Writer(path)
        w(make_frame(0))
        w.Flush()
        data = path.read_bytes()
        if suffix == ".g3.gz":
            data = gzip.GzipFile(fileobj=io.BytesIO(data)).read1(1 << 20)
        assert data == encode_frame_bytes(make_frame(0))
        w(make_frame(1))
        w.flush()
        w.Close()
        w.close()
        assert [f["index"] for f in G3File(path)] == [0, 1]


def test_append(tmp_path: Path, make_frame) -> None:
    path = tmp_path / "app.g3"
    with G3Writer(path) as w:
        w(make_frame(0))
    size = path.stat().st_size
    with G3Writer(path, append=True) as w:
        assert w.tell() == size
        w(make_frame(1))
    assert [f["index"] for f in G3File(path)] == [0, 1]
    with G3Writer(path) as w:  # without append the file starts over
        w(make_frame(2))
    assert [f["index"] for f in G3File(path)] == [2]


def test_append_to_compressed_file_is_refused(tmp_path: Path, make_frame) -> None:
    path = tmp_path / "app.g3.gz"
    with G3Writer(path) as w:
        w(make_frame(0))
    with pytest.raises(ValueError, match="compressed"):
        G3Writer(path, append=True)
    assert [f["index"] for f in G3File(path)] == [0]


def test_frames_read_and_written_again_keep_their_blobs(tmp_path: Path, make_frame) -> None:
    first = tmp_path / "first.g3"
    frames = [make_frame(i) for i in range(3)]
    with G3Writer(first) as w:
        for f in frames:
            w(f)
    second = tmp_path / "second.g3.gz"
    with G3Writer(second) as w:
        for f in G3File(first):
            w(f)
    assert gzip.decompress(second.read_bytes()) == b"".join(
        encode_frame_bytes(f) for f in G3File(first)
    )


def test_g3file_iterates_and_closes(tmp_path: Path, make_frame, stream_of) -> None:
    path = tmp_path / "f.g3"
    path.write_bytes(stream_of([make_frame(i) for i in range(3)]))
    with G3File(str(path)) as f:
        assert next(f)["index"] == 0
        assert f.next()["index"] == 1
    assert f.reader is None
    assert list(f) == []
    assert [fr["index"] for fr in G3File(path)] == [0, 1, 2]
    assert list(G3File([path, path]))[-1]["index"] == 2


@pytest.mark.parametrize("suffix", [".g3", ".g3.gz"])
def test_frames_of_many_large_buffers_are_written_intact(tmp_path: Path, suffix: str) -> None:
    from g3stream import G3VectorDouble

    rng = np.random.default_rng(11)
    frames = []
    for i in range(3):
        f = G3Frame(G3FrameType.Scan)
        for j in range(40):
            f[f"v{j:02d}"] = G3VectorDouble(rng.standard_normal(5000 + i))
        frames.append(f)
    small = G3Frame(G3FrameType.Timepoint)
    small["n"] = 1
    path = tmp_path / f"many{suffix}"
    with G3Writer(path) as w:
        w(small)
        for f in frames:
            w(f)
            w(small)
    expected = b"".join(
        encode_frame_bytes(f) for f in [small, *(x for f in frames for x in (f, small))]
    )
    assert DECOMPRESS[path.suffix](path.read_bytes()) == expected


@pytest.mark.parametrize("name", ["out.dat", "out", "out.gz", "out.g3.zst", "out.G3"])
def test_only_g3_file_names_are_written(tmp_path: Path, name: str) -> None:
    # as in spt3g: the suffix chooses the codec, so an unknown one is an error
    with pytest.raises(ValueError, match=r"\.g3"):
        G3Writer(tmp_path / name)
    assert not (tmp_path / name).exists()


def test_any_name_is_read_as_a_plain_stream(tmp_path: Path, make_frame, stream_of) -> None:
    path = tmp_path / "capture.bin"
    path.write_bytes(stream_of([make_frame(0), make_frame(1)]))
    assert [f["index"] for f in G3File(path)] == [0, 1]


def test_frames_read_through_a_memory_map_are_written_like_any_other(
    tmp_path: Path, make_frame
) -> None:
    source = tmp_path / "source.g3"
    with G3Writer(source) as w:
        for i in range(4):
            w(make_frame(i, size=100_000 * (i % 2)))
    mapped = list(G3Reader(source, buffersize=4096, mmap=True))
    plain = list(G3Reader(source))
    source.unlink()  # an unlinked file stays mapped while frames use it
    a, b = tmp_path / "a.g3", tmp_path / "b.g3"
    with G3Writer(a) as w:
        for f in mapped:
            w(f)
    with G3Writer(b) as w:
        for f in plain:
            w(f)
    assert a.read_bytes() == b.read_bytes()
    assert [f["index"] for f in G3File(a)] == [0, 1, 2, 3]
