"""The monitor's server without a browser: a stalled client, shared updates, its metrics."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import os
import socket
import time
import urllib.request
from typing import Any

import pytest

aiohttp = pytest.importorskip("aiohttp")
pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from g3stream.live import LiveReader  # noqa: E402
from g3stream.metrics import StreamMetrics, serve_metrics  # noqa: E402
from g3stream.sim import SimulatedDAQ  # noqa: E402
from g3stream.web import MonitorState, WebMonitor  # noqa: E402

BIG_CHOICE = {
    "type": "choose",
    "timestream": {"key": "RawTimestreams_I", "seconds": 30, "columns": 4000},
}


def _stalled_client(port: int) -> socket.socket:
    """A WebSocket client that completes the handshake, asks for big updates, then never reads."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(
        (
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert b" 101 " in head.split(b"\r\n")[0]
    payload = json.dumps(BIG_CHOICE).encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    s.sendall(bytes([0x81, 0x80 | 126]) + len(payload).to_bytes(2, "big") + mask + masked)
    return s


def test_a_stalled_browser_skips_updates_and_stalls_nobody() -> None:
    rate = 1000.0
    daq = SimulatedDAQ(n_detectors=8, sample_rate=rate, samples_per_scan=500, realtime=True)
    live = LiveReader(daq, history=16, history_per_type={"Scan": 40})
    state = MonitorState(live, source="sim")
    web = WebMonitor(state, port=0, interval=0.1).start()
    metrics = serve_metrics(
        StreamMetrics(rates=state.board, extra=web.metric_samples), 0, "127.0.0.1"
    )
    live.start()
    stalled = _stalled_client(web.port or 0)
    try:
        assert live.wait_for("Scan", timeout=30, count=3)

        async def healthy_client() -> list[float]:
            stamps: list[float] = []
            async with aiohttp.ClientSession() as session:
                async with session.ws_connect(f"ws://127.0.0.1:{web.port}/ws") as ws:
                    await ws.send_str(json.dumps(BIG_CHOICE))
                    end = time.monotonic() + 6.0
                    while time.monotonic() < end:
                        msg = await ws.receive(timeout=5)
                        assert msg.type == aiohttp.WSMsgType.TEXT
                        data = json.loads(msg.data)
                        assert data["type"] == "update"
                        stamps.append(time.monotonic())
            return stamps

        received_before = live.received("Timepoint")
        t0 = time.monotonic()
        stamps = asyncio.run(healthy_client())
        got = (live.received("Timepoint") - received_before) / (time.monotonic() - t0)

        # the healthy browser got updates all along, at about the set pace
        gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
        assert len(stamps) >= 6 and max(gaps) < 2.0  # at least one a second, however loaded
        # the reader kept the stream's pace
        assert got > 0.8 * rate
        # the stalled browser skipped updates instead of queueing them
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics.port}/metrics", timeout=10) as r:
            text = r.read().decode()
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
        }
        assert samples[("g3stream_web_skipped_updates_total", ())] > 10
        assert samples[("g3stream_web_clients", ())] == 1  # the stalled one is still connected
        assert samples[("g3stream_frames_total", (("type", "Timepoint"),))] > 5 * rate
    finally:
        stalled.close()
        metrics.close()
        web.stop()
        live.stop()


def test_every_browser_gets_the_same_shared_part() -> None:
    daq = SimulatedDAQ(n_detectors=4, n_samples=2000)
    daq_scan = daq.samples_per_scan
    live = LiveReader(daq, history=8)
    state = MonitorState(live, source="sim")
    live.start()
    assert live.wait_for("Scan", timeout=30, count=10)
    with WebMonitor(state, port=0, interval=0.2) as web:

        async def two_clients() -> list[Any]:
            async with aiohttp.ClientSession() as session:
                a = await session.ws_connect(f"ws://127.0.0.1:{web.port}/ws")
                b = await session.ws_connect(f"ws://127.0.0.1:{web.port}/ws")
                await a.send_str(json.dumps({"type": "choose", "timestream": {
                    "key": "RawTimestreams_I", "seconds": 1, "columns": 50}}))  # fmt: skip
                out = []
                for ws in (a, b):
                    while True:
                        data = json.loads((await ws.receive(timeout=10)).data)
                        if ws is b or "timestream" in data["own"]:
                            out.append(data)
                            break
                await a.close()
                await b.close()
                return out

        got_a, got_b = asyncio.run(two_clients())
    live.stop()
    rates = {r["type"]: r["frames"] for r in got_a["shared"]["rates"]["rows"]}
    assert rates["Timepoint"] == 2000 and rates["Scan"] == math.ceil(2000 / daq_scan)
    assert got_a["shared"]["rates"]["rows"] == got_b["shared"]["rates"]["rows"]
    assert sorted(got_a["shared"]["inspector"]) == sorted(got_b["shared"]["inspector"])
    ts = got_a["own"]["timestream"]
    assert ts["n_samples"] > 100 and len(ts["t"]) == 100 and len(ts["y"]) == 4
    assert got_b["own"] == {}  # no choice made: no plot data sent
