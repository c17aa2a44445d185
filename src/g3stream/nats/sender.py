"""G3NatsSender: publish every frame to a JetStream stream, in order, acknowledged.

A tee like G3NetworkSender: called with a frame it returns ``[frame]``, and
publishes the frame (from its original bytes when it has them) to the data
stream of the URL, split into parts when it is larger than a message may be.
Metadata frames are also stored as the latest of their type in the metadata
stream (see :mod:`g3stream.nats.layout`).

Concurrency contract:

* The pipeline thread only appends to ``_queue`` and waits on ``_cond``
  while ``_inflight_bytes`` (frames handed over, not yet acknowledged)
  would pass ``max_inflight_bytes``: memory stays bounded whatever the
  server does.  Once the publisher no longer skips or anchors frames, a
  small data frame that may join the queue's last item (an *open batch*:
  same type and source, within the batch bounds) is appended to that
  item's bytes instead of being queued alone; the publisher takes the
  whole batch with the queue.  The publisher is woken only when it is idle.
* Everything else runs on the sender's own event loop (a
  :class:`~g3stream.nats.connection.LoopThread`): the publisher task moves
  queued frames to the server (pipelined, acknowledgements awaited later);
  the acknowledgement task awaits them strictly in order and releases their
  bytes.  A missing or failed acknowledgement (a lost connection, a cluster
  electing a new leader) stops publishing and re-publishes every
  unacknowledged frame in order once the server answers again; the
  server's de-duplication (``Nats-Msg-Id``, within the stream's window)
  drops the copies it already stored.
* An error the sender cannot recover from (refused publish, an outage longer
  than ``outage_timeout``) is stored and raised by the next call.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from g3stream.codec.container import encode_frame
from g3stream.frame import G3Frame, G3FrameType
from g3stream.io.source import SourcePosition

from .connection import DEFAULT_CONNECT_TIMEOUT, LoopThread, connect, ensure_streams, nats_module
from .errors import G3NatsError, NatsOutageError, NatsRefusedError
from .layout import (
    HDR_BATCH,
    HDR_EXPECTED_LAST_ID,
    HDR_EXPECTED_LAST_SEQ,
    HDR_FRAME,
    HDR_MSG_ID,
    HDR_PART,
    HDR_POSITION,
    HDR_RANK,
    HDR_SEQ,
    HDR_TYPE,
    HEADER_ROOM,
    batch_message_id,
    data_subject,
    is_metadata,
    meta_stream,
    meta_subject,
    meta_subjects,
    parse_part,
    parse_position,
    part_header,
    split_payload,
)
from .url import parse_nats_url

log = logging.getLogger(__name__)

#: Default bound on bytes published but not yet acknowledged.
DEFAULT_MAX_INFLIGHT_BYTES = 64 << 20
#: Default bound on frames published but not yet acknowledged.
DEFAULT_MAX_INFLIGHT_FRAMES = 20_000
#: Default bound on data frames packed into one message (a batch).
DEFAULT_MAX_BATCH_FRAMES = 256
#: Default bound on the bytes of a batch; larger frames travel alone.
DEFAULT_MAX_BATCH_BYTES = 128 << 10
_END = int(G3FrameType.EndProcessing)
#: JetStream's error code for a refused Nats-Expected-Last-Msg-Id.
_WRONG_LAST_MSG_ID = 10070
#: JetStream's error code for a refused Nats-Expected-Last-Sequence.
_WRONG_LAST_SEQUENCE = 10071


@dataclass(frozen=True)
class NatsSenderStatistics:
    """Counters of a :class:`G3NatsSender`."""

    #: Frames (and their bytes) acknowledged by the server.
    frames_sent: int
    bytes_sent: int
    #: Messages published (a batch or a frame part is one message).
    messages_sent: int
    #: Frames the server already had (de-duplicated, or found stored on a restart).
    duplicates: int
    #: Messages published again after a failure.
    republished: int
    inflight_bytes: int
    peak_inflight_bytes: int


@dataclass(slots=True)
class _Item:
    data: bytes | bytearray
    type_code: int
    msg_id: str
    size: int
    futures: list[Any] = field(default_factory=list)
    last_id: str | None = None
    frames: int = 1  # frames packed in this message (a batch when > 1)
    batchable: bool = False  # a data frame named by its source position or unique to this run
    #: Where the (last) frame lies in its source, when its id is that position.
    position: SourcePosition | None = None
    members: list[_Item] | None = None  # a batch's frames
    #: A frame in parts whose first parts the stream holds: (first part to send, parts).
    resume_part: tuple[int, int] = (0, 0)
    #: An open batch: the pipeline thread appends the data frames that follow it
    #: (``data`` a bytearray, ``msg_id`` its first frame's id) until the publisher takes it.
    open: bool = False

    @property
    def source(self) -> str | None:
        """The source of the frame's position (None without one)."""
        return None if self.position is None else self.position.source


