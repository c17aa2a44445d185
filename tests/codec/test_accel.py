"""The compiled accelerator gives exactly the pure-Python codec's results.

Both paths decode the same streams (the vectors, and those vectors cut,
corrupted and fed in random pieces); the frames, their offsets and bytes,
and every error (type, offset and message) must be identical.  The scripts
also run the whole codec suite once with ``G3STREAM_PURE=1``.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import g3stream.codec.decoder as decoder_module
import g3stream.frame as frame_module
from g3stream import G3Frame, G3FrameType
from g3stream._accel import accel
from g3stream.cereal.crc import g3_crc, g3_crc_of
from g3stream.codec.container import scan_frame
from g3stream.codec.decoder import FrameDecoder
from g3stream.errors import G3FormatError
from g3stream.frame import encode_frame, encode_frame_bytes
from g3stream.objects import G3Time, G3VectorDouble

VECTORS = Path(__file__).parent.parent / "vectors"
_OPENERS = {"none": open, "gzip": gzip.open, "bzip2": bz2.open, "xz": lzma.open}

pytestmark = pytest.mark.skipif(
    accel is None, reason="g3stream_accel is not installed (or G3STREAM_PURE=1)"
)


def _streams() -> dict[str, bytes]:
    out = {}
    for meta_path in sorted(VECTORS.glob("*.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        with _OPENERS[meta["compression"]](VECTORS / meta["file"], "rb") as fh:
            out[meta_path.stem] = fh.read()
    return out


STREAMS = _streams()
NAMES = sorted(STREAMS)


def _events(chunks: list[bytes], limit: int, verify: bool = True) -> list[Any]:
    """What a decoder fed ``chunks`` gives: frames as (offset, bytes, type, keys), and errors."""
    dec = FrameDecoder(verify_crc=verify)
    out: list[Any] = []
    for chunk in [*chunks, b""]:
        dec.feed(chunk)
        for _ in range(10_000):
            try:
                got = dec.frames(limit)
            except G3FormatError as exc:
                out.append(("error", type(exc).__name__, exc.offset, str(exc)))
                if dec._fatal is not None:
                    return out
                continue
            if not got:
                break
            for f in got:
                raw = f.original_bytes
                assert raw is not None
                out.append((f.stream_offset, bytes(raw), int(f.type), list(f.keys())))
    out.append(("end", dec.at_boundary, dec.buffered, dec.offset))
    return out


def _both(monkeypatch: pytest.MonkeyPatch, chunks: list[bytes], limit: int) -> tuple[Any, Any]:
    compiled = _events(chunks, limit)
    with monkeypatch.context() as m:
        m.setattr(decoder_module, "_decode_run", None)
        pure = _events(chunks, limit)
    return compiled, pure


def _pieces(data: bytes, rng: random.Random, biggest: int) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        k = rng.randint(1, biggest)
        out.append(data[pos : pos + k])
        pos += k
    return out


def test_the_compiled_path_is_in_use() -> None:
    assert accel is not None
    assert decoder_module._decode_run is accel.decode_run


@pytest.mark.parametrize("name", NAMES)
def test_vectors_decode_identically(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = STREAMS[name]
    rng = random.Random(name)
    for chunks, limit in (
        ([data], 0),
        ([data], 1),
        (_pieces(data, rng, 50), 0),
        (_pieces(data, rng, 3000), 2),
    ):
        compiled, pure = _both(monkeypatch, chunks, limit)
        assert compiled == pure
    assert any(isinstance(e[0], int) for e in compiled)


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(NAMES),
    flips=st.lists(st.tuples(st.integers(0, 1 << 30), st.integers(1, 255)), max_size=3),
    cut=st.integers(0, 1 << 30),
    seed=st.integers(0, 1 << 16),
    limit=st.sampled_from([0, 1, 3]),
)
def test_damaged_streams_give_the_same_frames_and_errors(
    name: str, flips: list[tuple[int, int]], cut: int, seed: int, limit: int
) -> None:
    data = bytearray(STREAMS[name])
    for where, bits in flips:
        data[where % len(data)] ^= bits
    data = data[: len(data) - cut % 200]
    chunks = _pieces(bytes(data), random.Random(seed), 700)
    compiled = _events(chunks, limit)
    decoder_module._decode_run = None
    try:
        pure = _events(chunks, limit)
    finally:
        decoder_module._decode_run = accel.decode_run  # type: ignore[union-attr]
    assert compiled == pure


def test_unchecked_crc_gives_the_same_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    data = bytearray(STREAMS["scalars"])
    data[-1] ^= 0xFF  # the last frame's CRC
    chunks = [bytes(data)]
    compiled = _events(chunks, 0, verify=False)
    with monkeypatch.context() as m:
        m.setattr(decoder_module, "_decode_run", None)
        pure = _events(chunks, 0, verify=False)
    assert compiled == pure
    assert all(e[0] != "error" for e in compiled)


def test_frames_with_many_entries_and_repeated_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    frames = []
    for i in range(300):
        f = G3Frame(G3FrameType.Timepoint if i % 3 else G3FrameType.Scan)
        for k in range(i % 70):  # past the accelerator's 64-entry table, too
            f[f"k{k}"] = k * i
        frames.append(encode_frame_bytes(f))
    data = b"".join(frames)
    compiled, pure = _both(monkeypatch, _pieces(data, random.Random(5), 5000), 0)
    assert compiled == pure
    assert len(compiled) == 301


@pytest.mark.parametrize("name", NAMES)
def test_scan_agrees_with_the_pure_scan(name: str) -> None:
    assert accel is not None
    data = STREAMS[name]
    pos = 0
    while pos < len(data):
        pure = scan_frame(data, pos, len(data), pos)
        assert not isinstance(pure, int)
        got = accel.scan(data, pos, len(data), 1 << 31)
        if len(pure.entries) <= 128:
            assert got == tuple(pure)
        for cut in (1, 5, pure.size // 2, pure.size - 1):
            assert accel.scan(data, pos, pos + pure.size - cut, 1 << 31) is None
            assert isinstance(scan_frame(data, pos, pos + pure.size - cut, pos), int)
        pos += pure.size


def crc32c_g3(data: bytes, start: int = 0) -> int:
    """The G3 CRC from the crc32c package, independently of the accelerator."""
    from crc32c import crc32c

    return crc32c(data, start ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=8), st.integers(0, 0xFFFFFFFF))
def test_crc_agrees_with_crc32c(parts: list[bytes], start: int) -> None:
    assert accel is not None
    joined = b"".join(parts)
    assert accel.crc(joined) == crc32c_g3(joined)
    assert accel.crc(joined, start) == crc32c_g3(joined, start)
    assert g3_crc(parts, start) == crc32c_g3(joined, start)
    assert accel.crc_of_parts([bytearray(p) for p in parts]) == crc32c_g3(joined)
    assert accel.crc_of_parts([memoryview(p) for p in parts]) == g3_crc_of(joined)


@pytest.mark.parametrize("size", [12_287, 12_288, 12_289, 24_580, 100_003, 3_000_000])
def test_long_crcs_agree_with_crc32c(size: int) -> None:
    """Inputs of several interleaved blocks (4 kB each, three at a time), with a tail."""
    assert accel is not None
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    for start in (0, 0x9ABCDEF0):
        assert accel.crc(data, start) == crc32c_g3(data, start)
        assert accel.crc(memoryview(data)[1:], start) == crc32c_g3(data[1:], start)


def test_pure_is_forced_by_the_environment() -> None:
    code = "from g3stream._accel import accel; print(accel is None)"
    for value, pure in (("1", "True"), ("0", "False"), ("", "False")):
        env = {**os.environ, "G3STREAM_PURE": value}
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
        )
        assert done.stdout.strip() == pure, (value, done.stderr)


def _encodings(frame: G3Frame) -> tuple[bytes, bytes]:
    compiled = b"".join(encode_frame(frame))
    saved = frame_module._encode_small
    frame_module._encode_small = None
    try:
        pure = b"".join(encode_frame(frame))
    finally:
        frame_module._encode_small = saved
    return compiled, pure


_VALUES = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True),
    st.booleans(),
    st.text(max_size=40),
    st.builds(G3Time, st.integers(0, 2**62)),
    st.lists(st.floats(allow_nan=False), max_size=20).map(G3VectorDouble),
    st.binary(max_size=9000).map(lambda b: G3VectorDouble(list(b))),  # some past 64 KiB
)


@settings(max_examples=200, deadline=None)
@given(
    entries=st.dictionaries(st.text(min_size=1, max_size=12), _VALUES, max_size=12),
    code=st.sampled_from([0x4E, 0x53, 0x50, 0x7A7A]),
    deleted=st.integers(0, 3),
)
def test_encoding_is_identical(entries: dict[str, Any], code: int, deleted: int) -> None:
    assert frame_module._encode_small is not None
    f = G3Frame(code)
    for k, v in entries.items():
        f[k] = v
    for k in list(entries)[:deleted]:
        del f[k]  # the reference's order after deletions
    compiled, pure = _encodings(f)
    assert compiled == pure
    # a frame read back and changed re-uses its blobs next to new objects
    again = decode_frame_of(pure)
    again["added"] = 5
    compiled, pure = _encodings(again)
    assert compiled == pure


def decode_frame_of(data: bytes) -> G3Frame:
    dec = FrameDecoder()
    dec.feed(data)
    (frame,) = dec.frames()
    return frame


@pytest.mark.parametrize("name", NAMES)
def test_vector_frames_encode_identically_when_changed(name: str) -> None:
    dec = FrameDecoder()
    dec.feed(STREAMS[name])
    for frame in dec.frames():
        if "g3stream-extra" not in frame:
            frame["g3stream-extra"] = 1
        compiled, pure = _encodings(frame)
        assert compiled == pure


def test_small_frames_of_simple_values_take_the_compiled_encoder() -> None:
    assert frame_module._encode_small is not None
    f = G3Frame(G3FrameType.Timepoint)
    f["EventHeader"] = G3Time(17)
    f["Index"] = 3
    pure = _encodings(f)[1]  # fills the key memo as any first encoding does
    order = f.entry_order()
    whole = frame_module._encode_small(
        int(f.type), order, frame_module._KEY_HEADS, f._blobs, f._objs, 1 << 16
    )
    assert whole == pure
    big = G3Frame(G3FrameType.Scan)
    big["v"] = G3VectorDouble(range(10_000))  # a composite object: the pure encoder's
    assert (
        frame_module._encode_small(
            int(big.type),
            big.entry_order(),
            frame_module._KEY_HEADS,
            big._blobs,
            big._objs,
            1 << 16,
        )
        is None
    )


def _member_zoo(seed: int) -> Any:
    """A timestream map mixing members the packer takes and members it leaves to Python."""
    from g3stream.objects import G3Timestream, G3TimestreamMap

    rnd = random.Random(seed)
    rng = np.random.default_rng(seed)
    block = np.asfortranarray(rng.standard_normal((2, 700)))
    m = G3TimestreamMap()
    earlier: list[Any] = []
    for j in range(rnd.randint(1, 14)):
        kind = rnd.choice(
            [
                "f8",
                "f4",
                "i4",
                "i8",
                "small",
                "big-endian",
                "strided",
                "shared",
                "flac",
                "subclass",
                "surrogate key",
                "empty",
            ]
        )
        key = f"det{j:02d}" + ("\udcff" if kind == "surrogate key" else "")
        n = rnd.choice([0, 3, 511, 512, 2000])
        if kind in ("f8", "f4", "i4", "i8"):
            ts = G3Timestream(rng.integers(-1000, 1000, n).astype(kind), rnd.randrange(12))
        elif kind == "small":
            ts = G3Timestream(rng.standard_normal(5))
        elif kind == "big-endian":
            ts = G3Timestream._wrap(rng.standard_normal(n).astype(">f8"), 2, 5, 9)
        elif kind == "strided":
            ts = G3Timestream._wrap(block[j % 2], 1, 1, 2)
        elif kind == "shared" and earlier:
            ts = rnd.choice(earlier)
        elif kind == "flac":
            ts = G3Timestream(np.arange(n, dtype=np.int32), "Counts")
            ts.SetFLACCompression(3)
        elif kind == "subclass":
            ts = type("Derived", (G3Timestream,), {})(np.ones(n))
        else:
            ts = G3Timestream(np.zeros(0) if kind == "empty" else np.ones(n))
        ts.start, ts.stop = G3Time(rnd.randrange(1 << 40)), G3Time(-rnd.randrange(1 << 40))
        m[key] = ts
        earlier.append(ts)
    return m


@pytest.mark.parametrize("seed", range(40))
def test_packed_timestream_members_match_the_pure_encoder(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The accelerator's packing of map members gives the pure path's bytes, member for member."""
    from g3stream.objects import timestream as timestream_module

    assert timestream_module._pack_timestreams is not None
    frame = G3Frame(G3FrameType.Scan)
    frame["m"] = _member_zoo(seed)
    packed = encode_frame_bytes(frame)
    monkeypatch.setattr(timestream_module, "_pack_timestreams", None)
    assert encode_frame_bytes(frame) == packed


