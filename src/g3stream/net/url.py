"""Parsing of ``tcp://`` stream addresses.

Accepted forms::

    tcp://host.name:4536     connect to a host name
    tcp://192.0.2.7:4536     connect to an IPv4 address
    tcp://[::1]:4536         connect to an IPv6 literal (brackets required)
    tcp://*:4536             listen on every interface, IPv4 and IPv6
    tcp://*:0                listen on a free port chosen by the system
"""

from __future__ import annotations

from dataclasses import dataclass

#: The prefix that marks a network address among file names.
TCP_SCHEME = "tcp://"

#: The host name that means "listen instead of connect".
LISTEN_HOST = "*"


@dataclass(frozen=True)
class TcpAddress:
    """A parsed ``tcp://`` address.

    ``host`` is ``"*"`` in listen mode; IPv6 literals are stored without
    their brackets.
    """

    host: str
    port: int

    @property
    def listen(self) -> bool:
        """True when the address asks to listen for a sender."""
        return self.host == LISTEN_HOST

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{TCP_SCHEME}{host}:{self.port}"


def is_tcp_url(name: object) -> bool:
    """Return True when ``name`` is a string that starts with ``tcp://``."""
    return isinstance(name, str) and name.startswith(TCP_SCHEME)


def parse_port(text: str, context: str) -> int:
    """Convert ``text`` to a TCP port number (0-65535) or raise ValueError."""
    try:
        port = int(text, 10)
    except ValueError:
        raise ValueError(f"invalid port {text!r} in {context!r}") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} out of range in {context!r}")
    return port


def parse_tcp_url(url: str) -> TcpAddress:
    """Split a ``tcp://host:port`` string into a :class:`TcpAddress`.

    Raises ``ValueError`` for anything that is not a complete address.
    """
    if not is_tcp_url(url):
        raise ValueError(f"not a tcp:// address: {url!r}")
    rest = url[len(TCP_SCHEME) :].rstrip("/")
    if rest.startswith("["):
        close = rest.find("]")
        if close < 0 or rest[close + 1 : close + 2] != ":":
            raise ValueError(f"malformed IPv6 address in {url!r}; use tcp://[addr]:port")
        host = rest[1:close]
        port_text = rest[close + 2 :]
    else:
        host, sep, port_text = rest.rpartition(":")
        if not sep:
            raise ValueError(f"missing port in {url!r}; use tcp://host:port")
        if ":" in host:
            raise ValueError(f"IPv6 addresses need brackets in {url!r}: tcp://[addr]:port")
    if not host:
        raise ValueError(f"missing host in {url!r}; use tcp://*:port to listen")
    return TcpAddress(host, parse_port(port_text, url))
