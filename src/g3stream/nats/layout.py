"""How G3 frames lie on JetStream: streams, subjects, headers and frame parts.

Sans-I/O: names and rules shared by the sender and the readers, and the
reassembly of frames split into several messages.

Layout (docs/NATS.md has the reasoning):

* One data stream per DAQ stream, named by the URL (``STREAM``), with one
  subject per frame type: ``g3.STREAM.Scan``, ``g3.STREAM.Calibration``,
  ... (an ad-hoc type code ``AB`` becomes ``x4142``).  One stream keeps the
  order of all frames total; the server filters types by subject.
* A metadata stream ``STREAM_META`` holding the latest frame of every
  metadata type (every type but Timepoint and Scan) forever: one message
  per subject ``g3meta.STREAM.<type>.<part>``, no age or size limit (its
  size is bounded by the number of types).  Late joiners take their
  snapshot from it, so metadata never ages out with the data.
* A frame larger than one message is split into parts published in order
  on the same subject.  Every part carries ``G3-Part: i/n`` and the frame's
  id; a reader delivers a frame only once all its parts arrived in order,
  and drops (and counts) anything else.
* Consecutive small data frames (Timepoint, Scan) of one type may be
  packed into one message, a batch: the frames back to back (G3 frames
  are self-delimiting) and ``G3-Batch: n``, the number of frames.  Metadata
  frames are never batched, and a batch is never split into parts.  A
  reader splits a batch back into its frames; stream sequences name
  messages, so the frames of one batch share one sequence.

Headers of every message: ``G3-Type`` (the frame type code; its absence
means "not a G3 frame"), ``Nats-Msg-Id`` (for de-duplication; parts add
``.i``), ``Nats-Expected-Last-Msg-Id`` (the previous message's id: the
server refuses a message whose predecessor it did not store, so a stream
is never stored out of order; a sender's first message expects the
stream's last sequence, ``Nats-Expected-Last-Sequence``), and for frames
named by their source position ``G3-Position`` (the position of the
message's last frame: a restarted sender skips the frames of that source up
to it).  Metadata-stream messages also carry ``G3-Rank`` (the order in
which the type first appeared) and ``G3-Seq`` (the data-stream sequence of
the frame's first part).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from g3stream._accel import accel
from g3stream.codec.container import DEFAULT_MAX_FRAME_SIZE, scan_frame
from g3stream.errors import G3FormatError
from g3stream.frame import G3FrameType
from g3stream.frametype import DATA_FRAME_TYPES
from g3stream.io.source import SourcePosition

#: Frame types that are data, not metadata (spt3g's rule for late clients).
#: The data frame types by code (the one definition is ``frametype.DATA_FRAME_TYPES``).
DATA_TYPES = frozenset(int(t) for t in DATA_FRAME_TYPES)

HDR_TYPE = "G3-Type"
HDR_PART = "G3-Part"
HDR_FRAME = "G3-Frame"
HDR_RANK = "G3-Rank"
HDR_SEQ = "G3-Seq"
HDR_BATCH = "G3-Batch"
HDR_POSITION = "G3-Position"
HDR_MSG_ID = "Nats-Msg-Id"
HDR_EXPECTED_LAST_ID = "Nats-Expected-Last-Msg-Id"
HDR_EXPECTED_LAST_SEQ = "Nats-Expected-Last-Sequence"

#: Bytes of a message kept free for headers when splitting frames.
HEADER_ROOM = 4096


def is_metadata(type_code: int) -> bool:
    """Whether frames of this type are replayed to late joiners."""
    return int(type_code) not in DATA_TYPES and int(type_code) != int(G3FrameType.EndProcessing)


def type_token(type_code: int) -> str:
    """The subject token of a frame type: its standard name, or ``x`` and its hex code."""
    t = G3FrameType(int(type_code))
    return t.name if t.is_standard else f"x{int(type_code):08x}"


def type_code_of_token(token: str) -> int | None:
    """The frame type code of a subject token (the reverse of :func:`type_token`); None if none."""
    if token.startswith("x") and len(token) == 9:
        try:
            return int(token[1:], 16)
        except ValueError:
            return None
    t = G3FrameType.names.get(token)
    return int(t) if t is not None else None


def data_stream(stream: str) -> str:
    """The data stream's name."""
    return stream


def meta_stream(stream: str) -> str:
    """The metadata stream's name."""
    return f"{stream}_META"


