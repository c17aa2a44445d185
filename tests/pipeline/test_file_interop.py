"""Files written by a g3stream pipeline are read by spt3g with their PipelineInfo, and the reverse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import g3stream
from g3stream.cereal import encode_object_bytes
from g3stream.codec.decoder import FrameDecoder

spt3g = pytest.importorskip("spt3g")
from spt3g import core as spt3g_core  # noqa: E402

VECTORS = Path(__file__).resolve().parent.parent / "vectors"


def tag_frames(frame: Any, label: str = "x", scale: float = 1.0, obj: Any = None) -> None:
    """A module used by both implementations: numbers Timepoint frames and labels them."""
    if frame.type != frame.type.__class__.Timepoint:
        return
    tag_frames.count += 1  # type: ignore[attr-defined]
    frame["n"] = tag_frames.count  # type: ignore[attr-defined]
    frame["label"] = label
    frame["scaled"] = tag_frames.count * scale  # type: ignore[attr-defined]
    if obj is not None:
        frame["obj_len"] = len(obj)


def _write_with(core: Any, path: Path, vector_cls: Any) -> None:
    tag_frames.count = 0  # type: ignore[attr-defined]
    pipe = core.G3Pipeline()
    pipe.Add(core.G3InfiniteSource, type=core.G3FrameType.Timepoint, n=3)
    pipe.Add(tag_frames, label="é-label", scale=0.25, obj=vector_cls([0.5, 1.5]))
    pipe.Add(core.G3Writer, filename=str(path))
    pipe.Run()


def _data(frames: list[Any]) -> list[tuple]:
    """Non-PipelineInfo frames as (type code, sorted plain items)."""
    out = []
    for f in frames:
        if int(f.type) == ord("P"):
            continue
        out.append((int(f.type), tuple(sorted((k, f[k]) for k in f.keys()))))
    return out


def _info_modules(info: Any) -> list[tuple[str, str, list[str]]]:
    return [(m.modname, m.instancename, list(m.keys())) for m in info.modules]


def test_spt3g_reads_a_g3stream_pipeline_file(tmp_path: Path) -> None:
    ours = tmp_path / "ours.g3"
    _write_with(g3stream, ours, g3stream.G3VectorDouble)
    frames = list(spt3g_core.G3File(str(ours)))
    assert int(frames[0].type) == ord("P")
    (key,) = list(frames[0].keys())
    info = frames[0][key]
    assert isinstance(info, spt3g_core.G3PipelineInfo)
    # provenance written by g3stream: ours, readable by the reference
    assert "g3stream" in info.vcs_fullversion
    modules = _info_modules(info)
    assert [m[0].rsplit(".", 1)[-1] for m in modules] == [
        "G3InfiniteSource",
        "tag_frames",
        "G3Writer",
    ]
    assert modules[1][2] == ["label", "obj", "scale"]
    tag_cfg = info.modules[1]
    assert tag_cfg["label"] == "é-label"
    assert tag_cfg["scale"] == 0.25
    assert list(tag_cfg["obj"]) == [0.5, 1.5]  # stored as a frame object
    # the same pipeline run by spt3g gives the same data frames
    ref = tmp_path / "ref.g3"
    _write_with(spt3g_core, ref, spt3g_core.G3VectorDouble)
    ref_frames = list(spt3g_core.G3File(str(ref)))
    assert _data(frames) == _data(ref_frames)
    assert len(frames) == len(ref_frames) == 4
    ref_info = ref_frames[0][next(iter(ref_frames[0].keys()))]
    assert [m[1].rsplit(".", 1)[-1] for m in modules] == [
        m.instancename.rsplit(".", 1)[-1] for m in ref_info.modules
    ]


def test_data_frames_are_byte_identical_to_spt3g(tmp_path: Path) -> None:
    ours, ref = tmp_path / "ours.g3", tmp_path / "ref.g3"
    _write_with(g3stream, ours, g3stream.G3VectorDouble)
    _write_with(spt3g_core, ref, spt3g_core.G3VectorDouble)

    def frame_bytes(path: Path) -> list[bytes]:
        dec = FrameDecoder()
        dec.feed(path.read_bytes())
        return [bytes(f.original_bytes) for f in dec.frames()]

    ours_b, ref_b = frame_bytes(ours), frame_bytes(ref)
    assert len(ours_b) == len(ref_b) == 4
    assert ours_b[1:] == ref_b[1:]


def test_g3stream_reads_an_spt3g_pipeline_file_and_keeps_its_pipelineinfo(
    tmp_path: Path,
) -> None:
    ref = tmp_path / "ref.g3"
    _write_with(spt3g_core, ref, spt3g_core.G3VectorDouble)
    out = tmp_path / "rewritten.g3"

    seen: list[Any] = []
    pipe = g3stream.G3Pipeline()
    pipe.Add(g3stream.G3Reader, filename=str(ref))
    pipe.Add(lambda frame: seen.append(frame))
    pipe.Add(g3stream.G3Writer, filename=str(out))
    pipe.Run()

    # the reference's PipelineInfo frame came first, and ours was added to it
    assert int(seen[0].type) == ord("P")
    assert len(seen[0]) == 2
    infos = [seen[0][k] for k in seen[0].keys()]
    assert all(isinstance(i, g3stream.G3PipelineInfo) for i in infos)
    ref_info, our_info = infos
    from spt3g import version as spt3g_version

    assert ref_info.vcs_fullversion == spt3g_version.fullversion
    assert [m.modname for m in ref_info.modules] == [
        "spt3g.core.G3InfiniteSource",
        f"{__name__}.tag_frames",
        "spt3g.core.G3Writer",
    ]
    assert np.array_equal(np.asarray(ref_info.modules[1]["obj"]), [0.5, 1.5])
    assert [m.modname.rsplit(".", 1)[-1] for m in our_info.modules] == [
        "G3Reader",
        "<lambda>",
        "G3Writer",
    ]
    assert len(seen) == 5 and int(seen[-1].type) == ord("Z")

    # and spt3g reads the rewritten file with both PipelineInfo objects intact
    frames = list(spt3g_core.G3File(str(out)))
    assert len(frames) == 4
    keys = list(frames[0].keys())
    assert len(keys) == 2
    assert sorted(frames[0][k].modules[0].modname.rsplit(".", 1)[-1] for k in keys) == [
        "G3InfiniteSource",
        "G3Reader",
    ]
    assert _data(frames) == _data(list(spt3g_core.G3File(str(ref))))


def test_rewriting_the_reference_vector_gives_spt3g_bytes(tmp_path: Path) -> None:
    """Reading and writing pipeline.g3 gives the data-frame bytes spt3g gives for the same."""
    src = VECTORS / "pipeline.g3"
    outs = {}
    for name, core in (("ours", g3stream), ("ref", spt3g_core)):
        outs[name] = tmp_path / f"{name}.g3"
        pipe = core.G3Pipeline()
        pipe.Add(core.G3Reader, filename=str(src))
        pipe.Add(core.G3Writer, filename=str(outs[name]))
        pipe.Run()

    def frames_of(path: Path) -> list[Any]:
        dec = FrameDecoder()
        dec.feed(path.read_bytes())
        return dec.frames()

    original, ours, ref = frames_of(src), frames_of(outs["ours"]), frames_of(outs["ref"])
    assert len(ours) == len(ref) == len(original)
    assert [bytes(f.encoded()) for f in ours[1:]] == [bytes(f.encoded()) for f in ref[1:]]
    # the leading PipelineInfo frame keeps the vector's entry unchanged and gains one more
    (ref_key,) = original[0].keys()
    assert set(ours[0].keys()) > {ref_key} and len(ours[0]) == len(ref[0]) == 2
    assert bytes(ours[0].blob(ref_key)) == bytes(ref[0].blob(ref_key))
    assert bytes(ours[0].blob(ref_key)) == bytes(original[0].blob(ref_key))
    # spt3g reads both entries of our file
    (theirs,) = [f for f in spt3g_core.G3File(str(outs["ours"])) if int(f.type) == ord("P")]
    assert len(list(theirs.keys())) == 2
    assert theirs[ref_key].hostname == "vector-host0"


def test_reproduces_the_reference_pipeline_vector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pipeline.g3 was written by spt3g with pinned host, user and time: ours gives its bytes.

    Data frames must be byte-identical; the G3PipelineInfo must be too once the
    parts that name the software (version fields, library module names, the
    package prefix of reprs) are set to spt3g's.
    """
    import getpass
    import socket

    from g3stream.objects.time import G3Time

    meta_time = G3Time("14-Nov-2023:22:13:21.234567890")
    monkeypatch.setattr(socket, "gethostname", lambda: "vector-host0")
    monkeypatch.setattr(getpass, "getuser", lambda: "g3user")
    monkeypatch.setattr(G3Time, "Now", classmethod(lambda cls: cls(meta_time)))

    count = [0]

    def tag_frames(frame: Any, label: str = "", scale: float = 1.0) -> None:
        if frame.type == g3stream.G3FrameType.Timepoint:
            count[0] += 1
            frame["n"] = count[0]
            frame["label"] = label

    def with_object(frame: Any, obj: Any = None, names: Any = (), flag: Any = None) -> None:
        if frame.type == g3stream.G3FrameType.Timepoint:
            frame["obj_len"] = len(obj)

    out = tmp_path / "pipeline.g3"
    pipe = g3stream.G3Pipeline()
    pipe.Add(g3stream.G3InfiniteSource, n=3, type=g3stream.G3FrameType.Timepoint)
    pipe.Add(tag_frames, label="é-label", scale=0.25)
    pipe.Add(with_object, obj=g3stream.G3VectorDouble([0.5, 1.5]), names=("x", "y"), flag=None)
    monkeypatch.chdir(tmp_path)
    pipe.Add(g3stream.G3Writer, filename="pipeline.g3")
    pipe.Run()

    def frames_of(path: Path) -> list[Any]:
        dec = FrameDecoder()
        dec.feed(path.read_bytes())
        return dec.frames()

    ours, ref = frames_of(out), frames_of(VECTORS / "pipeline.g3")
    assert len(ours) == len(ref) == 4
    assert [bytes(f.encoded()) for f in ours[1:]] == [bytes(f.original_bytes) for f in ref[1:]]

    (key,) = ours[0].keys()
    assert key == "14-Nov-2023:22:13:21.234567890" == next(iter(ref[0].keys()))
    info, ref_info = ours[0][key], ref[0][key]
    assert (info.hostname, info.user) == ("vector-host0", "g3user")
    for field in (
        "vcs_url",
        "vcs_branch",
        "vcs_revision",
        "vcs_localdiffs",
        "vcs_versionname",
        "vcs_githash",
        "vcs_fullversion",
    ):
        setattr(info, field, getattr(ref_info, field))
    assert len(info.modules) == len(ref_info.modules)
    for mine, theirs in zip(info.modules, ref_info.modules, strict=True):
        assert mine.modname.rsplit(".", 1)[-1] == theirs.modname.rsplit(".", 1)[-1]
        mine.modname = theirs.modname
        mine.instancename = theirs.instancename
        assert mine.keys() == theirs.keys()
        for k in mine.keys():
            arg, ref_arg = mine.config[k], theirs.config[k]
            assert arg.repr == ref_arg.repr.replace("spt3g.core.", "")
            arg.repr = ref_arg.repr
    assert encode_object_bytes(info) == bytes(ref[0].blob(key))


