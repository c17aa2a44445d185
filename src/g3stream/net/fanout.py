"""The fan-out policy of a network sender, with no sockets, threads or clocks.

:class:`FanOut` decides what each client of a sender receives; a transport
(the TCP sender, or any other) only moves bytes. It owns:

* **per-client queues** of serialized frames, shared by every client (one
  buffer per frame, whatever the number of clients);
* **batches of small frames**: consecutive small Timepoint and Scan frames
  are appended to one shared buffer, the *open batch*, for as long as no
  client has taken it; the transport then takes everything accumulated at
  once. Nothing waits for a batch to fill: a client whose writer is ready
  takes the batch as it is, which closes it (the next frame starts a new
  buffer, so bytes being sent are never written to). A frame joins the open
  batch only if exactly the clients holding that batch accept it; otherwise
  (a drop, a cut, a client that joined since) it starts a new one, so every
  rule below still applies frame by frame;
* **metadata replay**: a new client first receives the latest frame of every
  type other than Timepoint and Scan, in the order the types first appeared;
* **the drop rule** of spt3g's ``max_queue_size``: a client with that many
  frames waiting loses new Timepoint and Scan frames (counted), never metadata;
* **the byte cap** ``max_pending_bytes``: a client that would fall further
  behind is either waited for (:attr:`WhenFull.WAIT`: the transport checks
  :meth:`FanOut.blocking_client` before offering) or cut
  (:attr:`WhenFull.CUT`): the frames not yet handed to the transport are
  discarded (counted), and its stream ends cleanly after the frame being
  sent, at a frame boundary;
* **the tee rule**: EndProcessing is never sent; it finishes every client
  (their queues are delivered, then their streams end) and no later frame
  is queued (later offers are counted, see :attr:`FanOutStatistics.frames_after_finish`);
* **statistics**, as frozen dataclasses, and the reason every client left
  (:class:`DisconnectReason`).

A transport drives each client with :meth:`FanOutClient.take` (the buffers
to write next), :meth:`FanOutClient.acknowledge` (how many bytes the peer
took), :attr:`FanOutClient.done` (nothing more will come: end the stream)
and :meth:`FanOut.remove` (the client is gone). Nothing here is thread-safe:
a transport with threads calls every method under one lock of its own.
"""

from __future__ import annotations

import enum
import weakref
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice

from g3stream._types import Buffer, byte_length
from g3stream.frametype import DATA_FRAME_TYPES, G3FrameType

# Codes of the frame types a full queue may drop; every other type is metadata.
_DATA_CODES = frozenset(int(t) for t in DATA_FRAME_TYPES)
_END = int(G3FrameType.EndProcessing)

#: Default per-client bound on serialized bytes not yet sent.
DEFAULT_MAX_PENDING_BYTES = 128 << 20
#: Timepoint and Scan frames up to this size (bytes, one buffer) are batched.
BATCH_FRAME_MAX_BYTES = 64 << 10
#: A batch is closed once it holds this many bytes.
BATCH_MAX_BYTES = 256 << 10


class WhenFull(enum.Enum):
    """What the byte cap does to a client that would exceed it."""

    #: The producer waits for the client (a reliable link: connect mode).
    WAIT = "wait"
    #: The client is cut off at a frame boundary (a server: listen mode).
    CUT = "cut"


class DisconnectReason(enum.Enum):
    """Why a client left the fan-out."""

    #: Received everything queued, then its stream ended (EndProcessing or close).
    FINISHED = "finished"
    #: Fell more than ``max_pending_bytes`` behind; its stream was ended early.
    OVERFLOW = "overflow"
    #: The connection failed (reset, broken pipe, peer gone).
    LOST = "lost"
    #: The peer took no data for longer than the transport's send timeout.
    SEND_TIMEOUT = "send timeout"
    #: Its queue was not delivered within the shutdown deadline.
    CUT_AT_CLOSE = "cut at close"


@dataclass(frozen=True)
class ClientStatistics:
    """Counters of one connected client."""

    #: Frames completely handed to the peer (the frames of a batch once all of it is).
    frames_sent: int = 0
    #: Bytes handed to the peer.
    bytes_sent: int = 0
    #: Frames this client will never receive (``max_queue_size`` drops and discarded queues).
    frames_dropped: int = 0
    #: Frames waiting, including one partly sent.
    queue_frames: int = 0
    #: Bytes waiting to be sent.
    queue_bytes: int = 0


