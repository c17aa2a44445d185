"""FLAC payload codec: reference-written payloads, round trips, stream settings, bad input."""

from __future__ import annotations

import glob
import importlib.util
import json
import math
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from g3stream.errors import DecodedSizeError, G3FormatError
from g3stream.objects.flac import (
    FLACDecodeError,
    FLACUnavailableError,
    LibFLAC,
    decode_flac,
    encode_flac,
    get_libflac,
)

VECTORS = Path(__file__).resolve().parent.parent / "vectors"


def _payloads_of(data: bytes) -> list[bytes]:
    """Every FLAC stream in a file, found by its marker and the u64 length before it."""
    found: list[bytes] = []
    pos = 0
    while True:
        i = data.find(b"fLaC", pos)
        if i < 0:
            return found
        (n,) = struct.unpack_from("<Q", data, i - 8)
        found.append(data[i : i + n])
        pos = i + n


def _vector_cases() -> list[tuple[str, bytes, dict]]:
    data = (VECTORS / "timestream_flac.g3").read_bytes()
    meta = json.loads((VECTORS / "timestream_flac.json").read_text())
    entries = [e for frame in meta["frames"] for e in frame["entries"]]
    payloads = _payloads_of(data)
    assert len(payloads) == len(entries)
    return [(e["key"], p, e["value"]["value"]) for e, p in zip(entries, payloads, strict=True)]


CASES = _vector_cases()


def _streaminfo(payload: bytes) -> dict:
    """The STREAMINFO fields of a FLAC stream (the first metadata block)."""
    assert payload[:4] == b"fLaC"
    assert payload[4] & 0x7F == 0  # STREAMINFO first
    si = payload[8:42]
    packed = int.from_bytes(si[10:18], "big")
    return {
        "min_block": int.from_bytes(si[0:2], "big"),
        "max_block": int.from_bytes(si[2:4], "big"),
        "min_frame": int.from_bytes(si[4:7], "big"),
        "max_frame": int.from_bytes(si[7:10], "big"),
        "sample_rate": packed >> 44,
        "channels": ((packed >> 41) & 7) + 1,
        "bps": ((packed >> 36) & 31) + 1,
        "total": packed & ((1 << 36) - 1),
        "md5": si[18:34],
    }


def _reference_libflac() -> LibFLAC | None:
    """libFLAC 1.5.0 as shipped with the reference wheel, if installed (never imported)."""
    spec = importlib.util.find_spec("spt3g")
    if spec is None or spec.origin is None:
        return None
    site = Path(spec.origin).parent.parent
    for path in sorted(glob.glob(str(site / "spt3g.libs" / "libFLAC*"))):
        try:
            return LibFLAC(path)
        except FLACUnavailableError:
            continue
    return None


REFERENCE_LIB = _reference_libflac()


def _expected_samples(value: dict) -> tuple[np.ndarray, np.ndarray]:
    """(sample values, NaN mask) implied by a vector's decoded timestream."""
    vals = value["data"]["values"]
    nan = np.array([isinstance(v, str) for v in vals], dtype=bool)
    ints = np.array([0 if isinstance(v, str) else int(v) for v in vals], dtype=np.int64)
    return ints, nan


@pytest.mark.parametrize("key,payload,value", CASES, ids=[c[0] for c in CASES])
def test_decodes_reference_payloads(key: str, payload: bytes, value: dict) -> None:
    samples = decode_flac(memoryview(payload))
    assert samples.dtype == np.int32
    ints, nan = _expected_samples(value)
    assert samples.shape == ints.shape
    # Non-finite inputs are stored as 0 and flagged in the nanmask.
    assert np.all(samples[nan] == 0)
    dtype = np.dtype(value["data"]["dtype"])
    # The decoded value is the sample converted to the stored type.
    np.testing.assert_array_equal(samples[~nan].astype(dtype), ints[~nan].astype(dtype))


@pytest.mark.parametrize("key,payload,value", CASES, ids=[c[0] for c in CASES])
def test_reencoding_keeps_samples_and_settings(key: str, payload: bytes, value: dict) -> None:
    samples = decode_flac(payload)
    flac = value["flac"]
    again = encode_flac(samples, flac["level"], flac["bit_depth"])
    np.testing.assert_array_equal(decode_flac(again), samples)
    mine, theirs = _streaminfo(again), _streaminfo(payload)
    # The stream's settings are independent of the libFLAC version.
    assert mine == theirs
    if _version(get_libflac()) >= (1, 4, 3):
        # and so are the frames, but for the vendor string (1.4.2 packs some
        # all-zero 32-bit blocks a few bytes longer, decoding to the same samples)
        assert len(again) == len(payload)


def _version(lib: LibFLAC) -> tuple[int, ...]:
    return tuple(int(p) for p in lib.version.split(".")[:3])


