"""Files against the real spt3g: each reads what the other writes, byte for byte."""

from __future__ import annotations

import bz2
import gzip
import lzma
from pathlib import Path

import numpy as np
import pytest

from g3stream import (
    G3File,
    G3Frame,
    G3FrameType,
    G3MultiFileWriter,
    G3Reader,
    G3Time,
    G3Timestream,
    G3TimestreamMap,
    G3VectorDouble,
    G3VectorInt,
    G3VectorString,
    G3Writer,
)
from g3stream.io.compression import end_gzip_at_sync_point

core = pytest.importorskip("spt3g.core")

pytestmark = pytest.mark.reference

VECTORS = Path(__file__).parent.parent / "vectors"
VECTOR_FILES = sorted(p for p in VECTORS.iterdir() if ".g3" in p.name)
DECOMPRESS = {".g3": bytes, ".gz": gzip.decompress, ".bz2": bz2.decompress, ".xz": lzma.decompress}
SUFFIXES = [".g3", ".g3.gz", ".g3.bz2", ".g3.xz"]
TICKS = 1_700_000_000 * 100_000_000


def ours(i: int, ftype: str = "Scan") -> G3Frame:
    f = G3Frame(G3FrameType.names[ftype])
    f["index"] = i
    f["value"] = i * 0.25 - 3.0
    f["label"] = f"frame {i} \u00e9\u6f22"
    f["flag"] = bool(i % 2)
    f["when"] = G3Time(TICKS + i)
    f["samples"] = G3VectorDouble(np.linspace(-1.0, 1.0, 50 + i))
    f["counts"] = G3VectorInt(np.arange(i, i + 9, dtype=np.int64) * -(2**40))
    f["names"] = G3VectorString([f"n{j}" for j in range(i % 4)])
    return f


def theirs(i: int, ftype: str = "Scan"):
    f = core.G3Frame(getattr(core.G3FrameType, ftype))
    f["index"] = i
    f["value"] = i * 0.25 - 3.0
    f["label"] = f"frame {i} \u00e9\u6f22"
    f["flag"] = bool(i % 2)
    f["when"] = core.G3Time(TICKS + i)
    f["samples"] = core.G3VectorDouble(np.linspace(-1.0, 1.0, 50 + i))
    f["counts"] = core.G3VectorInt(np.arange(i, i + 9, dtype=np.int64) * -(2**40))
    f["names"] = core.G3VectorString([f"n{j}" for j in range(i % 4)])
    return f


def check_same(mine, ref) -> None:
    """One g3stream frame against one spt3g frame, value by value."""
    assert str(mine.type) == str(ref.type)
    assert sorted(mine.keys()) == sorted(ref.keys())
    assert mine["index"] == ref["index"]
    assert mine["value"] == ref["value"]
    assert mine["label"] == ref["label"]
    assert mine["flag"] == ref["flag"]
    assert mine["when"].time == ref["when"].time
    np.testing.assert_array_equal(np.asarray(mine["samples"]), np.asarray(ref["samples"]))
    np.testing.assert_array_equal(np.asarray(mine["counts"]), np.asarray(ref["counts"]))
    assert list(mine["names"]) == list(ref["names"])


