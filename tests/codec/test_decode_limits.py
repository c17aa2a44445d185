"""Hostile data are bounded by what they cost: decoded bytes per frame, nesting depth.

Each crafted input (``hostile_inputs``) would cost gigabytes or blow the
Python stack without the limits; with them it gives a typed error with an
offset inside its frame, quickly, and peak memory stays near the limit.
Real data (the shared vectors, constant timestreams that compress by huge
factors) still decode.
"""

from __future__ import annotations

import copy
import json
import pickle
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hostile_inputs import (
    flac_bomb_frame,
    flac_constant_stream,
    flac_map_bomb_frame,
    flac_timestream_blob,
    frame_bytes,
    long_argument_frame,
    pipeline_chain_frame,
    super_timestream_bomb_frame,
)
from vectorfiles import VECTORS

from g3stream import G3Frame, G3Reader
from g3stream.cereal import DEFAULT_MAX_DECODED_SIZE, DecodeBudget, decode_object
from g3stream.codec.decoder import FrameDecoder
from g3stream.errors import (
    ArgumentTooLongError,
    DecodedSizeError,
    G3FormatError,
    InvalidLengthError,
    NestingTooDeepError,
)
from g3stream.io.compression import open_decompressed
from g3stream.objects.pipelineinfo import MAX_ARGUMENT_REPR

MiB = 1 << 20


def one_frame(data: bytes, **limits: Any) -> G3Frame:
    dec = FrameDecoder(**limits)
    dec.feed(data)
    frame = dec.next_frame()
    assert frame is not None
    return frame


def decode_all(frame: G3Frame) -> None:
    for key in frame.keys():
        frame[key]


def expect_bounded(
    data: bytes, error: type[G3FormatError], limit: int, seconds: float = 5.0, **kw: Any
) -> G3FormatError:
    """Decode every value of the frame ``data``: ``error`` must come, fast and within memory."""
    frame = one_frame(data, max_decoded_size=limit, **kw)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(error) as info:
            decode_all(frame)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < seconds, f"took {elapsed:.2f} s"
    # the output buffer may be copied once while it grows: at most twice the limit
    assert peak < 2 * limit + 8 * MiB, (
        f"peak {peak / MiB:.0f} MiB for a {limit / MiB:.0f} MiB limit"
    )
    exc = info.value
    assert exc.offset is not None and 0 < exc.offset < len(data)
    return exc


def test_flac_bomb_stops_at_the_limit() -> None:
    """64 kB of FLAC that would decode to 3 GB: a typed error after at most 64 MiB."""
    data = flac_bomb_frame()
    assert len(data) < 70_000
    exc = expect_bounded(data, DecodedSizeError, 64 * MiB)
    assert "FLAC" in exc.message


def test_flac_map_bomb_stops_at_the_limit() -> None:
    """About 1 MB of FLAC timestreams that would decode to 48 GB."""
    data = flac_map_bomb_frame()
    assert len(data) < 1_100_000
    expect_bounded(data, DecodedSizeError, 64 * MiB)


def test_super_timestream_bomb_is_refused_at_the_default_limit() -> None:
    """A 34 kB G3SuperTimestream whose shape asks for 75 GiB: refused before allocating it."""
    data = super_timestream_bomb_frame()
    assert len(data) < 40_000
    exc = expect_bounded(data, DecodedSizeError, DEFAULT_MAX_DECODED_SIZE, seconds=10.0)
    assert "80000000000 bytes" in exc.message


def test_super_timestream_times_are_charged_before_decompressing() -> None:
    """Its 80 MB of bzip2-compressed times are refused under a smaller limit."""
    data = super_timestream_bomb_frame()
    exc = expect_bounded(data, DecodedSizeError, 16 * MiB)
    assert "times" in exc.message


def test_pipeline_chain_is_too_deep() -> None:
    """A 16 kB chain config -> argument -> config ... 300 deep: typed, not RecursionError."""
    data = pipeline_chain_frame(300)
    exc = expect_bounded(data, NestingTooDeepError, 16 * MiB)
    assert isinstance(exc, InvalidLengthError)  # what nesting errors were before


def test_nesting_limit_is_exact_and_configurable() -> None:
    """The pipeline info, then each module config held by an argument, is one level deeper."""
    decode_all(one_frame(pipeline_chain_frame(64)))
    with pytest.raises(NestingTooDeepError):
        decode_all(one_frame(pipeline_chain_frame(65)))
    decode_all(one_frame(pipeline_chain_frame(100), max_nesting_depth=100))
    with pytest.raises(NestingTooDeepError):
        decode_all(one_frame(pipeline_chain_frame(5), max_nesting_depth=4))


def test_nesting_caught_below_a_deep_caller() -> None:
    """Python's own recursion limit, met first by a deep caller, is also a typed error."""
    blob = one_frame(pipeline_chain_frame(30)).blob("PipelineInfo")

    def dive(n: int) -> Any:
        return decode_object(blob) if n == 0 else dive(n - 1)

    limit = sys.getrecursionlimit()
    with pytest.raises(NestingTooDeepError):
        dive(limit - 60)


def test_constant_timestreams_are_not_bounded_by_a_ratio() -> None:
    """A dead detector's constant timestream compresses ~4000:1 and still decodes."""
    payload = flac_constant_stream(100)  # 6.5 million samples in 1.6 kB
    frame = one_frame(frame_bytes({"ts": flac_timestream_blob(payload)}))
    ts = frame["ts"]
    assert len(ts) == 100 * 65535
    assert np.all(np.asarray(ts) == 7.0)
    assert frame.decoded_size == 12 * len(ts)  # int32 samples, then float64


