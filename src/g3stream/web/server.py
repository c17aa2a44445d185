"""The web monitor's HTTP and WebSocket server (aiohttp), run in a thread of its own.

One page (``/``) with its scripts and the Plotly library, all served from
the installed packages (no network access needed).  Browsers open a
WebSocket (``/ws``), tell what they want drawn, and receive one update per
``interval`` seconds.

The reader thread never waits for the server: it only fills ring buffers.
The server builds the part of an update every browser sees once, and each
browser's chosen plots once per distinct choice.  Every browser has a
one-update mailbox: a browser that cannot keep up gets the newest update
when it is ready again and skips the ones in between (counted), so a slow
or vanished browser costs a bounded amount of memory and stalls nobody.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from ..metrics import MetricSample
from .state import MonitorState, ScalarChoice, TimestreamChoice

log = logging.getLogger(__name__)

__all__ = ["WebMonitor", "plotly_js_path"]

#: Seconds between two updates pushed to the browsers (at most).
DEFAULT_INTERVAL = 0.5
#: Largest message accepted from a browser, in bytes.
MAX_MESSAGE = 64 * 1024

_STATIC = Path(__file__).parent / "static"


def plotly_js_path() -> Path:
    """The minified Plotly.js bundle that the ``plotly`` Python package ships."""
    path = Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))
    if not path.is_file():
        raise FileNotFoundError(f"plotly.min.js is missing from the plotly package ({path})")
    return path


class _Browser:
    """One connected browser: its choices and its one-update mailbox."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.timestream: TimestreamChoice | None = None
        self.scalar: ScalarChoice | None = None
        self.pending: str | None = None
        self.wake = asyncio.Event()
        self.sent = 0
        self.skipped = 0

    def offer(self, message: str) -> None:
        """Put ``message`` in the mailbox, replacing an update not yet sent."""
        if self.pending is not None:
            self.skipped += 1
        self.pending = message
        self.wake.set()


