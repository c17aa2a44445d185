"""The frame CRC: CRC-32C with register 0 and no final inversion (FORMAT.md section 4)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from g3stream.cereal.crc import g3_crc, g3_crc_combine


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
