"""Errors of the NATS JetStream transport.

Connection problems derive from :class:`g3stream.errors.G3ConnectionError`;
a message on a stream that is not a G3 frame derives from
:class:`g3stream.errors.G3FormatError` (its ``offset`` is the stream
sequence of the message).
"""

from __future__ import annotations

from g3stream.errors import G3ConnectionError, G3FormatError


class G3NatsError(G3ConnectionError):
    """A NATS server could not be used (the subclasses say why)."""


class NatsUnreachableError(G3NatsError):
    """No NATS server of the URL accepted a connection in time."""


class NatsAuthError(G3NatsError):
    """The server refused the credentials (user and password, token or credentials file)."""


class NatsRefusedError(G3NatsError):
    """The server refused a request: a publish, a stream or a consumer it would not create."""


class NatsOutageError(G3NatsError):
    """The server stayed unreachable longer than the configured outage timeout."""


class NotAG3FrameError(G3FormatError):
    """A message on a G3 stream that does not hold a G3 frame (or a part of one).

    ``offset`` and ``sequence`` are the message's stream sequence.
    """

    def __init__(self, message: str, sequence: int) -> None:
        super().__init__(message, sequence)
        self.sequence = sequence


__all__ = [
    "G3NatsError",
    "NatsUnreachableError",
    "NatsAuthError",
    "NatsRefusedError",
    "NatsOutageError",
    "NotAG3FrameError",
]
