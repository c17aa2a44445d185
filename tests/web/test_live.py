"""The notebook reader (LiveReader) under a live 152.6 Hz stream, and the min/max downsampling."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from g3stream.live import LiveReader
from g3stream.sim import SPT3G_SAMPLE_RATE, SimulatedDAQ
from g3stream.web.downsample import minmax_downsample


def test_live_reader_under_a_152_hz_stream(background: Any) -> None:
    serve = background(
        ["serve", "--simulate", "--port", "0", "--bind", "127.0.0.1", "--detectors", "8"]
    )
    port = serve.port()
    history = {"Timepoint": 500, "Scan": 4}
    with LiveReader(f"tcp://127.0.0.1:{port}", history=8, history_per_type=history) as live:
        assert live.wait_for("Scan", timeout=30, count=3)
        assert live.wait_for("Timepoint", timeout=30, count=500)
        start = time.monotonic()
        latest = live.latest("Timepoint")
        last = live.frames("Timepoint", 200)
        window = live.timestream("RawTimestreams_I", seconds=2.0)
        times, values = live.scalars("Timepoint", "SampleIndex")
        took = time.monotonic() - start
        health = live.health()
        kept = {str(t): len(live.frames(t)) for t in live.types()}

    # answers come from memory: no waiting on the stream
    assert took < 0.5
    assert health.ok and health.connected and health.reconnects == 0
    assert health.last_frame_age_s is not None and health.last_frame_age_s < 1.0
    # rings hold at most what was asked, whatever arrived
    assert kept["Timepoint"] == 500 and kept["Scan"] <= 4 and kept["Calibration"] <= 8
    # the last frames, in order and without a hole
    idx = [int(f["SampleIndex"]) for f in last]
    assert idx == list(range(idx[0], idx[0] + 200))
    assert latest is not None and int(latest["SampleIndex"]) >= idx[-1]
    # the scalar series spans the ring at the stream's rate
    assert values.shape == (500,) and np.all(np.diff(values) == 1)
    rate = (values[-1] - values[0]) / (times[-1] - times[0])
    assert abs(rate - SPT3G_SAMPLE_RATE) / SPT3G_SAMPLE_RATE < 0.2  # arrival times jitter
    # the window: 2 s of the first four detectors, the very samples of the Scan frames
    assert window.values.shape == (4, len(window))
    assert abs(len(window) - 2.0 * SPT3G_SAMPLE_RATE) <= 2
    assert np.all(np.diff(window.times) > 0)
    scans = live.frames("Scan")
    newest = scans[-1]["RawTimestreams_I"]
    assert window.channels == sorted(newest.keys())[:4]
    tail = np.asarray(newest[window.channels[1]])
    np.testing.assert_array_equal(window.values[1, -len(tail) :], tail)


def test_live_reader_of_an_iterable_and_its_end() -> None:
    daq = SimulatedDAQ(n_detectors=3, n_samples=1000, samples_per_scan=100)
    live = LiveReader(daq, history=10).start()
    try:
        assert not live.wait_for("Scan", timeout=30, count=11)  # the ring holds 10: never 11
        assert live.health().state == "ended"
        assert len(live.frames("Scan")) == 10
        assert live.frames("Scan", 3) == live.frames("Scan")[-3:]
        window = live.timestream("RawTimestreams_I", seconds=1e9)
        assert len(window) == 10 * 100  # cut to what the ring holds
        assert live.timestream_keys() == ["RawTimestreams_I"]
        assert live.latest("Housekeeping") is None and live.frames("Housekeeping") == []
    finally:
        live.stop()


def test_health_goes_stale_then_disconnected(background: Any) -> None:
    serve = background(["serve", "--simulate", "--port", "0", "--bind", "127.0.0.1"])
    port = serve.port()
    with LiveReader(f"tcp://127.0.0.1:{port}", stale_after=0.5, reconnect=True) as live:
        assert live.wait_for("Timepoint", timeout=30)
        assert live.health().state == "streaming"
        serve.stop()
        end = time.monotonic() + 10
        while live.health().ok and time.monotonic() < end:
            time.sleep(0.05)
        h = live.health()
        assert not h.ok and h.state in ("disconnected", "stale")


def test_minmax_keeps_spikes_and_gives_two_points_per_column() -> None:
    rng = np.random.default_rng(1)
    n = 100_000
    t = np.arange(n) / 1000.0
    v = rng.normal(0, 1, (3, n))
    v[1, 54_321] = 50.0
    v[2, 777] = -40.0
    v[0, 10:20] = np.nan
    tt, vv = minmax_downsample(t, v, 500)
    assert tt.shape == (1000,) and vv.shape == (3, 1000)
    assert np.all(np.diff(tt) >= 0)
    assert np.nanmax(vv[1]) == 50.0 and np.nanmin(vv[2]) == -40.0
    # every sample lies within its column's min and max
    edges = np.linspace(0, n, 501).astype(int)
    for c in (0, 137, 499):
        seg = v[0, edges[c] : edges[c + 1]]
        pair = vv[0, 2 * c : 2 * c + 2]
        assert np.nanmin(seg) == pair.min() and np.nanmax(seg) == pair.max()


def test_minmax_leaves_short_series_alone() -> None:
    t = np.arange(50.0)
    v = np.sin(t)
    tt, vv = minmax_downsample(t, v, 25)
    assert tt is t and vv is v
    with pytest.raises(ValueError):
        minmax_downsample(t, v, 0)