@dataclass(frozen=True)
class FanOutStatistics:
    """Counters of a fan-out: totals over every client so far, and clients by name.

    ``frames_sent``, ``bytes_sent`` and ``frames_dropped`` add up every
    client ever connected; ``queue_frames`` and ``queue_bytes`` the clients
    connected now.
    """

    #: Connected clients by name (a transport's peer address).
    clients: Mapping[str, ClientStatistics] = field(default_factory=dict)
    frames_sent: int = 0
    bytes_sent: int = 0
    frames_dropped: int = 0
    queue_frames: int = 0
    queue_bytes: int = 0
    #: Frames offered (EndProcessing excluded).
    frames_offered: int = 0
    #: Frames offered after EndProcessing or :meth:`FanOut.finish`: sent to no one.
    frames_after_finish: int = 0
    connected_clients: int = 0
    clients_accepted: int = 0
    #: Connections turned away by ``max_clients``.
    clients_refused: int = 0
    #: Clients that left, by reason.
    disconnects: Mapping[DisconnectReason, int] = field(default_factory=dict)

    @property
    def clients_overflowed(self) -> int:
        """Clients cut off by the byte cap."""
        return self.disconnects.get(DisconnectReason.OVERFLOW, 0)

    @property
    def clients_lost(self) -> int:
        """Clients whose connection failed or timed out."""
        return self.disconnects.get(DisconnectReason.LOST, 0) + self.disconnects.get(
            DisconnectReason.SEND_TIMEOUT, 0
        )

    @property
    def clients_cut_at_close(self) -> int:
        """Clients whose queue was not delivered by the shutdown deadline."""
        return self.disconnects.get(DisconnectReason.CUT_AT_CLOSE, 0)


class QueuedFrame:
    """Serialized frames waiting in client queues (one object shared by every client).

    ``data`` is one buffer, or a tuple of buffers written one after the
    other (a frame sent without being joined first). ``frames`` is the
    number of frames in it: more than one for a batch of small frames,
    whose ``data`` is then a ``bytearray`` grown by :meth:`FanOut.join_batch`
    until a client takes it, and ``ends`` its frame boundaries. ``droppable``
    marks Timepoint and Scan frames, the only ones that a full queue may drop.
    """

    __slots__ = ("data", "nbytes", "droppable", "pinned", "frames", "ends", "__weakref__")

    def __init__(
        self,
        data: Buffer | tuple[Buffer, ...],
        nbytes: int,
        droppable: bool,
        pinned: bool = False,
    ) -> None:
        self.data = data
        self.nbytes = nbytes
        self.droppable = droppable
        #: Something runs once this object is freed (a frame's release): a
        #: transport still reading its buffers must keep it alive.
        self.pinned = pinned
        self.frames = 1
        #: A batch's frame boundaries: the offset just past each of its frames.
        self.ends: list[int] | None = None


def _tail(data: Buffer | tuple[Buffer, ...], skip: int) -> list[Buffer]:
    """The buffers of ``data`` minus its first ``skip`` bytes."""
    parts = data if isinstance(data, tuple) else (data,)
    out: list[Buffer] = []
    for part in parts:
        view = memoryview(part).cast("B")
        if skip >= view.nbytes:
            skip -= view.nbytes
            continue
        out.append(view[skip:] if skip else view)
        skip = 0
    return out