def data_subject(stream: str, type_code: int) -> str:
    """The data-stream subject of frames of one type."""
    return f"g3.{stream}.{type_token(type_code)}"


def data_subjects(stream: str) -> str:
    """The wildcard covering every data subject of a stream."""
    return f"g3.{stream}.*"


def meta_subject(stream: str, type_code: int, part: int) -> str:
    """The metadata-stream subject of one part of the latest frame of one type."""
    return f"g3meta.{stream}.{type_token(type_code)}.{part}"


def meta_subjects(stream: str) -> str:
    """The wildcard covering every metadata subject of a stream."""
    return f"g3meta.{stream}.>"


def split_payload(data: bytes | bytearray | memoryview, part_size: int) -> list[memoryview]:
    """``data`` cut into pieces of at most ``part_size`` bytes (one piece when it fits)."""
    view = memoryview(data).cast("B")
    if view.nbytes <= part_size:
        return [view]
    return [view[i : i + part_size] for i in range(0, view.nbytes, part_size)]


def part_header(index: int, count: int) -> str:
    """The ``G3-Part`` value of part ``index`` (from 0) of ``count``."""
    return f"{index}/{count}"


def parse_part(value: str | None) -> tuple[int, int]:
    """``(index, count)`` from a ``G3-Part`` header; ``(0, 1)`` when absent; ValueError if bad."""
    if value is None:
        return 0, 1
    i, sep, n = value.partition("/")
    index, count = int(i), int(n)
    if not sep or count < 1 or not 0 <= index < count:
        raise ValueError(f"bad {HDR_PART} header {value!r}")
    return index, count


def parse_batch(value: str | None) -> int:
    """The number of frames of a message from its ``G3-Batch`` header (1 when absent)."""
    if value is None:
        return 1
    count = int(value)
    if count < 1:
        raise ValueError(f"bad {HDR_BATCH} header {value!r}")
    return count


def batch_message_id(first_id: str, count: int) -> str:
    """The de-duplication id of a batch of ``count`` frames whose first frame's id is ``first_id``."""
    return first_id if count == 1 else f"{first_id}+{count}"


def parse_position(value: str | None) -> SourcePosition | None:
    """The position in a ``G3-Position`` header (``source@major[.minor]``); None if absent or bad."""
    if not value:
        return None
    source, sep, place = value.rpartition("@")
    major, _, minor = place.partition(".")
    try:
        return SourcePosition(source, int(major), int(minor or 0)) if sep and source else None
    except ValueError:
        return None


def batch_starts(payload: bytes, count: int) -> list[int]:
    """Where the ``count`` frames packed back to back in ``payload`` start; ValueError if not that.

    Checks each frame's extent (its header and length fields), not its CRC:
    the frames must end exactly at the payload's end.
    """
    starts: list[int] = []
    pos, end = 0, len(payload)
    fast = accel.scan if accel is not None else None
    while pos < end:
        if len(starts) >= count:
            raise ValueError(f"batch holds more frames than its {HDR_BATCH} header says ({count})")
        found = fast(payload, pos, end, DEFAULT_MAX_FRAME_SIZE) if fast is not None else None
        if found is not None:
            size = found[0]
        else:
            try:
                scanned = scan_frame(payload, pos, end, pos)
            except G3FormatError as exc:
                raise ValueError(f"batch frame {len(starts)} is not a G3 frame: {exc}") from None
            if isinstance(scanned, int):
                raise ValueError(f"batch frame {len(starts)} is cut short")
            size = scanned.size
        starts.append(pos)
        pos += size
    if len(starts) != count:
        raise ValueError(f"batch holds {len(starts)} frames, its {HDR_BATCH} header says {count}")
    return starts


def split_batch(payload: bytes, count: int) -> list[bytes]:
    """The ``count`` frames packed back to back in ``payload``; ValueError if it is not that."""
    starts = batch_starts(payload, count)
    ends = [*starts[1:], len(payload)]
    return [payload[a:b] for a, b in zip(starts, ends, strict=True)]


@dataclass
class AssembledFrame:
    """A whole frame's bytes and where its messages lie in the stream.

    A frame of a batch has ``index`` (from 0) among the ``count`` frames of
    its message; a frame of its own message has ``index`` 0 and ``count`` 1.
    ``checked`` says the frame's extent was already verified (batch frames).
    A whole batch kept in one piece has ``data`` the batch's payload, index
    0 and ``starts`` the offsets of its ``count`` frames in it.
    """

    data: bytes
    type_code: int
    first_seq: int
    last_seq: int
    index: int = 0
    count: int = 1
    checked: bool = False
    starts: list[int] | None = None


