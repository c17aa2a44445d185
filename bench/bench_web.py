"""The web monitor's cost on the reader, and whether it keeps up with a 10x DAQ.

Two parts, in one run:

* cost:    a reader decodes a recorded simulated DAQ stream (16 detectors,
           Timepoint and Scan frames) as fast as it can, in the same process
           as the monitor (as ``g3stream web`` runs).  Its frames/s are
           measured bare (a LiveReader alone), with the monitor attached and
           no browser, with 1 headless Chromium on the page, and with 1
           Chromium plus 19 WebSocket protocol clients (in another process,
           each choosing a timestream plot and reading every update).  The
           scenarios take turns ``--repeat`` times; each keeps its best run.
           Ratios are against the bare reader of the same run.
* keep-up: the simulated DAQ (``g3stream serve --simulate``) at 10 times the
           SPT-3G sample rate (1526 Hz), read over TCP by the monitor with 1
           Chromium and 19 protocol clients.  Reports the rate received, the
           frames missing from the sequence numbers, and the deepest queue
           the DAQ's sender held for the monitor (scraped from its own
           Prometheus endpoint): a monitor that falls behind makes that
           queue grow.

Run:  python bench/bench_web.py [--seconds S] [--repeat N] [--no-browser]

Needs the web extra and Debian's chromium and chromium-driver (without them
the browser scenarios are skipped).  The script calls itself with
``--role ws-clients`` for the protocol clients.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

from g3stream.frame import G3Frame
from g3stream.io import G3Reader, G3Writer  # type: ignore[attr-defined]
from g3stream.live import LiveReader
from g3stream.sim import SPT3G_SAMPLE_RATE, SimulatedDAQ
from g3stream.web import MonitorState, WebMonitor

DETECTORS = 16
SAMPLES = 152 * 120  # two minutes of data: Timepoint and Scan frames
PROTOCOL_CLIENTS = 19
KEEPUP_FACTOR = 10


# -- protocol clients (a separate process) -------------------------------------


async def _ws_clients(url: str, n: int, seconds: float) -> None:
    import aiohttp

    counts = [0] * n

    async def client(i: int, session: aiohttp.ClientSession) -> None:
        async with session.ws_connect(url) as ws:
            await ws.send_str(
                json.dumps(
                    {
                        "type": "choose",
                        "timestream": {"key": "RawTimestreams_I", "seconds": 10, "columns": 1200},
                        "scalar": {"type": "Timepoint", "key": "SampleIndex", "columns": 600},
                    }
                )
            )
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                try:
                    msg = await ws.receive(timeout=max(0.1, end - time.monotonic()))
                except asyncio.TimeoutError:
                    break
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                json.loads(msg.data)
                counts[i] += 1

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(client(i, session) for i in range(n)))
    print(json.dumps({"updates": counts}), flush=True)


# -- helpers ---------------------------------------------------------------------


def _chromium() -> Any:
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not browser or not driver:
        return None
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1300"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(driver), options=options)


def _record(path: str) -> None:
    with G3Writer(path) as w:
        for f in SimulatedDAQ(n_detectors=DETECTORS, n_samples=SAMPLES):
            w(f)


def _file_loop(path: str, stop: threading.Event) -> Iterator[G3Frame]:
    for _ in itertools.count():
        for frame in G3Reader(path):
            if stop.is_set():
                return
            yield frame


class _Attached:
    """The monitor (and its clients) attached to a LiveReader for one scenario."""

    def __init__(self, live: LiveReader, browsers: int, protocol: int, seconds: float) -> None:
        self.state = MonitorState(live, source="bench")
        self.web = WebMonitor(self.state, port=0, bind="127.0.0.1").start()
        self.driver = None
        self.proc: subprocess.Popen[str] | None = None
        if browsers:
            self.driver = _chromium()
            if self.driver is not None:
                self.driver.get(self.web.url)
        if protocol:
            ws = self.web.url.replace("http://", "ws://") + "ws"
            self.proc = subprocess.Popen(
                [sys.executable, __file__, "--role", "ws-clients", ws, str(protocol), str(seconds)],
                stdout=subprocess.PIPE,
                text=True,
            )
        # every client connected before timing starts
        end = time.monotonic() + 30
        want = (1 if self.driver else 0) + protocol
        while len(self.web._browsers) < want and time.monotonic() < end:
            time.sleep(0.05)

    def close(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.proc is not None:
            text, _ = self.proc.communicate(timeout=120)
            updates = json.loads(text.strip().splitlines()[-1])["updates"]
            out["protocol_updates_min"] = min(updates)
        if self.driver is not None:
            out["browser_updates"] = self.driver.execute_script("return window.g3monitor.updates")
            self.driver.quit()
        out["skipped_updates"] = sum(
            s.value for s in self.web.metric_samples() if s.name == "web_skipped_updates"
        )
        self.web.stop()
        return out


def _cost_run(path: str, seconds: float, browsers: int, protocol: int, attach: bool) -> Any:
    stop = threading.Event()
    live = LiveReader(_file_loop(path, stop), history=16, history_per_type={"Scan": 30})
    attached = None
    if attach:
        attached = _Attached(live, browsers, protocol, seconds + 5)
    live.start()
    time.sleep(1.0)  # warm up: the page has drawn, the rings are full
    n0, t0 = live.received(), time.monotonic()
    time.sleep(seconds)
    n1, t1 = live.received(), time.monotonic()
    stop.set()
    live.stop()
    extra = attached.close() if attached is not None else {}
    return (n1 - n0) / (t1 - t0), extra


def cost(seconds: float, repeat: int, browser: bool) -> None:
    tmp = tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    path = os.path.join(tmp, "daq.g3")
    try:
        _record(path)
        scenarios: list[tuple[str, int, int, bool]] = [
            ("reader alone", 0, 0, False),
            ("+ monitor, no browser", 0, 0, True),
        ]
        if browser:
            scenarios += [
                ("+ monitor, 1 browser", 1, 0, True),
                (
                    f"+ monitor, 1 browser + {PROTOCOL_CLIENTS} WS clients",
                    1,
                    PROTOCOL_CLIENTS,
                    True,
                ),
            ]
        best: dict[str, tuple[float, dict[str, Any]]] = {}
        for _ in range(repeat):
            for name, browsers, protocol, attach in scenarios:
                fps, extra = _cost_run(path, seconds, browsers, protocol, attach)
                if name not in best or fps > best[name][0]:
                    best[name] = (fps, extra)
        base = best["reader alone"][0]
        print(f"\nreader frames/s (best of {repeat}, {seconds:g} s each):")
        for name, (fps, extra) in best.items():
            details = ", ".join(f"{k} {v}" for k, v in extra.items())
            print(f"  {name:45s} {fps:10.0f} frames/s  {fps / base:5.2f}x  {details}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def keepup(seconds: float, browser: bool) -> None:
    rate = KEEPUP_FACTOR * SPT3G_SAMPLE_RATE
    cmd = [sys.executable, "-m", "g3stream", "serve", "--simulate", "--rate", str(rate),
           "--port", "0", "--bind", "127.0.0.1", "--detectors", str(DETECTORS),
           "--samples-per-scan", str(int(rate)), "--metrics-port", "0",
           "--metrics-bind", "127.0.0.1"]  # fmt: skip
    daq = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert daq.stdout is not None and daq.stderr is not None
        port = int(re.search(r"port (\d+)", daq.stdout.readline()).group(1))  # type: ignore[union-attr]
        mport = int(re.search(r"port (\d+)", daq.stderr.readline()).group(1))  # type: ignore[union-attr]
        live = LiveReader(
            f"tcp://127.0.0.1:{port}", history=16, history_per_type={"Scan": 30, "Timepoint": 2048}
        )
        attached = _Attached(live, 1 if browser else 0, PROTOCOL_CLIENTS, seconds + 8)
        live.start()
        live.wait_for("Scan", timeout=30)
        time.sleep(2.0)
        n0, t0 = live.received("Timepoint"), time.monotonic()
        deepest = 0.0
        while time.monotonic() - t0 < seconds:
            m = _scrape(mport)
            depth = max((v for k, v in m.items() if k.startswith("g3stream_client_queue_frames")),
                        default=0.0)  # fmt: skip
            deepest = max(deepest, depth)
            time.sleep(0.25)
        n1, t1 = live.received("Timepoint"), time.monotonic()
        snap = attached.state.board.snapshot()
        dropped = sum(r.dropped for r in snap.rows)
        extra = attached.close()
        live.stop()
        got = (n1 - n0) / (t1 - t0)
        print(f"\nkeep-up at {KEEPUP_FACTOR}x ({rate:.0f} Timepoint frames/s sent), "
              f"monitor + {'1 browser + ' if browser else ''}{PROTOCOL_CLIENTS} WS clients, "
              f"{seconds:g} s:")  # fmt: skip
        print(f"  received {got:.0f} Timepoint frames/s ({got / rate:.3f} of the sent rate)")
        print(f"  frames missing from the sequence numbers: {dropped}")
        print(f"  deepest queue at the DAQ's sender for the monitor: {deepest:.0f} frames")
        print("  " + ", ".join(f"{k} {v}" for k, v in extra.items()))
    finally:
        daq.kill()
        daq.wait(30)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=8.0, help="measuring time per scenario")
    p.add_argument("--repeat", type=int, default=2, help="runs per cost scenario (best kept)")
    p.add_argument("--no-browser", action="store_true", help="skip the Chromium scenarios")
    p.add_argument("--only", choices=("cost", "keepup"), default=None)
    p.add_argument("--role", default=None, help=argparse.SUPPRESS)
    p.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.role == "ws-clients":
        url, n, seconds = args.rest
        asyncio.run(_ws_clients(url, int(n), float(seconds)))
        return 0
    browser = not args.no_browser and _chromium_available()
    if not browser and not args.no_browser:
        print("chromium or chromedriver missing: browser scenarios skipped")
    if args.only in (None, "cost"):
        cost(args.seconds, args.repeat, browser)
    if args.only in (None, "keepup"):
        keepup(max(args.seconds, 10.0), browser)
    return 0


def _chromium_available() -> bool:
    return bool(shutil.which("chromium") and shutil.which("chromedriver"))


if __name__ == "__main__":
    sys.exit(main())
