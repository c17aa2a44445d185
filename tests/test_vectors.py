"""Every reference-written test vector: decoding, exact re-encoding, read-and-rewrite.

For each ``vectors/NAME.json`` the data file must decode to exactly what the
JSON states (frame count, types, byte orders, CRCs, entry order, every value
with NaN == NaN, the sign of zero and dtypes).  Entries marked
``encode_exact`` must be reproduced byte for byte from their JSON value, and
so must whole frames whose insertion order is known.  Finally, reading a file
and writing its frames again must give the bytes the reference gives for the
same read-and-rewrite (run in the test when spt3g is installed).

Entries of classes that this package does not implement yet are expected
failures, named by class; they turn into ordinary tests as soon as the class
is registered.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import math
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from g3stream import G3Frame, G3FrameType
from g3stream.cereal import lookup_class
from g3stream.cereal.archive import ArchiveWriter
from g3stream.cereal.keyorder import insertion_order_to_disk_order
from g3stream.codec.container import encode_frame_bytes
from g3stream.codec.decoder import FrameDecoder
from g3stream.jsonform import frame_to_json, object_from_json

VECTORS = Path(__file__).parent / "vectors"
VECTOR_NAMES = sorted(p.stem for p in VECTORS.glob("*.json"))

_OPENERS = {"none": open, "gzip": gzip.open, "bzip2": bz2.open, "xz": lzma.open}

# Keys of the expected JSON that describe the reference, not the decoded value.
_NOT_COMPARED = {
    "encoding",
    "note",
    "encode_exact",
    "encode_exact_except_flac",
    "reference_undefined",
}


@cache
def expected(name: str) -> dict[str, Any]:
    """The parsed JSON of one vector."""
    with open(VECTORS / f"{name}.json", encoding="utf-8") as fh:
        return json.load(fh)


@cache
def stream_bytes(name: str) -> bytes:
    """The uncompressed byte stream of one vector's data file."""
    meta = expected(name)
    with _OPENERS[meta["compression"]](VECTORS / meta["file"], "rb") as fh:
        return fh.read()


def decode_all(data: bytes) -> list[G3Frame]:
    """Every frame of a complete stream, fed to the decoder in one piece."""
    dec = FrameDecoder()
    dec.feed(data)
    frames = dec.frames()
    assert dec.at_boundary, "the stream ended inside a frame"
    dec.close()
    return frames


@cache
def frame_bytes(name: str) -> list[bytes]:
    """The bytes of each frame of a vector, as stored in the file."""
    data = stream_bytes(name)
    out = []
    for f in decode_all(data):
        raw = f.original_bytes
        assert raw is not None
        out.append(bytes(raw))
    return out


def classes_in(value: Any) -> set[str]:
    """Every class name mentioned in an expected VALUE, at any depth."""
    found: set[str] = set()
    if isinstance(value, dict):
        if isinstance(value.get("class"), str):
            found.add(value["class"])
        for v in value.values():
            found |= classes_in(v)
    elif isinstance(value, list):
        for v in value:
            found |= classes_in(v)
    return found


def uses_flac(value: Any) -> bool:
    """Whether an expected VALUE holds a FLAC-compressed timestream at any depth."""
    if isinstance(value, dict):
        if value.get("flac"):
            return True
        return any(uses_flac(v) for v in value.values())
    if isinstance(value, list):
        return any(uses_flac(v) for v in value)
    return False


def xfail_if_missing(value: Any) -> None:
    """Mark the test as an expected failure while a class it needs is not implemented."""
    missing = sorted(c for c in classes_in(value) if lookup_class(c) is None)
    if missing:
        pytest.xfail(f"class not implemented yet: {', '.join(missing)}")


