"""Decorators and utility modules, exercised directly."""

from __future__ import annotations

import pytest

from g3stream import G3Frame, G3FrameType
from g3stream.pipeline import (
    AbortAfterNFrames,
    DeduplicateMetadata,
    Delete,
    DropOrphanMetadata,
    Dump,
    G3FatalError,
    G3InfiniteSource,
    G3Pipeline,
    Keep,
    Rename,
    indexmod,
    pipesegment,
    pipesegment_nodoc,
    usefulfunc,
)


def _frame(type_=G3FrameType.Scan, **values):
    f = G3Frame(type_)
    for k, v in values.items():
        f[k] = v
    return f


def test_marking_decorators_keep_the_object():
    def f(frame):
        pass

    assert indexmod(f) is f and f.__g3module__
    assert usefulfunc(f) is f and f.__g3usefulfunc__
    assert pipesegment_nodoc(f) is f and f.__pipesegment__


def test_pipesegment_documents_its_modules():
    @pipesegment
    def cleanup(pipe, keys=("a",)):
        """Remove temporary keys."""
        pipe.Add(Delete, keys=list(keys))
        pipe.Add(Dump, added_message="after cleanup")

    assert cleanup.__name__ == "cleanup"
    doc = cleanup.__doc__
    assert doc.startswith("Remove temporary keys.")
    assert "pipe.Add(g3stream.pipeline.utility.Delete, keys=['a'])" in doc
    assert "pipe.Add(g3stream.pipeline.utility.Dump, added_message='after cleanup')" in doc

    @pipesegment
    def needs_real_pipe(pipe):
        pipe.not_a_method()

    assert "Exception evaluating equivalence" in needs_real_pipe.__doc__


def test_pipesegment_nodoc_segment_is_expanded():
    @pipesegment_nodoc
    def seg(pipe, key="k"):
        pipe.Add(Delete, keys=[key])

    pipe = G3Pipeline()
    pipe.Add(G3InfiniteSource, n=1)
    pipe.Add(seg, key="z")
    assert pipe.module_names[-1].endswith("seg/g3stream.pipeline.utility.Delete")


def test_delete_keep_rename_respect_type():
    f = _frame(a=1, b=2, c=3)
    Delete(f, keys=["a", "missing"])
    assert sorted(f.keys()) == ["b", "c"]
    Delete(f, keys=["b"], type=G3FrameType.Calibration)
    assert sorted(f.keys()) == ["b", "c"]
    Rename(f, keys={"b": "bee", "missing": "x"})
    assert f["bee"] == 2 and "b" not in f
    Keep(f, keys=["c"])
    assert list(f.keys()) == ["c"]
    Keep(f, keys=[], type=G3FrameType.Wiring)
    assert list(f.keys()) == ["c"]


def test_dump_prints_frames_but_not_end_processing(capsys):
    Dump(_frame(x=1), added_message="hello")
    Dump(G3Frame(G3FrameType.EndProcessing))
    Dump(_frame(G3FrameType.Wiring, y=2), type=G3FrameType.Scan)
    out = capsys.readouterr().out
    assert out.startswith("hello\nFrame (Scan)")
    assert '"x"' in out and "EndProcessing" not in out and '"y"' not in out


def test_abort_after_n_frames():
    abort = AbortAfterNFrames(G3FrameType.Scan, 2)
    abort(_frame())
    abort(G3Frame(G3FrameType.Wiring))
    abort(_frame())
    with pytest.raises(G3FatalError, match="Manual Abort Triggered"):
        abort(G3Frame(G3FrameType.Wiring))


def test_deduplicate_metadata_ignores_entry_order():
    dedup = DeduplicateMetadata()
    first = _frame(G3FrameType.Calibration, a=1, b=2)
    same_other_order = _frame(G3FrameType.Calibration, b=2, a=1)
    changed = _frame(G3FrameType.Calibration, a=1, b=3)
    assert dedup(first) is None
    assert dedup(same_other_order) == []
    assert dedup(_frame(i=0)) is None
    assert dedup(changed) is None
    assert dedup(G3Frame(G3FrameType.EndProcessing)) is None


def test_drop_orphan_metadata_keeps_latest_of_each_type_in_first_seen_order():
    drop = DropOrphanMetadata()
    c1, w1, c2 = (
        _frame(G3FrameType.Calibration, v=1),
        _frame(G3FrameType.Wiring, v=1),
        _frame(G3FrameType.Calibration, v=2),
    )
    assert drop(c1) == [] and drop(w1) == [] and drop(c2) == []
    scan = _frame(i=0)
    assert drop(scan) == [c2, w1, scan]
    assert drop(_frame(G3FrameType.Wiring)) == []
    assert drop(G3Frame(G3FrameType.EndProcessing)) is None


def test_infinite_source_counts():
    src = G3InfiniteSource(type=G3FrameType.Timepoint, n=2)
    made = [src(None) for _ in range(3)]
    assert [len(m) for m in made] == [1, 1, 0]
    assert made[0][0].type == G3FrameType.Timepoint and len(made[0][0]) == 0
    forever = G3InfiniteSource()
    assert all(forever(None)[0].type == G3FrameType.none for _ in range(100))


def _segment_doc(lib):
    def first_step(frame, value=0):
        pass

    def second_step(frame, **kwargs):
        pass

    @lib.pipesegment
    def processing(pipe, value=3):
        """Two steps.

        With a second paragraph.
        """
        pipe.Add(first_step, value=value)
        pipe.Add(second_step, a_rather_long_argument_name="x" * 30, another_long_one=[1, 2, 3] * 4)
        pipe.Add(second_step, **{f"argument_{i}": "y" * 20 for i in range(5)})
        pipe.Add(first_step, value=object())

    @lib.pipesegment
    def undocumented(pipe):
        pipe.Add(first_step)

    return processing.__doc__, undocumented.__doc__


def test_pipesegment_doc_matches_the_reference():
    core = pytest.importorskip("spt3g.core")
    from g3stream import core as ours

    assert _segment_doc(ours) == _segment_doc(core)


def test_log_fatal_names_the_calling_function_like_the_reference():
    core = pytest.importorskip("spt3g.core")
    from g3stream import core as ours

    def texts(lib):
        def caller():
            lib.log_fatal("went", "wrong", unit="Test")

        abort = lib.AbortAfterNFrames(type=lib.G3FrameType.Scan, n_frames=0)
        out = []
        for action in (caller, lambda: abort(lib.G3Frame(lib.G3FrameType.Scan))):
            with pytest.raises(RuntimeError) as err:
                action()
            out.append(str(err.value))
        return out

    assert (
        texts(ours)
        == texts(core)
        == ["went wrong (in caller)", "Manual Abort Triggered (in __call__)"]
    )