class WebMonitor:
    """Serves a :class:`MonitorState` to browsers at ``http://bind:port/``.

    :meth:`start` binds (port 0: a free port, see :attr:`port`) and serves
    in a background thread with its own event loop; :meth:`stop` closes
    every connection and ends the thread.
    """

    def __init__(
        self,
        state: MonitorState,
        port: int = 8080,
        bind: str = "127.0.0.1",
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.state = state
        self.requested_port = port
        self.bind = bind
        self.interval = float(interval)
        self.port: int | None = None
        self._browsers: set[_Browser] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._error: BaseException | None = None
        #: Updates pushed, skipped by slow browsers, and that could not be built.
        self.updates = 0
        self.skipped_updates = 0
        self.failed_updates = 0
        self.browsers_seen = 0
        self._plotly = plotly_js_path()

    # -- life cycle ----------------------------------------------------------
    def start(self, timeout: float = 30.0) -> WebMonitor:
        """Start serving; returns once the port is bound (errors are raised here)."""
        self._thread = threading.Thread(target=self._serve, name="g3stream-web", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the web server did not start")
        if self._error is not None:
            raise self._error
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Close every browser connection and stop the server."""
        loop, stopped = self._loop, self._stopped
        if loop is not None and stopped is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stopped.set)
            except RuntimeError:  # the loop already ended
                pass
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> WebMonitor:
        return self.start() if self._thread is None else self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The page's address."""
        host = self.bind if self.bind not in ("", "0.0.0.0", "::") else "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/"

    def metric_samples(self) -> Iterator[MetricSample]:
        """The server's own metrics: browsers connected, updates pushed and skipped."""
        browsers = list(self._browsers)
        yield MetricSample(
            "web_clients", "Browsers connected to the web monitor.", "gauge", len(browsers)
        )
        yield MetricSample(
            "web_updates", "Updates pushed to browsers (all browsers).", "counter", self.updates
        )
        yield MetricSample(
            "web_skipped_updates",
            "Updates a slow browser skipped (it got a newer one instead).",
            "counter",
            self.skipped_updates + sum(b.skipped for b in browsers),
        )
        yield MetricSample(
            "web_failed_updates",
            "Updates that could not be built (see the log).",
            "counter",
            self.failed_updates,
        )

    # -- server thread -------------------------------------------------------
    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # noqa: BLE001 - handed to start()
            self._error = exc
            self._ready.set()
        finally:
            loop.close()

    async def _main(self) -> None:
        from aiohttp import web

        self._stopped = asyncio.Event()
        app = web.Application(client_max_size=MAX_MESSAGE)
        app.router.add_get("/", self._index)
        app.router.add_get("/ws", self._websocket)
        app.router.add_get("/favicon.ico", self._no_icon)
        app.router.add_get("/api/state", self._api_state)
        app.router.add_get("/api/channels", self._api_channels)
        app.router.add_get("/api/detail", self._api_detail)
        app.router.add_get("/static/plotly.min.js", self._plotly_js)
        app.router.add_static("/static/", _STATIC, show_index=False)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.bind or None, self.requested_port)
        await site.start()
        addresses = runner.addresses
        self.port = int(addresses[0][1]) if addresses else self.requested_port
        self._ready.set()
        pusher = asyncio.ensure_future(self._push_updates())
        try:
            await self._stopped.wait()
        finally:
            pusher.cancel()
            closing = [b.ws.close() for b in list(self._browsers)]
            if closing:
                # a stalled browser does not hold the shutdown for long
                await asyncio.wait([asyncio.ensure_future(c) for c in closing], timeout=2.0)
            await runner.cleanup()

    # -- pushing -------------------------------------------------------------
    async def _push_updates(self) -> None:
        loop = asyncio.get_running_loop()
        next_rates = 0.0
        while True:
            started = time.monotonic()
            if started >= next_rates:
                self.state.sample_rates()
                next_rates = started + 1.0
            if self._browsers:
                # built in a worker thread: a large frame's summary never blocks the loop
                browsers = list(self._browsers)
                try:
                    messages = await loop.run_in_executor(None, self._build_messages, browsers)
                except Exception:  # a bad frame must not end the updates: the next one may do
                    self.failed_updates += 1
                    log.exception("web monitor: building an update failed")
                    messages = []
                for browser, message in messages:
                    if browser in self._browsers:
                        browser.offer(message)
                self.updates += len(messages)
            left = self.interval - (time.monotonic() - started)
            await asyncio.sleep(max(left, 0.05))

    def _build_messages(self, browsers: list[_Browser]) -> list[tuple[_Browser, str]]:
        shared = json.dumps(self.state.shared(), separators=(",", ":"))
        cache: dict[Any, str] = {}
        out = []
        for browser in browsers:
            parts = []
            for name, choice in (("timestream", browser.timestream), ("scalar", browser.scalar)):
                if choice is None:
                    continue
                text = cache.get(choice)
                if text is None:
                    data = (
                        self.state.timestream(choice)
                        if isinstance(choice, TimestreamChoice)
                        else self.state.scalar(choice)
                    )
                    text = cache[choice] = json.dumps(data, separators=(",", ":"))
                parts.append(f'"{name}":{text}')
            own = "{" + ",".join(parts) + "}"
            out.append((browser, f'{{"type":"update","shared":{shared},"own":{own}}}'))
        return out

    async def _send_loop(self, browser: _Browser) -> None:
        while not browser.ws.closed:
            await browser.wake.wait()
            browser.wake.clear()
            message, browser.pending = browser.pending, None
            if message is None:
                continue
            try:
                await browser.ws.send_str(message)
            except (ConnectionError, RuntimeError):  # the browser went away
                return
            browser.sent += 1

    # -- handlers ------------------------------------------------------------
    async def _index(self, request: Any) -> Any:
        from aiohttp import web

        return web.FileResponse(_STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def _no_icon(self, request: Any) -> Any:
        from aiohttp import web

        return web.Response(status=204)

    async def _plotly_js(self, request: Any) -> Any:
        from aiohttp import web

        return web.FileResponse(self._plotly, headers={"Cache-Control": "max-age=86400"})

    async def _api_state(self, request: Any) -> Any:
        from aiohttp import web

        loop = asyncio.get_running_loop()
        data = await loop.run_in_executor(None, self.state.shared)
        return web.json_response(data)

    async def _api_channels(self, request: Any) -> Any:
        from aiohttp import web

        key = request.query.get("key", "")
        return web.json_response({"key": key, "channels": self.state.channels(key)})

    async def _api_detail(self, request: Any) -> Any:
        from aiohttp import web

        type_name, key = request.query.get("type", ""), request.query.get("key", "")
        try:
            text = self.state.detail(type_name, key)
        except ValueError:
            text = None
        if text is None:
            raise web.HTTPNotFound(text=f"no {key!r} in a {type_name!r} frame")
        return web.Response(text=text)

    async def _websocket(self, request: Any) -> Any:
        from aiohttp import WSMsgType, web

        ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=MAX_MESSAGE)
        await ws.prepare(request)
        browser = _Browser(ws)
        self._browsers.add(browser)
        self.browsers_seen += 1
        sender = asyncio.ensure_future(self._send_loop(browser))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                self._on_message(browser, msg.data)
        finally:
            self._browsers.discard(browser)
            self.skipped_updates += browser.skipped
            sender.cancel()
        return ws

    def _on_message(self, browser: _Browser, text: str) -> None:
        try:
            data = json.loads(text)
        except ValueError:
            return
        if not isinstance(data, dict) or data.get("type") != "choose":
            return
        if "timestream" in data:
            browser.timestream = TimestreamChoice.from_json(data["timestream"])
        if "scalar" in data:
            browser.scalar = ScalarChoice.from_json(data["scalar"])
        browser.wake.set()
