"""The live web monitor behind ``g3stream web`` (needs the ``g3stream[web]`` extra).

:class:`~g3stream.web.state.MonitorState` turns a
:class:`~g3stream.live.LiveReader` into what the page shows (rates, health,
inspector, downsampled plots); :class:`~g3stream.web.server.WebMonitor`
serves it with aiohttp and draws it with Plotly.js (shipped in the
``plotly`` package, so the page works without internet access).  The server
module imports aiohttp only when a monitor starts, so importing this package
needs nothing beyond the core install.
"""

from __future__ import annotations

from .downsample import minmax_downsample
from .server import WebMonitor, plotly_js_path
from .state import MonitorState, ScalarChoice, TimestreamChoice

__all__ = [
    "MonitorState",
    "ScalarChoice",
    "TimestreamChoice",
    "WebMonitor",
    "minmax_downsample",
    "plotly_js_path",
]
