"""``dump --json`` through orjson says exactly what the standard library says.

orjson (the ``json`` extra) writes numpy arrays itself; the values of every
frame of every vector file must parse back equal to the standard library's
output, including non-finite floats, big-endian data and odd keys.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from g3stream import G3File, G3Frame, G3FrameType
from g3stream.cli import dump
from g3stream.codec.container import decode_frame
from g3stream.objects import G3Timestream, G3TimestreamMap, G3VectorDouble, G3VectorInt

pytest.importorskip("orjson")

VECTORS = Path(__file__).parent.parent / "vectors"
FILES = sorted(p for p in VECTORS.iterdir() if ".g3" in p.name)


def _same(a: Any, b: Any) -> bool:
    """Equal JSON values; floats compared exactly (NaN never occurs: it is a string)."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, int | float) and isinstance(b, int | float) and a == b
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_vector_files_give_the_same_json(path: Path) -> None:
    n = 0
    for frame in G3File(str(path)):
        fast = json.loads(dump.frame_json(frame, fast=True).decode("utf-8", "surrogateescape"))
        plain = json.loads(dump.frame_json(frame, fast=False).decode("utf-8", "surrogateescape"))
        assert _same(fast, plain)
        n += 1
    assert n


def test_arrays_of_every_kind_give_the_same_json() -> None:
    rng = np.random.default_rng(3)
    f = G3Frame(G3FrameType.Scan)
    tsm = G3TimestreamMap()
    tsm["plain"] = G3Timestream(rng.standard_normal(1000) * 1e-7)
    tsm["tiny"] = G3Timestream(np.array([5e-324, 1e-5, 1e16, 1e22, -0.0, 0.1]))
    tsm["nan"] = G3Timestream(np.array([1.0, math.nan, math.inf, -math.inf]))
    f["tsm"] = tsm
    f["f32"] = G3Timestream(rng.standard_normal(10).astype(np.float32))
    f["i32"] = G3Timestream(np.arange(-5, 5, dtype=np.int32))
    f["be"] = G3VectorDouble(np.arange(4.0).astype(">f8"))
    f["ints"] = G3VectorInt(np.array([-(2**62), 2**62, 0]))
    f["strided"] = G3VectorDouble(np.arange(20.0)[::3])
    f["k\udcff"] = 1  # a key that is not valid UTF-8 (kept with surrogateescape)
    frame = decode_frame(f.encoded())
    fast = json.loads(dump.frame_json(frame, fast=True).decode("utf-8", "surrogateescape"))
    plain = json.loads(dump.frame_json(frame, fast=False).decode("utf-8", "surrogateescape"))
    assert _same(fast, plain)
    (tsm_entry,) = [e for e in fast["entries"] if e["key"] == "tsm"]
    channels = {k: v["value"]["data"]["values"] for k, v in tsm_entry["value"]["value"]}
    assert channels["plain"] == [float(x) for x in tsm["plain"]]
    assert channels["nan"] == [1.0, "nan", "inf", "-inf"]