def assert_same(actual: Any, want: Any, path: str = "") -> None:
    """Deep comparison with NaN == NaN, the sign of zero, and strict number kinds."""
    if isinstance(want, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        assert "error" not in actual, f"{path}: {actual.get('error')}"
        for k, v in want.items():
            if k in _NOT_COMPARED:
                continue
            assert k in actual, f"{path}: missing field {k!r}"
            assert_same(actual[k], v, f"{path}.{k}")
        extra = set(actual) - set(want) - {"version"}
        assert not extra, f"{path}: unexpected fields {sorted(extra)}"
    elif isinstance(want, list):
        assert isinstance(actual, list), f"{path}: expected a list, got {actual!r}"
        assert len(actual) == len(want), f"{path}: length {len(actual)} != {len(want)}"
        for i, (a, w) in enumerate(zip(actual, want, strict=True)):
            assert_same(a, w, f"{path}[{i}]")
    elif isinstance(want, bool):
        assert isinstance(actual, bool) and actual == want, f"{path}: {actual!r} != {want!r}"
    elif isinstance(want, float):
        assert isinstance(actual, float), f"{path}: {actual!r} is not a float"
        if math.isnan(want):
            assert math.isnan(actual), f"{path}: {actual!r} is not NaN"
        else:
            assert actual == want, f"{path}: {actual!r} != {want!r}"
            assert math.copysign(1.0, actual) == math.copysign(1.0, want), (
                f"{path}: sign of zero differs"
            )
    elif isinstance(want, int):
        assert isinstance(actual, int) and not isinstance(actual, bool), (
            f"{path}: {actual!r} is not an integer"
        )
        assert actual == want, f"{path}: {actual!r} != {want!r}"
    else:
        assert actual == want, f"{path}: {actual!r} != {want!r}"


def _entry_params() -> list[Any]:
    params = []
    for name in VECTOR_NAMES:
        for fi, frame in enumerate(expected(name)["frames"]):
            for entry in frame["entries"]:
                params.append(
                    pytest.param(name, fi, entry["key"], id=f"{name}-{fi}-{entry['key']}")
                )
    return params


ENTRY_PARAMS = _entry_params()


def _expected_entry(name: str, fi: int, key: str) -> dict[str, Any]:
    for entry in expected(name)["frames"][fi]["entries"]:
        if entry["key"] == key:
            return entry
    raise KeyError(key)


@cache
def decoded_frames(name: str) -> list[G3Frame]:
    """The frames of a vector as this package decodes them (shared by the tests)."""
    return decode_all(stream_bytes(name))


# -- decoding ------------------------------------------------------------------


@pytest.mark.parametrize("name", VECTOR_NAMES)
def test_container(name: str) -> None:
    """Frame count, types, byte orders, versions, CRCs, entry order and blob sizes."""
    want = expected(name)["frames"]
    frames = decoded_frames(name)
    assert len(frames) == len(want)
    for frame, wf in zip(frames, want, strict=True):
        got = frame_to_json(frame)
        for field in ("type_code", "type", "endian", "version", "crc"):
            assert got[field] == wf[field], field
        if wf["type"] is None:
            assert got["adhoc_type"] == wf["adhoc_type"]
        else:
            assert "adhoc_type" not in got
        assert [e["key"] for e in got["entries"]] == [e["key"] for e in wf["entries"]]
        for e, we in zip(got["entries"], wf["entries"], strict=True):
            assert e["blob_size"] == we["blob_size"], e["key"]
            assert e["blob_endian"] == we["blob_endian"], e["key"]
        assert list(frame.keys()) == [e["key"] for e in wf["entries"]]
        if "insert_order" in wf:
            assert list(insertion_order_to_disk_order(wf["insert_order"])) == [
                e["key"] for e in wf["entries"]
            ]


@pytest.mark.parametrize(("name", "fi", "key"), ENTRY_PARAMS)
def test_entry_value(name: str, fi: int, key: str) -> None:
    """Each entry decodes to exactly its expected VALUE, root version included."""
    want = _expected_entry(name, fi, key)
    xfail_if_missing(want["value"])
    # through JSON text, as ``dump --json`` prints it (strict: no bare NaN)
    text = json.dumps(frame_to_json(decoded_frames(name)[fi]), allow_nan=False)
    got = {e["key"]: e for e in json.loads(text)["entries"]}[key]
    assert_same(got["value"], want["value"], key)
    if want["value"] is not None:
        assert got["value"].get("version") == want["value"]["version"]


def test_every_vector_is_checked() -> None:
    """The corpus is present and every data file has its JSON (and the reverse)."""
    assert len(VECTOR_NAMES) >= 20
    for name in VECTOR_NAMES:
        assert (VECTORS / expected(name)["file"]).is_file()


def test_concatenated_corpus_is_one_stream() -> None:
    """All vectors (uncompressed) concatenated decode as one stream, frame for frame."""
    data = b"".join(stream_bytes(n) for n in VECTOR_NAMES)
    frames = decode_all(data)
    assert len(frames) == sum(len(expected(n)["frames"]) for n in VECTOR_NAMES)
    offset = 0
    for f in frames:
        assert f.stream_offset == offset
        raw = f.original_bytes
        assert raw is not None
        offset += len(raw)
    assert offset == len(data)


# -- encoding (a): from JSON --------------------------------------------------


def _encode_in_order(obj: Any, little: bool) -> bytes:
    w = ArchiveWriter(little=little)
    w.pointer(obj)
    return w.getvalue()


ENCODE_PARAMS = [
    p
    for p in ENTRY_PARAMS
    if _expected_entry(*p.values).get("encode_exact")
    or _expected_entry(*p.values).get("encode_exact_except_flac")
]


@pytest.mark.parametrize(("name", "fi", "key"), ENCODE_PARAMS)
def test_encode_exact(name: str, fi: int, key: str) -> None:
    """Building the object from its JSON value and encoding it gives the blob byte for byte."""
    want = _expected_entry(name, fi, key)
    xfail_if_missing(want["value"])
    frame = decoded_frames(name)[fi]
    original = bytes(frame.blob(key))  # type: ignore[arg-type]
    obj = object_from_json(want["value"])
    blob = _encode_in_order(obj, want["blob_endian"] == "little")
    if not want.get("encode_exact") and blob != original:
        # only libFLAC 1.5.0 reproduces FLAC payloads: outside them, every byte must agree
        regions = flac_regions(original)
        assert regions, "entry marked encode_exact_except_flac holds no FLAC payload"
        if len(blob) != len(original) or flac_regions(blob) != regions:
            pytest.skip(
                "FLAC payloads of another size (another libFLAC); the rest cannot be aligned"
            )
        outside = [
            i
            for i in range(len(blob))
            if blob[i] != original[i] and not any(a <= i < b for a, b in regions)
        ]
        assert not outside, f"bytes outside FLAC payloads differ at {outside[:10]}"
        return
    assert blob == original


def flac_regions(blob: bytes) -> list[tuple[int, int]]:
    """Byte ranges of the FLAC payloads in a blob: each is ``fLaC...`` after its u64 length."""
    regions = []
    start = blob.find(b"fLaC")
    while start >= 8:
        little = blob[0] == 1
        size = int.from_bytes(blob[start - 8 : start], "little" if little else "big")
        if start + size <= len(blob):
            regions.append((start, start + size))
            start = blob.find(b"fLaC", start + size)
        else:
            start = blob.find(b"fLaC", start + 4)
    return regions


def _frame_params() -> list[Any]:
    params = []
    for name in VECTOR_NAMES:
        for fi, frame in enumerate(expected(name)["frames"]):
            if "insert_order" in frame and all(e.get("encode_exact") for e in frame["entries"]):
                params.append(pytest.param(name, fi, id=f"{name}-{fi}"))
    return params


@pytest.mark.parametrize(("name", "fi"), _frame_params())
def test_encode_frame_from_json(name: str, fi: int) -> None:
    """A frame built by inserting the JSON values in insert_order is the file's frame exactly."""
    wf = expected(name)["frames"][fi]
    values = {e["key"]: e["value"] for e in wf["entries"]}
    xfail_if_missing(list(values.values()))
    frame = G3Frame(G3FrameType(wf["type_code"]))
    for key in wf["insert_order"]:
        frame[key] = object_from_json(values[key])
    assert encode_frame_bytes(frame) == frame_bytes(name)[fi]


# -- encoding (b): read and rewrite, against the reference ---------------------


def _reference_rewrite(name: str, decode_all_values: bool) -> list[bytes] | None:
    core = pytest.importorskip("spt3g.core")
    out = []
    path = VECTORS / expected(name)["file"]
    for fr in core.G3File(str(path)):
        if decode_all_values:
            try:
                fr.drop_blobs(True)
            except Exception:  # a class the reference build cannot decode
                return None
        out.append(bytes(fr._cereal_dumps()))
    return out


@pytest.mark.reference
@pytest.mark.parametrize("name", VECTOR_NAMES)
def test_rewrite_matches_reference(name: str) -> None:
    """Read and write again unchanged: entry order changes, blobs stay byte for byte."""
    want = _reference_rewrite(name, decode_all_values=False)
    assert want is not None
    ours = [encode_frame_bytes(f) for f in decode_all(stream_bytes(name))]
    assert len(ours) == len(want)
    for i, (a, b) in enumerate(zip(ours, want, strict=True)):
        assert a == b, f"frame {i}"


@pytest.mark.reference
@pytest.mark.parametrize("name", VECTOR_NAMES)
def test_reencode_matches_reference(name: str) -> None:
    """Decode every value, forget the blobs, encode again: the reference's bytes exactly.

    This re-encodes old class versions as current ones and big-endian blobs
    as little-endian ones, as the reference does.
    """
    meta = expected(name)
    entries = [e for f in meta["frames"] for e in f["entries"]]
    if any(e.get("reference_undefined") for e in entries):
        pytest.skip("the reference's decoding of this vector is undefined")
    xfail_if_missing([e["value"] for e in entries])
    want = _reference_rewrite(name, decode_all_values=True)
    if want is None:
        pytest.skip("the installed reference cannot decode every class of this vector")
    frames = decode_all(stream_bytes(name))
    for f in frames:
        f.drop_blobs()
    ours = [encode_frame_bytes(f) for f in frames]
    assert len(ours) == len(want)
    flac = any(uses_flac(e["value"]) for e in entries)
    for i, (a, b) in enumerate(zip(ours, want, strict=True)):
        if a != b and flac:
            # only libFLAC 1.5.0 reproduces FLAC payloads (and so the frame CRC)
            assert_equal_outside_flac(a, b, f"frame {i}")
            continue
        assert a == b, f"frame {i}"


def assert_equal_outside_flac(ours: bytes, theirs: bytes, what: str) -> None:
    """Equal bytes except inside FLAC payloads and the final CRC (same payload sizes needed)."""
    regions = flac_regions(theirs)
    if len(ours) != len(theirs) or flac_regions(ours) != regions:
        pytest.skip(f"{what}: FLAC payloads of another size (another libFLAC)")
    regions.append((len(theirs) - 4, len(theirs)))
    outside = [
        j
        for j in range(len(ours))
        if ours[j] != theirs[j] and not any(a <= j < b for a, b in regions)
    ]
    assert not outside, f"{what}: bytes outside FLAC payloads differ at {outside[:10]}"
