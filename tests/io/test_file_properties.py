"""Property-based file tests: random frames, codecs, cuts and damage."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from g3stream import G3Frame, G3FrameType, G3Reader, G3VectorDouble, G3Writer
from g3stream.codec.container import encode_frame_bytes
from g3stream.errors import G3FormatError, TruncatedFrameError

FRAME_TYPES = [G3FrameType.Scan, G3FrameType.Timepoint, G3FrameType.Observation, "AB"]

keys = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=12)


@st.composite
def frames(draw) -> G3Frame:
    f = G3Frame(draw(st.sampled_from(FRAME_TYPES)))
    for key in draw(st.lists(keys, max_size=5, unique=True)):
        kind = draw(st.sampled_from(["int", "float", "str", "vector"]))
        if kind == "int":
            f[key] = draw(st.integers(-(2**63), 2**63 - 1))
        elif kind == "float":
            f[key] = draw(st.floats(allow_nan=False))
        elif kind == "str":
            f[key] = draw(st.text(max_size=20))
        else:
            n = draw(st.integers(0, 3000))
            f[key] = G3VectorDouble(np.arange(n, dtype=np.float64))
    return f


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    st.lists(frames(), max_size=6),
    st.sampled_from([".g3", ".g3.gz", ".g3.bz2", ".g3.xz"]),
    st.sampled_from([16, 4096, 1 << 20]),
    st.booleans(),
)
def test_written_frames_read_back_identically(
    fs: list[G3Frame], suffix: str, buffersize: int, mapped: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"p{suffix}"
        with G3Writer(path) as w:
            for f in fs:
                w(f)
        got = list(G3Reader(path, buffersize=buffersize, mmap=mapped))
    assert [bytes(g.original_bytes) for g in got] == [encode_frame_bytes(f) for f in fs]
    assert [sorted(g.keys()) for g in got] == [sorted(f.keys()) for f in fs]


@SETTINGS
@given(st.lists(frames(), min_size=1, max_size=5), st.data())
def test_a_file_cut_anywhere_gives_whole_frames_then_a_truncation_error(
    fs: list[G3Frame], data: st.DataObject
) -> None:
    stream = b"".join(encode_frame_bytes(f) for f in fs)
    cut = data.draw(st.integers(0, len(stream)))
    ends = np.cumsum([len(encode_frame_bytes(f)) for f in fs])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cut.g3"
        path.write_bytes(stream[:cut])
        reader = G3Reader(path, buffersize=data.draw(st.sampled_from([7, 4096])))
        got = []
        try:
            for f in reader:
                got.append(f)
        except TruncatedFrameError as exc:
            assert cut not in ends and cut != 0
            assert exc.offset == (0 if not got else int(ends[len(got) - 1]))
            assert str(path) in str(exc)
        else:
            assert cut == 0 or cut in ends
    assert len(got) == int(np.searchsorted(ends, cut, side="right"))


@SETTINGS
@given(st.lists(frames(), min_size=1, max_size=4), st.data())
def test_damaged_files_give_only_typed_errors(fs: list[G3Frame], data: st.DataObject) -> None:
    stream = bytearray(b"".join(encode_frame_bytes(f) for f in fs))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(stream) - 1))
        stream[i] = data.draw(st.integers(0, 255))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "damaged.g3"
        path.write_bytes(bytes(stream))
        reader = G3Reader(path, max_frame_size=1 << 24)
        for _ in range(len(fs) + 2):  # go on after recoverable (CRC) errors
            try:
                if not reader(None):
                    break
            except G3FormatError as exc:
                assert exc.offset is not None
                assert str(path) in str(exc)
