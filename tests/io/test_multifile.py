"""G3MultiFileWriter: size limit, divide_on, metadata headers, file names."""

from __future__ import annotations

from pathlib import Path

import pytest

from g3stream import G3File, G3Frame, G3FrameType, G3MultiFileWriter
from g3stream.codec.container import encode_frame_bytes

T = G3FrameType


def contents(path: Path | str) -> list[tuple[str, int]]:
    return [(str(f.type), f["index"]) for f in G3File(str(path))]


def test_size_limit_starts_a_file_once_the_limit_is_reached(tmp_path: Path, make_frame) -> None:
    frames = [make_frame(i) for i in range(7)]
    size = len(encode_frame_bytes(frames[0]))
    assert all(len(encode_frame_bytes(f)) == size for f in frames)
    pattern = str(tmp_path / "out-%03u.g3")
    w = G3MultiFileWriter(pattern, size_limit=3 * size)
    for f in frames:
        assert w(f) == [f]
    w(G3Frame(T.EndProcessing))
    assert w.files == [pattern % i for i in range(3)]
    assert [contents(p) for p in w.files] == [
        [("Scan", 0), ("Scan", 1), ("Scan", 2)],
        [("Scan", 3), ("Scan", 4), ("Scan", 5)],
        [("Scan", 6)],
    ]
    # one byte more of room and the third frame no longer starts a new file
    w = G3MultiFileWriter(str(tmp_path / "b-%u.g3"), size_limit=3 * size + 1)
    for f in frames:
        w(f)
    w.Close()
    assert [len(contents(p)) for p in w.files] == [4, 3]


def test_metadata_frames_head_every_new_file(tmp_path: Path, make_frame) -> None:
    seq = [
        make_frame(0, T.Housekeeping),
        make_frame(1, T.Calibration),
        make_frame(10, T.Scan),
        make_frame(11, T.Scan),
        make_frame(2, T.Observation),  # divides
        make_frame(12, T.Scan),
        make_frame(3, T.Housekeeping),  # replaces the cached Housekeeping frame
        make_frame(13, T.Timepoint),
        make_frame(4, T.Observation),  # divides
        make_frame(14, T.Scan),
    ]
    w = G3MultiFileWriter(str(tmp_path / "m-%u.g3"), 10**9, divide_on=[T.Observation])
    names = []
    for f in seq:
        w(f)
        names.append(w.current_file)
    w(G3Frame(T.EndProcessing))
    assert names == [w.files[0]] * 4 + [w.files[1]] * 4 + [w.files[2]] * 2
    assert [contents(p) for p in w.files] == [
        [("Housekeeping", 0), ("Calibration", 1), ("Scan", 10), ("Scan", 11)],
        [
            ("Housekeeping", 0),
            ("Calibration", 1),
            ("Observation", 2),
            ("Scan", 12),
            ("Housekeeping", 3),
            ("Timepoint", 13),
        ],
        [("Housekeeping", 3), ("Calibration", 1), ("Observation", 4), ("Scan", 14)],
    ]


def test_callables_for_names_and_division(tmp_path: Path, make_frame) -> None:
    calls: list[tuple[int, int]] = []

    def namer(frame: G3Frame, seqno: int) -> Path:
        calls.append((frame["index"], seqno))
        return tmp_path / f"part{seqno}.g3.gz"

    w = G3MultiFileWriter(namer, 10**9, divide_on=lambda fr: fr["index"] % 3 == 0)
    assert w.current_file == ""
    for i in range(7):
        w(make_frame(i))
    w.Close()
    assert calls == [(0, 0), (3, 1), (6, 2)]
    assert [[i for _, i in contents(p)] for p in w.files] == [[0, 1, 2], [3, 4, 5], [6]]


def test_compressed_files_rotate_on_compressed_size(tmp_path: Path, make_frame) -> None:
    w = G3MultiFileWriter(str(tmp_path / "z-%02d.g3.xz"), 1000)
    for i in range(200):
        w(make_frame(i, size=2000))
    w(G3Frame(T.EndProcessing))
    assert len(w.files) > 1
    got = [i for p in w.files for _, i in contents(p)]
    assert got == list(range(200))


@pytest.mark.parametrize("bad", ["no-field.g3", "two-%d-%d.g3", "%s-%q.g3"])
def test_bad_patterns_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        G3MultiFileWriter(bad, 100)


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        G3MultiFileWriter(str(tmp_path / "x-%u.g3"), 0)
    with pytest.raises(TypeError):
        G3MultiFileWriter(42, 100)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        G3MultiFileWriter(str(tmp_path / "x-%u.g3"), 100, divide_on=[object()])


def test_frames_after_close_are_refused(tmp_path: Path, make_frame) -> None:
    with G3MultiFileWriter(str(tmp_path / "c-%u.g3"), 100) as w:
        w(make_frame(0))
    with pytest.raises(ValueError):
        w(make_frame(1))


def test_a_callable_repeating_a_name_cannot_overwrite_a_file(tmp_path: Path, make_frame) -> None:
    w = G3MultiFileWriter(lambda frame, seqno: str(tmp_path / "same.g3"), 10)
    w(make_frame(0))
    with pytest.raises(ValueError, match="second time"):
        w(make_frame(1))
    w.Close()  # the file in progress is intact
    assert [i for _, i in contents(tmp_path / "same.g3")] == [0]
