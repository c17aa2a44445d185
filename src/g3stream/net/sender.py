"""G3NetworkSender: stream frames to TCP receivers, spt3g-compatible on the wire.

Two modes, chosen by ``hostname`` exactly as in spt3g:

* **connect** (any host name but ``"*"``): connects at construction and sends
  every frame in order. Nothing is dropped (unless ``max_queue_size`` is set,
  as in spt3g), and the pipeline waits whenever more than
  ``max_pending_bytes`` are still unsent, so memory stays bounded. A peer
  that takes no data for ``send_timeout`` seconds, or a lost connection,
  makes the next frame raise (:class:`G3SendTimeoutError`,
  :class:`G3ConnectionLostError`); frames still queued at shutdown that the
  peer did not take within ``close_timeout`` make :meth:`~G3NetworkSender.Close`
  raise, and a frame given after :meth:`~G3NetworkSender.Close` raises
  :class:`G3SenderClosedError`. No frame is lost without an error. A new
  frame of at least ``ZERO_COPY_MIN_BYTES`` is sent from its own arrays,
  with no private copy, frozen as in listen mode (below) while it is
  queued, so that the next frame is encoded while it is sent (the call
  waits while ``FROZEN_READ_AHEAD_BYTES`` are queued before it); a frame
  whose arrays cannot be frozen is not copied either: the call returns
  once the socket has taken all of it. Either way a module changing the
  frame later cannot change what is sent.
* **listen** (``"*"``): binds at construction (port 0 = a free port, see
  :attr:`G3NetworkSender.port`) and accepts clients at any time from a
  background thread. A new client first receives the latest frame of every
  metadata type (in the order the types first appeared), then live frames.
  A client whose queue reaches ``max_queue_size`` frames loses new Timepoint
  and Scan frames (counted). A client more than ``max_pending_bytes`` behind
  (whatever ``max_queue_size``) is cut off: what it has not started to
  receive is discarded (counted), and its stream ends cleanly after the
  frame being sent, so it sees a normal end of stream and may reconnect
  (EndProcessing is not sent: it would stop a reconnecting recorder). Other
  clients never notice. A new frame of at least ``ZERO_COPY_MIN_BYTES`` is
  sent from its own arrays, made read-only until no client holds their
  bytes (:mod:`g3stream.net.frozen`): a later module changing the frame
  through its objects changes a copy of its own, and one writing into the
  arrays directly gets ``ValueError`` (read-only) while clients still hold
  them (for a metadata frame: while it is the latest of its type, kept for
  the replay); arrays that cannot be frozen are copied. The same holds
  with ``n_serializers``: frames are encoded in those threads and frozen
  before they pass downstream.

In both modes consecutive small Timepoint and Scan frames are copied into
one shared buffer that a client's writer takes whole when it is ready (see
:mod:`g3stream.net.fanout`); nothing ever waits for a batch to fill.

The sender is a tee: called with a frame it returns the frames to pass
downstream, always all of them and in order, whatever the network does.
EndProcessing (never sent) or :meth:`G3NetworkSender.Close` flushes the
queues within ``close_timeout`` seconds, closes every socket and joins every
thread. A sender that was never closed is closed the same way when the
interpreter exits, and its threads are daemons: a forgotten sender or a
client that never reads cannot keep the process alive.

Which frames each client receives (queues, replay, drop and cut rules,
counters) is decided by :class:`~g3stream.net.fanout.FanOut`; this module
only runs the threads and sockets. Log lines go through
:mod:`g3stream.net.eventlog`: rate-limited, and never written by a thread
that moves data or holds the sender's lock.
"""

from __future__ import annotations

import atexit
import errno
import logging
import selectors
import socket
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import Any

