"""The frame CRC: CRC-32C with register 0 and no final inversion (FORMAT.md section 4)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from g3stream import G3Frame, G3FrameType, G3Timestream, G3TimestreamMap, G3VectorDouble
from g3stream.cereal.crc import g3_crc, g3_crc_combine, g3_crc_in_halves
from g3stream.frame import encode_frame


def bitwise_crc(data: bytes, crc: int = 0) -> int:
    """A slow, independent CRC: reflected polynomial 0x82F63B78, no inversions."""
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc


def test_check_values_of_the_format_description() -> None:
    """The two check values given with the definition."""
    assert g3_crc([b"123456789"]) == 0x58E3FA20
    assert g3_crc([b"a"]) == 0x93AD1061
    assert g3_crc([]) == 0
    assert g3_crc([b""]) == 0


def test_relation_to_standard_crc32c() -> None:
    """raw(c, data) == ~crc32c(data, ~c): the standard value of "123456789" is 0xE3069283."""
    from crc32c import crc32c

    assert crc32c(b"123456789") == 0xE3069283
    assert g3_crc([b"123456789"]) == ~crc32c(b"123456789", 0xFFFFFFFF) & 0xFFFFFFFF


def test_worked_example_frame_crc() -> None:
    """The CRC of the one-entry frame of section 14.1 chains the name and the blob."""
    blob = bytes.fromhex("01 01000080 0600000000000000") + b"G3Bool"
    blob += bytes.fromhex("01000080 01000000 01000000 01")
    assert g3_crc([b"a", blob]) == 0xA0F6340F
    assert g3_crc([blob], g3_crc([b"a"])) == 0xA0F6340F


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=6), st.integers(0, 0xFFFFFFFF))
def test_matches_bitwise_definition_and_chains(chunks: list[bytes], start: int) -> None:
    """Any split of the input gives the same value, equal to the bitwise definition."""
    whole = b"".join(chunks)
    assert g3_crc(chunks, start) == bitwise_crc(whole, start)
    assert g3_crc([memoryview(whole)], start) == g3_crc([bytearray(whole)], start)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.binary(max_size=300), st.integers(0, 0xFFFFFFFF))
def test_combine_joins_the_crcs_of_two_parts(a: bytes, b: bytes, start: int) -> None:
    """The CRC of ``a + b`` from the CRC of ``a`` (from any start) and that of ``b`` alone."""
    joined = g3_crc_combine(g3_crc([a], start), g3_crc([b]), len(b))
    assert joined == bitwise_crc(a + b, start)


def test_combine_over_long_parts() -> None:
    """Lengths whose zero-byte shift needs many powers of x, computed once and then remembered."""
    import os

    a, b = os.urandom(1000), os.urandom((3 << 20) + 12345)
    for _ in range(2):
        assert g3_crc_combine(g3_crc([a], 7), g3_crc([b]), len(b)) == g3_crc([a, b], 7)


class CountingExecutor(ThreadPoolExecutor):
    """A real one-thread executor that counts the tasks it was given."""

    def __init__(self) -> None:
        super().__init__(1)
        self.tasks = 0

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        self.tasks += 1
        return super().submit(fn, *args, **kwargs)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=12))
def test_crc_in_halves_equals_the_crc_of_the_whole(chunks: list[bytes]) -> None:
    with ThreadPoolExecutor(1) as helper:
        views = [memoryview(c) if i % 2 else bytearray(c) for i, c in enumerate(chunks)]
        assert g3_crc_in_halves(views, helper) == bitwise_crc(b"".join(chunks))


def test_crc_in_halves_splits_one_long_chunk_and_many_short_ones() -> None:
    rng = np.random.default_rng(7)
    one = [rng.bytes(5 << 20)]
    many = [rng.bytes(80_000) for _ in range(100)] + [b"x"]
    with CountingExecutor() as helper:
        for chunks in (one, many, [b""] + one + [b""]):
            assert g3_crc_in_halves(chunks, helper) == g3_crc(chunks)
        assert helper.tasks == 3  # the second half went to the helper every time


def test_crc_in_halves_does_the_work_itself_when_the_helper_is_busy() -> None:
    data = [np.random.default_rng(8).bytes(3 << 20)]
    release = threading.Event()
    with ThreadPoolExecutor(1) as helper:
        blocker = helper.submit(release.wait, 10)  # the helper is taken
        assert g3_crc_in_halves(data, helper) == g3_crc(data)  # and not waited for
        assert not blocker.done()
        release.set()


def test_a_large_frame_encodes_the_same_with_a_crc_helper() -> None:
    rng = np.random.default_rng(9)
    frame = G3Frame(G3FrameType.Scan)
    frame["vector"] = G3VectorDouble(rng.random(300_000))  # one blob across the middle
    tsm = G3TimestreamMap()
    for j in range(50):
        tsm[f"det{j}"] = G3Timestream(rng.random(10_000))
    frame["map"] = tsm
    with CountingExecutor() as helper:
        split = b"".join(bytes(p) for p in encode_frame(frame, helper))
        assert helper.tasks == 1
    assert split == b"".join(bytes(p) for p in encode_frame(frame))
