"""G3 streams on NATS JetStream: a sender module and a ``nats://`` source.

Needs the optional ``nats`` extra (nats-py), imported on first use of a
connection.  Layout of streams and subjects: :mod:`g3stream.nats.layout`
and docs/NATS.md.
"""

from __future__ import annotations

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
from .url import NatsAddress, is_nats_url, parse_nats_url

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