@dataclass
class _Resume:
    """What the stream holds of one source: frames before ``position`` (through it when whole).

    ``part`` > 0: the frame at ``position`` is stored up to part ``part`` - 1 of ``parts``.
    """

    position: SourcePosition
    part: int = 0
    parts: int = 0


def frame_position(frame: G3Frame) -> SourcePosition | None:
    """Where ``frame`` lies in its source, when that survives a restart; else None.

    A frame read from a JetStream stream carries its position (stream and
    sequence); a frame read from a file (``track_filename``) is at its byte
    offset in the file.  Frames of other network streams have none.
    """
    pos: SourcePosition | None = getattr(frame, "_source_position", None)
    if pos is not None:
        return pos
    name = frame._filename
    offset = frame.stream_offset
    if name and offset is not None and "://" not in name:
        return SourcePosition(name, offset)
    return None


def message_id(frame: G3Frame, fallback: str) -> str:
    """The de-duplication id of ``frame``: its source position when it has one.

    Frames read from a file (``track_filename``) are named ``file@offset``,
    frames read from a JetStream stream ``nats:STREAM:CREATED@seq[.index]``
    (:func:`frame_position`): the same after a restart.  Frames of other
    network streams, which have no stable position, get ``fallback``
    (unique per sender run).
    """
    pos = frame_position(frame)
    return fallback if pos is None else str(pos)


