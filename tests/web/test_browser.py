"""The web monitor in a real (headless Chromium) browser, as a person would see it.

A simulated DAQ (``daq.py``, the simulated stream with a known sine on one
channel) serves a stream; ``g3stream web`` reads it; the page is opened in
Debian's Chromium through chromedriver.  The tests read what the page shows:
the rate table, the plotted points, the inspector and the health banner.
Screenshots go to build/screenshots/.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("aiohttp")
pytest.importorskip("plotly")

from clihelpers import Background  # noqa: E402

HERE = Path(__file__).parent
#: Where the screenshots go (build/ is kept out of git).
SCREENSHOTS = HERE.parent.parent / "build" / "screenshots"
sys.path.insert(0, str(HERE))
import daq as daq_script  # noqa: E402

#: Timepoint frames per second sent by the simulated DAQ.
RATE = 500.0
#: The timestream window the test chooses, in seconds.
WINDOW = 5.0
DEADLINE = 30.0


class Daq:
    """The simulated DAQ in a subprocess (so that killing it is a real outage)."""

    def __init__(self, port: int = 0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "daq.py"), "--port", str(port), "--rate", str(RATE)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.first = threading.Event()
        self.port = 0
        #: (Timepoint frames sent, monotonic time) as the DAQ reports them.
        self.progress: list[tuple[int, float]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.first.wait(DEADLINE) or not self.port:
            self.kill()
            raise AssertionError("the DAQ did not start")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            words = line.split()
            if line.startswith("serving on port"):
                self.port = int(words[-1])
                self.first.set()
            elif words and words[0] == "sent":
                self.progress.append((int(words[1]), float(words[2])))
        self.first.set()

    def rate(self, start: float, end: float) -> float:
        """Timepoint frames per second really sent between two monotonic times."""
        inside = [(n, t) for n, t in self.progress if start <= t <= end]
        (n0, t0), (n1, t1) = inside[0], inside[-1]
        return (n1 - n0) / (t1 - t0)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(DEADLINE)


def until(check: Callable[[], Any], what: str, deadline: float = DEADLINE) -> Any:
    """Poll ``check`` until it returns something true; fail naming ``what`` after the deadline."""
    end = time.monotonic() + deadline
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def page(chrome: Any) -> Iterator[dict[str, Any]]:
    """A DAQ, the monitor reading it, and the monitor's page open in the browser."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    daq = Daq()
    web = Background(
        [
            "web",
            f"tcp://127.0.0.1:{daq.port}",
            "--port",
            "0",
            "--stale-after",
            "2",
            "--interval",
            "0.5",
        ]
    )
    state: dict[str, Any] = {"driver": chrome, "daq": daq, "web": web}
    try:
        state["url"] = web.wait_for_line(r"monitor on (http://\S+)").group(1)
        chrome.get(state["url"])
        yield state
    finally:
        web.stop()
        daq.kill()
        state["daq"].kill()  # the restarted DAQ, if a test restarted it


def js(page: dict[str, Any], script: str) -> Any:
    return page["driver"].execute_script(script)


def test_rates_update_and_match_the_sent_rate(page: dict[str, Any]) -> None:
    def timepoint_rate() -> float | None:
        text = js(
            page,
            "const r = document.querySelector('#rates tr[data-type=Timepoint] td.fps');"
            "return r ? r.textContent : null",
        )
        return float(text) if text else None

    until(lambda: (timepoint_rate() or 0) > 0, "a Timepoint rate in the table")
    first_total = int(
        js(
            page,
            "return document.querySelector('#rates tr[data-type=Timepoint] td.frames').textContent",
        )
    )
    # the board's window is 3 s: after that the rate shown is a steady-state rate
    until(lambda: js(page, "return window.g3monitor.updates") > 10, "ten page updates")
    # the page's rate is over the monitor's last 3 s: compare with what the DAQ sent then
    for _ in range(3):
        time.sleep(0.6)
        shown, now = timepoint_rate(), time.monotonic()
        sent = page["daq"].rate(now - 3.0, now)
        assert shown is not None and abs(shown - sent) / sent < 0.05, (shown, sent)
    total = int(
        js(
            page,
            "return document.querySelector('#rates tr[data-type=Timepoint] td.frames').textContent",
        )
    )
    assert total > first_total  # the counts move on
    traces = js(
        page, "return document.getElementById('fps-plot').data.map(t => [t.name, t.y.length])"
    )
    assert "Timepoint" in dict(traces) and dict(traces)["Timepoint"] >= 2
    assert (
        js(
            page,
            "return document.querySelector('#rates tr[data-type=Timepoint] td.dropped').textContent",
        )
        == "0"
    )


