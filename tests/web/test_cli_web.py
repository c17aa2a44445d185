"""``g3stream web`` from the command line: a file replayed at a rate, its metrics, bad sources."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from clihelpers import run_cli, write_frames

pytest.importorskip("aiohttp")
pytest.importorskip("prometheus_client")

from g3stream.sim import SimulatedDAQ  # noqa: E402


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as r:
        return bytes(r.read())


def test_a_file_replayed_at_a_rate(background: Any, tmp_path: Path) -> None:
    path = tmp_path / "run.g3"
    write_frames(path, SimulatedDAQ(n_detectors=4, n_samples=3000))
    rate = 200.0
    web = background(
        [
            "web",
            str(path),
            "--rate",
            str(rate),
            "--port",
            "0",
            "--metrics-port",
            "0",
            "--metrics-bind",
            "127.0.0.1",
        ]  # fmt: skip
    )
    url = web.wait_for_line(r"monitor on (http://\S+)").group(1)
    mport = int(web.wait_for_line(r"metrics on port (\d+)").group(1))
    page = _get(url).decode()
    assert "static/plotly.min.js" in page and "<script" in page
    assert len(_get(url + "static/plotly.min.js")) > 1_000_000  # served from the package
    end = time.monotonic() + 30
    while True:
        state = json.loads(_get(url + "api/state"))
        rows = {r["type"]: r for r in state["rates"]["rows"]}
        total_fps = sum(r["fps"] for r in rows.values())
        if state["health"]["ok"] and len(state["rates"]["history"]["t"]) >= 4:
            break
        assert time.monotonic() < end, state
        time.sleep(0.2)
    # the board's 3 s window: all frame types together arrive at the set rate
    assert abs(total_fps - rate) / rate < 0.1, rows
    assert state["choices"]["timestream_keys"] == ["RawTimestreams_I"]
    assert "SampleIndex" in state["choices"]["scalar_keys"]["Timepoint"]
    detail = _get(url + "api/detail?type=Wiring&key=WiringMap").decode()
    assert "iceboard000/squid0/ch00" in detail
    channels = json.loads(_get(url + "api/channels?key=RawTimestreams_I"))["channels"]
    assert channels == SimulatedDAQ(n_detectors=4).detectors
    metrics = _get(f"http://127.0.0.1:{mport}/metrics").decode()
    assert 'g3stream_frames_total{type="Timepoint"}' in metrics
    assert "g3stream_web_clients 0.0" in metrics
    assert web.interrupt() == 0


def test_a_missing_file_is_a_clear_error() -> None:
    r = run_cli("web", "no-such-file.g3", "--port", "0")
    assert r.returncode == 1
    assert "no-such-file.g3" in r.stderr