from g3stream._types import Buffer
from g3stream.codec.container import encode_frame
from g3stream.errors import G3ConnectionError
from g3stream.frametype import G3FrameType
from g3stream.net.client import ClientConnection
from g3stream.net.errors import (
    G3ConnectionLostError,
    G3SenderClosedError,
    G3SendTimeoutError,
)
from g3stream.net.eventlog import EventLog, flush
from g3stream.net.fanout import (
    DEFAULT_MAX_PENDING_BYTES,
    DisconnectReason,
    FanOut,
    FanOutClient,
    FanOutStatistics,
    WhenFull,
    byte_length,
)
from g3stream.net.frozen import frozen_parts
from g3stream.net.sockets import (
    close_quietly,
    connect,
    endpoint,
    new_selector,
    open_listener,
    peer_name,
    readiness_probe,
    recv_nowait,
    timeout_or_none,
    tune_stream_socket,
)
from g3stream.net.url import LISTEN_HOST

log = logging.getLogger(__name__)
events = EventLog(log)

__all__ = [
    "G3NetworkSender",
    "SenderStatistics",
    "DEFAULT_MAX_PENDING_BYTES",
    "DEFAULT_CLOSE_TIMEOUT",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_SEND_TIMEOUT",
]

#: Default seconds granted to clients to receive their queues at shutdown.
DEFAULT_CLOSE_TIMEOUT = 5.0
#: Default seconds allowed for connecting in connect mode.
DEFAULT_CONNECT_TIMEOUT = 10.0
#: Default seconds a peer may take no data before a connecting sender gives up.
DEFAULT_SEND_TIMEOUT = 60.0
#: A frame offered this long (seconds) after the previous one may be sent
#: directly by the producer; closer frames are batched by the writer threads.
DIRECT_SEND_GAP = 0.0005
#: A new frame at least this large is sent from its own arrays, without a
#: private copy (frozen while queued; see :mod:`g3stream.net.frozen`).
ZERO_COPY_MIN_BYTES = 1 << 20
#: Connect mode: a frozen frame is queued once at most this many bytes wait
#: before it (enough to encode the next frame while one is sent).
FROZEN_READ_AHEAD_BYTES = 32 << 20
#: First and longest pause of accept() after it failed for lack of resources (seconds).
ACCEPT_BACKOFF = (0.05, 1.0)
#: accept() errors that mean "out of resources now", not "this connection failed".
_RESOURCE_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})

_END = int(G3FrameType.EndProcessing)


@dataclass(frozen=True)
class SenderStatistics(FanOutStatistics):
    """:class:`~g3stream.net.fanout.FanOutStatistics` of a network sender, plus its own."""

    #: accept() calls that failed for lack of resources (file descriptors, memory).
    accept_failures: int = 0


#: Senders not yet closed; closed (queues flushed within close_timeout) at exit.
_OPEN_SENDERS: weakref.WeakSet[G3NetworkSender] = weakref.WeakSet()


@atexit.register
def _close_open_senders() -> None:
    for sender in list(_OPEN_SENDERS):
        try:
            sender.Close()
        except Exception:  # pragma: no cover - best effort at interpreter exit
            log.exception("closing %r at exit failed", sender)


def _fixed_bytes_or_parts(
    frame: Any, crc_helper: Executor | None = None
) -> tuple[Buffer | list[Buffer], int]:
    """``frame``'s bytes where nothing can change them, else its encoded parts; and their size.

    Original bytes are immutable, and a small new frame is encoded into a
    private copy; a large new frame gives its encoded buffers, which may be
    views of the frame's own arrays (the caller decides how to keep them fixed).
    The size is computed once here, for everyone who needs it downstream.
    ``crc_helper`` checksums half of a large new frame meanwhile.
    """
    data = frame.original_bytes
    if data is not None:
        return data, byte_length(data)
    parts = encode_frame(frame, crc_helper)
    if len(parts) == 1 and isinstance(parts[0], bytes):
        return parts[0], len(parts[0])
    nbytes = byte_length(parts)
    if nbytes < ZERO_COPY_MIN_BYTES:
        return b"".join(parts), nbytes
    return parts, nbytes


