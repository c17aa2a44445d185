"""The Prometheus endpoint of the streaming commands, scraped and parsed as Prometheus would."""

from __future__ import annotations

import socket
import time
import urllib.request
from typing import Any

import pytest

pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

DEADLINE = 30.0
#: A command's metrics endpoint on a free loopback port.
METRICS = ["--metrics-port", "0", "--metrics-bind", "127.0.0.1"]


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of http://127.0.0.1:port/metrics by (name, sorted labels)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        text = resp.read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def poll(port: int, check: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Scrape until ``check(samples)`` holds (or fail after the deadline)."""
    end = time.monotonic() + DEADLINE
    while True:
        samples = scrape(port)
        if check(samples):
            return samples
        if time.monotonic() > end:
            raise AssertionError(f"condition never held; last scrape: {samples}")
        time.sleep(0.2)


def metrics_port(bg: Any) -> int:
    return int(bg.wait_for_line(r"metrics on port (\d+)", stderr=True).group(1))


def test_serve_and_stats_expose_frames_clients_and_health(background: Any) -> None:
    serve = background(
        [
            "serve",
            "--simulate",
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            *METRICS,
            "--detectors",
            "4",
        ]
    )
    data_port = serve.port()
    serve_metrics = metrics_port(serve)
    stats = background(
        [
            "stats",
            f"tcp://127.0.0.1:{data_port}",
            "--json",
            "--reconnect",
            *METRICS,
        ]
    )
    stats_metrics = metrics_port(stats)

    tp = ("g3stream_frames_total", (("type", "Timepoint"),))
    s = poll(stats_metrics, lambda m: m.get(tp, 0) > 100)
    assert s[("g3stream_connected", ())] == 1.0
    assert s[("g3stream_reconnects_total", ())] == 0.0
    assert 0 <= s[("g3stream_last_frame_age_seconds", ())] < 2.0
    assert s[("g3stream_bytes_total", (("type", "Timepoint"),))] > 100 * 50
    assert s[("g3stream_frames_total", (("type", "Calibration"),))] >= 1
    assert s[("g3stream_frames_dropped_total", (("type", "Timepoint"),))] == 0
    assert ("g3stream_gaps_total", ()) in s

    s = poll(serve_metrics, lambda m: m.get(("g3stream_clients", ()), 0) == 1)
    assert s[("g3stream_sent_frames_total", ())] > 0
    assert s[("g3stream_frames_total", (("type", "Timepoint"),))] > 0
    assert any(name == "g3stream_client_queue_frames" for name, _ in s)

    # the DAQ stops: the monitor's endpoint says so
    serve.stop()
    s = poll(stats_metrics, lambda m: m.get(("g3stream_connected", ()), 1) == 0)
    assert s[("g3stream_frames_total", (("type", "Timepoint"),))] > 100


def test_relay_and_record_count_what_they_pass_on(background: Any, tmp_path: Any) -> None:
    serve = background(
        ["serve", "--simulate", "--port", "0", "--bind", "127.0.0.1", "--detectors", "4"]
    )
    up = serve.port()
    relay = background(
        [
            "relay",
            f"tcp://127.0.0.1:{up}",
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            *METRICS,
        ]
    )
    relay_port = relay.port()
    relay_metrics = metrics_port(relay)
    record = background(
        [
            "record",
            f"tcp://127.0.0.1:{relay_port}",
            str(tmp_path / "out.g3"),
            *METRICS,
        ]
    )
    record_metrics = metrics_port(record)
    tp = ("g3stream_frames_total", (("type", "Timepoint"),))
    s = poll(record_metrics, lambda m: m.get(tp, 0) > 50)
    assert s[("g3stream_connected", ())] == 1.0
    s = poll(relay_metrics, lambda m: m.get(("g3stream_clients", ()), 0) == 1 and m.get(tp, 0) > 50)
    assert s[("g3stream_connected", ())] == 1.0
    assert s[("g3stream_sent_frames_total", ())] > 50


def test_a_port_in_use_is_a_clear_error(background: Any) -> None:
    from clihelpers import run_cli

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = run_cli(
            "serve",
            "--simulate",
            "--duration",
            "1",
            "--fast",
            "--port",
            "0",
            "--metrics-port",
            str(port),
            "--metrics-bind",
            "127.0.0.1",
        )
    assert r.returncode == 1
    assert "address already in use" in r.stderr.lower() or "in use" in r.stderr.lower()
