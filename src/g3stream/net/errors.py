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
    G3SenderClosedError,
    G3SendTimeoutError,
)

__all__ = [
    "G3ConnectionRefusedError",
    "G3HostUnresolvableError",
    "G3ConnectionTimeoutError",
    "G3ConnectionLostError",
    "G3SendTimeoutError",
    "G3SenderClosedError",
]