class FanOutClient:
    """One client's queue and counters inside a :class:`FanOut`.

    The transport writes what :meth:`take` returns, reports what went out
    with :meth:`acknowledge`, and ends the stream once :attr:`done`.
    """

    __slots__ = (
        "name",
        "_fanout",
        "_queue",
        "_offset",
        "_taken",
        "_taken_frames",
        "_taken_bytes",
        "_in_flight",
        "_queue_bytes",
        "_queue_frames",
        "_head_sent",
        "frames_sent",
        "bytes_sent",
        "frames_dropped",
        "ending",
        "reason",
    )

    def __init__(self, name: str, fanout: FanOut) -> None:
        #: The transport's name for the client (a peer address).
        self.name = name
        self._fanout = fanout
        self._queue: deque[QueuedFrame] = deque()
        self._offset = 0  # bytes of the head item already sent
        self._taken = 0  # items at the head handed out and not yet acknowledged
        self._taken_frames = 0  # the frames in them
        self._taken_bytes = 0  # their size
        # The items taken, kept alive until acknowledged even if the client is
        # removed meanwhile, when one of them is pinned (see QueuedFrame): a
        # transport may still be reading their buffers.
        self._in_flight: list[QueuedFrame] | None = None
        self._queue_bytes = 0  # bytes queued and not yet sent
        self._queue_frames = 0  # frames queued and not yet completely sent
        self._head_sent = 0  # frames of the head item (a batch) already completely sent
        #: Frames completely sent.
        self.frames_sent = 0
        #: Bytes sent.
        self.bytes_sent = 0
        #: Frames this client will never receive.
        self.frames_dropped = 0
        #: Set once the stream is to end after the queue (FINISHED or OVERFLOW).
        self.ending: DisconnectReason | None = None
        #: Set once the client has left the fan-out.
        self.reason: DisconnectReason | None = None

    @property
    def has_work(self) -> bool:
        """True when :meth:`take` would return buffers."""
        return bool(self._queue) and not self._taken and self.reason is None

    @property
    def done(self) -> bool:
        """True when the stream should end now: nothing left and nothing more will come."""
        return self.ending is not None and not self._queue

    @property
    def queue_bytes(self) -> int:
        """Bytes waiting to be sent."""
        return self._queue_bytes

    @property
    def queue_frames(self) -> int:
        """Frames waiting, including partly sent ones."""
        return self._queue_frames

    def take(self, max_frames: int, max_bytes: int) -> tuple[list[Buffer], int]:
        """The next buffers to write and their total size; ``([], 0)`` when none.

        At most ``max_frames`` queue items (a frame, or a batch of small
        frames) and, unless the first item alone is larger, ``max_bytes``
        bytes. The buffers stay taken (no other call returns them) until
        :meth:`acknowledge`. Taking the open batch closes it: no frame is
        added to a buffer handed to the transport.
        """
        queue = self._queue
        if self._taken or self.reason is not None or not queue:
            return [], 0
        first = queue[0]
        offset = self._offset
        buffers: list[Buffer]
        data = first.data
        if offset:
            buffers = _tail(data, offset)
            size = first.nbytes - offset
        else:
            buffers = list(data) if isinstance(data, tuple) else [data]
            size = first.nbytes
        items = 1
        frames = first.frames
        last = first
        pinned = first.pinned
        if max_frames > 1 and len(queue) > 1:
            append = buffers.append
            for item in islice(queue, 1, max_frames):
                nbytes = item.nbytes
                if size + nbytes > max_bytes:
                    break
                data = item.data
                if isinstance(data, tuple):
                    buffers.extend(data)
                else:
                    append(data)
                size += nbytes
                items += 1
                frames += item.frames
                last = item
                if item.pinned:
                    pinned = True
        if last is self._fanout._open:
            self._fanout._open = None
        if pinned:  # the buffers returned hold everything else
            self._in_flight = list(islice(queue, items))
        self._taken = items
        self._taken_frames = frames
        self._taken_bytes = size
        return buffers, size

    def acknowledge(self, nbytes: int) -> None:
        """Record that the first ``nbytes`` of the taken buffers were sent (maybe not all).

        What was taken and not sent is returned by the next :meth:`take`.
        """
        taken, self._taken = self._taken, 0
        taken_frames, self._taken_frames = self._taken_frames, 0
        self._in_flight = None
        if self.reason is not None:
            return
        self.bytes_sent += nbytes
        self._queue_bytes -= nbytes
        queue = self._queue
        if nbytes == self._taken_bytes and taken:  # everything taken went out
            popleft = queue.popleft
            for _ in range(taken):
                popleft()
            self._offset = 0
            frames = taken_frames - self._head_sent
            self._head_sent = 0
            self.frames_sent += frames
            self._queue_frames -= frames
            return
        while nbytes and queue:
            head = queue[0]
            rest = head.nbytes - self._offset
            if nbytes < rest:
                self._offset += nbytes
                if head.ends is not None:  # count the frames of the batch sent whole
                    done = bisect_right(head.ends, self._offset)
                    self.frames_sent += done - self._head_sent
                    self._queue_frames -= done - self._head_sent
                    self._head_sent = done
                return
            nbytes -= rest
            queue.popleft()
            self._offset = 0
            frames = head.frames - self._head_sent
            self._head_sent = 0
            self.frames_sent += frames
            self._queue_frames -= frames

    def statistics(self) -> ClientStatistics:
        """This client's counters now."""
        return ClientStatistics(
            self.frames_sent,
            self.bytes_sent,
            self.frames_dropped,
            self._queue_frames,
            self._queue_bytes,
        )

    # -- used by FanOut ---------------------------------------------------------------

    def _append(self, item: QueuedFrame) -> None:
        self._queue.append(item)
        self._queue_bytes += item.nbytes
        self._queue_frames += item.frames

    def _discard(self, keep: int) -> None:
        """Drop every queued item but the first ``keep``; count their frames dropped."""
        queue = self._queue
        while len(queue) > keep:
            item = queue.pop()
            frames = item.frames
            if not queue:  # the head: part of it may be sent
                self._queue_bytes -= item.nbytes - self._offset
                frames -= self._head_sent
                self._head_sent = 0
                self._offset = 0
            else:
                self._queue_bytes -= item.nbytes
            self._queue_frames -= frames
            self.frames_dropped += frames

    def _cut(self) -> None:
        """End the stream at the next frame boundary: keep only items being sent."""
        keep = max(self._taken, 1 if self._offset else 0)
        self._discard(keep)
        self.ending = DisconnectReason.OVERFLOW

    def __repr__(self) -> str:
        return f"<FanOutClient {self.name} queue={self._queue_frames} reason={self.reason}>"


