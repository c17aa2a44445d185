"""Network error types (defined in :mod:`g3stream.errors`, re-exported here).

Each error names the host and port involved so that a log line alone tells
an operator which link failed.
"""

from __future__ import annotations

from ..errors import (
    G3ConnectionLostError,
    G3ConnectionRefusedError,
    G3ConnectionTimeoutError,
    G3HostUnresolvableError,
)

class G3SendTimeoutError(G3ConnectionError):
    """A peer took no data within ``send_timeout`` (or its queue within ``close_timeout``)."""


class G3SenderClosedError(G3ConnectionError):
    """A frame was given to a connecting sender after it was closed: it was not sent."""


__all__ = [
    "G3ConnectionRefusedError",
    "G3HostUnresolvableError",
    "G3ConnectionTimeoutError",
    "G3ConnectionLostError",
    "G3SendTimeoutError",
    "G3SenderClosedError",
]