@pytest.mark.skipif(REFERENCE_LIB is None, reason="the reference's libFLAC 1.5.0 is not installed")
@pytest.mark.parametrize("key,payload,value", CASES, ids=[c[0] for c in CASES])
def test_byte_identical_with_libflac_1_5(key: str, payload: bytes, value: dict) -> None:
    assert REFERENCE_LIB is not None
    samples = REFERENCE_LIB.decode(payload)
    np.testing.assert_array_equal(samples, decode_flac(payload))
    flac = value["flac"]
    assert REFERENCE_LIB.encode(samples, flac["level"], flac["bit_depth"]) == payload


def test_stream_settings_match_the_reference() -> None:
    x = np.arange(10_000, dtype=np.int32) % 977 - 400
    for level, block in [(1, 1152), (2, 1152), (3, 4096), (5, 4096), (9, 4096)]:
        for depth in (24, 32):
            p = encode_flac(x, level, depth)
            info = _streaminfo(p)
            assert info["channels"] == 1
            assert info["bps"] == depth
            assert info["sample_rate"] == 44100
            assert info["total"] == 0  # no seek callback: the count is never filled in
            assert info["md5"] == bytes(16)
            assert info["min_frame"] == info["max_frame"] == 0
            assert info["max_block"] == block
            # VORBIS_COMMENT follows and is the last metadata block
            assert p[42] == 0x84
            np.testing.assert_array_equal(decode_flac(p), x)


def test_empty_stream_has_metadata_only() -> None:
    p = encode_flac(np.zeros(0, dtype=np.int32), 9, 32)
    assert len(p) == 86
    out = decode_flac(p)
    assert out.dtype == np.int32 and out.shape == (0,)


@settings(max_examples=60, deadline=None)
@given(
    samples=hnp.arrays(np.int32, st.integers(0, 9000)),
    level=st.integers(1, 9),
)
def test_round_trip_32_bit(samples: np.ndarray, level: int) -> None:
    np.testing.assert_array_equal(decode_flac(encode_flac(samples, level, 32)), samples)


@settings(max_examples=60, deadline=None)
@given(
    samples=hnp.arrays(np.int32, st.integers(0, 9000), elements=st.integers(-(2**23), 2**23 - 1)),
    level=st.integers(1, 9),
)
def test_round_trip_24_bit(samples: np.ndarray, level: int) -> None:
    np.testing.assert_array_equal(decode_flac(encode_flac(samples, level, 24)), samples)


def test_large_stream_round_trip_and_accepts_other_integer_types() -> None:
    rng = np.random.default_rng(1)
    x = np.cumsum(rng.integers(-50, 50, 3_000_000)).astype(np.int64)
    p = encode_flac(x, 3, 24)
    out = decode_flac(p)
    assert out.flags.writeable and out.flags.c_contiguous
    np.testing.assert_array_equal(out, x)


def test_decoding_does_not_need_a_writable_buffer() -> None:
    p = encode_flac(np.arange(5000, dtype=np.int32), 5, 32)
    ro = memoryview(p).toreadonly()
    np.testing.assert_array_equal(decode_flac(ro), np.arange(5000))
    arr = np.frombuffer(p, dtype=np.uint8)
    np.testing.assert_array_equal(decode_flac(arr), np.arange(5000))


# -- bad input ----------------------------------------------------------------
GOOD = encode_flac((np.arange(20_000) % 1000).astype(np.int32), 5, 24)


@pytest.mark.parametrize("payload", [b"", b"fLa", b"RIFF....", b"\x00" * 100, GOOD[1:]])
def test_not_a_flac_stream(payload: bytes) -> None:
    with pytest.raises(FLACDecodeError):
        decode_flac(payload)


