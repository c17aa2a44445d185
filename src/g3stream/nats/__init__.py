"""G3 streams on NATS JetStream: a sender module and a ``nats://`` source.

Needs the optional ``nats`` extra (nats-py), imported on first use of a
connection.  Layout of streams and subjects: :mod:`g3stream.nats.layout`
and docs/NATS.md.
"""

from __future__ import annotations

from ..io.schemes import register_scheme
from .errors import (
    G3NatsError,
    NatsAuthError,
    NatsOutageError,
    NatsRefusedError,
    NatsUnreachableError,
    NotAG3FrameError,
)
from .sender import G3NatsSender, NatsSenderStatistics
from .source import Delivery, NatsSource, NatsSourceStatistics, open_nats_source
from .url import NATS_SCHEMES, NatsAddress, is_nats_url, parse_nats_url

for _prefix in NATS_SCHEMES:
    register_scheme(
        _prefix,
        open_nats_source,
        description="a G3 stream on NATS JetStream: nats://[user:pass@]host:port/STREAM?start=...",
    )

__all__ = [
    "G3NatsSender",
    "NatsSenderStatistics",
    "NatsSource",
    "NatsSourceStatistics",
    "Delivery",
    "open_nats_source",
    "NatsAddress",
    "is_nats_url",
    "parse_nats_url",
    "G3NatsError",
    "NatsAuthError",
    "NatsOutageError",
    "NatsRefusedError",
    "NatsUnreachableError",
    "NotAG3FrameError",
]
