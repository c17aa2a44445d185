"""One connected receiver of a network sender: its queue, its writer thread.

Frames are queued as already-serialized buffers shared by every client (one
serialization per frame, whatever the number of clients). A writer thread per
client moves the queue to the socket with blocking scatter-gather sends,
which release the GIL, so a slow or stalled client only ever stalls its own
thread. When a client is keeping up (empty queue, idle writer), the producer
hands a frame to the socket itself with a non-blocking send, and queues only
what the socket did not take.

Bounds, applied when a frame is offered:

* ``max_queue_size`` (frames, 0 = none): at that depth new Timepoint and Scan
  frames are dropped for this client and counted; metadata always goes in.
* ``max_pending_bytes``: a client whose queue would exceed it is either
  waited for (``blocking=True``, the reliable connect mode) or disconnected
  (listen mode), so the server never grows without bound.

The per-frame path takes no lock. The queue is a ``deque`` (whose append and
popleft are atomic), every counter has a single writing thread (the producer
or the writer), and each side only wakes the other when that side said it
was about to sleep. The sleeper announces itself, clears its event, then
checks the queue once more before waiting, so no wake-up can be lost.
"""

from __future__ import annotations

import itertools
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable

from g3stream.net.sockets import (
    SEND_FLAGS,
    Buffer,
    close_quietly,
    send_buffers,
    shutdown_quietly,
)

log = logging.getLogger(__name__)

#: Most frames written by one sendmsg() call.
MAX_BATCH_FRAMES = 256
#: Most bytes gathered into one sendmsg() call (a larger single frame goes alone).
MAX_BATCH_BYTES = 4 << 20
#: A frame offered this long (seconds) after the previous one may be sent
#: directly by the producer; closer frames are batched by the writer thread.
DIRECT_SEND_GAP = 0.0005


class QueuedFrame:
    """A serialized frame waiting in client queues (shared by every client).

    ``droppable`` marks Timepoint and Scan frames, the only ones that a full
    queue may drop.
    """

    __slots__ = ("data", "nbytes", "droppable")

    def __init__(self, data: Buffer, nbytes: int, droppable: bool) -> None:
        self.data = data
        self.nbytes = nbytes
        self.droppable = droppable


class Offer:
    """Outcomes of :meth:`ClientConnection.offer`."""

    QUEUED = "queued"
    DROPPED = "dropped"
    OVERFLOW = "overflow"
    GONE = "gone"


