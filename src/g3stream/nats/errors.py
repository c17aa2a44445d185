"""Errors of the NATS JetStream transport (defined in :mod:`g3stream.errors`, re-exported here).

Connection problems derive from :class:`g3stream.errors.G3ConnectionError`;
a message on a stream that is not a G3 frame derives from
:class:`g3stream.errors.G3FormatError` (its ``offset`` is the stream
sequence of the message).
"""

from __future__ import annotations

from ..errors import (
    G3NatsError,
    NatsAuthError,
    NatsOutageError,
    NatsRefusedError,
    NatsUnreachableError,
    NotAG3FrameError,
)

__all__ = [
    "G3NatsError",
    "NatsUnreachableError",
    "NatsAuthError",
    "NatsRefusedError",
    "NatsOutageError",
    "NotAG3FrameError",
]