@pytest.mark.parametrize("cut", [5, 30, 60, 90, 200, len(GOOD) // 2, len(GOOD) - 1])
def test_truncated_stream(cut: int) -> None:
    with pytest.raises(FLACDecodeError) as info:
        decode_flac(GOOD[:cut])
    assert isinstance(info.value, G3FormatError)
    assert info.value.offset is not None and 0 <= info.value.offset <= cut


@pytest.mark.parametrize("where", [100, 300, len(GOOD) // 2, len(GOOD) - 3])
def test_corrupt_frame_data(where: int) -> None:
    bad = bytearray(GOOD)
    bad[where] ^= 0x5A
    with pytest.raises(FLACDecodeError):
        decode_flac(bytes(bad))


def test_trailing_garbage() -> None:
    with pytest.raises(FLACDecodeError):
        decode_flac(GOOD + b"\x00garbage\xff")


def test_sample_limit() -> None:
    assert decode_flac(GOOD, max_samples=20_000).shape == (20_000,)
    with pytest.raises(DecodedSizeError, match="more than"):
        decode_flac(GOOD, max_samples=19_999)


def test_encoder_rejects_bad_arguments() -> None:
    x = np.zeros(10, dtype=np.int32)
    with pytest.raises(ValueError):
        encode_flac(x, 5, 16)
    with pytest.raises(ValueError):
        encode_flac(x, 10, 24)
    with pytest.raises(ValueError):
        encode_flac(np.zeros((2, 2), dtype=np.int32), 5, 24)
    with pytest.raises(ValueError, match="24 bits"):
        encode_flac(np.array([1 << 23], dtype=np.int32), 5, 24)
    with pytest.raises(ValueError, match="24 bits"):
        encode_flac(np.array([-(1 << 23) - 1], dtype=np.int32), 5, 24)
    with pytest.raises(ValueError, match="32 bits"):
        encode_flac(np.array([1 << 31], dtype=np.int64), 5, 32)
    with pytest.raises(TypeError):
        encode_flac(np.array([1.5]), 5, 32)


def test_missing_library_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(FLACUnavailableError):
        LibFLAC(str(tmp_path / "libFLAC-does-not-exist.so"))
    not_flac = tmp_path / "libnotflac.so"
    not_flac.write_bytes(b"\x7fELF garbage")
    with pytest.raises(FLACUnavailableError):
        LibFLAC(str(not_flac))


def test_default_library_is_new_enough() -> None:
    lib = get_libflac()
    major, minor = (int(p) for p in lib.version.split(".")[:2])
    assert (major, minor) >= (1, 4)
    assert lib.vendor.startswith("reference libFLAC")
    assert os.path.basename(lib.path)


# -- against the real reference ---------------------------------------------
def test_reference_written_timestreams() -> None:
    core = pytest.importorskip("spt3g.core")
    rng = np.random.default_rng(7)
    for depth in (24, 32):
        for level in (1, 4, 9):
            x = np.round(np.cumsum(rng.normal(0, 300, 7000))).astype(np.float64)
            ts = core.G3Timestream(x)
            ts.units = core.G3TimestreamUnits.Counts
            ts.SetFLACBitDepth(depth)
            ts.SetFLACCompression(level)
            (payload,) = _payloads_of(bytes(ts._cereal_dumps()))
            out = decode_flac(payload)
            np.testing.assert_array_equal(out, x.astype(np.int64))
            if REFERENCE_LIB is not None:
                assert REFERENCE_LIB.encode(out, level, depth) == payload
            # and the reference reads what this package writes
            mine = encode_flac(out, level, depth)
            back = core.G3Timestream()
            blob = bytes(ts._cereal_dumps())
            start = blob.find(b"fLaC")
            patched = blob[: start - 8] + struct.pack("<Q", len(mine)) + mine
            back._cereal_loads(patched)
            np.testing.assert_array_equal(np.asarray(back), x)
            assert math.isfinite(float(np.asarray(back).sum()))


def test_decoder_recovers_after_bad_payloads() -> None:
    bad = bytearray(GOOD)
    bad[len(GOOD) // 2] ^= 0x5A
    for payload in (bytes(bad), GOOD[:300], b"fLaC" + b"\x00" * 50):
        with pytest.raises(FLACDecodeError):
            decode_flac(payload)
        np.testing.assert_array_equal(decode_flac(GOOD), np.arange(20_000) % 1000)
    with pytest.raises(DecodedSizeError):
        decode_flac(GOOD, max_samples=10)
    np.testing.assert_array_equal(decode_flac(GOOD), np.arange(20_000) % 1000)


def test_concurrent_decoding_in_threads() -> None:
    import threading

    rng = np.random.default_rng(5)
    inputs = [
        rng.integers(-(2**20), 2**20, int(n)).astype(np.int32) for n in rng.integers(0, 9000, 24)
    ]
    payloads = [encode_flac(x, 5, 24) for x in inputs]
    failures: list[str] = []

    def work(offset: int) -> None:
        for k in range(len(payloads)):
            i = (k + offset) % len(payloads)
            if not np.array_equal(decode_flac(payloads[i]), inputs[i]):
                failures.append(f"payload {i}")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


_NEXT_TO_REFERENCE = """
import numpy as np
from spt3g import core  # loads the reference's own libFLAC first
from g3stream.objects.flac import decode_flac, encode_flac

ts = core.G3Timestream(np.arange(5000.0))
ts.units = core.G3TimestreamUnits.Counts
ts.SetFLACCompression(5)
blob = bytes(ts._cereal_dumps())
payload = blob[blob.index(b"fLaC"):]
for _ in range(50):
    assert (decode_flac(payload) == np.arange(5000)).all()
    again = encode_flac(np.arange(5000, dtype=np.int32), 5, 32)
    assert (decode_flac(again) == np.arange(5000)).all()
print("ok")
"""


def test_works_next_to_another_libflac_in_the_process() -> None:
    # The reference links its own libFLAC (another version); with both loaded
    # into one process, neither may call into the other's internals.
    pytest.importorskip("spt3g.core")
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _NEXT_TO_REFERENCE], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
