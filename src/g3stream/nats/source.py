"""NatsSource: a JetStream stream of G3 frames as a byte source for G3Reader.

``nats://[user:pass@]host:port/STREAM?start=new|first|seq:N|time:ISO&durable=NAME&types=...``

A G3 stream is frames back to back, so the source hands G3Reader the
reassembled frames as one stream of bytes; readers that need to know which
message a frame came from (the durable recorder) take whole deliveries
with :meth:`NatsSource.next_delivery` instead.

* ``start=new`` (the default) begins with a snapshot: the latest frame of
  every metadata type, from the metadata stream's per-subject last
  messages (never a scan of the data stream), in the order the types first
  appeared; then live frames from the data-stream sequence after the one
  the snapshot was taken at, so the handover neither skips nor repeats a
  frame.  ``first``, ``seq:N`` and ``time:ISO`` replay from there.
* ``durable=NAME`` reads through a durable consumer that remembers its
  position on the server; frames are acknowledged only when the caller
  says so (:meth:`NatsSource.acknowledge`), so anything not durably handled
  is delivered again after a restart: a reader binding to an existing
  consumer re-creates it right after its acknowledged sequence (or after
  ``start_after``), so those frames come first and in order.  Without it, an ephemeral consumer is
  used, and re-created after the last delivered sequence whenever the
  server loses it or a delivery goes missing (a restart, a lost link).
* ``types=`` filters by subject on the server; ``decimate=`` keeps every
  Nth frame of a type, here.
* A message that is not a G3 frame raises :class:`NotAG3FrameError` from
  the read that reaches it (the next read goes on), or with ``bad=skip``
  is skipped and counted.  Frames split into parts are delivered whole or
  not at all (an incomplete one is counted in ``incomplete_frames``).
* A batch (several frames in one message) is split back into its frames;
  filters and decimation apply to frames.  Sequences (``start=seq:N``,
  :attr:`Delivery.sequence`, acknowledgements) name messages.  A batch of
  a type not decimated travels inside the source as one piece (its frames'
  extents checked on arrival): ``read`` hands its frames on together, and
  :meth:`NatsSource.next_delivery` splits it into frames as they are taken.

Concurrency: a fetch task on the source's own event loop fills ``_ready``
(bounded by ``max_buffer_bytes``); the reading thread takes from it under
``_cond``.  Acknowledgements are scheduled on the loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from bisect import bisect_left
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from g3stream.codec.container import scan_frame
from g3stream.errors import G3FormatError
from g3stream.io.source import SourcePosition, SourceState, SourceStatistics

from .connection import DEFAULT_CONNECT_TIMEOUT, LoopThread, connect, nats_module
from .errors import NatsRefusedError, NotAG3FrameError
from .layout import (
    HDR_FRAME,
    HDR_PART,
    HDR_RANK,
    HDR_SEQ,
    HDR_TYPE,
    AssembledFrame,
    FrameAssembler,
    data_subject,
    data_subjects,
    is_metadata,
    meta_stream,
    meta_subjects,
    parse_part,
    type_code_of_token,
)
from .url import NatsAddress, parse_nats_url

log = logging.getLogger(__name__)

#: Default bound on received bytes not yet read.
DEFAULT_MAX_BUFFER_BYTES = 64 << 20
#: Messages asked of the server per fetch.
FETCH_BATCH = 512
#: Frames read through ``read`` between acknowledgements of a durable consumer.
_AUTO_ACK_EVERY = 256
#: Seconds a fetch waits on an idle stream before asking again.
_FETCH_WAIT = 1.0
#: Positions of frames handed out by ``read`` kept for ``frame_position`` (G3Reader
#: asks right after decoding: a few are ever outstanding).
_MAX_POSITIONS = 4096


def stream_identity(stream: str, created: datetime | None) -> str:
    """The name of a stream in frame positions: ``nats:STREAM:CREATED``.

    ``CREATED`` is the stream's creation time in microseconds since the
    epoch: a stream deleted and created again (its sequences start over) gets
    a new identity, and streams of the same name on different servers differ.
    """
    when = 0 if created is None else int(created.timestamp() * 1_000_000)
    return f"nats:{stream}:{when}"


@dataclass(frozen=True)
class Delivery:
    """One whole frame's bytes and the data-stream sequence of its last message.

    A frame of a batch (several frames in one message) is frame ``index``
    (from 0) of the ``count`` frames of message ``sequence``; the message
    is wholly delivered with its frame ``count - 1``.  A frame in parts
    starts at message ``first_sequence``.
    """

    data: bytes
    type_code: int
    sequence: int
    snapshot: bool = False
    index: int = 0
    count: int = 1
    #: The sequence of the frame's first message (its parts' first); 0 if unknown.
    first_sequence: int = 0
    #: Inside the source only: where the frames ``index``, ``index + 1``, ... of
    #: a batch kept in one piece start in ``data`` (None: ``data`` is one frame).
    starts: tuple[int, ...] | None = None

    @property
    def message_done(self) -> bool:
        """Whether this holds the last frame of its message."""
        held = 1 if self.starts is None else len(self.starts)
        return self.index + held == self.count

    def frames(self) -> list[Delivery]:
        """One delivery per frame held (itself when it holds one)."""
        starts = self.starts
        if starts is None:
            return [self]
        data = self.data
        ends = [*starts[1:], len(data)]
        return [
            Delivery(
                data[a:b],
                self.type_code,
                self.sequence,
                self.snapshot,
                self.index + k,
                self.count,
                self.first_sequence,
            )
            for k, (a, b) in enumerate(zip(starts, ends, strict=True))
        ]


@dataclass(frozen=True)
class NatsSourceStatistics(SourceStatistics):
    """A :class:`NatsSource`'s liveness (as every network source's) and its own counters."""

    #: Whole frames delivered to the reader, and their bytes.
    frames: int = 0
    bytes: int = 0
    #: Frames of the late joiner's metadata snapshot.
    snapshot_frames: int = 0
    #: Messages that were not G3 frames, skipped (``bad=skip``).
    skipped_bad: int = 0
    #: Frames dropped because some of their parts never arrived.
    incomplete_frames: int = 0
    #: Frames left out by ``decimate=``.
    decimated: int = 0
    #: Consumers re-created after a lost consumer or a missing delivery.
    consumer_resets: int = 0
    #: Bytes received and not yet read.
    buffered_bytes: int = 0


class NatsSource:
    """The frames of a JetStream stream, as bytes for G3Reader (see the module doc)."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = -1.0,
        reconnect: bool = True,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        max_buffer_bytes: int = DEFAULT_MAX_BUFFER_BYTES,
        ack_wait: float = 60.0,
        max_ack_pending: int = 20000,
        start_after: int | None = None,
        resume_after: SourcePosition | None = None,
    ) -> None:
        self.address: NatsAddress = parse_nats_url(url)
        self.name = self.address.display
        self.port: int | None = None
        self.timeout = float(timeout)
        self.max_buffer_bytes = int(max_buffer_bytes)
        self.ack_wait = float(ack_wait)
        self.max_ack_pending = int(max_ack_pending)
        #: Start right after this data-stream sequence, whatever the URL or a
        #: durable consumer says (a recorder's own record of what it has).
        self.start_after = start_after
        #: A frame position of this stream (a relay's destination holds the
        #: frames up to it): start with its message, as with ``start_after``.
        self.resume_after = resume_after
        self._cond = threading.Condition()
        self._ready: deque[Delivery | BaseException] = deque()
        self._outbox: list[Delivery | BaseException] = []  # the loop's, until handed over
        self._received = 0  # bytes of whole frames received (the loop writes)
        self._last_data: float | None = None
        self._outages = self._reconnects = 0
        self._buffered = 0
        self._closed = False
        self._view: memoryview | None = None
        self._pos = 0
        self._frames = self._bytes = self._snap = self._bad = self._decimated = self._resets = 0
        self._keep_every = {int(t): int(n) for t, n in self.address.decimate}
        self._assembler = FrameAssembler(True, frozenset(self._keep_every))
        # frames of a batch taken whole by ``next_delivery`` and not returned yet
        self._split: deque[Delivery] = deque()
        self._type_counts: dict[int, int] = {}
        self._last_seq = 0  # the last data-stream sequence taken from the consumer
        self._last_consumer_seq = 0
        self._read_seq = 0  # the last frame handed out by ``read``
        self._acked_at = 0  # ``_frames`` when ``read`` last acknowledged
        self._ack_msgs: deque[tuple[int, Any]] = deque()
        #: Names the stream in positions: its name and creation time (set on start).
        self.identity = ""
        self._handed = 0  # bytes returned by ``read`` so far
        # the deliveries handed to ``read`` that have positions (oldest first): where
        # each starts and ends in the bytes handed out, and the delivery
        self._positions: deque[tuple[int, int, Delivery]] = deque(maxlen=_MAX_POSITIONS)
        self._nc: Any = None
        self._psub: Any = None
        self._loop = LoopThread("g3nats-source")
        try:
            self._loop.run(self._start(connect_timeout), connect_timeout + 30)
        except BaseException:
            self.close()
            raise

    # -- on the loop -------------------------------------------------------
    def _filters(self) -> list[str]:
        addr = self.address
        if addr.types:
            return [data_subject(addr.stream, t) for t in addr.types]
        return [data_subjects(addr.stream)]

    async def _start(self, connect_timeout: float) -> None:
        nats = nats_module()
        addr = self.address
        self._nc = await connect(
            addr, connect_timeout, name="g3stream-reader", on_event=self._event
        )
        self._js = self._nc.jetstream(timeout=10.0)
        # a cluster electing a leader may not answer for a while: ask again
        # until the connection's own time is up
        deadline = time.monotonic() + connect_timeout + 10
        while True:
            try:
                info = await self._js.stream_info(addr.stream)
                break
            except nats.js.errors.NotFoundError:
                raise NatsRefusedError(
                    f"{addr.display}: no stream {addr.stream} on the server"
                ) from None
            except _busy_errors():
                if time.monotonic() >= deadline:
                    raise
                log.info("%s: no answer about stream %s yet; asking again", self.name, addr.stream)
                await asyncio.sleep(0.2)
        self.identity = stream_identity(addr.stream, info.created)
        resume = self.resume_after
        if resume is not None and resume.source == self.identity and resume.major > 0:
            log.info("%s: resuming at sequence %d (held downstream)", self.name, resume.major)
            self.start_after = resume.major - 1
        existing = None
        if addr.durable:
            try:
                existing = await self._js.consumer_info(addr.stream, addr.durable)
            except nats.js.errors.NotFoundError:
                existing = None
        start_seq: int | None = None
        if existing is not None:
            # resume in order right after what was acknowledged (or what the caller
            # says it has): frames delivered to a reader that died are not left to
            # come back after the acknowledgement wait, behind newer ones
            floor = existing.ack_floor.stream_seq if existing.ack_floor else 0
            if self.start_after is not None:
                floor = self.start_after
            await self._js.delete_consumer(addr.stream, addr.durable)
            if floor or existing.config.deliver_policy == nats.js.api.DeliverPolicy.NEW:
                start_seq = floor + 1
            else:
                start_seq = existing.config.opt_start_seq
            self._last_seq = floor
            existing = None
        elif self.start_after is not None:
            start_seq = self.start_after + 1
            self._last_seq = self.start_after
        elif addr.start.kind == "new":
            snapshot, last = await self._snapshot(info.state.last_seq)
            for d in snapshot:
                self._push(d)
                self._snap += 1
            self._hand_over()
            start_seq = last + 1
            self._last_seq = last
        elif addr.start.kind == "seq":
            start_seq = addr.start.sequence
        while True:
            try:
                await self._subscribe(start_seq)
                break
            except _busy_errors():
                # an ephemeral consumer created without an answer is removed by the server
                # once inactive; a durable one is created again with the same configuration
                if time.monotonic() >= deadline:
                    raise
                log.info("%s: no answer creating the consumer yet; asking again", self.name)
                await asyncio.sleep(0.2)
        self._fetcher = asyncio.ensure_future(self._fetch_loop())

    async def _subscribe(self, start_seq: int | None) -> None:
        """Create the consumer that delivers from ``start_seq`` on (else as the URL says)."""
        api = nats_module().js.api
        addr = self.address
        kwargs: dict[str, Any] = {}
        if start_seq is not None:
            kwargs = {
                "deliver_policy": api.DeliverPolicy.BY_START_SEQUENCE,
                "opt_start_seq": start_seq,
            }
        elif addr.start.kind == "time":
            kwargs = {
                "deliver_policy": api.DeliverPolicy.BY_START_TIME,
                "opt_start_time": addr.start.time,
            }
        else:
            kwargs = {"deliver_policy": api.DeliverPolicy.ALL}
        filters = self._filters()
        if len(filters) == 1:
            kwargs["filter_subject"] = filters[0]
        else:
            kwargs["filter_subjects"] = filters
        if addr.durable:
            config = api.ConsumerConfig(
                durable_name=addr.durable,
                ack_policy=api.AckPolicy.ALL,
                ack_wait=self.ack_wait,
                max_ack_pending=self.max_ack_pending,
                **kwargs,
            )
            await self._js.add_consumer(addr.stream, config)
            self._psub = await self._js.pull_subscribe_bind(addr.durable, stream=addr.stream)
        else:
            config = api.ConsumerConfig(
                ack_policy=api.AckPolicy.NONE,
                inactive_threshold=60.0,
                mem_storage=True,
                **kwargs,
            )
            info = await self._js.add_consumer(addr.stream, config)
            self._psub = await self._js.pull_subscribe_bind(info.name, stream=addr.stream)
        self._last_consumer_seq = 0

    async def _reset_consumer(self, why: str) -> None:
        """Start over after the last delivered sequence (the server lost the consumer)."""
        self._resets += 1
        log.info("%s: %s; consumer re-created after sequence %d", self.name, why, self._last_seq)
        old, self._psub = self._psub, None
        if old is not None:
            try:
                await old.unsubscribe()
            except Exception:  # the consumer or the connection is gone already
                pass
        if self.address.durable:
            try:
                await self._js.delete_consumer(self.address.stream, self.address.durable)
            except nats_module().js.errors.NotFoundError:
                pass
        await self._subscribe(self._last_seq + 1)

    async def _snapshot(self, last: int) -> tuple[list[Delivery], int]:
        """The latest frame of every metadata type, first-seen order, and the sequence it is as of.

        The snapshot is taken as of data sequence ``last``, or later: the
        metadata stream keeps only the newest frame of each type, so when a
        type's newest frame was stored after ``last`` the one before it is
        gone from there, and the snapshot moves to that newer frame instead
        (live frames then start right after it; nothing is skipped or repeated).
        """
        for _attempt in range(20):
            found, newest = await self._snapshot_at(last)
            if newest <= last:
                return found, last
            last = newest
        return found, last

    async def _snapshot_at(self, last: int) -> tuple[list[Delivery], int]:
        """The snapshot as of ``last``, and the newest metadata sequence seen (> ``last`` if any)."""
        nats = nats_module()
        addr = self.address
        meta = meta_stream(addr.stream)
        try:
            info = await self._js.stream_info(meta, subjects_filter=meta_subjects(addr.stream))
        except nats.js.errors.NotFoundError:
            return [], last
        newest = last
        wanted = {int(t) for t in addr.types}
        found: list[tuple[int, Delivery]] = []
        for subject in sorted(info.state.subjects or {}):
            if not subject.endswith(".0"):
                continue
            entry = await self._meta_frame(meta, subject[:-2])
            if entry is None:
                continue
            rank, d = entry
            if wanted and d.type_code not in wanted:
                continue
            d = await self._newer_in_data(d, last)
            if d.sequence > last:
                newest = max(newest, d.sequence)  # the snapshot must move past it
                continue
            found.append((rank, d))
        found.sort(key=lambda e: e[0])
        known = {d.type_code for _, d in found}
        # a type whose first frame is stored in the data stream but not yet in
        # the metadata stream (the sender stores it there right after)
        late = [d for d in await self._unindexed(last, known, wanted) if d.sequence <= last]
        late.sort(key=lambda d: d.sequence)
        return [d for _, d in found] + late, newest

    async def _unindexed(self, last: int, known: set[int], wanted: set[int]) -> list[Delivery]:
        """The latest data-stream frame of each metadata type missing from the metadata stream."""
        addr = self.address
        info = await self._js.stream_info(addr.stream, subjects_filter=data_subjects(addr.stream))
        out = []
        for subject in info.state.subjects or {}:
            token = subject.rsplit(".", 1)[-1]
            code = type_code_of_token(token)
            if code is None or code in known or not is_metadata(code):
                continue
            if wanted and code not in wanted:
                continue
            m = await self._js.get_msg(addr.stream, subject=subject, direct=True)
            index, _ = parse_part((m.headers or {}).get(HDR_PART))
            d = await self._frame_at(m.seq - index, last)
            if d is not None:
                out.append(d)
        return out

    async def _frame_at(self, first_seq: int, last: int) -> Delivery | None:
        """The frame whose first message is at ``first_seq`` in the data stream, if whole."""
        asm = FrameAssembler()
        seq = first_seq
        while seq <= last:
            m = await self._js.get_msg(self.address.stream, seq=seq, direct=True)
            for out in asm.add(seq, m.headers, m.data or b""):
                if isinstance(out, AssembledFrame):
                    return Delivery(out.data, out.type_code, out.last_seq, True)
                return None
            seq += 1
        return None

    async def _meta_frame(self, meta: str, prefix: str) -> tuple[int, Delivery] | None:
        """The frame stored under ``prefix.0``, ``prefix.1``, ... (consistent parts) and its rank."""
        nats = nats_module()
        for _attempt in range(10):
            try:
                head = await self._js.get_msg(meta, subject=f"{prefix}.0", direct=True)
            except nats.js.errors.NotFoundError:
                return None
            hdrs = head.headers or {}
            _, count = parse_part(hdrs.get(HDR_PART))
            frame_id = hdrs.get(HDR_FRAME)
            parts = [head.data or b""]
            for i in range(1, count):
                try:
                    m = await self._js.get_msg(meta, subject=f"{prefix}.{i}", direct=True)
                except nats.js.errors.NotFoundError:
                    break
                if (m.headers or {}).get(HDR_FRAME) != frame_id:
                    break  # a newer frame is being stored: read it again
                parts.append(m.data or b"")
            if len(parts) != count:
                await asyncio.sleep(0.01)
                continue
            d = Delivery(b"".join(parts), int(hdrs[HDR_TYPE]), int(hdrs[HDR_SEQ]), True)
            return int(hdrs.get(HDR_RANK, 1 << 30)), d
        log.warning(
            "%s: metadata under %s kept changing; left out of the snapshot", self.name, prefix
        )
        return None

    async def _newer_in_data(self, d: Delivery, last: int) -> Delivery:
        """``d``, or a newer frame of its type stored in the data stream at or before ``last``.

        Covers the moment between the sender storing a metadata frame in the
        data stream and in the metadata stream.
        """
        nats = nats_module()
        subject = data_subject(self.address.stream, d.type_code)
        if d.sequence >= last:
            return d
        try:
            m = await self._js.get_msg(self.address.stream, subject=subject, direct=True)
        except nats.js.errors.NotFoundError:
            return d
        if m.seq <= d.sequence:
            return d
        if m.seq <= last:  # the usual case: the type's last frame is the one wanted
            index, _ = parse_part((m.headers or {}).get(HDR_PART))
            newer = await self._frame_at(m.seq - index, last)
            return newer if newer is not None else d
        while d.sequence < last:
            try:
                m = await self._js.get_msg(
                    self.address.stream, seq=d.sequence + 1, subject=subject, next=True, direct=True
                )
            except nats.js.errors.NotFoundError:
                return d
            if m.seq > last:
                return d
            index, _ = parse_part((m.headers or {}).get(HDR_PART))
            newer = await self._frame_at(m.seq - index, last)
            if newer is None:
                return d
            d = newer
        return d

    def _push(self, item: Delivery | BaseException) -> None:
        self._outbox.append(item)

    def _hand_over(self) -> None:
        """Make what was received readable, all at once (one wake-up per batch)."""
        out = self._outbox
        if not out:
            return
        size = sum(len(d.data) for d in out if isinstance(d, Delivery))
        self._received += size
        self._last_data = time.monotonic()
        with self._cond:
            self._ready.extend(out)
            self._buffered += size
            self._cond.notify_all()
        out.clear()

    def _accept(self, frame: AssembledFrame) -> None:
        keep = self._keep_every.get(frame.type_code)
        if keep is not None:
            n = self._type_counts.get(frame.type_code, 0) + 1
            self._type_counts[frame.type_code] = n
            if keep == 0 or n % keep:
                self._decimated += 1
                return
        data = frame.data
        if not frame.checked:
            try:
                scanned = scan_frame(data, 0, len(data), 0)
                ok = not isinstance(scanned, int) and scanned.size == len(data)
            except G3FormatError:
                ok = False
            if not ok:
                self._reject(f"message {frame.first_seq} is not a G3 frame", frame.first_seq)
                return
        self._push(
            Delivery(
                data,
                frame.type_code,
                frame.last_seq,
                False,
                frame.index,
                frame.count,
                frame.first_seq,
                None if frame.starts is None else tuple(frame.starts),
            )
        )

    def _reject(self, reason: str, seq: int) -> None:
        if self.address.skip_bad:
            self._bad += 1
            log.warning("%s: skipped: %s", self.name, reason)
        else:
            self._push(NotAG3FrameError(f"{self.name}: {reason}", seq))

    def _handle(self, msg: Any) -> None:
        md = msg.metadata
        seq = md.sequence.stream
        cseq = md.sequence.consumer
        if (
            not self.address.durable
            and self._last_consumer_seq
            and cseq != self._last_consumer_seq + 1
        ):
            raise _Gap(f"delivery {self._last_consumer_seq + 1} went missing")
        self._last_consumer_seq = cseq
        if seq <= self._last_seq:
            return  # delivered before (a redelivery)
        self._last_seq = seq
        if self.address.durable:
            self._ack_msgs.append((seq, msg))
        for out in self._assembler.add(seq, msg.headers, msg.data):
            if isinstance(out, AssembledFrame):
                self._accept(out)
            elif out.not_g3:
                self._reject(out.reason, out.sequence)
            else:
                log.warning("%s: %s", self.name, out.reason)

    async def _fetch_loop(self) -> None:
        nats = nats_module()
        idle = 0
        behind = True
        while not self._closed:
            with self._cond:
                full = self._buffered >= self.max_buffer_bytes
            if full:
                await asyncio.sleep(0.005)
                continue
            try:
                if self._psub is None:
                    await self._reset_consumer("no consumer")
                # caught up: wait for one message (delivered as soon as it is
                # stored); behind: take what is there, up to a batch, at once
                batch = FETCH_BATCH if behind else 1
                msgs = await self._psub.fetch(batch, timeout=_FETCH_WAIT)
                behind = len(msgs) >= batch
            except asyncio.CancelledError:
                raise
            except (nats.errors.TimeoutError, asyncio.TimeoutError):
                idle += 1
                if idle % 5 == 0:
                    await self._check_consumer()
                continue
            except Exception as exc:
                await asyncio.sleep(0.2)
                await self._safe_reset(f"fetch failed ({exc!r})")
                continue
            idle = 0
            try:
                for msg in msgs:
                    self._handle(msg)
            except _Gap as gap:
                await self._safe_reset(str(gap))
            finally:
                self._hand_over()

    async def _check_consumer(self) -> None:
        """On an idle stream, make sure the consumer still exists (a server restart loses it)."""
        if self._psub is None or not self._nc.is_connected:
            return
        try:
            await self._psub.consumer_info()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._safe_reset(f"consumer lost ({exc!r})")

    async def _safe_reset(self, why: str) -> None:
        try:
            await self._reset_consumer(why)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.debug("%s: consumer re-creation failed (%r); will retry", self.name, exc)
            self._psub = None
            await asyncio.sleep(0.2)

    async def _ack(self, msg: Any) -> None:
        try:
            await msg.ack()
        except Exception as exc:  # lost: the frames come again and are skipped by their sequence
            log.debug("%s: acknowledgement failed: %r", self.name, exc)

    async def _shutdown(self) -> None:
        fetcher = getattr(self, "_fetcher", None)
        if fetcher is not None:
            fetcher.cancel()
            await asyncio.gather(fetcher, return_exceptions=True)
        if self._nc is not None:
            try:
                await asyncio.wait_for(self._nc.close(), 5)
            except Exception:  # a broken connection: nothing more to release
                pass

    # -- reading side ------------------------------------------------------
    def _take(
        self, timeout: float | None, max_bytes: int = 0, max_frames: int = 0
    ) -> list[Delivery]:
        """Deliveries ready; [] at the timeout.

        At least one, then more while they fit in ``max_bytes`` in all and
        (``max_frames`` non-zero) fewer than ``max_frames`` frames were taken.

        Raises :class:`NotAG3FrameError` for a message that is not a frame
        when it is the first one due.
        """
        if timeout is None:
            timeout = self.timeout
        deadline = None if timeout < 0 else time.monotonic() + timeout
        with self._cond:
            ready = self._ready
            while not ready:
                if self._closed:
                    return []
                wait = 0.5 if deadline is None else deadline - time.monotonic()
                if wait <= 0:
                    return []
                self._cond.wait(min(wait, 0.5))
            item = ready.popleft()
            if isinstance(item, BaseException):
                raise item
            out = [item]
            size = len(item.data)
            frames = 1 if item.starts is None else len(item.starts)
            while ready and (max_frames <= 0 or frames < max_frames):
                item = ready[0]
                if isinstance(item, BaseException) or size + len(item.data) > max_bytes:
                    break
                out.append(ready.popleft())  # type: ignore[arg-type]
                size += len(item.data)
                frames += 1 if item.starts is None else len(item.starts)
            self._buffered -= size
        return out

    def next_delivery(self, timeout: float | None = None) -> Delivery | None:
        """The next whole frame; None at the timeout (``timeout`` None: the source's own).

        Raises :class:`NotAG3FrameError` for a message that is not a frame.
        """
        split = self._split
        if not split:
            got = self._take(timeout)
            if not got:
                return None
            split.extend(got[0].frames())
        d = split.popleft()
        self._frames += 1
        self._bytes += len(d.data)
        return d

    def read(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` of the frames' bytes; ``b""`` at the timeout or after ``close``.

        Read this way (by G3Reader), a durable consumer's frames count as
        handled once read: they are acknowledged every few hundred frames.
        """
        view = self._view
        if view is None or self._pos >= len(view):
            if self.address.durable and self._frames - self._acked_at >= _AUTO_ACK_EVERY:
                # G3Reader asks for more only once it has returned every frame of the
                # earlier reads: those count as handled
                self.acknowledge(self._read_seq)
                self._acked_at = self._frames
            if self._split:  # frames left by ``next_delivery``: hand them on first
                got = list(self._split)
                self._split.clear()
            else:
                # a durable consumer's frames are acknowledged between reads: every
                # few hundred frames, a read ends
                most = _AUTO_ACK_EVERY if self.address.durable else 0
                got = self._take(None, max_bytes, most)
                if not got:
                    return b""
            positions = self._positions
            start = self._handed
            for d in got:
                self._frames += 1 if d.starts is None else len(d.starts)
                # the messages read whole: through this one's when it holds its message's last frame
                self._read_seq = d.sequence if d.message_done else d.sequence - 1
                end = start + len(d.data)
                if d.first_sequence and not d.snapshot:
                    positions.append((start, end, d))
                start = end
            data = got[0].data if len(got) == 1 else b"".join([d.data for d in got])
            self._bytes += len(data)
            if len(data) <= max_bytes:
                self._handed += len(data)
                return data
            view = self._view = memoryview(data)
            self._pos = 0
        chunk = bytes(view[self._pos : self._pos + max_bytes])
        self._pos += len(chunk)
        self._handed += len(chunk)
        if self._pos >= len(view):
            self._view = None
        return chunk

    def delivery_position(self, d: Delivery) -> SourcePosition:
        """Where ``d`` lies in the stream: ``identity@first_sequence[.index]``.

        A frame in parts is named by its first part's sequence, a frame of a
        batch by its message's sequence and its index in the batch.
        """
        return SourcePosition(self.identity, d.first_sequence or d.sequence, d.index)

    def frame_position(self, offset: int) -> SourcePosition | None:
        """The position of the frame that ``read`` returned from byte ``offset`` on.

        None for frames of the metadata snapshot (a replay of the latest
        metadata, not a place in the stream) and for offsets not at a frame's
        start.  Offsets are asked in increasing order; earlier ones are forgotten.
        """
        positions = self._positions
        while positions and positions[0][1] <= offset:
            positions.popleft()
        if not positions:
            return None
        start, _, d = positions[0]
        if offset < start:
            return None
        starts = d.starts
        if starts is None:
            if offset != start:
                return None
            positions.popleft()
            return self.delivery_position(d)
        k = bisect_left(starts, offset - start)
        if k == len(starts) or starts[k] != offset - start:
            return None
        return SourcePosition(self.identity, d.first_sequence or d.sequence, d.index + k)

    def acknowledge(self, sequence: int) -> None:
        """Tell a durable consumer that every frame up to ``sequence`` is durably handled."""
        if not self.address.durable:
            return
        last = None
        with self._cond:
            while self._ack_msgs and self._ack_msgs[0][0] <= sequence:
                last = self._ack_msgs.popleft()[1]
        if last is not None:
            self._loop.spawn(self._ack(last))

    def statistics(self) -> NatsSourceStatistics:
        """The source's liveness and counters (any thread)."""
        with self._cond:
            buffered = self._buffered
        nc = self._nc
        connected = bool(nc is not None and nc.is_connected)
        if self._closed:
            state = SourceState.CLOSED
        elif not connected:
            state = SourceState.RECONNECTING if self._outages else SourceState.CONNECTING
        else:
            state = SourceState.STREAMING if self._received else SourceState.CONNECTED
        last = self._last_data
        peer = None
        if connected and nc.connected_url is not None:
            peer = nc.connected_url.netloc
        return NatsSourceStatistics(
            name=self.name,
            state=state,
            connected=connected,
            reconnects=self._reconnects,
            outages=self._outages,
            connections=1 + self._reconnects if nc is not None else 0,
            bytes_received=self._received,
            last_frame_age_s=None if last is None else time.monotonic() - last,
            peer=peer,
            frames=self._frames,
            bytes=self._bytes,
            snapshot_frames=self._snap,
            skipped_bad=self._bad,
            incomplete_frames=self._assembler.incomplete_frames,
            decimated=self._decimated,
            consumer_resets=self._resets,
            buffered_bytes=buffered,
        )

    def _event(self, what: str) -> None:
        if what == "disconnected":
            self._outages += 1
        elif what == "reconnected":
            self._reconnects += 1

    def close(self) -> None:
        """Disconnect; a read waiting in another thread returns ``b""``.  Idempotent."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        try:
            self._loop.run(self._shutdown(), 10)
        except Exception:  # the loop is already gone
            pass
        finally:
            self._loop.stop()

    def __repr__(self) -> str:
        return f"<NatsSource {self.name}, {self._frames} frames>"


def _busy_errors() -> tuple[type[BaseException], ...]:
    """The errors of a server that does not answer yet (a cluster electing a leader)."""
    nats = nats_module()
    return (
        nats.errors.TimeoutError,
        nats.errors.NoRespondersError,
        nats.js.errors.ServiceUnavailableError,
    )


class _Gap(Exception):
    """A delivery of an ephemeral consumer went missing: re-create the consumer."""


def open_nats_source(
    url: str, *, timeout: float = -1.0, reconnect: bool = True, **options: Any
) -> NatsSource:
    """The scheme-table factory for ``nats://`` and ``nats+tls://`` URLs."""
    return NatsSource(url, timeout=timeout, reconnect=reconnect, **options)


__all__ = [
    "Delivery",
    "NatsSource",
    "NatsSourceStatistics",
    "open_nats_source",
    "stream_identity",
]