def spt3g_write(path: Path, frames, **kwargs) -> None:
    w = core.G3Writer(str(path), **kwargs)
    for f in frames:
        w(f)
    w(core.G3Frame(core.G3FrameType.EndProcessing))
    del w


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda p: p.name)
def test_vectors_read_like_spt3g_reads_them(path: Path) -> None:
    mine = list(G3Reader(str(path)))
    ref = list(core.G3File(str(path)))
    assert len(mine) == len(ref)
    for m, r in zip(mine, ref, strict=True):
        assert int(m.type) == int(r.type)
        assert sorted(m.keys()) == sorted(r.keys())


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_spt3g_reads_what_g3stream_writes(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"ours{suffix}"
    with G3Writer(str(path)) as w:
        for i in range(6):
            w(ours(i, "Scan" if i % 3 else "Observation"))
    ref = list(core.G3File(str(path)))
    assert len(ref) == 6
    for i, r in enumerate(ref):
        check_same(ours(i, "Scan" if i % 3 else "Observation"), r)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_g3stream_reads_what_spt3g_writes(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"theirs{suffix}"
    spt3g_write(path, [theirs(i) for i in range(6)])
    mine = list(G3File(str(path)))
    assert len(mine) == 6
    for i, m in enumerate(mine):
        check_same(m, theirs(i))


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_both_write_the_same_stream(tmp_path: Path, suffix: str) -> None:
    a, b = tmp_path / f"ours{suffix}", tmp_path / f"theirs{suffix}"
    with G3Writer(a) as w:
        for i in range(5):
            w(ours(i))
    spt3g_write(b, [theirs(i) for i in range(5)])
    unpack = DECOMPRESS[a.suffix]
    assert unpack(a.read_bytes()) == unpack(b.read_bytes())
    if suffix == ".g3":
        assert a.read_bytes() == b.read_bytes()


def test_gzip_output_matches_the_reference_byte_for_byte(tmp_path: Path) -> None:
    # same deflate library and parameters: even the compressed bytes agree
    a, b = tmp_path / "ours.g3.gz", tmp_path / "theirs.g3.gz"
    with G3Writer(a) as w:
        for i in range(5):
            w(ours(i))
    spt3g_write(b, [theirs(i) for i in range(5)])
    assert a.read_bytes()[:10] == b.read_bytes()[:10]
    assert a.read_bytes() == b.read_bytes()


def test_streams_filter_matches_spt3g(tmp_path: Path) -> None:
    kinds = ["Observation", "Scan", "Timepoint", "Calibration", "Scan"]
    a, b = tmp_path / "ours.g3", tmp_path / "theirs.g3"
    with G3Writer(a, streams=[G3FrameType.Scan, G3FrameType.Calibration]) as w:
        for i, k in enumerate(kinds):
            w(ours(i, k))
    spt3g_write(
        b,
        [theirs(i, k) for i, k in enumerate(kinds)],
        streams=[core.G3FrameType.Scan, core.G3FrameType.Calibration],
    )
    assert a.read_bytes() == b.read_bytes()


def test_tell_matches_spt3g_reader(tmp_path: Path) -> None:
    path = tmp_path / "t.g3"
    spt3g_write(path, [theirs(i) for i in range(4)])
    ref = core.G3Reader(str(path))
    mine = G3Reader(str(path))
    for _ in range(5):
        assert mine.tell() == ref.tell()
        assert len(mine(None)) == len(ref(None))
    assert mine.tell() == ref.tell() == -1


def test_track_filename_matches_spt3g(tmp_path: Path) -> None:
    a, b = tmp_path / "a.g3", tmp_path / "b.g3"
    spt3g_write(a, [theirs(0)])
    spt3g_write(b, [theirs(1), theirs(2)])
    names_ref = []
    r = core.G3Reader([str(a), str(b)], track_filename=True)
    while fr := r(None):
        names_ref.append(fr[0]._filename)
    names = [f._filename for f in G3Reader([str(a), str(b)], track_filename=True)]
    assert names == names_ref == [str(a), str(b), str(b)]


def test_truncated_files_fail_in_both(tmp_path: Path) -> None:
    path = tmp_path / "cut.g3"
    spt3g_write(path, [theirs(i) for i in range(3)])
    data = path.read_bytes()
    path.write_bytes(data[:-7])
    with pytest.raises(RuntimeError):
        list(core.G3File(str(path)))
    from g3stream import TruncatedFrameError

    with pytest.raises(TruncatedFrameError):
        list(G3File(str(path)))


def _multifile_sequence(make):
    seq = [make(0, "Housekeeping"), make(1, "Calibration")]
    seq += [make(100 + i, "Scan") for i in range(12)]
    seq.insert(5, make(2, "Observation"))
    seq.insert(9, make(3, "Housekeeping"))
    seq.insert(12, make(4, "Observation"))
    return seq


@pytest.mark.parametrize("limit", [1, 700, 1500, 4000, 10**9])
def test_multifile_rotation_matches_spt3g(tmp_path: Path, limit: int) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    mine = G3MultiFileWriter(
        str(tmp_path / "a" / "f-%03u.g3"), limit, divide_on=[G3FrameType.Observation]
    )
    my_names = []
    for f in _multifile_sequence(ours):
        mine(f)
        my_names.append(Path(mine.current_file).name)
    mine(G3Frame(G3FrameType.EndProcessing))
    ref = core.G3MultiFileWriter(
        str(tmp_path / "b" / "f-%03u.g3"), limit, divide_on=[core.G3FrameType.Observation]
    )
    ref_names = []
    for f in _multifile_sequence(theirs):
        ref(f)
        ref_names.append(Path(ref.current_file).name)
    ref(core.G3Frame(core.G3FrameType.EndProcessing))
    del ref
    assert my_names == ref_names
    a_files = sorted(p.name for p in (tmp_path / "a").iterdir())
    b_files = sorted(p.name for p in (tmp_path / "b").iterdir())
    assert a_files == b_files
    for name in a_files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_multifile_callables_match_spt3g(tmp_path: Path) -> None:
    def run(make, module, root: Path, divide):
        calls = []

        def namer(frame, seqno):
            calls.append((frame["index"], seqno))
            return str(root / f"c{seqno}.g3")

        w = module(namer, 900, divide_on=divide)
        for i in range(9):
            w(make(i, "Scan" if i != 4 else "Calibration"))
        return w, calls

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    mine, my_calls = run(ours, G3MultiFileWriter, tmp_path / "a", lambda fr: fr["index"] == 6)
    mine.Close()
    ref, ref_calls = run(
        theirs, core.G3MultiFileWriter, tmp_path / "b", lambda fr: fr["index"] == 6
    )
    ref(core.G3Frame(core.G3FrameType.EndProcessing))
    del ref
    assert my_calls == ref_calls
    for p in (tmp_path / "b").iterdir():
        assert (tmp_path / "a" / p.name).read_bytes() == p.read_bytes()


def test_timestream_map_frames_round_trip_through_spt3g(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    data = rng.standard_normal((4, 1000))
    f = G3Frame(G3FrameType.Scan)
    m = G3TimestreamMap()
    for j in range(4):
        ts = G3Timestream(data[j])
        ts.start = G3Time(TICKS)
        ts.stop = G3Time(TICKS + 10**8)
        m[f"ch{j}"] = ts
    f["ts"] = m
    path = tmp_path / "tsm.g3.gz"
    with G3Writer(path) as w:
        w(f)
    (ref,) = list(core.G3File(str(path)))
    for j in range(4):
        np.testing.assert_array_equal(np.asarray(ref["ts"][f"ch{j}"]), data[j])
        assert ref["ts"][f"ch{j}"].start.time == TICKS
    back = tmp_path / "back.g3"
    spt3g_write(back, [ref])
    (mine,) = list(G3File(back))
    for j in range(4):
        np.testing.assert_array_equal(np.asarray(mine["ts"][f"ch{j}"]), data[j])


def test_reader_and_writers_as_pipeline_modules_like_spt3g(tmp_path: Path) -> None:
    from g3stream import G3Pipeline

    source = str(VECTORS / "frame_types.g3")
    mine, ref = tmp_path / "mine.g3.gz", tmp_path / "ref.g3.gz"
    pipe = G3Pipeline()
    pipe.Add(G3Reader, filename=source)
    pipe.Add(G3Writer, filename=str(mine))
    pipe.Add(G3MultiFileWriter, filename=str(tmp_path / "m-%02u.g3"), size_limit=300)
    pipe.Run()
    rpipe = core.G3Pipeline()
    rpipe.Add(core.G3Reader, filename=source)
    rpipe.Add(core.G3Writer, filename=str(ref))
    rpipe.Run()
    del rpipe
    assert [int(f.type) for f in G3File(mine)] == [int(f.type) for f in core.G3File(str(ref))]
    # the EndProcessing frame of the file closed the writers and was not written
    assert G3FrameType.EndProcessing not in [f.type for f in G3File(mine)]
    parts = sorted(tmp_path.glob("m-*.g3"))
    assert len(parts) > 1
    assert sum(len(list(G3File(p))) for p in parts) >= 18


def test_multifile_current_file_before_the_first_frame_matches_spt3g(tmp_path: Path) -> None:
    pattern = str(tmp_path / "x-%u.g3")
    assert (
        G3MultiFileWriter(pattern, 100).current_file
        == core.G3MultiFileWriter(pattern, 100).current_file
    )


def test_spt3g_reads_a_gzip_file_ended_at_a_flush(tmp_path: Path) -> None:
    """A gzip recording cut back to a flush and ended there (the durable recorder) reads in spt3g."""
    whole, cut = tmp_path / "whole.g3.gz", tmp_path / "cut.g3.gz"
    with G3Writer(str(whole), flush_interval=None) as w:
        for i in range(8):
            w(ours(i))
            if i == 4:
                w.Flush()
                committed = whole.stat().st_size
    cut.write_bytes(whole.read_bytes()[:committed])
    assert end_gzip_at_sync_point(cut)
    frames = list(core.G3File(str(cut)))
    assert [int(f["index"]) for f in frames] == list(range(5))


def test_large_frames_written_with_the_crc_in_halves_are_the_reference_bytes(
    tmp_path: Path,
) -> None:
    # frames past the size where the writer checksums half in a second thread
    rng = np.random.default_rng(3)
    data = [rng.random(400_000) for _ in range(3)]  # 3.2 MB each
    a, b = tmp_path / "ours.g3", tmp_path / "theirs.g3"
    with G3Writer(a) as w:
        for i, values in enumerate(data):
            f = G3Frame(G3FrameType.Scan)
            f["index"] = i
            f["samples"] = G3VectorDouble(values)
            w(f)
    frames = []
    for i, values in enumerate(data):
        f = core.G3Frame(core.G3FrameType.Scan)
        f["index"] = i
        f["samples"] = core.G3VectorDouble(values)
        frames.append(f)
    spt3g_write(b, frames)
    assert a.read_bytes() == b.read_bytes()
    assert [f["index"] for f in core.G3File(str(a))] == [0, 1, 2]  # its CRC check passes
