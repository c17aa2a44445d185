"""The byte-source protocol that G3Reader drives: files and TCP streams alike.

Also the liveness vocabulary of network sources (:class:`SourceState`,
:class:`SourceStatistics`), defined here so that G3Reader can report it
without knowing any transport.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple, Protocol, runtime_checkable


class StreamRestart(Exception):
    """Raised by a source whose stream started over (a reconnect).

    Bytes already delivered that do not form a complete frame must be
    discarded by the consumer; reading then continues from the new stream.
    """


@runtime_checkable
class ByteSource(Protocol):
    """A stream of bytes that ends when ``read`` returns ``b""``.

    A network source may also offer ``statistics() -> SourceStatistics``,
    callable from any thread; ``G3Reader.statistics()`` passes it on.

    A source whose frames have a position that survives a restart (a
    JetStream stream's sequences) may offer ``frame_position(offset) ->
    SourcePosition | None``: the position of the frame that starts at byte
    ``offset`` of what ``read`` returned (offsets counted from 0, asked in
    increasing order).  G3Reader stores it in each frame
    (``frame._source_position``), so that a sender can name the frame by it.

    A source may also offer ``readinto(buffer) -> int`` (G3Reader then
    receives into the decoder's buffers), and ``large_piece``: how many bytes
    of a large frame it likes to be given per ``readinto`` while CRCs are
    checked as the frame arrives (0: the whole rest of the frame at once).
    """

    name: str

    def read(self, max_bytes: int) -> bytes:
        """Return up to ``max_bytes`` bytes; ``b""`` at the end of the source.

        May raise ``StreamRestart`` (discard any partial frame) or a
        ``G3ConnectionError`` subclass.
        """
        ...

    def close(self) -> None:
        """Release the source's resources; safe to call more than once."""
        ...


class SourcePosition(NamedTuple):
    """Where a frame lies in its source, stable across restarts: ``source@major[.minor]``.

    ``source`` names the source (unique among sources: two sources never
    share it); ``(major, minor)`` orders the frames of one source, in the
    order the source delivers them.
    """

    source: str
    major: int
    minor: int = 0

    def __str__(self) -> str:
        if self.minor:
            return f"{self.source}@{self.major}.{self.minor}"
        return f"{self.source}@{self.major}"


class SourceState(Enum):
    """Where a network source stands; the value is the name shown to monitors."""

    #: Connecting to a sender for the first time.
    CONNECTING = "connecting"
    #: Listening for a sender to connect.
    LISTENING = "listening"
    #: A connection is open but no data has arrived on it yet.
    CONNECTED = "connected"
    #: Data is arriving on the current connection.
    STREAMING = "streaming"
    #: The connection was lost; retrying, or waiting for the next sender.
    RECONNECTING = "reconnecting"
    #: The stream ended (the sender closed, a timeout passed, or an error).
    ENDED = "ended"
    #: The source was closed by its owner.
    CLOSED = "closed"


@dataclass(frozen=True)
class SourceStatistics:
    """A consistent snapshot of a network source's liveness and counters.

    Safe to take from any thread while another one reads the source.
    """

    #: The source's name (its ``tcp://`` address).
    name: str
    #: Where the source stands.
    state: SourceState
    #: True while a connection to a sender is open.
    connected: bool
    #: Outages after which the stream resumed (data arrived again).
    reconnects: int
    #: Connections lost (each one an outage in reconnecting mode).
    outages: int
    #: Connections established so far.
    connections: int
    #: Bytes received over every connection.
    bytes_received: int
    #: Seconds since the last frame arrived (``None`` before the first).  A
    #: byte source sees no frames: it reports the age of its last data, and
    #: ``G3Reader.statistics()`` the age of the last complete frame.
    last_frame_age_s: float | None
    #: The sender at the other end of the open connection (``host:port``), if any.
    peer: str | None = None
    #: Frames an outage cut in half, discarded by the reader (a byte source: 0).
    partial_frames_discarded: int = 0