def test_metadata_repeated_across_files_is_deduplicated_alike(tmp_path: Path) -> None:
    """Two copies of a file read in one pipeline: repeated metadata and PipelineInfo go away."""
    path = tmp_path / "meta.g3"
    writer = spt3g_core.G3Writer(str(path))
    for type_name, key, value in [
        ("Observation", "obs", 1),
        ("Calibration", "cal", 2.5),
        ("Scan", "s", 1),
        ("Calibration", "cal", 3.5),
        ("Scan", "s", 2),
    ]:
        frame = spt3g_core.G3Frame(getattr(spt3g_core.G3FrameType, type_name))
        frame[key] = value
        writer(frame)
    writer(spt3g_core.G3Frame(spt3g_core.G3FrameType.EndProcessing))
    del writer

    def run(core: Any) -> list[tuple]:
        seen: list[tuple] = []
        pipe = core.G3Pipeline()
        pipe.Add(core.G3Reader, filename=[str(path), str(path)])
        pipe.Add(core.DeduplicateMetadata)

        def record(frame: Any) -> None:
            if int(frame.type) != ord("P"):
                seen.append((int(frame.type), tuple(sorted(dict(frame).items()))))

        pipe.Add(record)
        pipe.Run()
        return seen

    ours = run(g3stream)
    assert ours == run(spt3g_core)
    # the second copy's Observation is dropped, its first Calibration differs from the last one seen
    assert [t for t, _ in ours].count(ord("O")) == 1
    assert len(ours) == 5 + 4 + 1  # first copy, second copy less its Observation, EndProcessing
