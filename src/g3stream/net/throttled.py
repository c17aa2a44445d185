"""G3ThrottledNetworkSender: a listening sender that decimates chosen frame types."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from g3stream.frametype import G3FrameType
from g3stream.net.sender import G3NetworkSender, SenderStatistics


@dataclass(frozen=True)
class ThrottledSenderStatistics(SenderStatistics):
    """:class:`~g3stream.net.sender.SenderStatistics` plus the frames left out by decimation."""

    #: Frames of decimated types that were not sent.
    frames_skipped: int = 0


class G3ThrottledNetworkSender(G3NetworkSender):
    """Send only every Nth frame of the types in ``frame_decimation``.

    For a type mapped to N > 0 the Nth, 2Nth, 3Nth, ... frame of that type is
    sent; N = 0 sends none of that type. Frames of other types are all sent.
    Every frame still passes downstream. Further keyword arguments are those
    of :class:`~g3stream.net.sender.G3NetworkSender`.
    """

    def __init__(
        self,
        hostname: str = "*",
        port: int = 5978,
        frame_decimation: Mapping[Any, int] | None = None,
        max_queue_size: int = 0,
        **options: Any,
    ) -> None:
        if frame_decimation is None:
            frame_decimation = {G3FrameType.Timepoint: 10}
        self.decimation = {int(k): int(v) for k, v in frame_decimation.items()}
        if any(n < 0 for n in self.decimation.values()):
            raise ValueError("frame_decimation factors must be >= 0")
        #: Frames seen so far per decimated type.
        self.counts = dict.fromkeys(self.decimation, 0)
        #: Frames of decimated types that were not sent.
        self.frames_skipped = 0
        super().__init__(hostname, port, max_queue_size, **options)

    def _should_send(self, frame: Any) -> bool:
        code = int(frame.type)
        factor = self.decimation.get(code)
        if factor is None:
            return True
        self.counts[code] += 1
        if factor and self.counts[code] % factor == 0:
            return True
        self.frames_skipped += 1
        return False

    def statistics(self) -> ThrottledSenderStatistics:
        """As :meth:`G3NetworkSender.statistics`, plus ``frames_skipped`` by decimation."""
        stats = super().statistics()
        values = {f.name: getattr(stats, f.name) for f in fields(stats)}
        return ThrottledSenderStatistics(**values, frames_skipped=self.frames_skipped)
