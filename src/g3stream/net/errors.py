"""Network error types, all derived from :class:`g3stream.errors.G3ConnectionError`.

Each error names the host and port involved so that a log line alone tells
an operator which link failed.
"""

from __future__ import annotations

from g3stream.errors import G3ConnectionError


class G3ConnectionRefusedError(G3ConnectionError):
    """Nothing accepted a connection at the given host and port."""


class G3HostUnresolvableError(G3ConnectionError):
    """A host name could not be resolved to any address."""


class G3ConnectionTimeoutError(G3ConnectionError):
    """Connecting to a peer took longer than the configured timeout."""


class G3ConnectionLostError(G3ConnectionError):
    """An established connection failed (reset, broken pipe, peer vanished)."""


__all__ = [
    "G3ConnectionRefusedError",
    "G3HostUnresolvableError",
    "G3ConnectionTimeoutError",
    "G3ConnectionLostError",
]
