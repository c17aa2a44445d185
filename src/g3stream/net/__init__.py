"""TCP streaming: network senders and the ``tcp://`` byte source of G3Reader.

The wire format is the file format (frames back to back, no handshake), so
everything here is a thin layer of sockets and threads over the sans-I/O
codec.
"""

from __future__ import annotations

from g3stream.net.errors import (
    G3ConnectionLostError,
    G3ConnectionRefusedError,
    G3ConnectionTimeoutError,
    G3HostUnresolvableError,
)
from g3stream.net.receiver import G3NetworkReceiver
from g3stream.net.sender import G3NetworkSender
from g3stream.net.tcp_source import TcpSource
from g3stream.net.throttled import G3ThrottledNetworkSender
from g3stream.net.url import TcpAddress, is_tcp_url, parse_tcp_url

__all__ = [
    "G3NetworkSender",
    "G3NetworkReceiver",
    "G3ThrottledNetworkSender",
    "TcpSource",
    "TcpAddress",
    "is_tcp_url",
    "parse_tcp_url",
    "G3ConnectionRefusedError",
    "G3HostUnresolvableError",
    "G3ConnectionTimeoutError",
    "G3ConnectionLostError",
]