class FanOut:
    """Which serialized frames each client receives, and the counters.

    Parameters
    ----------
    max_queue_size:
        Per-client frame limit as in spt3g: at that depth new Timepoint and
        Scan frames are dropped for that client (0 = no limit). Frames
        taken by the transport and not yet acknowledged do not count.
    max_pending_bytes:
        Per-client bound on bytes queued and not yet sent; see ``when_full``.
    when_full:
        :attr:`WhenFull.WAIT`: the transport waits (see :meth:`blocking_client`);
        :attr:`WhenFull.CUT`: a client that would exceed the bound loses every
        frame not yet taken, and its stream ends after the frames being sent.
    max_clients:
        Most clients at once (0 = no limit); :meth:`add_client` refuses more.
    """

    def __init__(
        self,
        *,
        max_queue_size: int = 0,
        max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES,
        when_full: WhenFull = WhenFull.CUT,
        max_clients: int = 0,
    ) -> None:
        if max_queue_size < 0 or max_clients < 0:
            raise ValueError("max_queue_size and max_clients must be >= 0")
        if max_pending_bytes <= 0:
            raise ValueError("max_pending_bytes must be positive")
        self.max_queue_size = max_queue_size
        self.max_pending_bytes = max_pending_bytes
        self.when_full = when_full
        self.max_clients = max_clients
        self._clients: list[FanOutClient] = []
        self._metadata: dict[int, QueuedFrame] = {}
        # The batch small frames are appended to; no client has taken it yet.
        self._open: QueuedFrame | None = None
        self._finished = False
        self._frames_offered = 0
        self._frames_after_finish = 0
        self._accepted = 0
        self._refused = 0
        self._disconnects: dict[DisconnectReason, int] = {}
        # Counters of clients that left.
        self._gone_sent = 0
        self._gone_bytes = 0
        self._gone_dropped = 0

    @property
    def clients(self) -> tuple[FanOutClient, ...]:
        """Clients connected now."""
        return tuple(self._clients)

    @property
    def finished(self) -> bool:
        """True after EndProcessing or :meth:`finish`: nothing more is queued."""
        return self._finished

    def add_client(self, name: str, *, replay: bool = True) -> FanOutClient | None:
        """Register a client, queueing the metadata replay; ``None`` when refused.

        A client is refused (and counted) when ``max_clients`` are connected
        or after :meth:`finish`.
        """
        if self._finished or (self.max_clients and len(self._clients) >= self.max_clients):
            self._refused += 1
            return None
        client = FanOutClient(name, self)
        if replay:
            for item in self._metadata.values():
                client._append(item)
        self._clients.append(client)
        self._accepted += 1
        return client

    def offer(
        self,
        frame_type: int,
        data: Buffer | Sequence[Buffer],
        release: Callable[[], object] | None = None,
        nbytes: int | None = None,
    ) -> list[FanOutClient]:
        """Queue one serialized frame for every client; return the clients cut off by it.

        ``data`` is one buffer or a sequence of buffers (written in order,
        never joined). A small Timepoint or Scan frame joins the open batch
        when it can (:meth:`join_batch`); any other frame is queued as an
        item of its own (:meth:`enqueue`, which describes the arguments).
        """
        if (
            release is None
            and isinstance(data, (bytes, bytearray, memoryview))
            and self.join_batch(frame_type, data, nbytes)
        ):
            return []
        return self.enqueue(frame_type, data, release, nbytes)

    def enqueue(
        self,
        frame_type: int,
        data: Buffer | Sequence[Buffer],
        release: Callable[[], object] | None = None,
        nbytes: int | None = None,
    ) -> list[FanOutClient]:
        """Queue one serialized frame for every client as an item of its own; return the clients cut off.

        :meth:`offer` without its batch check, for a transport that has just
        tried :meth:`join_batch`. ``data`` is one buffer or a sequence of
        buffers (written in order, never joined). A small Timepoint or Scan
        frame (one buffer of at most :data:`BATCH_FRAME_MAX_BYTES`) opens a
        new batch that the next small frames may join. ``release``, if
        given, is called once no client holds ``data`` any more (sent,
        dropped or discarded everywhere), by whichever thread lets go of it
        last; such a frame is never batched. ``nbytes``, if the caller knows
        it, is the size of ``data``. EndProcessing is not queued: it
        finishes the fan-out (:meth:`finish`).
        """
        if frame_type == _END:
            self.finish()
            return []
        if self._finished:
            self._frames_after_finish += 1
            return []
        self._frames_offered += 1
        droppable = frame_type in _DATA_CODES
        if isinstance(data, (bytes, bytearray, memoryview)):
            if nbytes is None:
                nbytes = data.nbytes if isinstance(data, memoryview) else len(data)
            batchable = droppable and release is None and nbytes <= BATCH_FRAME_MAX_BYTES
        else:
            data = tuple(data)
            if nbytes is None:
                nbytes = byte_length(data)
            batchable = False
        self._open = None
        item = QueuedFrame(data, nbytes, droppable, release is not None)
        if release is not None:
            weakref.finalize(item, release)
        if not droppable:
            self._metadata[frame_type] = item
        cut: list[FanOutClient] = []
        limit = self.max_pending_bytes
        depth = self.max_queue_size
        queued = False
        for client in self._clients:
            if client.ending is not None:
                continue
            queue = client._queue
            if droppable and depth and client._queue_frames - client._taken_frames >= depth:
                client.frames_dropped += 1
                continue
            if queue and client._queue_bytes + nbytes > limit and self.when_full is WhenFull.CUT:
                client._cut()
                client.frames_dropped += 1  # this frame
                cut.append(client)
                continue
            queue.append(item)
            client._queue_bytes += nbytes
            client._queue_frames += 1
            queued = True
        if queued and batchable:
            self._open = item  # the next small frames may join it
        return cut

    def join_batch(self, frame_type: int, data: Buffer, nbytes: int | None = None) -> bool:
        """Offer a small Timepoint or Scan frame by appending it to the open batch, if it can.

        It can if exactly the clients holding the batch (those whose queue
        ends with it, and whose writers have not taken it yet) accept the
        frame: every other client must be one that would not queue it (one
        ending its stream, or dropping it for ``max_queue_size``, counted
        here), and no holder may drop it or exceed ``max_pending_bytes``
        with it. True when the frame was offered that way: no client is cut
        by it and none needs waking. False when nothing changed: the caller
        then uses :meth:`enqueue` (for another frame type, a larger frame,
        a drop, a cut, a client with no room in WAIT mode, or no open
        batch). ``nbytes``, if the caller knows it, is the size of ``data``.
        """
        item = self._open
        if item is None or frame_type not in _DATA_CODES:
            return False
        if nbytes is None:
            nbytes = data.nbytes if isinstance(data, memoryview) else len(data)
        if nbytes > BATCH_FRAME_MAX_BYTES or item.nbytes + nbytes > BATCH_MAX_BYTES:
            return False
        depth = self.max_queue_size
        limit = self.max_pending_bytes
        holders = 0
        for client in self._clients:
            queue = client._queue
            if queue and queue[-1] is item:
                if (
                    client.ending is not None
                    or (depth and client._queue_frames - client._taken_frames >= depth)
                    or client._queue_bytes + nbytes > limit
                ):
                    return False
                holders += 1
            elif client.ending is None and (
                not depth or client._queue_frames - client._taken_frames < depth
            ):
                return False  # it would queue the frame: it needs an item of its own
        if not holders:
            return False
        batch = item.data
        if item.ends is None:
            batch = item.data = bytearray(batch)  # type: ignore[arg-type]
            item.ends = [item.nbytes]
        batch += data  # type: ignore[operator]
        item.nbytes += nbytes
        item.ends.append(item.nbytes)
        item.frames += 1
        for client in self._clients:
            queue = client._queue
            if queue and queue[-1] is item:
                client._queue_bytes += nbytes
                client._queue_frames += 1
            elif client.ending is None:
                client.frames_dropped += 1  # its queue is full (max_queue_size)
        self._frames_offered += 1
        return True

    def blocking_client(self, nbytes: int, limit: int | None = None) -> FanOutClient | None:
        """A client without room for ``nbytes`` more (WAIT mode), or ``None``.

        The transport waits for that client's acknowledgements (or its
        removal) before offering the frame. ``limit``, if given, is a bound
        tighter than ``max_pending_bytes`` that the transport keeps to.
        """
        if limit is None or limit > self.max_pending_bytes:
            limit = self.max_pending_bytes
        for client in self._clients:
            if client._queue and client._queue_bytes + nbytes > limit and client.ending is None:
                return client
        return None

    def finish(self) -> None:
        """Queue nothing more: every client's stream ends once its queue is sent."""
        self._finished = True
        self._open = None
        for client in self._clients:
            if client.ending is None:
                client.ending = DisconnectReason.FINISHED

    def remove(self, client: FanOutClient, reason: DisconnectReason | None = None) -> int:
        """Take a client out; return the number of its frames never sent (counted dropped).

        ``reason`` defaults to the reason its stream was ending for
        (FINISHED or OVERFLOW). Removing a client twice does nothing.
        """
        if client.reason is not None:
            return 0
        if reason is None:
            reason = client.ending or DisconnectReason.FINISHED
        lost = client._queue_frames
        client._taken = 0
        client._taken_frames = 0
        client._discard(0)
        client.reason = reason
        if client in self._clients:
            self._clients.remove(client)
        self._disconnects[reason] = self._disconnects.get(reason, 0) + 1
        self._gone_sent += client.frames_sent
        self._gone_bytes += client.bytes_sent
        self._gone_dropped += client.frames_dropped
        return lost

    def statistics(self) -> FanOutStatistics:
        """Every counter now."""
        per_client = {c.name: c.statistics() for c in self._clients}
        values = per_client.values()
        return FanOutStatistics(
            clients=per_client,
            frames_sent=self._gone_sent + sum(s.frames_sent for s in values),
            bytes_sent=self._gone_bytes + sum(s.bytes_sent for s in values),
            frames_dropped=self._gone_dropped + sum(s.frames_dropped for s in values),
            queue_frames=sum(s.queue_frames for s in values),
            queue_bytes=sum(s.queue_bytes for s in values),
            frames_offered=self._frames_offered,
            frames_after_finish=self._frames_after_finish,
            connected_clients=len(per_client),
            clients_accepted=self._accepted,
            clients_refused=self._refused,
            disconnects=dict(self._disconnects),
        )