class ClientConnection:
    """A connected peer of a :class:`~g3stream.net.sender.G3NetworkSender`.

    Frames are offered by one producer thread at a time. ``on_finished`` is
    called from the writer thread once it has stopped; the owner then closes
    the socket (see :meth:`close_socket`).
    """

    def __init__(
        self,
        sock: socket.socket,
        peer: str,
        *,
        max_queue_size: int,
        max_pending_bytes: int,
        blocking: bool,
        on_finished: Callable[[ClientConnection], None],
    ) -> None:
        self.sock = sock
        self.peer = peer
        self.max_queue_size = max_queue_size
        self.max_pending_bytes = max_pending_bytes
        self.blocking = blocking
        self._on_finished = on_finished
        self._queue: deque[QueuedFrame] = deque()
        # Written by the producer only.
        self._bytes_queued = 0
        self._frames_refused = 0
        self._last_offer = 0.0
        self._frames_direct = 0  # sent by the producer itself (idle writer, empty queue)
        self._bytes_direct = 0
        # Written by the writer thread only.
        self._frames_written = 0
        self._bytes_written = 0
        self._frames_discarded = 0
        self._bytes_discarded = 0
        self._in_flight = 0  # frames at the head of the queue being written now
        #: Why the connection ended early (``None`` while healthy or after a clean close).
        self.error: str | None = None
        #: True once the peer half-closed its side (we stop reading from it).
        self.read_closed = False
        self._alive = True
        self._closing = False
        self._fail_lock = threading.Lock()
        self._data_ready = threading.Event()
        self._room_ready = threading.Event()
        self._writer_idle = False
        self._producer_blocked = False
        self._thread = threading.Thread(target=self._run, name=f"g3-send-{peer}", daemon=True)

    # -- producer side ------------------------------------------------------------

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    @property
    def frames_sent(self) -> int:
        """Frames completely written to the socket."""
        return self._frames_written + self._frames_direct

    @property
    def bytes_sent(self) -> int:
        """Bytes written to the socket."""
        return self._bytes_written + self._bytes_direct

    @property
    def queue_bytes(self) -> int:
        """Bytes queued and not yet sent (or discarded)."""
        return self._bytes_queued - self._bytes_written - self._bytes_discarded

    def offer(self, item: QueuedFrame) -> str:
        """Queue a frame for this client; return one of the :class:`Offer` values.

        In blocking mode this waits while the queue holds more than
        ``max_pending_bytes`` (the pipeline is paced by the network).
        """
        if not self._alive or self._closing:
            return Offer.GONE
        queue = self._queue
        # As in spt3g, the depth that max_queue_size limits counts frames waiting
        # to be sent, not the ones already handed to the socket.
        if (
            item.droppable
            and self.max_queue_size
            and len(queue) - self._in_flight >= self.max_queue_size
        ):
            self._frames_refused += 1
            return Offer.DROPPED
        limit = self.max_pending_bytes
        if queue and self.queue_bytes + item.nbytes > limit:
            if not self.blocking:
                self.fail(f"more than {limit} bytes waiting to be sent (client too slow)")
                return Offer.OVERFLOW
            self._wait_for_room(item.nbytes)
            if not self._alive:
                return Offer.GONE
        now = time.monotonic()
        idle_stream = now - self._last_offer > DIRECT_SEND_GAP
        self._last_offer = now
        if idle_stream and not queue and self._writer_idle:
            # A frame after a pause, nothing waiting, the writer asleep: hand
            # the frame to the socket right here, saving a thread wake-up
            # (latency). Frames in quick succession go through the writer
            # instead, which gathers them into few system calls. The writer
            # cannot interleave: it only writes what is queued, and nothing is
            # queued until this send has returned.
            rest = self._send_directly(item)
            if rest is None:
                return Offer.QUEUED if self._alive else Offer.GONE
            item = rest
        self._bytes_queued += item.nbytes
        queue.append(item)
        if self._writer_idle:
            self._data_ready.set()
        return Offer.QUEUED

    def _send_directly(self, item: QueuedFrame) -> QueuedFrame | None:
        """Send without waiting; return what is left to queue, or None when done."""
        try:
            sent = self.sock.send(item.data, socket.MSG_DONTWAIT | SEND_FLAGS)
        except (BlockingIOError, InterruptedError):
            return item
        except OSError as exc:
            self.fail(f"connection lost ({exc.strerror or exc})")
            return None
        self._bytes_direct += sent
        if sent == item.nbytes:
            self._frames_direct += 1
            return None
        rest = memoryview(item.data).cast("B")[sent:]
        return QueuedFrame(rest, item.nbytes - sent, item.droppable)

    def _wait_for_room(self, nbytes: int) -> None:
        limit = self.max_pending_bytes
        while self._alive and self._queue and self.queue_bytes + nbytes > limit:
            self._producer_blocked = True
            self._room_ready.clear()
            if self._alive and self._queue and self.queue_bytes + nbytes > limit:
                self._room_ready.wait()
            self._producer_blocked = False

    def preload(self, items: list[QueuedFrame]) -> None:
        """Queue frames before the writer starts (metadata replay), unconditionally."""
        for item in items:
            self._bytes_queued += item.nbytes
            self._queue.append(item)

    def finish(self) -> None:
        """Ask the writer to send what is queued, then close the connection."""
        self._closing = True
        self._data_ready.set()

    def fail(self, reason: str) -> None:
        """Mark the connection dead, wake every waiter and unblock a pending send."""
        with self._fail_lock:
            if not self._alive:
                return
            self.error = reason
            self._alive = False
        self._data_ready.set()
        self._room_ready.set()
        shutdown_quietly(self.sock)  # wakes the writer if it is inside sendmsg()

    def abort(self, reason: str) -> int:
        """Stop at once, discarding the queue; return the number of frames discarded."""
        pending = len(self._queue)
        self.fail(reason)
        return pending

    def join(self, timeout: float | None) -> bool:
        """Wait for the writer thread; True when it has stopped."""
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        """False once the connection failed, was aborted or closed."""
        return self._alive

    def statistics(self) -> dict[str, int]:
        """Counters of this client."""
        return {
            "frames_sent": self.frames_sent,
            "bytes_sent": self.bytes_sent,
            "frames_dropped": self._frames_refused + self._frames_discarded,
            "queue_frames": len(self._queue),
            "queue_bytes": max(0, self.queue_bytes),
        }

    # -- writer thread -------------------------------------------------------------

    def _next_batch(self) -> list[QueuedFrame] | None:
        queue = self._queue
        while self._alive and not queue:
            if self._closing:
                return None
            self._writer_idle = True
            self._data_ready.clear()
            if not queue and self._alive and not self._closing:
                self._data_ready.wait()
            self._writer_idle = False
        if not self._alive:
            return None
        # list(islice(...)) runs in C: atomic with respect to the producer's appends.
        batch = list(itertools.islice(queue, MAX_BATCH_FRAMES))
        size = 0
        for count, item in enumerate(batch):
            size += item.nbytes
            if size > MAX_BATCH_BYTES and count:
                return batch[:count]
        return batch

    def _run(self) -> None:
        queue = self._queue
        try:
            while True:
                batch = self._next_batch()
                if batch is None:
                    break
                self._in_flight = len(batch)
                try:
                    sent = send_buffers(
                        self.sock, [item.data for item in batch], sum(i.nbytes for i in batch)
                    )
                except OSError as exc:
                    self.fail(f"connection lost ({exc.strerror or exc})")
                    break
                for _ in batch:
                    queue.popleft()
                self._in_flight = 0
                self._frames_written += len(batch)
                self._bytes_written += sent
                if self._producer_blocked:
                    self._room_ready.set()
                if not self._alive:
                    break
            if self._alive:
                # Clean end: tell the peer no more data follows.
                shutdown_quietly(self.sock, socket.SHUT_WR)
        finally:
            with self._fail_lock:
                self._alive = False
            # Whatever is still queued will never be sent.
            discarded = 0
            while queue:
                discarded += queue.popleft().nbytes
                self._frames_discarded += 1
            self._bytes_discarded += discarded
            self._data_ready.set()
            self._room_ready.set()
            self._on_finished(self)

    def close_socket(self) -> None:
        """Discard unread input (avoids a reset) and close the socket."""
        try:
            self.sock.setblocking(False)
            while self.sock.recv(65536):
                pass
        except OSError:
            pass
        close_quietly(self.sock)