def test_timestream_plot_shows_the_downsampled_sine(page: dict[str, Any]) -> None:
    d = page["driver"]
    seconds = d.find_element("id", "ts-seconds")
    seconds.clear()
    seconds.send_keys(str(int(WINDOW)))
    d.execute_script("document.getElementById('ts-seconds').dispatchEvent(new Event('change'))")
    channel = daq_script.sine_channel(daq_script.make_daq(RATE))
    expected_samples = int(WINDOW * RATE)

    def plotted() -> dict[str, Any] | None:
        info = js(
            page,
            """
            const div = document.getElementById('ts-plot');
            if (!div.data) return null;
            return {columns: Number(div.dataset.columns), samples: Number(div.dataset.samples),
                    seconds: Number(div.dataset.seconds),
                    traces: div.data.map(t => ({name: t.name, n: t.y.length,
                                                 y: t.y.filter(v => v !== null)}))};""",
        )
        if not info or info["seconds"] != WINDOW or info["samples"] < expected_samples - 1:
            return None
        return info

    info = until(plotted, f"{WINDOW} s of samples in the timestream plot")
    assert abs(info["samples"] - expected_samples) <= 1
    names = [t["name"] for t in info["traces"]]
    assert names == daq_script.make_daq(RATE).detectors[:4]  # a few channels by default
    columns = info["columns"]
    assert 100 < columns < 1400  # the plot's width in pixels
    assert 2 * columns < info["samples"]  # so the server had to downsample
    for t in info["traces"]:
        assert t["n"] == 2 * columns  # one min and one max per pixel column
    sine = np.asarray(next(t["y"] for t in info["traces"] if t["name"] == channel))
    assert abs(sine.max() - (daq_script.OFFSET + daq_script.AMPLITUDE)) < 0.5
    assert abs(sine.min() - (daq_script.OFFSET - daq_script.AMPLITUDE)) < 0.5
    d.save_screenshot(str(SCREENSHOTS / "monitor.png"))


def test_channels_are_searchable_and_selectable(page: dict[str, Any]) -> None:
    d = page["driver"]
    names = daq_script.make_daq(RATE).detectors
    box = d.find_element("id", "ts-filter")
    box.clear()
    box.send_keys(names[-1][-6:])
    listed = js(
        page, "return [...document.getElementById('ts-channels').options].map(o => o.value)"
    )
    assert names[-1] in listed and len(listed) < len(names) + 1
    # choose only the last detector: the plot follows
    d.execute_script(
        "const s = document.getElementById('ts-channels');"
        "for (const o of s.options) o.selected = (o.value === arguments[0]);"
        "window.g3monitor.chosenChannels = [];"
        "s.dispatchEvent(new Event('change'));",
        names[-1],
    )
    until(
        lambda: (
            js(page, "return document.getElementById('ts-plot').data.map(t => t.name)")
            == [names[-1]]
        ),
        "the plot to show only the chosen channel",
    )


def test_inspector_lists_the_latest_calibration_keys(page: dict[str, Any]) -> None:
    d = page["driver"]
    expected = sorted(daq_script.make_daq(RATE).calibration_frame().keys())
    until(
        lambda: js(
            page, "return document.querySelector('#inspector details[data-type=Calibration]')"
        ),
        "a Calibration entry in the inspector",
    )
    d.execute_script(
        "document.querySelector('#inspector details[data-type=Calibration] summary').click()"
    )
    keys = js(
        page,
        "return [...document.querySelectorAll("
        "'#inspector details[data-type=Calibration] tr.key')].map(r => r.dataset.key)",
    )
    assert keys == expected
    types = js(
        page,
        "return [...document.querySelectorAll("
        "'#inspector details[data-type=Calibration] tr.key')].map(r => r.cells[1].textContent)",
    )
    assert "G3MapDouble" in types

    # a click on a key shows its details: every detector's value (clicked again
    # should a newer Calibration frame have replaced the row before the click)
    def detail_shown() -> str | None:
        return js(
            page,
            "const p = document.querySelector('#inspector pre.detail');"
            "if (!p) { document.querySelector('#inspector details[data-type=Calibration] "
            "tr.key[data-key=BandGHz]').click(); return null; }"
            "return p.textContent !== 'loading\u2026' ? p.textContent : null",
        )

    detail = until(detail_shown, "the BandGHz details")
    for name in daq_script.make_daq(RATE).detectors:
        assert name in detail


def test_health_turns_red_when_the_daq_dies_and_green_when_it_returns(page: dict[str, Any]) -> None:
    d = page["driver"]

    def health() -> str:
        return js(page, "return document.getElementById('health').className")

    until(lambda: "ok" in health(), "a green health banner")
    port = page["daq"].port
    page["daq"].kill()
    killed = time.monotonic()
    until(lambda: "bad" in health(), "a red health banner", deadline=15)
    assert time.monotonic() - killed < 8.0  # --stale-after 2 s, then the next update
    d.save_screenshot(str(SCREENSHOTS / "monitor-daq-down.png"))
    page["daq"] = Daq(port)
    until(lambda: "ok" in health(), "a green health banner after the restart", deadline=30)
    reconnects = int(js(page, "return document.getElementById('health-reconnects').textContent"))
    assert reconnects >= 1