@dataclass
class Rejected:
    """A message (or the parts of a frame) that will never be delivered, and why."""

    reason: str
    sequence: int
    not_g3: bool


class FrameAssembler:
    """Joins frame parts, message by message, in stream order.

    :meth:`add` takes one message and yields what it completes: an
    :class:`AssembledFrame`, or a :class:`Rejected` for a message that is not
    a G3 frame or for an incomplete frame that another frame interrupted.
    Never yields half a frame or a mix of two frames.  Holds at most one
    frame's parts.  With ``whole_batches``, a batch whose type is not in
    ``split_types`` is yielded whole: one :class:`AssembledFrame` holding
    the batch's payload and its frames' ``starts``.
    """

    def __init__(
        self, whole_batches: bool = False, split_types: frozenset[int] = frozenset()
    ) -> None:
        self.whole_batches = whole_batches
        self.split_types = split_types
        self._parts: list[bytes] = []
        self._frame_id: str | None = None
        self._count = 0
        self._type = 0
        self._first_seq = 0
        #: Frames dropped because parts were missing.
        self.incomplete_frames = 0

    @property
    def pending(self) -> bool:
        """Whether parts of an unfinished frame are held."""
        return bool(self._parts)

    def _drop(self, seq: int) -> Iterator[Rejected]:
        if self._parts:
            self.incomplete_frames += 1
            yield Rejected(
                f"frame {self._frame_id} lost parts: got {len(self._parts)} of {self._count}",
                self._first_seq,
                False,
            )
        self._parts = []
        self._frame_id = None

    def add(
        self, seq: int, headers: dict[str, str] | None, payload: bytes
    ) -> Iterator[AssembledFrame | Rejected]:
        """Process the message at stream sequence ``seq``."""
        hdrs = headers or {}
        code = hdrs.get(HDR_TYPE)
        try:
            type_code = int(code) if code is not None else -1
            index, count = parse_part(hdrs.get(HDR_PART))
            batch = parse_batch(hdrs.get(HDR_BATCH))
            if batch > 1 and count > 1:
                raise ValueError(f"message {seq} is both a batch and a frame part")
        except ValueError as exc:
            yield from self._drop(seq)
            yield Rejected(str(exc), seq, True)
            return
        if type_code < 0:
            yield from self._drop(seq)
            yield Rejected(f"message {seq} has no {HDR_TYPE} header", seq, True)
            return
        if batch > 1:
            yield from self._drop(seq)
            whole = self.whole_batches and type_code not in self.split_types
            try:
                if whole:
                    starts = batch_starts(payload, batch)
                else:
                    frames = split_batch(payload, batch)
            except ValueError as exc:
                yield Rejected(f"message {seq}: {exc}", seq, True)
                return
            if whole:
                yield AssembledFrame(payload, type_code, seq, seq, 0, batch, True, starts)
                return
            for i, data in enumerate(frames):
                yield AssembledFrame(data, type_code, seq, seq, i, batch, True)
            return
        if count == 1:
            yield from self._drop(seq)
            yield AssembledFrame(payload, type_code, seq, seq)
            return
        frame_id = hdrs.get(HDR_FRAME, "")
        if index == 0:
            yield from self._drop(seq)
            self._frame_id, self._count, self._type, self._first_seq = (
                frame_id,
                count,
                type_code,
                seq,
            )
            self._parts = [payload]
            return
        if (
            not self._parts
            or frame_id != self._frame_id
            or count != self._count
            or index != len(self._parts)
        ):
            yield from self._drop(seq)
            self.incomplete_frames += 1
            yield Rejected(
                f"part {index}/{count} of frame {frame_id} without its start", seq, False
            )
            return
        self._parts.append(payload)
        if len(self._parts) == count:
            data = b"".join(self._parts)
            self._parts = []
            self._frame_id = None
            yield AssembledFrame(data, self._type, self._first_seq, seq)


__all__ = [
    "AssembledFrame",
    "DATA_TYPES",
    "FrameAssembler",
    "Rejected",
    "batch_message_id",
    "batch_starts",
    "data_stream",
    "data_subject",
    "data_subjects",
    "is_metadata",
    "meta_stream",
    "meta_subject",
    "meta_subjects",
    "parse_batch",
    "parse_position",
    "split_batch",
    "split_payload",
    "type_code_of_token",
    "type_token",
]
