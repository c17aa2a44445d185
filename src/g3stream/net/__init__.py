"""TCP streaming: network senders and the ``tcp://`` byte source of G3Reader.

The wire format is the file format (frames back to back, no handshake), so
everything here is a thin layer of sockets and threads over the sans-I/O
codec.
"""

from __future__ import annotations

from ..errors import (
    G3ConnectionLostError,
    G3ConnectionRefusedError,
    G3ConnectionTimeoutError,
    G3HostUnresolvableError,
)
from ..io.source import SourceState, SourceStatistics
from .receiver import G3NetworkReceiver
from .sender import G3NetworkSender
from .tcp_source import TcpSource
from .throttled import G3ThrottledNetworkSender
from .url import TcpAddress, is_tcp_url, parse_tcp_url

__all__ = [
    "G3NetworkSender",
    "G3NetworkReceiver",
    "G3ThrottledNetworkSender",
    "TcpSource",
    "SourceState",
    "SourceStatistics",
    "TcpAddress",
    "is_tcp_url",
    "parse_tcp_url",
    "G3ConnectionRefusedError",
    "G3HostUnresolvableError",
    "G3ConnectionTimeoutError",
    "G3ConnectionLostError",
]
