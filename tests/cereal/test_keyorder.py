"""Entry order of written frames (FORMAT.md section 6), against the reference.

Frames built by the same sequence of insertions and deletions, here and in
spt3g, must serialize to identical bytes: same entry order, blobs and CRC.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from g3stream import G3Frame, G3FrameType
from g3stream.cereal.keyorder import history_to_disk_order, insertion_order_to_disk_order
from g3stream.codec.container import encode_frame_bytes
from g3stream.objects import G3Int

keys = st.text(st.characters(exclude_categories=("Cs",)), max_size=10)


def test_bucket_growth_points() -> None:
    """13 keys keep 13 buckets, the 14th rehashes; an order is a permutation of the keys."""
    ks = [f"k{i}" for i in range(40)]
    for n in (1, 13, 14, 29, 30, 40):
        order = insertion_order_to_disk_order(ks[:n])
        assert sorted(order) == sorted(ks[:n])


def test_history_without_deletions_equals_plain_insertions() -> None:
    """A history of insertions only gives the plain insertion-order result."""
    ks = [f"key{i}" for i in range(30)]
    assert history_to_disk_order([(True, k) for k in ks]) == insertion_order_to_disk_order(ks)


def _reference_frame(core: Any, ops: list[tuple[bool, str]]) -> bytes:
    f = core.G3Frame(core.G3FrameType.Scan)
    for insert, k in ops:
        if insert:
            if k not in f:
                f[k] = core.G3Int(len(k))
        elif k in f:
            del f[k]
    return bytes(f._cereal_dumps())


def _our_frame(ops: list[tuple[bool, str]]) -> bytes:
    f = G3Frame(G3FrameType.Scan)
    for insert, k in ops:
        if insert:
            if k not in f:
                f[k] = G3Int(len(k))
        elif k in f:
            del f[k]
    return encode_frame_bytes(f)


@pytest.mark.reference
@settings(max_examples=150, deadline=None)
@given(st.lists(keys, min_size=0, max_size=40, unique=True))
def test_insertions_match_reference(ks: list[str]) -> None:
    """Random unicode keys inserted in order: the same frame bytes as the reference."""
    core = pytest.importorskip("spt3g.core")
    ops = [(True, k) for k in ks]
    assert _our_frame(ops) == _reference_frame(core, ops)


@pytest.mark.reference
@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.sampled_from([f"k{i}" for i in range(25)])), max_size=80)
)
def test_insertions_and_deletions_match_reference(ops: list[tuple[bool, str]]) -> None:
    """Random insert/delete histories: the same frame bytes as the reference."""
    core = pytest.importorskip("spt3g.core")
    assert _our_frame(ops) == _reference_frame(core, ops)


@pytest.mark.reference
def test_large_frame_matches_reference() -> None:
    """A frame of 600 keys (several rehashes) is written in the reference's order."""
    core = pytest.importorskip("spt3g.core")
    ops = [(True, f"channel_{i:04d}") for i in range(600)]
    assert _our_frame(ops) == _reference_frame(core, ops)


@pytest.mark.reference
def test_read_and_rewrite_changes_order_like_reference() -> None:
    """A frame read back inserts its keys in on-disk order, so writing it again reorders."""
    core = pytest.importorskip("spt3g.core")
    from g3stream.codec.decoder import FrameDecoder

    ops = [(True, f"k{i}") for i in range(20)]
    first = _reference_frame(core, ops)
    dec = FrameDecoder()
    dec.feed(first)
    ours = dec.next_frame()
    assert ours is not None
    theirs = core.G3Frame()
    theirs._cereal_loads(first)
    assert encode_frame_bytes(ours) == bytes(theirs._cereal_dumps())