def test_pack_timestreams_stops_at_what_it_cannot_pack() -> None:
    """Bad entries end a run without claiming a pointer: the caller writes them."""
    from g3stream.objects import G3Timestream

    assert accel is not None
    good = G3Timestream(np.arange(600.0))
    pointers: dict[int, int] = {}
    keep: list[object] = []
    for items in ([("k", 1)], [(1, good)], [("k",)], [("k", good, 3)]):
        assert accel.pack_timestreams(items, 0, G3Timestream, pointers, keep, 4096) == (0, [])
    assert not pointers and not keep
    stop, parts = accel.pack_timestreams(
        [("a", good), ("b", good)], 0, G3Timestream, pointers, keep, 4096
    )
    assert stop == 1 and pointers == {id(good): 1}  # the second is a back-reference
    assert [type(p) for p in parts] == [bytes, memoryview] and parts[1].nbytes == 4800
    with pytest.raises(TypeError):
        accel.pack_timestreams(("a", good), 0, G3Timestream, {}, [], 4096)


def test_pack_timestreams_claims_nothing_when_it_fails() -> None:
    """An error on a later member gives back the pointer ids and references of earlier ones."""
    assert accel is not None

    class Member:
        _level, _units, _start, _stop = 0, 0, 0, 0

        def __init__(self, samples: np.ndarray | None) -> None:
            self._samples = samples

        @property
        def _data(self) -> np.ndarray:
            if self._samples is None:
                raise RuntimeError("samples unavailable")
            return self._samples

    items = [("a", Member(np.arange(600.0))), ("b", Member(np.arange(3.0))), ("c", Member(None))]
    pointers = {17: 1}
    keep: list[object] = ["earlier"]
    with pytest.raises(RuntimeError, match="samples unavailable"):
        accel.pack_timestreams(items, 0, Member, pointers, keep, 4096)
    assert pointers == {17: 1} and keep == ["earlier"]
    stop, parts = accel.pack_timestreams(items[:2], 0, Member, pointers, keep, 4096)
    assert stop == 2 and len(parts) == 3  # what failed before packs now, with the next ids
    assert pointers == {17: 1, id(items[0][1]): 2, id(items[1][1]): 3}