class G3NetworkSender:
    """Send frames over TCP to one receiver (connect mode) or many (listen mode).

    Parameters
    ----------
    hostname:
        Host to connect to, or ``"*"`` to listen on every interface.
    port:
        TCP port; in listen mode 0 picks a free port (read :attr:`port`).
    max_queue_size:
        Per-client frame limit as in spt3g: at that depth new Timepoint and
        Scan frames are dropped for that client (0 = no frame limit).
        Independently of it, ``max_pending_bytes`` always bounds memory.
    n_serializers:
        Number of background threads serializing frames (0 = serialize in
        the calling thread). A frame is passed downstream once serialized, so
        no later module can touch it meanwhile; frames keep their order, on
        the network and downstream.
    max_pending_bytes:
        Per-client bound on bytes queued but not yet sent (default 128 MiB).
        Connect mode waits below it. Listen mode cuts off a client that
        would exceed it, even with ``max_queue_size=0``: the frames it has
        not started to receive are discarded and counted
        (``frames_dropped``, ``clients_overflowed``), and its stream ends at
        a frame boundary, a clean end of stream for the client.
    close_timeout:
        Seconds given to clients to receive their queues at EndProcessing or
        :meth:`Close` (and to a cut-off client to receive the frame it was
        in); clients still behind are then disconnected.
    max_clients:
        Listen mode: most simultaneous clients (0 = no limit); further
        connections are closed at once, logged and counted.
    bind_address:
        Listen mode: bind this local address instead of all interfaces.
    connect_timeout:
        Connect mode: seconds allowed for connecting (negative = no limit).
    send_timeout:
        Connect mode: seconds the peer may take no data before the sender
        gives up with :class:`G3SendTimeoutError` (negative or ``None`` = no limit).
    """

    def __init__(
        self,
        hostname: str,
        port: int,
        max_queue_size: int = 0,
        n_serializers: int = 0,
        *,
        max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
        max_clients: int = 0,
        bind_address: str | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        send_timeout: float | None = DEFAULT_SEND_TIMEOUT,
    ) -> None:
        if max_queue_size < 0 or n_serializers < 0 or max_clients < 0:
            raise ValueError("max_queue_size, n_serializers and max_clients must be >= 0")
        if max_pending_bytes <= 0:
            raise ValueError("max_pending_bytes must be positive")
        self.hostname = hostname
        self.max_queue_size = int(max_queue_size)
        self.n_serializers = int(n_serializers)
        self.max_pending_bytes = int(max_pending_bytes)
        self.close_timeout = float(close_timeout)
        self.max_clients = int(max_clients)
        self.send_timeout = timeout_or_none(send_timeout)
        self._fanout = FanOut(
            max_queue_size=self.max_queue_size,
            max_pending_bytes=self.max_pending_bytes,
            when_full=WhenFull.CUT if self.listening else WhenFull.WAIT,
            max_clients=self.max_clients,
        )
        self._lock = threading.Lock()
        self._links: list[ClientConnection] = []  # guarded by the lock
        self._finished: list[ClientConnection] = []  # writers done; sockets to close
        self._cut: list[tuple[float, ClientConnection]] = []  # cut off: deadline to end
        self._closed = False
        self._stopping = False
        self._last_offer = 0.0
        self._accept_failures = 0
        # Warnings found while accepting under the lock, logged once it is released.
        self._notes: deque[tuple[str, str, tuple[Any, ...]]] = deque(maxlen=64)
        self._accept_paused_until = 0.0
        self._accept_backoff = ACCEPT_BACKOFF[0]
        self._listener: socket.socket | None = None
        self._pending_connection = None
        self._executor: ThreadPoolExecutor | None = None
        # Checksums half of each large new frame while the encoding thread does
        # the other half (its thread starts with the first such frame).
        self._crc_helper = ThreadPoolExecutor(1, thread_name_prefix="g3-send-crc")
        self._in_flight: deque[tuple[Any, Future[tuple[Buffer | list[Buffer], int]] | None]] = (
            deque()
        )
        self._connected_client: ClientConnection | None = None
        self._loss_reported = False

        # Wakes the service thread (new client, finished client, shutdown).
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_w.setblocking(False)
        if self.listening:
            self._listener = open_listener(int(port), bind_address)
            self._listener.setblocking(False)
            self.port: int = self._listener.getsockname()[1]
            self._pending_connection = readiness_probe(self._listener)
            events.info("listening", "G3NetworkSender listening on port %d", self.port)
        else:
            sock = connect(hostname, int(port), connect_timeout)
            self.port = int(port)
            with self._lock:
                link = self._add_link(sock, replay=False)
            assert link is not None
            link.start()
            self._connected_client = link
            events.info(
                "connected", "G3NetworkSender connected to %s", endpoint(hostname, self.port)
            )
        if self.n_serializers:
            self._executor = ThreadPoolExecutor(
                self.n_serializers, thread_name_prefix="g3-serializer"
            )
        self._service = threading.Thread(
            target=self._service_loop, name=f"g3-sender-{self.port}", daemon=True
        )
        self._service.start()
        _OPEN_SENDERS.add(self)

    # -- public API -----------------------------------------------------------

    @property
    def listening(self) -> bool:
        """True in listen mode (``hostname='*'``)."""
        return self.hostname == LISTEN_HOST

    @property
    def closed(self) -> bool:
        """True once the sender has shut down."""
        return self._closed

    def __call__(self, frame: Any) -> list[Any]:
        """Send ``frame`` to every client and return the frames to pass downstream.

        EndProcessing is never sent: it flushes and closes the sender, then
        passes downstream after every earlier frame.
        """
        frame_type = frame.type
        if frame_type == _END:
            out = self._drain_serializers(wait_all=True)
            self.Close()
            out.append(frame)
            return out
        if self._closed:
            self._after_close(int(frame_type))
            return [frame]
        send = self._should_send(frame)
        if self._executor is None:
            if send:
                data, nbytes = _fixed_bytes_or_parts(frame, self._crc_helper)
                self._send_encoded(int(frame_type), data, nbytes)
            return [frame]
        future = (
            self._executor.submit(_fixed_bytes_or_parts, frame, self._crc_helper) if send else None
        )
        self._in_flight.append((frame, future))
        return self._drain_serializers(wait_all=False)

    Process = __call__

    def Close(self) -> None:
        """Flush the queues within ``close_timeout``, close every socket, join threads.

        Safe to call more than once and from any thread. In connect mode,
        raises :class:`G3SendTimeoutError` when frames could not be
        delivered within ``close_timeout`` (they are counted in
        ``frames_dropped`` too), and :class:`G3ConnectionLostError` when the
        connection was lost with frames not yet reported by an earlier error.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _OPEN_SENDERS.discard(self)
        error: Exception | None = None
        if self._in_flight:
            try:
                for frame in self._drain_serializers(wait_all=True):
                    log.debug("frame %r sent at Close() but not passed downstream", frame)
            except G3ConnectionError as exc:
                error = exc
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self._crc_helper.shutdown(wait=True)
        with self._lock:
            self._fanout.finish()
            links = list(self._links)
            for link in links:
                link.ready.set()
        deadline = time.monotonic() + max(0.0, self.close_timeout)
        for link in links:
            link.join(max(0.0, deadline - time.monotonic()))
        undelivered = 0
        for link in links:
            if not link.join(0):
                discarded = link.abort(
                    DisconnectReason.CUT_AT_CLOSE,
                    f"did not receive its queue within close_timeout={self.close_timeout} s",
                )
                undelivered += discarded
                events.warning(
                    "cut at close",
                    "client %s: cut off at shutdown, %d queued frames discarded",
                    link.peer,
                    discarded,
                )
        for link in links:
            link.join(1.0)
        with self._lock:
            self._stopping = True
        self._wake()
        self._service.join(5.0)
        stats = self.statistics()
        events.info(
            "closed",
            "G3NetworkSender closed: %d frames, %d bytes sent; %d dropped",
            stats.frames_sent,
            stats.bytes_sent,
            stats.frames_dropped,
        )
        flush(1.0)
        if self.listening:
            return
        if error is None:
            error = self._connection_error()
        if error is None and undelivered:
            error = G3SendTimeoutError(
                f"{undelivered} frames not delivered to "
                f"{endpoint(self.hostname, self.port)} within close_timeout="
                f"{self.close_timeout} s"
            )
        if error is not None:
            self._loss_reported = True
            raise error

    close = Close

    def statistics(self) -> SenderStatistics:
        """Counters readable at any time (see :class:`SenderStatistics`).

        ``clients`` maps each connected peer (``host:port``) to its
        :class:`~g3stream.net.fanout.ClientStatistics`; the totals cover
        every client so far.
        """
        with self._lock:
            base = self._fanout.statistics()
            failures = self._accept_failures
        values = {f.name: getattr(base, f.name) for f in fields(base)}
        return SenderStatistics(**values, accept_failures=failures)

    def __enter__(self) -> G3NetworkSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.Close()

    def __repr__(self) -> str:
        mode = "listening" if self.listening else f"connected to {self.hostname}"
        return f"<G3NetworkSender {mode} port {self.port}>"

    # -- hooks -------------------------------------------------------------------

    def _should_send(self, frame: Any) -> bool:
        """Whether ``frame`` goes to the network (subclasses decimate here)."""
        return True

    # -- sending -----------------------------------------------------------------

    def _after_close(self, frame_type: int) -> None:
        """A frame arrived after Close(): counted; an error in connect mode."""
        with self._lock:
            self._fanout.offer(frame_type, b"")  # counted as frames_after_finish
        if not self.listening:
            raise G3SenderClosedError(
                f"sender to {endpoint(self.hostname, self.port)} is closed: frame not sent"
            )

    def _drain_serializers(self, wait_all: bool) -> list[Any]:
        """Dispatch serialized frames in order; return them for downstream."""
        out = []
        backlog = 4 * max(1, self.n_serializers)
        while self._in_flight:
            frame, future = self._in_flight[0]
            if future is not None and not future.done():
                if not wait_all and len(self._in_flight) <= backlog:
                    break
            self._in_flight.popleft()
            if future is not None:
                self._send_encoded(int(frame.type), *future.result())
            out.append(frame)
        return out

    def _connection_error(self) -> Exception | None:
        """Connect mode: the error for a connection that ended early, once."""
        link = self._connected_client
        if link is None or self._loss_reported or not link.discarded:
            return None
        reason = link.client.reason
        where = endpoint(self.hostname, self.port)
        if reason is DisconnectReason.SEND_TIMEOUT:
            return G3SendTimeoutError(f"connection to {where}: {link.error}")
        if reason is DisconnectReason.LOST:
            return G3ConnectionLostError(f"connection to {where} lost: {link.error}")
        return None

    def _send_encoded(self, frame_type: int, data: Buffer | list[Buffer], nbytes: int) -> None:
        """Queue what ``_fixed_bytes_or_parts`` gave for a frame, without copying a large one.

        A frame with its original bytes is queued as they are (immutable);
        a small Timepoint or Scan frame joins the open batch when it can.
        A new large frame is queued as its encoded buffers, which may be
        views of the frame's own arrays. Those arrays are made read-only
        until no client holds them (see :mod:`g3stream.net.frozen`): a later
        module changing the frame through its objects changes a copy, and
        writing into the arrays directly raises ``ValueError``. So the call
        returns at once and the next frame is encoded while this one is
        sent. Arrays that cannot be frozen (views of other arrays, arrays
        with other views) are copied in listen mode; in connect mode they
        are not, and the call returns only once the socket has taken every
        byte of the frame, before the frame goes downstream.

        Each frame takes the lock once and is checked against the open batch
        once. Connect mode raises when the peer is gone.
        """
        release: Callable[[], object] | None = None
        wait = False  # return only once the frame is sent (connect mode)
        if type(data) is list:
            data, frozen = frozen_parts(data, copy=self._connected_client is None)
            wait = frozen.exposed
            if len(frozen):
                release = frozen.release
        connected = self._connected_client
        probe = self._pending_connection
        new_links: list[ClientConnection] | None = None
        cut: list[FanOutClient] | None
        try:
            with self._lock:
                if probe is not None and probe() and time.monotonic() >= self._accept_paused_until:
                    # A client connected before this frame receives it: accept
                    # it first (the frame then goes to a new batch it holds too).
                    new_links = self._accept_pending()
                elif (
                    release is None
                    and not wait
                    and type(data) is bytes
                    and self._fanout.join_batch(frame_type, data, nbytes)
                ):
                    # Its writers have not taken the batch yet: nothing to wake.
                    # (A connected peer that is gone holds no batch: the frame
                    # goes on below, where its loss is seen.)
                    return
                if connected is None:
                    cut = self._queue_locked(frame_type, data, nbytes, release)
                else:
                    cut = self._queue_connected(connected, frame_type, data, nbytes, release, wait)
            if cut is None:
                self._raise_lost()
        except BaseException:
            if release is not None:
                # not delivered (connect mode: the connection ended): nobody will send
                # these bytes, so the arrays are writable again (a second release does nothing)
                release()
            raise
        if new_links is not None or self._notes:
            self._started(new_links or [])
        if cut:
            for client in cut:
                events.warning(
                    "client overflow",
                    "client %s: more than %d bytes waiting to be sent (client too slow); "
                    "its stream ends after the frame in progress",
                    client.name,
                    self.max_pending_bytes,
                )
            self._wake()

    def _queue_connected(
        self,
        link: ClientConnection,
        frame_type: int,
        data: Buffer | list[Buffer],
        nbytes: int,
        release: Callable[[], object] | None,
        wait: bool,
    ) -> list[FanOutClient] | None:
        """Connect mode: queue a frame once the peer has room (caller holds the lock).

        With ``wait``, return once the frame is sent. None when the
        connection ended first.
        """
        client = link.client
        # A frozen frame waits behind a few frames at most: its arrays stay
        # read-only only briefly, and little is left to flush at Close().
        limit = FROZEN_READ_AHEAD_BYTES if release is not None else None
        if self._fanout.blocking_client(nbytes, limit) is not None:
            self._wait_for_room(nbytes, limit)
        if client.reason is not None:
            return None
        before = client.queue_frames
        cut = self._queue_locked(frame_type, data, nbytes, release)
        # The frame's place in the stream, counted in frames sent.
        target = client.frames_sent + client.queue_frames
        if wait and client.queue_frames > before and not self._wait_until_sent(link, target):
            return None
        return cut

    def _queue_locked(
        self,
        frame_type: int,
        data: Buffer | list[Buffer],
        nbytes: int,
        release: Callable[[], object] | None = None,
    ) -> list[FanOutClient]:
        """Queue a frame that did not join the open batch and get the writers going.

        The caller holds the lock.
        """
        cut = self._fanout.enqueue(frame_type, data, release, nbytes)
        now = time.monotonic()
        direct = now - self._last_offer > DIRECT_SEND_GAP
        self._last_offer = now
        for link in self._links:
            if link.idle and link.client.has_work:
                if direct:
                    # A frame after a pause, nothing waiting, the writer asleep:
                    # hand it to the socket here, saving a thread wake-up.
                    link.send_directly()
                link.wake()
        if cut:
            deadline = now + self.close_timeout
            for client in cut:
                cut_link = self._link_of(client)
                if cut_link is not None:
                    cut_link.ready.set()
                    self._cut.append((deadline, cut_link))
        return cut

    def _raise_lost(self) -> None:
        """Connect mode: the connection ended early; this frame cannot be delivered."""
        link = self._connected_client
        assert link is not None
        where = endpoint(self.hostname, self.port)
        self._loss_reported = True
        if link.client.reason is DisconnectReason.SEND_TIMEOUT:
            raise G3SendTimeoutError(f"connection to {where}: {link.error}")
        raise G3ConnectionLostError(f"connection to {where} lost: {link.error}")

    def _wait_on(self, link: ClientConnection) -> None:
        """Connect mode: release the lock until ``link``'s writer has made progress."""
        link.producer_waiting = True
        link.room.clear()
        self._lock.release()
        try:
            link.room.wait()
        finally:
            self._lock.acquire()
            link.producer_waiting = False

    def _wait_until_sent(self, link: ClientConnection, frames: int) -> bool:
        """Connect mode: wait (releasing the lock) until ``frames`` frames are sent.

        False when the connection ended first.
        """
        client = link.client
        while client.frames_sent < frames:
            if client.reason is not None:
                return False
            self._wait_on(link)
        return True

    def _wait_for_room(self, nbytes: int, limit: int | None = None) -> None:
        """Connect mode: wait (releasing the lock) until the peer has room for ``nbytes``.

        ``limit``: a bound on queued bytes tighter than ``max_pending_bytes``.
        """
        fanout = self._fanout
        while True:
            blocker = fanout.blocking_client(nbytes, limit)
            if blocker is None:
                return
            link = self._link_of(blocker)
            if link is None:  # pragma: no cover - a client always has its link
                return
            self._wait_on(link)
            if blocker.reason is not None:
                return

    def _link_of(self, client: FanOutClient) -> ClientConnection | None:
        for link in self._links:
            if link.client is client:
                return link
        return None

    # -- connections ---------------------------------------------------------------

    def _add_link(self, sock: socket.socket, replay: bool) -> ClientConnection | None:
        """Register a connected socket (caller holds the lock); None when refused."""
        peer = peer_name(sock)
        client = self._fanout.add_client(peer, replay=replay)
        if client is None:
            return None
        sock.setblocking(True)
        tune_stream_socket(sock)
        link = ClientConnection(
            sock,
            peer,
            client,
            self._fanout,
            self._lock,
            send_timeout=None if self.listening else self.send_timeout,
            on_finished=self._link_finished,
        )
        self._links.append(link)
        return link

    def _accept_pending(self) -> list[ClientConnection]:
        """Accept every connection waiting in the backlog (caller holds the lock).

        Returns the new links, whose writer threads the caller starts once
        the lock is released (:meth:`_started`, which also logs what
        happened here: nothing is logged under the lock).
        """
        listener = self._listener
        added: list[ClientConnection] = []
        if listener is None or self._closed:
            return added
        notes = self._notes
        while True:
            try:
                sock, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                if exc.errno in _RESOURCE_ERRORS:
                    self._accept_failures += 1
                    self._accept_paused_until = time.monotonic() + self._accept_backoff
                    notes.append(
                        (
                            "accept failed",
                            "accept() failed (%s): not accepting clients for %.2f s",
                            (exc.strerror or exc, self._accept_backoff),
                        )
                    )
                    self._accept_backoff = min(ACCEPT_BACKOFF[1], 2 * self._accept_backoff)
                else:
                    notes.append(("accept failed", "accept() failed: %s", (exc,)))
                break
            self._accept_backoff = ACCEPT_BACKOFF[0]
            link = self._add_link(sock, replay=True)
            if link is None:
                notes.append(
                    (
                        "client refused",
                        "refused client %s: already %d clients (max_clients)",
                        (peer_name(sock), len(self._links)),
                    )
                )
                close_quietly(sock)
                continue
            added.append(link)
        return added

    def _started(self, links: list[ClientConnection]) -> None:
        """Start the writers of new links and log what accepting found (without the lock)."""
        while self._notes:
            key, msg, args = self._notes.popleft()
            events.warning(key, msg, *args)
        for link in links:
            events.info("client connected", "client %s connected", link.peer)
            try:
                link.start()
            except RuntimeError as exc:  # no thread available: give the client up
                link.abort(DisconnectReason.LOST, f"no writer thread ({exc})")
                with self._lock:
                    if link in self._links:
                        self._links.remove(link)
                    self._finished.append(link)
                self._wake()

    def _link_finished(self, link: ClientConnection) -> None:
        """Writer-thread callback: hand the socket to the service thread and log."""
        with self._lock:
            if link in self._links:
                self._links.remove(link)
            self._finished.append(link)
            stats = link.client.statistics()
            reason = link.client.reason
        self._wake()
        if reason is DisconnectReason.FINISHED:
            events.info(
                "client closed",
                "client %s closed after %d frames",
                link.peer,
                stats.frames_sent,
            )
        elif reason is DisconnectReason.OVERFLOW:
            events.info(
                "client closed",
                "client %s: stream ended after %d frames (client too slow)",
                link.peer,
                stats.frames_sent,
            )
        elif reason is not DisconnectReason.CUT_AT_CLOSE:
            events.info("client disconnected", "client %s disconnected: %s", link.peer, link.error)

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass  # the wake-up pipe is full (a wake is pending anyway) or closed

    # -- service thread --------------------------------------------------------------

    def _service_loop(self) -> None:
        """Accept clients while idle, discard what clients send, close finished sockets.

        This thread is the only one that closes client sockets, so a
        descriptor is never closed while it is being polled. It also
        disconnects cut-off clients that did not finish their frame in time,
        and pauses accepting while the process is out of descriptors.
        """
        selector = new_selector()
        watched: dict[int, ClientConnection] = {}
        selector.register(self._wake_r, selectors.EVENT_READ, None)
        listener = self._listener
        listener_polled = False
        try:
            while True:
                now = time.monotonic()
                with self._lock:
                    stopping = self._stopping
                    finished, self._finished = self._finished, []
                    links = list(self._links)
                    paused_until = self._accept_paused_until
                    expired = [link for deadline, link in self._cut if deadline <= now]
                    self._cut = [(d, link) for d, link in self._cut if d > now and link.alive]
                    next_cut = min((d for d, _ in self._cut), default=None)
                for link in finished:
                    fd = link.sock.fileno()
                    if fd in watched:
                        selector.unregister(fd)
                        del watched[fd]
                    link.close_socket()
                if stopping:
                    break
                for link in expired:
                    if link.alive:
                        link.abort(
                            DisconnectReason.OVERFLOW,
                            f"did not finish its frame within close_timeout={self.close_timeout} s",
                        )
                for link in links:
                    fd = link.sock.fileno()
                    if fd >= 0 and fd not in watched and not link.read_closed:
                        selector.register(fd, selectors.EVENT_READ, link)
                        watched[fd] = link
                timeout: float | None = None
                if listener is not None:
                    accept_now = now >= paused_until
                    if accept_now and not listener_polled:
                        selector.register(listener, selectors.EVENT_READ, listener)
                        listener_polled = True
                    elif not accept_now and listener_polled:
                        selector.unregister(listener)
                        listener_polled = False
                    if not accept_now:
                        timeout = paused_until - now
                if next_cut is not None:
                    wait = max(0.0, next_cut - now)
                    timeout = wait if timeout is None else min(timeout, wait)
                if timeout is not None:
                    timeout = max(0.0, timeout) + 0.001  # never wake just before the deadline
                for key, _events in selector.select(timeout):
                    source = key.data
                    if source is None:
                        try:
                            self._wake_r.recv(4096)
                        except OSError:
                            pass
                    elif source is listener:
                        with self._lock:
                            new_links = self._accept_pending()
                        self._started(new_links)
                    elif key.fd in watched:
                        link = watched[key.fd]
                        if not self._discard_input(link):
                            selector.unregister(key.fd)
                            del watched[key.fd]
        finally:
            selector.close()
            with self._lock:
                remaining = self._links + self._finished
                self._links, self._finished, self._cut = [], [], []
            for link in remaining:
                link.abort(DisconnectReason.CUT_AT_CLOSE, "sender closed")
                link.join(1.0)
                link.close_socket()
            close_quietly(self._listener)
            self._listener = None
            close_quietly(self._wake_r)
            close_quietly(self._wake_w)

    @staticmethod
    def _discard_input(link: ClientConnection) -> bool:
        """Read and ignore bytes a client sent; False once there is nothing more to watch."""
        try:
            data = recv_nowait(link.sock, 65536)
        except OSError as exc:
            link.abort(DisconnectReason.LOST, f"connection lost ({exc.strerror or exc})")
            return False
        if data is None:
            return True
        if not data:
            link.read_closed = True
            return False
        return True