def test_the_budget_is_per_frame_and_shared_by_its_values() -> None:
    """Values under the limit one by one, over it together: the one that crosses it fails."""
    blob = flac_timestream_blob(flac_constant_stream(10))  # 655,350 samples, 7.9 MB decoded
    data = frame_bytes({"a": blob, "b": blob})
    frame = one_frame(data, max_decoded_size=10 * MiB)
    frame["a"]
    used = frame.decoded_size
    assert used == 12 * 655_350
    with pytest.raises(DecodedSizeError):
        frame["b"]
    assert frame.decoded_size == used  # a failed decode costs nothing
    assert len(frame["a"]) == 655_350  # what was decoded stays
    other = one_frame(data, max_decoded_size=10 * MiB)  # each frame has its own budget
    assert len(other["b"]) == 655_350


def test_memory_refused_by_the_system_is_a_typed_error(tmp_path: Path) -> None:
    """Under a 1.5 GiB address-space cap and the default 4 GiB limit: still a typed error."""
    path = tmp_path / "bomb.g3"
    path.write_bytes(flac_map_bomb_frame())
    code = f"""
import resource, json
resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))
from g3stream import G3Reader
from g3stream.errors import G3FormatError
frame = G3Reader({str(path)!r})(None)[0]
try:
    for k in frame.keys():
        frame[k]
    print(json.dumps(["decoded"]))
except G3FormatError as exc:
    print(json.dumps([type(exc).__name__, exc.offset]))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    name, offset = json.loads(done.stdout)
    assert name == "DecodedSizeError"
    assert 0 < offset < path.stat().st_size


@pytest.mark.parametrize("use_mmap", [False, True])
def test_reader_gives_its_frames_the_limit(tmp_path: Path, use_mmap: bool) -> None:
    """G3Reader(max_decoded_size=...) reaches frames read in blocks or from a memory map."""
    path = tmp_path / "bomb.g3"
    good = G3Frame()
    good["x"] = 1
    first = bytes(good.encoded())
    path.write_bytes(first + flac_bomb_frame())
    reader = G3Reader(str(path), max_decoded_size=8 * MiB, mmap=use_mmap, buffersize=4096)
    assert reader.max_decoded_size == 8 * MiB
    frames = reader(None) + reader(None)
    reader.close()
    assert frames[0]["x"] == 1
    assert frames[1].max_decoded_size == 8 * MiB
    with pytest.raises(DecodedSizeError) as info:
        frames[1]["bomb"]
    assert len(first) < (info.value.offset or 0) < path.stat().st_size


def test_frames_keep_their_limits_through_pickle_and_copy() -> None:
    frame = one_frame(
        frame_bytes({"ts": flac_timestream_blob(flac_constant_stream(2))}), max_decoded_size=4 * MiB
    )
    for other in (pickle.loads(pickle.dumps(frame)), copy.deepcopy(frame), copy.copy(frame)):
        assert other.max_decoded_size == 4 * MiB
        assert len(other["ts"]) == 2 * 65535


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError):
        FrameDecoder(max_decoded_size=-1)
    with pytest.raises(ValueError):
        FrameDecoder(max_nesting_depth=0)
    dec = FrameDecoder(max_decoded_size=123, max_nesting_depth=7)
    assert (dec.max_decoded_size, dec.max_nesting_depth) == (123, 7)


def test_budget_refuses_before_counting() -> None:
    budget = DecodeBudget(100)
    budget.charge(60, 0)
    with pytest.raises(DecodedSizeError) as info:
        budget.charge(41, 17, "samples")
    assert info.value.offset == 17
    assert budget.used == 60 and budget.remaining == 40


def _vector_files() -> list[Path]:
    return sorted(p for p in VECTORS.iterdir() if ".g3" in p.name)


@pytest.mark.parametrize("path", _vector_files(), ids=lambda p: p.name)
def test_every_vector_decodes_within_the_default_limits(path: Path) -> None:
    with open_decompressed(str(path)) as f:
        data = f.read()
    dec = FrameDecoder()
    dec.feed(data)
    frames = dec.frames()
    assert frames
    for frame in frames:
        decode_all(frame)
        assert frame.decoded_size <= frame.max_decoded_size


def test_long_pipeline_argument_is_not_parsed() -> None:
    """A 2 MB argument text: a typed error at once, its text still readable."""
    frame = one_frame(long_argument_frame(2 << 20))
    arg = frame["PipelineInfo"].modules[0].config["values"]
    started = time.perf_counter()
    with pytest.raises(ArgumentTooLongError):
        frame["PipelineInfo"].modules[0]["values"]
    assert time.perf_counter() - started < 0.1
    assert len(arg.repr) > 2_000_000
    short = one_frame(long_argument_frame(MAX_ARGUMENT_REPR - 2))
    assert short["PipelineInfo"].modules[0]["values"] == [1] * ((MAX_ARGUMENT_REPR - 2) // 2)


def test_no_crafted_input_leaks_an_untyped_error() -> None:
    """Every crafted bomb, cut anywhere in its blob's first bytes, gives only typed errors."""
    for data in (pipeline_chain_frame(100), super_timestream_bomb_frame()):
        frame = one_frame(data, max_decoded_size=16 * MiB)
        key = next(iter(frame.keys()))
        blob = bytes(frame.blob(key))  # type: ignore[arg-type]
        for cut in range(0, min(len(blob), 3000), 7):
            try:
                decode_object(blob[:cut], 0, DecodeBudget(16 * MiB))
            except G3FormatError:
                pass


def test_default_limits_are_the_documented_ones() -> None:
    dec = FrameDecoder()
    assert dec.max_decoded_size == DEFAULT_MAX_DECODED_SIZE == 4 << 30
    assert dec.max_nesting_depth == 64
