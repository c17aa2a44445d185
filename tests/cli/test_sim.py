"""The simulated DAQ driving module: shape of the stream, determinism, pacing, pipelines."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from g3stream import G3FrameType, G3Pipeline, G3Writer
from g3stream.sim import SPT3G_SAMPLE_RATE, SimulatedDAQ


def _stream_bytes(**kwargs: object) -> bytes:
    return b"".join(bytes(f.encoded()) for f in SimulatedDAQ(**kwargs))  # type: ignore[arg-type]


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    a = _stream_bytes(n_samples=300, seed=11, n_detectors=8)
    b = _stream_bytes(n_samples=300, seed=11, n_detectors=8)
    c = _stream_bytes(n_samples=300, seed=12, n_detectors=8)
    assert a == b
    assert a != c


def test_stream_layout() -> None:
    sim = SimulatedDAQ(n_detectors=5, samples_per_scan=10, n_samples=45, metadata_interval=2)
    frames = list(sim)
    types = [str(f.type) for f in frames]
    assert types[:3] == ["Observation", "Wiring", "Calibration"]
    assert types.count("Timepoint") == 45
    assert types.count("Scan") == 5  # four full scans and a final partial one
    # Wiring and Calibration are issued again every second scan
    assert types.count("Wiring") == types.count("Calibration") == 3
    first_scan = types.index("Scan")
    assert types[3:first_scan] == ["Timepoint"] * 10

    obs = frames[0]
    assert obs["SampleRate"] == pytest.approx(SPT3G_SAMPLE_RATE)
    names = list(frames[1]["DetectorNames"])
    assert len(names) == 5 == len(set(names))

    timepoints = [f for f in frames if f.type == G3FrameType.Timepoint]
    assert [f["SampleIndex"] for f in timepoints] == list(range(45))
    ticks = [f["EventHeader"].time for f in timepoints]
    steps = np.diff(ticks)
    assert np.all(np.abs(steps - 1e8 / SPT3G_SAMPLE_RATE) <= 1)

    # each Scan frame holds exactly the samples of its Timepoints, per detector
    scan = next(f for f in frames if f.type == G3FrameType.Scan)
    tsm = scan["RawTimestreams_I"]
    assert list(tsm.keys()) == names
    block = np.array([np.asarray(f["Samples"]) for f in timepoints[:10]]).T
    for i, name in enumerate(names):
        ts = tsm[name]
        np.testing.assert_array_equal(np.asarray(ts), block[i])
        assert ts.start.time == ticks[0]
        assert ts.stop.time == ticks[9]
    assert scan["ScanNumber"] == 0


def test_realtime_pacing_and_halt_from_another_thread() -> None:
    sim = SimulatedDAQ(n_detectors=2, sample_rate=200.0, n_samples=30, realtime=True)
    start = time.monotonic()
    frames = list(sim)
    elapsed = time.monotonic() - start
    assert sum(f.type == G3FrameType.Timepoint for f in frames) == 30
    assert elapsed >= 29 / 200.0 * 0.9  # released at the pace of the time stamps

    endless = SimulatedDAQ(n_detectors=2, sample_rate=100.0, realtime=True)
    got: list[object] = []
    first = threading.Event()

    def consume() -> None:
        for f in endless:
            got.append(f)
            first.set()

    t = threading.Thread(target=consume, daemon=True)
    t.start()
    assert first.wait(10)
    endless.halt()
    t.join(10)
    assert not t.is_alive()


def test_invalid_parameters() -> None:
    for kwargs in (
        {"n_detectors": 0},
        {"sample_rate": 0},
        {"samples_per_scan": 0},
        {"n_samples": -1},
    ):
        with pytest.raises(ValueError):
            SimulatedDAQ(**kwargs)  # type: ignore[arg-type]


def test_in_a_pipeline_and_read_by_spt3g(tmp_path: Path) -> None:
    path = tmp_path / "sim.g3"
    pipe = G3Pipeline()
    pipe.Add(SimulatedDAQ, n_detectors=3, n_samples=25, samples_per_scan=10, seed=5)
    pipe.Add(G3Writer, filename=str(path))
    pipe.Run()
    ours = list(SimulatedDAQ(n_detectors=3, n_samples=25, samples_per_scan=10, seed=5))
    from g3stream import G3File

    with G3File(str(path)) as written:
        back = [f for f in written if f.type != G3FrameType.PipelineInfo]
    assert [bytes(f.encoded()) for f in back] == [bytes(f.encoded()) for f in ours]

    core = pytest.importorskip("spt3g.core")
    theirs = [f for f in core.G3File(str(path)) if f.type != core.G3FrameType.PipelineInfo]
    assert [str(f.type) for f in theirs] == [str(f.type) for f in ours]
    scan = next(f for f in theirs if f.type == core.G3FrameType.Scan)
    mine = next(f for f in ours if f.type == G3FrameType.Scan)
    for name in mine["RawTimestreams_I"].keys():
        np.testing.assert_array_equal(
            np.asarray(scan["RawTimestreams_I"][name]), np.asarray(mine["RawTimestreams_I"][name])
        )
        assert scan["RawTimestreams_I"][name].units == core.G3TimestreamUnits.Counts
    assert scan["RawTimestreams_I"].sample_rate / core.G3Units.Hz == pytest.approx(
        SPT3G_SAMPLE_RATE
    )
