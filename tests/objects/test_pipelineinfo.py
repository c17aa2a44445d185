"""G3PipelineInfo / G3ModuleConfig / G3ModuleArg: vectors, the reference, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from g3stream.cereal import decode_object, encode_object_bytes
from g3stream.codec.container import decode_frame, encode_frame_bytes
from g3stream.codec.decoder import FrameDecoder
from g3stream.errors import G3FormatError, InvalidLengthError, TruncatedFrameError
from g3stream.frame import G3Frame, G3FrameType
from g3stream.jsonform import object_from_json
from g3stream.objects.pipelineinfo import G3ModuleArg, G3ModuleConfig, G3PipelineInfo
from g3stream.objects.scalars import G3Int
from g3stream.objects.vectors import G3VectorDouble

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
CLASSES = ("G3PipelineInfo", "G3ModuleConfig")


def _provenance_entries():
    """(vector, key, expected entry, decoded frame) for every pipeline object in the corpus."""
    out = []
    for name in ("pipeline", "crafted_edge", "legacy"):
        spec = json.loads((VECTORS / f"{name}.json").read_text("utf-8"))
        dec = FrameDecoder()
        dec.feed((VECTORS / spec["file"]).read_bytes())
        for fspec in spec["frames"]:
            frame = dec.next_frame()
            for entry in fspec["entries"]:
                value = entry["value"]
                if value and value["class"] in CLASSES:
                    out.append(pytest.param(frame, entry, id=f"{name}:{entry['key']}"))
    return out


ENTRIES = _provenance_entries()


def test_corpus_has_both_versions():
    versions = {p.values[1]["value"]["version"] for p in ENTRIES}
    assert versions == {1, 2}


@pytest.mark.parametrize(("frame", "entry"), ENTRIES)
def test_decodes_like_the_reference(frame, entry):
    obj = frame[entry["key"]]
    assert type(obj).__name__ == entry["value"]["class"]
    assert obj._json_payload() == entry["value"]["value"]


@pytest.mark.parametrize(("frame", "entry"), ENTRIES)
def test_encodes_byte_exact(frame, entry):
    blob = bytes(frame.blob(entry["key"]))
    decoded = decode_object(blob)
    rebuilt = object_from_json(entry["value"])
    if entry["encode_exact"]:
        assert encode_object_bytes(decoded) == blob
        assert encode_object_bytes(rebuilt) == blob
    else:
        # an old version: written again as the current version, with the same content
        again = decode_object(encode_object_bytes(decoded))
        assert again == decoded
        assert again._json_payload() == entry["value"]["value"]


def test_version1_object_argument_has_empty_repr():
    legacy = [p for p in ENTRIES if p.values[1]["key"] == "pi_v1"]
    frame, entry = legacy[0].values
    info = frame[entry["key"]]
    arg = info.modules[1].config["obj"]
    assert arg.repr == ""
    assert list(arg.object) == ["u", "v"]
    assert info.vcs_fullversion == ""
    assert info.modules[0]["n_frames_to_read"] == 0


#: Software-identity fields given the same values in g3stream's and spt3g's objects.
SAMPLE_FIELDS = {
    "vcs_url": "https://example.invalid/x",
    "vcs_branch": "main",
    "vcs_revision": "abc",
    "vcs_localdiffs": True,
    "vcs_versionname": "v9",
    "vcs_githash": "0123",
    "vcs_fullversion": "9.9",
    "hostname": "h",
    "user": "u",
}


def _sample_info() -> G3PipelineInfo:
    info = G3PipelineInfo()
    for field, value in SAMPLE_FIELDS.items():
        setattr(info, field, value)
    shared = G3Int(7)
    for i, name in enumerate(("mod.a", "mod.b")):
        mc = G3ModuleConfig(name, f"inst{i}")
        mc["é"] = "x"
        mc["z"] = 1.5
        mc["A"] = shared
        mc["vec"] = G3VectorDouble([0.5, 2.0])
        info.modules.append(mc)
    return info


def test_round_trip_keeps_everything_and_shares_pointers():
    info = _sample_info()
    blob = encode_object_bytes(info)
    back = decode_object(blob)
    assert back == info
    assert back.modules[0].keys() == ["A", "vec", "z", "é"]  # raw-byte order
    # one object used by two modules is written once and read back as one object
    assert back.modules[0].config["A"].object is back.modules[1].config["A"].object
    assert encode_object_bytes(back) == blob


def test_argument_values_are_literals_never_code():
    mc = G3ModuleConfig("m", "m")
    mc.config["n"] = G3ModuleArg("3")
    mc.config["t"] = G3ModuleArg("('x', 'y')")
    mc.config["code"] = G3ModuleArg("__import__('os').getcwd()")
    mc.config["obj"] = G3ModuleArg("", G3Int(4))
    assert mc["n"] == 3
    assert mc["t"] == ("x", "y")
    assert mc["code"] == "__import__('os').getcwd()"
    assert mc["obj"] == G3Int(4)
    with pytest.raises(KeyError):
        mc["missing"]


def test_truncated_blob_raises_typed_error():
    blob = encode_object_bytes(_sample_info())
    for cut in (20, len(blob) // 2, len(blob) - 1):
        # a count or length running past the end, or data ending early
        with pytest.raises((TruncatedFrameError, InvalidLengthError)):
            decode_object(blob[:cut])


def test_absurd_module_count_is_refused_before_allocation():
    info = G3PipelineInfo()
    blob = bytearray(encode_object_bytes(info))
    # the module count is the u64 just before the final (empty) vcs_fullversion string
    count_at = len(blob) - 16
    assert blob[count_at : count_at + 8] == bytes(8)
    blob[count_at : count_at + 8] = (1 << 62).to_bytes(8, "little")
    with pytest.raises(InvalidLengthError) as err:
        decode_object(bytes(blob))
    assert isinstance(err.value, G3FormatError)
    assert err.value.offset == count_at


# -- against the reference ---------------------------------------------------


def _reference_frame_bytes(core):
    info = core.G3PipelineInfo()
    for field, value in SAMPLE_FIELDS.items():
        setattr(info, field, value)
    mc = core.G3ModuleConfig()
    mc.modname = "mod.a"
    mc.instancename = "inst"
    mc["é"] = "x"
    mc["z"] = 1.5
    mc["A"] = core.G3Int(7)
    info.modules.append(mc)
    frame = core.G3Frame(core.G3FrameType.PipelineInfo)
    frame["info"] = info
    frame["config"] = mc
    return bytes(frame.hash)


def test_reads_and_rewrites_reference_objects():
    core = pytest.importorskip("spt3g.core")
    raw = _reference_frame_bytes(core)
    frame = decode_frame(raw)
    info = frame["info"]
    assert (info.vcs_branch, info.vcs_localdiffs, info.vcs_fullversion) == ("main", True, "9.9")
    mc = info.modules[0]
    assert mc.keys() == ["A", "z", "é"]
    assert mc.config["é"].repr == "'x'"
    assert mc.config["A"].object == G3Int(7)
    assert frame["config"] == mc
    for key in ("info", "config"):
        assert encode_object_bytes(frame[key]) == bytes(frame.blob(key))


def test_reference_reads_our_objects(tmp_path):
    core = pytest.importorskip("spt3g.core")
    frame = G3Frame(G3FrameType.PipelineInfo)
    frame["info"] = _sample_info()
    path = tmp_path / "pi.g3"
    path.write_bytes(encode_frame_bytes(frame))
    (ref,) = list(core.G3File(str(path)))
    info = ref["info"]
    assert info.vcs_branch == "main" and info.vcs_localdiffs is True
    assert info.vcs_fullversion == "9.9"
    assert [m.instancename for m in info.modules] == ["inst0", "inst1"]
    assert info.modules[1].keys() == ["A", "vec", "z", "é"]
    assert info.modules[1]["z"] == 1.5
    assert list(info.modules[1]["vec"]) == [0.5, 2.0]
    assert info.modules[1]["A"].value == 7
    # and the reference writes it back with the same bytes
    again = decode_frame(bytes(ref.hash))
    assert encode_object_bytes(again["info"]) == encode_object_bytes(frame["info"])


def test_descriptions_match_the_reference():
    core = pytest.importorskip("spt3g.core")
    ours = _sample_info()
    ref = core.G3PipelineInfo()
    for field in (
        "vcs_url",
        "vcs_branch",
        "vcs_revision",
        "vcs_localdiffs",
        "vcs_versionname",
        "vcs_githash",
        "vcs_fullversion",
        "hostname",
        "user",
    ):
        setattr(ref, field, getattr(ours, field))
    for m in ours.modules:
        mc = core.G3ModuleConfig()
        mc.modname = m.modname
        ref.modules.append(mc)
    assert ours.Summary() == ref.Summary()
    assert ours.Description() == ref.Description()
    empty = G3PipelineInfo()
    assert empty.Summary() == core.G3PipelineInfo().Summary()
    assert empty.Description() == core.G3PipelineInfo().Description()
    mc = core.G3ModuleConfig()
    mc.modname = "a.b"
    mc["k"] = 3
    assert ours.modules[0].Summary() == "G3ModuleConfig(mod.a, 4 arguments)"
    assert mc.Summary() == "G3ModuleConfig(a.b, 1 arguments)"


def test_module_args_holding_vectors_of_other_lengths_differ() -> None:
    # element-wise == would broadcast [1.0] against [1.0, 1.0] and call them equal
    a = G3ModuleArg("x", G3VectorDouble([1.0]))
    b = G3ModuleArg("x", G3VectorDouble([1.0, 1.0]))
    assert a != b
    assert a == G3ModuleArg("x", G3VectorDouble([1.0]))
