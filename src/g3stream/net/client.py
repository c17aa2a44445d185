"""One connected receiver of a network sender: its queue, its writer thread.

Frames are queued as already-serialized buffers shared by every client (one
serialization per frame, whatever the number of clients). A writer thread per
client moves the queue to the socket with blocking scatter-gather sends,
which release the GIL, so a slow or stalled client only ever stalls its own
thread.

Bounds, applied when a frame is offered:

* ``max_queue_size`` (frames, 0 = none): at that depth new Timepoint and Scan
  frames are dropped for this client and counted; metadata always goes in.
* ``max_pending_bytes``: a client whose queue would exceed it is either
  waited for (``blocking=True``, the reliable connect mode) or disconnected
  (listen mode), so the server never grows without bound.
"""

from __future__ import annotations

import itertools
import logging
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from g3stream.net.sockets import Buffer, close_quietly, send_buffers, shutdown_quietly

log = logging.getLogger(__name__)

#: Most frames written by one sendmsg() call.
MAX_BATCH_FRAMES = 256
#: Most bytes gathered into one sendmsg() call (a larger single frame goes alone).
MAX_BATCH_BYTES = 4 << 20


@dataclass(frozen=True)
class QueuedFrame:
    """A serialized frame waiting in client queues.

    ``droppable`` marks Timepoint and Scan frames, the only ones that a full
    queue may drop.
    """

    data: Buffer
    nbytes: int
    droppable: bool


class Offer:
    """Outcomes of :meth:`ClientConnection.offer`."""

    QUEUED = "queued"
    DROPPED = "dropped"
    OVERFLOW = "overflow"
    GONE = "gone"


class ClientConnection:
    """A connected peer of a :class:`~g3stream.net.sender.G3NetworkSender`.

    ``on_finished`` is called (from the writer thread) once the writer has
    stopped; the owner then closes the socket.
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
        self._cond = threading.Condition()
        self._queue: deque[QueuedFrame] = deque()
        self._queue_bytes = 0
        self.frames_sent = 0
        self.bytes_sent = 0
        self.frames_dropped = 0
        #: Why the connection ended early (``None`` while healthy or after a clean close).
        self.error: str | None = None
        #: True once the peer half-closed its side (we stop reading from it).
        self.read_closed = False
        self._alive = True
        self._closing = False
        self._thread = threading.Thread(target=self._run, name=f"g3-send-{peer}", daemon=True)

    # -- producer side (pipeline thread) --------------------------------------

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    def offer(self, item: QueuedFrame) -> str:
        """Queue a frame for this client; return one of the :class:`Offer` values.

        In blocking mode this waits while the queue holds more than
        ``max_pending_bytes`` (the pipeline is paced by the network).
        """
        with self._cond:
            if not self._alive or self._closing:
                return Offer.GONE
            if (
                item.droppable
                and self.max_queue_size > 0
                and len(self._queue) >= self.max_queue_size
            ):
                self.frames_dropped += 1
                return Offer.DROPPED
            limit = self.max_pending_bytes
            if self._queue and self._queue_bytes + item.nbytes > limit:
                if not self.blocking:
                    self._fail_locked(
                        f"more than {limit} bytes waiting to be sent (client too slow)"
                    )
                    return Offer.OVERFLOW
                while self._alive and self._queue and self._queue_bytes + item.nbytes > limit:
                    self._cond.wait()
                if not self._alive:
                    return Offer.GONE
            self._queue.append(item)
            self._queue_bytes += item.nbytes
            self._cond.notify_all()
            return Offer.QUEUED

    def preload(self, items: list[QueuedFrame]) -> None:
        """Queue frames before the writer starts (metadata replay), unconditionally."""
        with self._cond:
            for item in items:
                self._queue.append(item)
                self._queue_bytes += item.nbytes

    def finish(self) -> None:
        """Ask the writer to send what is queued, then close the connection."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()

    def abort(self, reason: str) -> int:
        """Stop at once, discarding the queue; return the number of frames discarded."""
        with self._cond:
            discarded = len(self._queue)
            self.frames_dropped += discarded
            if self._alive:
                self._fail_locked(reason)
            return discarded

    def join(self, timeout: float | None) -> bool:
        """Wait for the writer thread; True when it has stopped."""
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        """False once the connection failed or was aborted."""
        return self._alive

    def statistics(self) -> dict[str, int]:
        """Counters of this client (a consistent snapshot)."""
        with self._cond:
            return {
                "frames_sent": self.frames_sent,
                "bytes_sent": self.bytes_sent,
                "frames_dropped": self.frames_dropped,
                "queue_frames": len(self._queue),
                "queue_bytes": self._queue_bytes,
            }

    # -- writer thread -----------------------------------------------------------

    def _fail_locked(self, reason: str) -> None:
        """Mark the client dead and wake everyone (caller holds the condition)."""
        self._alive = False
        if self.error is None:
            self.error = reason
        self._queue.clear()
        self._queue_bytes = 0
        self._cond.notify_all()
        # Wakes the writer if it is blocked inside sendmsg().
        shutdown_quietly(self.sock)

    def _next_batch(self) -> list[QueuedFrame] | None:
        with self._cond:
            while self._alive and not self._queue and not self._closing:
                self._cond.wait()
            if not self._alive or not self._queue:
                return None
            batch: list[QueuedFrame] = []
            size = 0
            for item in itertools.islice(self._queue, MAX_BATCH_FRAMES):
                if batch and size + item.nbytes > MAX_BATCH_BYTES:
                    break
                batch.append(item)
                size += item.nbytes
            return batch

    def _run(self) -> None:
        try:
            while True:
                batch = self._next_batch()
                if batch is None:
                    break
                try:
                    sent = send_buffers(self.sock, [item.data for item in batch])
                except OSError as exc:
                    with self._cond:
                        if self._alive:
                            self._fail_locked(f"connection lost ({exc.strerror or exc})")
                    break
                with self._cond:
                    if not self._alive:
                        break
                    for _ in batch:
                        self._queue.popleft()
                    self._queue_bytes -= sent
                    self.frames_sent += len(batch)
                    self.bytes_sent += sent
                    self._cond.notify_all()
            if self._alive:
                # Clean end: tell the peer no more data follows.
                shutdown_quietly(self.sock, socket.SHUT_WR)
        finally:
            with self._cond:
                self._alive = False
                self._cond.notify_all()
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