class G3NatsSender:
    """Publish frames to the JetStream stream named by a ``nats://`` URL.

    Parameters
    ----------
    url:
        ``nats://[user:pass@]host:port[,host:port...]/STREAM`` (``nats+tls://``
        for TLS); sender options in the query: ``max_bytes``, ``max_age``,
        ``replicas``, ``storage``, ``dedup_window``.  The streams are
        created when they do not exist.
    max_inflight_bytes, max_inflight_frames:
        Bytes and frames published and not yet acknowledged before the
        pipeline waits.
    ack_timeout:
        Seconds an acknowledgement may take before the sender re-publishes.
    outage_timeout:
        Seconds the server may stay unreachable mid-stream before
        :class:`NatsOutageError`.
    connect_timeout:
        Seconds granted to the first connection.
    close_timeout:
        Seconds ``Close`` waits for the last acknowledgements.
    msg_id:
        ``msg_id(frame, fallback) -> str``: the de-duplication id of a
        frame (default :func:`message_id`).
    max_batch_frames, max_batch_bytes:
        Bounds on a batch: consecutive data frames of one type (and one
        source) that are queued together are published as one message of at
        most this many frames and bytes (never waiting for more).  Frames
        named by their source position or by the run-unique fallback are
        batched; frames named by a ``msg_id`` function of the caller's travel
        alone.  ``max_batch_frames=1`` publishes every frame alone.

    A sender started on a stream first reads the stream's last message: the
    frames of its source up to that message's ``G3-Position`` are stored
    already, and are skipped (counted as duplicates) instead of published,
    so a relay restarted on the same source stores every frame once whatever
    the batches (docs/NATS.md).

    Errors: :class:`NatsUnreachableError` or :class:`NatsAuthError` at
    construction; :class:`NatsRefusedError` or :class:`NatsOutageError`
    from the call after the failure, and from ``Close`` when frames
    remain unacknowledged.
    """

    __g3module__ = True

    def __init__(
        self,
        url: str,
        *,
        max_inflight_bytes: int = DEFAULT_MAX_INFLIGHT_BYTES,
        max_inflight_frames: int = DEFAULT_MAX_INFLIGHT_FRAMES,
        ack_timeout: float = 5.0,
        outage_timeout: float = 120.0,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        close_timeout: float = 30.0,
        msg_id: Callable[[G3Frame, str], str] = message_id,
        max_batch_frames: int = DEFAULT_MAX_BATCH_FRAMES,
        max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
    ) -> None:
        self.address = parse_nats_url(url)
        self.max_inflight_bytes = int(max_inflight_bytes)
        self.max_inflight_frames = int(max_inflight_frames)
        self._inflight_frames = 0
        self.ack_timeout = float(ack_timeout)
        self.outage_timeout = float(outage_timeout)
        self.close_timeout = float(close_timeout)
        self._msg_id = msg_id
        self.max_batch_frames = max(1, int(max_batch_frames))
        self.max_batch_bytes = int(max_batch_bytes)
        self._mutex = threading.Lock()
        self._cond = threading.Condition(self._mutex)
        self._queue: deque[_Item] = deque()
        self._inflight = 0
        self._peak = 0
        self._wake_pending = False
        self._error: BaseException | None = None
        self._closed = False
        self._closing = False
        self._counter = 0
        self._frames = self._bytes = self._messages = self._dups = self._republished = 0
        self._ranks: dict[int, int] = {}
        self._unacked: deque[_Item] = deque()
        self._last_id: str | None = None  # the last message id handed to the server
        self._acked_id: str | None = None  # the last message id it acknowledged
        self._outage_since: float | None = None
        self._stalled: BaseException | None = None  # set when nats-py stops taking publishes
        self._reconnects = 0
        self._meta_unacked: deque[tuple[_Item, int, list[Any], float]] = deque()
        self._resume: _Resume | None = None  # what the stream holds of a source
        self._stored_seq = 0  # the stream's last sequence when ``_resume`` was read
        self._anchored = False  # a message of this run was stored afresh
        #: Set once the publisher neither skips nor anchors frames any more: from
        #: then on the pipeline thread packs small data frames into open batches.
        self._packing = False
        self._pack_limit = 0
        self._started_at: SourcePosition | None = None
        self._nc: Any = None
        self._js: Any = None
        self._part_size = 0
        self._loop = LoopThread("g3nats-sender")
        try:
            self._run_id = self._loop.run(self._start(connect_timeout), connect_timeout + 30)
        except BaseException:
            try:
                self._loop.run(self._shutdown(), 10)
            finally:
                self._loop.stop()
            raise

    # -- on the loop -------------------------------------------------------
    async def _start(self, connect_timeout: float) -> str:
        addr = self.address
        self._nc = await connect(
            addr, connect_timeout, name="g3stream-sender", on_event=self._event
        )
        # nats-py's own limit on pending publishes would make it yield to the loop
        # (and write) after every message; the sender bounds frames and bytes itself
        self._js = self._nc.jetstream(timeout=self.ack_timeout, publish_async_max_pending=1 << 30)
        await ensure_streams(self._js, addr)
        self._part_size = max(1024, int(self._nc.max_payload) - HEADER_ROOM)
        self._pack_limit = min(self.max_batch_bytes, self._part_size)
        await self._load_ranks()
        await self._load_resume()
        self._started_at = self._resume.position if self._resume is not None else None
        self._wake = asyncio.Event()
        self._item_added = asyncio.Event()
        self._lock = asyncio.Lock()
        self._publisher = asyncio.ensure_future(self._publish_loop())
        self._acker = asyncio.ensure_future(self._ack_loop())
        return bytes(self._nc._nuid.next()).decode()

    def _event(self, what: str) -> None:
        if what == "reconnected":
            self._reconnects += 1
        log.info("%s: %s", self.address.display, what)

    async def _load_ranks(self) -> None:
        """Continue the first-seen ranks of types already in the metadata stream."""
        nats = nats_module()
        stream = meta_stream(self.address.stream)
        info = await self._js.stream_info(
            stream, subjects_filter=meta_subjects(self.address.stream)
        )
        for subject in info.state.subjects or {}:
            if not subject.endswith(".0"):
                continue
            try:
                msg = await self._js.get_last_msg(stream, subject)
            except nats.js.errors.NotFoundError:
                continue
            hdrs = msg.headers or {}
            if HDR_TYPE in hdrs and HDR_RANK in hdrs:
                self._ranks[int(hdrs[HDR_TYPE])] = int(hdrs[HDR_RANK])

    async def _load_resume(self) -> None:
        """Read what the stream holds of a source: its last message's ``G3-Position``."""
        nats = nats_module()
        stream = self.address.stream
        info = await self._js.stream_info(stream)
        self._stored_seq = last = int(info.state.last_seq or 0)
        self._resume = None
        if not last:
            return
        try:
            msg = await self._js.get_msg(stream, seq=last, direct=True)
        except nats.js.errors.NotFoundError:
            return
        hdrs = msg.headers or {}
        pos = parse_position(hdrs.get(HDR_POSITION))
        if pos is None:
            return
        try:
            index, count = parse_part(hdrs.get(HDR_PART))
        except ValueError:
            index, count = 0, 1
        if index < count - 1:  # a frame cut short: its next parts are wanted
            self._resume = _Resume(pos, index + 1, count)
        else:
            self._resume = _Resume(pos)
        log.info(
            "%s: the stream holds %s up to %s (sequence %d)",
            self.address.display,
            pos.source,
            hdrs.get(HDR_POSITION),
            last,
        )

    def _skip_stored(self, items: list[_Item]) -> list[_Item]:
        """``items`` without the frames the stream holds already (see :meth:`_load_resume`)."""
        resume = self._resume
        if resume is None:
            return items
        key = resume.position.source
        out = []
        for item in items:
            pos = item.position
            if pos is None or pos.source != key or self._resume is None:
                out.append(item)
                continue
            place = (pos.major, pos.minor)
            held = (resume.position.major, resume.position.minor)
            if place < held or (place == held and not resume.part):
                self._done(item, True)
                continue
            if place == held:
                item.resume_part = (resume.part, resume.parts)
            self._resume = None  # frames from here on are new
            out.append(item)
        return out

    def _parts(self, item: _Item) -> tuple[int, list[tuple[int, memoryview]]]:
        """The number of parts of ``item`` and those to publish (``(index, bytes)``)."""
        parts = split_payload(item.data, self._part_size)
        first, count = item.resume_part
        if first and count != len(parts):
            first = 0  # cut differently (another message size): the whole frame again
        return len(parts), list(enumerate(parts))[first:]

    def _headers(self, item: _Item, index: int, count: int, suffix: str) -> dict[str, str]:
        hdrs = {HDR_TYPE: str(item.type_code)}
        if item.frames > 1:
            hdrs[HDR_BATCH] = str(item.frames)
        if item.position is not None and not suffix:
            hdrs[HDR_POSITION] = str(item.position)
        if count > 1:
            hdrs[HDR_PART] = part_header(index, count)
            hdrs[HDR_FRAME] = item.msg_id
            hdrs[HDR_MSG_ID] = f"{item.msg_id}{suffix}.{index}"
        else:
            hdrs[HDR_MSG_ID] = f"{item.msg_id}{suffix}"
        return hdrs

    async def _send(self, item: _Item) -> None:
        """Publish ``item``'s messages (pipelined), each expecting its predecessor as the last.

        The expectation makes the server refuse a message whose predecessor
        is not stored, so nothing is ever stored out of order (a message
        buffered across a reconnect, for one); the refusal starts a recovery.
        """
        subject = data_subject(self.address.stream, item.type_code)
        n, parts = self._parts(item)
        item.futures = []
        for i, part in parts:
            hdrs = self._headers(item, i, n, "")
            if self._last_id is not None:
                hdrs[HDR_EXPECTED_LAST_ID] = self._last_id
            self._last_id = hdrs[HDR_MSG_ID]
            payload = item.data if n == 1 else bytes(part)
            fut = None
            if self._stalled is None:
                try:
                    fut = await self._js.publish_async(subject, payload, headers=hdrs)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # no acknowledgements for a while, or a full buffer
                    self._stalled = exc
            if fut is None:
                # not sent: fails at once, and the recovery publishes it again
                fut = asyncio.get_running_loop().create_future()
                fut.set_exception(self._stalled or RuntimeError("not sent"))
            item.futures.append(fut)
        item.last_id = self._last_id
        self._messages += len(parts)

    async def _publish_loop(self) -> None:
        closing = False
        while True:
            if not closing:
                await self._wake.wait()
            self._wake.clear()
            with self._cond:
                items = list(self._queue)
                self._queue.clear()
                self._wake_pending = False
                closing = self._closing
            async with self._lock:
                pending: list[_Item] | None = self._skip_stored(items)
                while pending and not self._anchored:
                    pending = await self._anchor_first(pending)
                if pending is None:
                    return
                for item in self._batches(pending):
                    await self._send(item)
                    self._unacked.append(item)
                    self._item_added.set()
                if (
                    not self._packing
                    and self._anchored
                    and self._resume is None
                    and self.max_batch_frames > 1
                ):
                    # nothing is skipped or anchored any more: whole batches may form upstream
                    with self._mutex:
                        self._packing = True
            if closing and not items:
                return

    async def _anchor_first(self, items: list[_Item]) -> list[_Item] | None:
        """Store the first message of this run after what the stream holds; what remains.

        The first message expects the stream's last sequence as read by
        :meth:`_load_resume`, so it is stored only right after the message
        whose position told what to skip: a message of an earlier run that
        reached the server late makes the server refuse it, and the stream is
        read again.  From then on every message expects its predecessor.
        None after a failure (stored).
        """
        batches = self._batches(items)
        first = batches[0]
        rest = [m for b in batches[1:] for m in (b.members or [b])]
        outcome = await self._send_first(first)
        if outcome is None:
            return None
        if outcome != "moved":
            self._unacked.append(first)
            self._item_added.set()
            if outcome == "stored":
                self._anchored = True
                return rest
        # the stream moved on (or already held this very message): read it again
        while True:
            try:
                await self._load_resume()
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._outage_over(exc):
                    return None
                await asyncio.sleep(0.1)
        if outcome == "moved":
            again = [*(first.members or [first]), *rest]
            for item in again:
                item.resume_part = (0, 0)
            return self._skip_stored(again)
        return self._skip_stored(rest)

    def _outage_over(self, exc: BaseException) -> bool:
        """Note a failed request; True (and the error stored) once the outage lasted too long."""
        if not self._transient(exc):
            self._fail(NatsRefusedError(f"{self.address.display}: refused: {exc}"))
            return True
        if self._outage_since is None:
            self._outage_since = time.monotonic()
        if time.monotonic() - self._outage_since > self.outage_timeout:
            self._fail(
                NatsOutageError(
                    f"{self.address.display}: no answer for {self.outage_timeout:g} s; "
                    f"{self._inflight_frames} frames not stored"
                )
            )
            return True
        return False

    async def _publish_retrying(self, subject: str, payload: bytes, hdrs: dict[str, str]) -> Any:
        """Publish one message and wait for its acknowledgement, asking again through outages.

        The acknowledgement; ``"moved"`` when the server refused the
        message's expected last sequence; None after a failure (stored).
        """
        api_error = nats_module().js.errors.APIError
        while True:
            if not self._nc.is_connected:
                if self._outage_over(ConnectionError("not connected")):
                    return None
                await asyncio.sleep(0.05)
                continue
            try:
                return await self._js.publish(
                    subject, payload, headers=dict(hdrs), timeout=self.ack_timeout
                )
            except asyncio.CancelledError:
                raise
            except api_error as exc:
                if HDR_EXPECTED_LAST_SEQ in hdrs and exc.err_code == _WRONG_LAST_SEQUENCE:
                    return "moved"
                if self._outage_over(exc):
                    return None
            except Exception as exc:
                if self._outage_over(exc):
                    return None
            await asyncio.sleep(0.1)

    async def _send_first(self, item: _Item) -> str | None:
        """Publish ``item`` waiting, its first message expecting the stream's last sequence.

        ``"stored"``, ``"duplicate"`` (the stream holds this very message:
        the same id names the same frames; a frame in parts goes on with its
        next parts, each recognised by its id or stored) or ``"moved"``
        (refused: the stream's last sequence changed); None after a failure
        (stored).
        """
        subject = data_subject(self.address.stream, item.type_code)
        n, parts = self._parts(item)
        acks: list[Any] = []
        last_id = None
        duplicate = False
        for i, part in parts:
            hdrs = self._headers(item, i, n, "")
            if not acks:
                hdrs[HDR_EXPECTED_LAST_SEQ] = str(self._stored_seq)
            elif not duplicate:
                hdrs[HDR_EXPECTED_LAST_ID] = str(last_id)
            ack = await self._publish_retrying(subject, bytes(part), hdrs)
            if ack is None or isinstance(ack, str):
                return ack
            self._messages += 1
            duplicate = duplicate or (not acks and bool(ack.duplicate))
            acks.append(ack)
            last_id = hdrs[HDR_MSG_ID]
        self._outage_since = None
        loop = asyncio.get_running_loop()
        item.futures = []
        for ack in acks:
            fut = loop.create_future()
            fut.set_result(ack)
            item.futures.append(fut)
        item.last_id = last_id
        if duplicate:
            return "duplicate"
        self._last_id = last_id
        return "stored"

    @staticmethod
    def _close_batch(item: _Item) -> _Item:
        """An open batch taken from the queue, as the message it is published as."""
        item.open = False
        item.data = bytes(item.data)
        item.msg_id = batch_message_id(item.msg_id, item.frames)
        return item

    def _batches(self, items: list[_Item]) -> list[_Item]:
        """``items`` with runs of small data frames of one type packed into batches, in order."""
        if len(items) == 1 and items[0].open:
            return [self._close_batch(items[0])]
        if self.max_batch_frames <= 1 or len(items) < 2:
            return items
        limit = self._pack_limit
        out: list[_Item] = []
        run: list[_Item] = []
        size = 0

        def flush() -> None:
            if len(run) == 1:
                out.append(run[0])
            elif run:
                first = run[0]
                out.append(
                    _Item(
                        b"".join(i.data for i in run),
                        first.type_code,
                        batch_message_id(first.msg_id, len(run)),
                        size,
                        frames=len(run),
                        position=run[-1].position,
                        members=list(run),
                    )
                )
            run.clear()

        for item in items:
            if item.open:
                flush()
                size = 0
                out.append(self._close_batch(item))
                continue
            if not item.batchable or item.size > limit:
                flush()
                size = 0
                out.append(item)
                continue
            if run and (
                item.type_code != run[0].type_code
                or item.source != run[0].source
                or len(run) >= self.max_batch_frames
                or size + item.size > limit
            ):
                flush()
                size = 0
            run.append(item)
            size += item.size
        flush()
        return out

    async def _publish_meta(self, item: _Item, data_seq: int, wait: bool) -> list[Any]:
        """Store ``item`` as the latest of its type; the acknowledgement futures unless ``wait``."""
        code = item.type_code
        rank = self._ranks.get(code)
        if rank is None:
            rank = self._ranks[code] = max(self._ranks.values(), default=-1) + 1
        parts = split_payload(item.data, self._part_size)
        n = len(parts)
        futures = []
        # the other parts first: part 0, which readers look up, is complete last
        for i in [*range(1, n), 0]:
            hdrs = self._headers(item, i, n, ".meta")
            hdrs[HDR_PART] = part_header(i, n)
            hdrs[HDR_FRAME] = item.msg_id
            hdrs[HDR_RANK] = str(rank)
            hdrs[HDR_SEQ] = str(data_seq)
            subject = meta_subject(self.address.stream, code, i)
            if wait:
                await self._js.publish(
                    subject, bytes(parts[i]), headers=hdrs, timeout=self.ack_timeout
                )
            else:
                futures.append(await self._js.publish_async(subject, bytes(parts[i]), headers=hdrs))
        return futures

    async def _settle_meta(self) -> None:
        """Retire acknowledged metadata publishes; publish again (waiting) those that failed."""
        pending = self._meta_unacked
        while pending:
            item, seq, futures, since = pending[0]
            if all(f.done() for f in futures):
                if any(f.exception() is not None for f in futures):
                    await self._publish_meta(item, seq, wait=True)
            elif time.monotonic() - since > self.ack_timeout:
                await self._publish_meta(item, seq, wait=True)
            else:
                return
            pending.popleft()

    def _transient(self, exc: BaseException) -> bool:
        nats = nats_module()
        if isinstance(exc, nats.js.errors.APIError) and not isinstance(
            exc, nats.js.errors.NoStreamResponseError
        ):
            # a predecessor not stored (10070: wrong last message id), or the
            # server busy or electing a leader: publish again; anything else is final
            return exc.err_code == _WRONG_LAST_MSG_ID or exc.code in (None, 503, 408)
        return True

    async def _ack_loop(self) -> None:
        while True:
            if not self._unacked:
                try:
                    await self._settle_meta()
                except Exception as exc:
                    if not self._transient(exc):
                        self._fail(NatsRefusedError(f"{self.address.display}: refused: {exc}"))
                        return
                    await asyncio.sleep(0.1)
                    continue
                with self._cond:
                    if (
                        self._closing
                        and not self._queue
                        and self._publisher.done()
                        and not self._meta_unacked
                    ):
                        return
                self._item_added.clear()
                try:
                    await asyncio.wait_for(self._item_added.wait(), 0.2)
                except asyncio.TimeoutError:
                    pass
                continue
            item = self._unacked[0]
            try:
                futures = item.futures
                if not all(f.done() for f in futures):
                    await self._await_acks(futures)
                acks = [f.result() for f in futures]
                if is_metadata(item.type_code):
                    # pipelined: the data stream's order is what matters, and
                    # readers check the metadata stream against it
                    futures = await self._publish_meta(item, acks[0].seq, wait=False)
                    self._meta_unacked.append((item, acks[0].seq, futures, time.monotonic()))
                await self._settle_meta()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not self._transient(exc):
                    self._fail(NatsRefusedError(f"{self.address.display}: publish refused: {exc}"))
                    return
                if not await self._recover(exc):
                    return
                continue
            self._outage_since = None
            self._acked_id = item.last_id
            self._done(self._unacked.popleft(), any(a.duplicate for a in acks))

    async def _await_acks(self, futures: list[Any]) -> None:
        """Wait for ``futures``; TimeoutError after ``ack_timeout``, or at once after a reconnect."""
        deadline = time.monotonic() + self.ack_timeout
        reconnects = self._reconnects
        pending = [f for f in futures if not f.done()]
        flushed = False
        while pending:
            left = deadline - time.monotonic()
            if left <= 0 or self._reconnects != reconnects:
                raise asyncio.TimeoutError
            _, still = await asyncio.wait(pending, timeout=min(left, 0.25))
            pending = list(still)
            if pending and not flushed:
                # nats-py can leave the last publishes in its buffer: push them out
                flushed = True
                try:
                    await self._nc.flush(timeout=max(1, int(self.ack_timeout)))
                except Exception:  # a lost connection: the timeout handles it
                    pass

    def _done(self, item: _Item, duplicate: bool) -> None:
        self._frames += item.frames
        self._bytes += item.size
        self._dups += item.frames if duplicate else 0
        with self._cond:
            self._inflight -= item.size
            self._inflight_frames -= item.frames
            self._cond.notify_all()

    async def _recover(self, exc: BaseException) -> bool:
        """Publish every unacknowledged frame again, in order; False after the outage timeout.

        What the server stored of them is a prefix (each message expected its
        predecessor).  They are published again one at a time, each
        acknowledged before the next and without the expectation, while the
        server answers "duplicate" (the message ids are within the
        de-duplication window); from the first one it stores afresh, the
        rest are not stored and follow pipelined.  Waits through a
        restarted server or a cluster electing a new stream leader.
        """
        if self._outage_since is None:
            self._outage_since = time.monotonic()
            log.warning("%s: no acknowledgement (%r); publishing again", self.address.display, exc)
        self._cancel_unacked()  # the publisher may wait for a free place, holding the lock
        async with self._lock:
            self._cancel_unacked()
            self._stalled = None
            loop = asyncio.get_running_loop()
            resend = list(self._unacked)
            while resend:
                item = resend.pop(0)
                acks = await self._send_waiting(item)
                if acks is None:
                    return False
                item.futures = []
                for ack in acks:
                    fut = loop.create_future()
                    fut.set_result(ack)
                    item.futures.append(fut)
                self._last_id = item.last_id
                self._republished += 1
                if not all(a.duplicate for a in acks):
                    break  # stored afresh: none of the rest is stored
            for item in resend:
                await self._send(item)
            self._republished += len(resend)
        return True

    async def _send_waiting(self, item: _Item) -> list[Any] | None:
        """Publish ``item`` message by message, each acknowledged before the next (retrying).

        None after the outage timeout or a refusal (the error is stored).
        """
        subject = data_subject(self.address.stream, item.type_code)
        n, parts = self._parts(item)
        acks = []
        for i, part in parts:
            hdrs = self._headers(item, i, n, "")
            while True:
                assert self._outage_since is not None
                if time.monotonic() - self._outage_since > self.outage_timeout:
                    self._fail(
                        NatsOutageError(
                            f"{self.address.display}: no acknowledgement for "
                            f"{self.outage_timeout:g} s; "
                            f"{sum(i.frames for i in self._unacked)} frames not stored"
                        )
                    )
                    return None
                if not self._nc.is_connected:
                    await asyncio.sleep(0.05)
                    continue
                try:
                    ack = await self._js.publish(
                        subject, bytes(part), headers=dict(hdrs), timeout=self.ack_timeout
                    )
                except asyncio.CancelledError:
                    raise
                except Exception as again:
                    if not self._transient(again):
                        self._fail(
                            NatsRefusedError(f"{self.address.display}: publish refused: {again}")
                        )
                        return None
                    await asyncio.sleep(0.1)
                    continue
                acks.append(ack)
                break
        item.last_id = hdrs[HDR_MSG_ID]
        return acks

    def _cancel_unacked(self) -> None:
        """Give up waiting for the acknowledgements of unacknowledged frames.

        Each gives back its place among nats-py's pending publishes.
        """
        for item in self._unacked:
            for fut in item.futures:
                fut.cancel()

    def _fail(self, exc: BaseException) -> None:
        log.error("%s", exc)
        with self._cond:
            if self._error is None:
                self._error = exc
            self._cond.notify_all()

    async def _drain(self) -> None:
        with self._cond:
            self._closing = True
        self._wake.set()
        await asyncio.wait([self._publisher, self._acker])

    async def _shutdown(self) -> None:
        tasks = [t for t in (getattr(self, "_publisher", None), getattr(self, "_acker", None)) if t]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._nc is not None:
            try:
                await asyncio.wait_for(self._nc.close(), 5)
            except Exception:  # closing a broken connection: nothing more to do
                pass

    # -- pipeline side -----------------------------------------------------
    def _raise_error(self) -> None:
        err = self._error
        if err is not None:
            raise err

    def _default_id(self, counter: int, pos: SourcePosition | None) -> str:
        """The default message id of a frame: its source position, else unique to this run."""
        return f"{self._run_id}-{counter}" if pos is None else str(pos)

    def Process(self, frame: G3Frame) -> list[G3Frame]:
        """Publish ``frame`` (EndProcessing closes the sender) and return ``[frame]``."""
        code = int(frame.type)
        if code == _END:
            self.Close()
            return [frame]
        if self._closed:
            raise G3NatsError(f"{self.address.display}: the sender is closed")
        raw = frame.original_bytes
        if raw is None:
            data = b"".join(encode_frame(frame))
        else:
            data = raw if isinstance(raw, bytes) else bytes(raw)
        self._counter += 1
        counter = self._counter
        pos = frame_position(frame)
        mid: str | None = None  # the default id is made only when the frame opens a message
        if self._msg_id is message_id:
            batchable = not is_metadata(code)
        else:
            fallback = self._default_id(counter, None)
            mid = self._msg_id(frame, fallback)
            if pos is not None and mid != str(pos):
                pos = None  # named by the caller's function: not by its position
            batchable = (pos is not None or mid == fallback) and not is_metadata(code)
        size = len(data)
        item: _Item | None = None
        with self._mutex:  # the condition's own lock, entered without Python-level calls
            while self._error is None and (
                (self._inflight > 0 and self._inflight + size > self.max_inflight_bytes)
                or self._inflight_frames >= self.max_inflight_frames
            ):
                self._cond.wait(0.5)
            err = self._error
            if err is not None:
                raise err
            self._inflight += size
            self._inflight_frames += 1
            if self._inflight > self._peak:
                self._peak = self._inflight
            queue = self._queue
            if self._packing and batchable and size <= self._pack_limit:
                last = queue[-1] if queue else None
                if (
                    last is not None
                    and last.open
                    and last.type_code == code
                    and last.frames < self.max_batch_frames
                    and last.size + size <= self._pack_limit
                    and last.source == (None if pos is None else pos.source)
                ):
                    last.data += data  # type: ignore[operator]
                    last.frames += 1
                    last.size += size
                    last.position = pos
                else:
                    if mid is None:
                        mid = self._default_id(counter, pos)
                    item = _Item(
                        bytearray(data), code, mid, size, batchable=True, position=pos, open=True
                    )
            else:
                if mid is None:
                    mid = self._default_id(counter, pos)
                item = _Item(data, code, mid, size, batchable=batchable, position=pos)
            if item is not None:
                queue.append(item)
            if not self._wake_pending:
                self._wake_pending = True
                self._loop.call(self._wake.set)
        return [frame]

    __call__ = Process

    def Close(self) -> None:
        """Wait for every acknowledgement (``close_timeout``), then disconnect.  Idempotent.

        Raises the stored error, or :class:`NatsOutageError` when frames
        remain unacknowledged at the timeout.
        """
        if self._closed:
            return
        self._closed = True
        try:
            self._loop.run(self._drain(), self.close_timeout)
        except TimeoutError:
            self._fail(
                NatsOutageError(
                    f"{self.address.display}: "
                    f"{sum(i.frames for i in self._unacked) + len(self._queue)} frames "
                    f"not acknowledged within {self.close_timeout:g} s"
                )
            )
        finally:
            try:
                self._loop.run(self._shutdown(), 10)
            finally:
                self._loop.stop()
        self._raise_error()

    close = Close

    @property
    def stored_position(self) -> SourcePosition | None:
        """The source position through which the stream held frames when the sender started.

        From the stream's last message (``G3-Position``): a relay may start
        reading its source there (frames up to it are skipped, not published
        again).  None when the last message has no position.
        """
        return self._started_at

    def statistics(self) -> NatsSenderStatistics:
        """The sender's counters."""
        with self._cond:
            return NatsSenderStatistics(
                frames_sent=self._frames,
                bytes_sent=self._bytes,
                messages_sent=self._messages,
                duplicates=self._dups,
                republished=self._republished,
                inflight_bytes=self._inflight,
                peak_inflight_bytes=self._peak,
            )

    def __enter__(self) -> G3NatsSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.Close()

    def __repr__(self) -> str:
        return f"<G3NatsSender {self.address.display}, {self._frames} frames acknowledged>"


__all__ = ["G3NatsSender", "NatsSenderStatistics", "frame_position", "message_id"]
