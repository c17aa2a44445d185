"""G3NetworkSender: stream frames to TCP receivers, spt3g-compatible on the wire.

Two modes, chosen by ``hostname`` exactly as in spt3g:

* **connect** (any host name but ``"*"``): connects at construction and sends
  every frame in order. Nothing is dropped (unless ``max_queue_size`` is set,
  as in spt3g), and the pipeline waits whenever more than
  ``max_pending_bytes`` are still unsent, so memory stays bounded. If the
  connection is lost, the next frame raises ``G3ConnectionLostError``
  rather than silently dropping the rest of the stream.
* **listen** (``"*"``): binds at construction (port 0 = a free port, see
  :attr:`G3NetworkSender.port`) and accepts clients at any time from a
  background thread. A new client first receives the latest frame of every
  metadata type (in the order the types first appeared), then live frames.
  A client whose queue reaches ``max_queue_size`` frames loses new Timepoint
  and Scan frames (counted); one more than ``max_pending_bytes`` behind is
  disconnected (logged and counted). Other clients never notice.

The sender is a tee: called with a frame it returns the frames to pass
downstream, always all of them and in order, whatever the network does.
EndProcessing (never sent) or :meth:`G3NetworkSender.Close` flushes the
queues within ``close_timeout`` seconds, closes every socket and joins every
thread. A sender that was never closed is closed the same way when the
interpreter exits, and its threads are daemons: a forgotten sender or a
client that never reads cannot keep the process alive.
"""

from __future__ import annotations

import atexit
import logging
import select
import socket
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from g3stream.codec.container import encode_frame
from g3stream.frame import G3FrameType
from g3stream.net.client import ClientConnection, Offer, QueuedFrame
from g3stream.net.errors import G3ConnectionLostError
from g3stream.net.sockets import (
    Buffer,
    close_quietly,
    connect,
    endpoint,
    open_listener,
    peer_name,
    readiness_probe,
    tune_stream_socket,
)
from g3stream.net.url import LISTEN_HOST

log = logging.getLogger(__name__)

#: Default per-client bound on serialized bytes not yet sent.
DEFAULT_MAX_PENDING_BYTES = 128 << 20
#: Default seconds granted to clients to receive their queues at shutdown.
DEFAULT_CLOSE_TIMEOUT = 5.0
#: Default seconds allowed for connecting in connect mode.
DEFAULT_CONNECT_TIMEOUT = 10.0

_DATA_TYPES = frozenset({int(G3FrameType.Timepoint), int(G3FrameType.Scan)})
_END = int(G3FrameType.EndProcessing)
_TOTAL_KEYS = ("frames_sent", "bytes_sent", "frames_dropped", "queue_frames", "queue_bytes")


#: Senders not yet closed; closed (queues flushed within close_timeout) at exit.
_OPEN_SENDERS: weakref.WeakSet[G3NetworkSender] = weakref.WeakSet()


@atexit.register
def _close_open_senders() -> None:
    for sender in list(_OPEN_SENDERS):
        try:
            sender.Close()
        except Exception:  # pragma: no cover - best effort at interpreter exit
            log.exception("closing %r at exit failed", sender)


def serialize(frame: Any) -> Buffer:
    """The bytes to send for ``frame``, computed once and shared by every client.

    A frame read from a file or a stream and not modified since (or already
    encoded by someone else) is sent from the bytes it already has. Otherwise
    it is encoded into a fresh, private buffer, deliberately not cached in
    the frame: the sender then holds no second copy of frames that have
    moved downstream, and buffers freed after sending are reused by the
    allocator instead of faulting in new memory for every frame. Being a
    copy, the buffer cannot change if a later module modifies the frame.
    """
    data = frame.original_bytes
    if data is None:
        data = b"".join(encode_frame(frame))
    return data  # type: ignore[no-any-return]


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
    n_serializers:
        Number of background threads serializing frames (0 = serialize in
        the calling thread). A frame is passed downstream once serialized, so
        no later module can touch it meanwhile; frames keep their order, on
        the network and downstream.
    max_pending_bytes:
        Per-client bound on bytes queued but not yet sent. Connect mode waits
        below it; listen mode disconnects a client that exceeds it.
    close_timeout:
        Seconds given to clients to receive their queues at EndProcessing or
        :meth:`Close`; clients still behind are then cut off.
    max_clients:
        Listen mode: most simultaneous clients (0 = no limit); further
        connections are closed at once, logged and counted.
    bind_address:
        Listen mode: bind this local address instead of all interfaces.
    connect_timeout:
        Connect mode: seconds allowed for connecting (negative = no limit).
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
        self._lock = threading.Lock()
        self._clients: list[ClientConnection] = []
        self._client_snapshot: tuple[ClientConnection, ...] = ()  # updated under the lock
        self._finished: list[ClientConnection] = []
        self._metadata: dict[int, QueuedFrame] = {}
        self._closed = False
        self._stopping = False
        self._totals = dict.fromkeys(_TOTAL_KEYS, 0)
        self._clients_accepted = 0
        self._clients_refused = 0
        self._clients_overflowed = 0
        self._clients_lost = 0
        self._listener: socket.socket | None = None
        self._pending_connection: Callable[[], bool] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._in_flight: deque[tuple[Any, Future[Buffer] | None]] = deque()
        self._connected_client: ClientConnection | None = None

        if self.listening:
            self._listener = open_listener(int(port), bind_address)
            self._listener.setblocking(False)
            self.port: int = self._listener.getsockname()[1]
            self._pending_connection = readiness_probe(self._listener)
            log.info("G3NetworkSender listening on port %d", self.port)
        else:
            sock = connect(hostname, int(port), connect_timeout)
            self.port = int(port)
            self._connected_client = self._add_client(sock, replay=False)
            log.info("G3NetworkSender connected to %s", endpoint(hostname, self.port))
        # Wakes the service thread (new client, finished client, shutdown).
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_w.setblocking(False)
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
            return [frame]
        send = self._should_send(frame)
        if self._executor is None:
            if send:
                self._dispatch(frame_type, serialize(frame))
            return [frame]
        future = self._executor.submit(serialize, frame) if send else None
        self._in_flight.append((frame, future))
        return self._drain_serializers(wait_all=False)

    Process = __call__

    def Close(self) -> None:
        """Flush the queues within ``close_timeout``, close every socket, join threads.

        Safe to call more than once and from any thread.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _OPEN_SENDERS.discard(self)
        if self._in_flight:
            for frame in self._drain_serializers(wait_all=True):
                log.debug("frame %r sent at Close() but not passed downstream", frame)
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            client.finish()
        deadline = time.monotonic() + max(0.0, self.close_timeout)
        for client in clients:
            client.join(max(0.0, deadline - time.monotonic()))
        for client in clients:
            if not client.join(0):
                discarded = client.abort(
                    f"did not receive its queue within close_timeout={self.close_timeout} s"
                )
                log.warning(
                    "client %s: cut off at shutdown, %d queued frames discarded",
                    client.peer,
                    discarded,
                )
        for client in clients:
            client.join(1.0)
        with self._lock:
            self._stopping = True
        self._wake()
        self._service.join(5.0)
        stats = self.statistics()
        log.info(
            "G3NetworkSender closed: %d frames, %d bytes sent; %d dropped",
            stats["frames_sent"],
            stats["bytes_sent"],
            stats["frames_dropped"],
        )

    close = Close

    def statistics(self) -> dict[str, Any]:
        """Counters readable at any time.

        ``clients`` maps each connected peer (``host:port``) to its
        ``frames_sent``, ``bytes_sent``, ``frames_dropped``, ``queue_frames``
        and ``queue_bytes``. The top level holds the same five totals (over
        every client so far), ``connected_clients``, ``clients_accepted``,
        ``clients_refused`` (over ``max_clients``), ``clients_overflowed``
        (cut off at ``max_pending_bytes``) and ``clients_lost``.
        """
        with self._lock:
            clients = list(self._clients)
            totals = dict(self._totals)
            per_client = {c.peer: c.statistics() for c in clients}
            extra = {
                "connected_clients": len(clients),
                "clients_accepted": self._clients_accepted,
                "clients_refused": self._clients_refused,
                "clients_overflowed": self._clients_overflowed,
                "clients_lost": self._clients_lost,
            }
        for stats in per_client.values():
            for key in _TOTAL_KEYS:
                totals[key] += stats[key]
        return {"clients": per_client, **totals, **extra}

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
                data = future.result()
                if not self._closed or wait_all:
                    self._dispatch(int(frame.type), data)
            out.append(frame)
        return out

    def _dispatch(self, frame_type: int, data: Buffer) -> None:
        """Queue one serialized frame for every client, remembering metadata."""
        nbytes = data.nbytes if isinstance(data, memoryview) else len(data)
        item = QueuedFrame(data, nbytes, frame_type in _DATA_TYPES)
        connected = self._connected_client
        if connected is not None and connected.error is not None:
            raise G3ConnectionLostError(
                f"connection to {endpoint(self.hostname, self.port)} lost: {connected.error}"
            )
        probe = self._pending_connection
        with self._lock:
            if probe is not None and probe():
                self._accept_pending()
            if not item.droppable:
                self._metadata[int(frame_type)] = item
            clients = self._client_snapshot
        for client in clients:
            outcome = client.offer(item)
            if outcome == Offer.OVERFLOW:
                log.warning("client %s: %s; disconnected", client.peer, client.error)

    # -- connections ---------------------------------------------------------------

    def _add_client(self, sock: socket.socket, replay: bool) -> ClientConnection:
        """Register a connected socket (caller holds the lock in listen mode)."""
        sock.setblocking(True)
        tune_stream_socket(sock)
        client = ClientConnection(
            sock,
            peer_name(sock),
            max_queue_size=self.max_queue_size,
            max_pending_bytes=self.max_pending_bytes,
            blocking=not self.listening,
            on_finished=self._client_finished,
        )
        if replay:
            client.preload(list(self._metadata.values()))
        self._clients.append(client)
        self._client_snapshot = tuple(self._clients)
        self._clients_accepted += 1
        client.start()
        return client

    def _accept_pending(self) -> None:
        """Accept every connection waiting in the backlog (caller holds the lock)."""
        listener = self._listener
        if listener is None or self._closed:
            return
        while True:
            try:
                sock, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("accept() failed: %s", exc)
                return
            if self.max_clients and len(self._clients) >= self.max_clients:
                self._clients_refused += 1
                log.warning(
                    "refused client %s: already %d clients (max_clients)",
                    peer_name(sock),
                    len(self._clients),
                )
                close_quietly(sock)
                continue
            client = self._add_client(sock, replay=True)
            log.info("client %s connected", client.peer)
            self._wake()

    def _client_finished(self, client: ClientConnection) -> None:
        """Writer-thread callback: move the client's counters to the totals."""
        with self._lock:
            stats = client.statistics()
            if client in self._clients:
                self._clients.remove(client)
                self._client_snapshot = tuple(self._clients)
            for key in ("frames_sent", "bytes_sent", "frames_dropped"):
                self._totals[key] += stats[key]
            if client.error is not None:
                if "too slow" in client.error:
                    self._clients_overflowed += 1
                else:
                    self._clients_lost += 1
                log.warning("client %s disconnected: %s", client.peer, client.error)
            else:
                log.info("client %s closed after %d frames", client.peer, stats["frames_sent"])
            self._finished.append(client)
        self._wake()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass  # the wake-up pipe is full (a wake is pending anyway) or closed

    # -- service thread --------------------------------------------------------------

    def _service_loop(self) -> None:
        """Accept clients while idle, discard what clients send, close finished sockets.

        This thread is the only one that closes client sockets, so a
        descriptor is never closed while it is being polled.
        """
        poller = select.poll()
        watched: dict[int, ClientConnection] = {}
        poller.register(self._wake_r, select.POLLIN)
        if self._listener is not None:
            poller.register(self._listener, select.POLLIN)
        try:
            while True:
                with self._lock:
                    stopping = self._stopping
                    finished, self._finished = self._finished, []
                    clients = list(self._clients)
                for client in finished:
                    fd = client.sock.fileno()
                    if fd in watched:
                        poller.unregister(fd)
                        del watched[fd]
                    client.close_socket()
                if stopping:
                    break
                for client in clients:
                    fd = client.sock.fileno()
                    if fd >= 0 and fd not in watched and not client.read_closed:
                        poller.register(fd, select.POLLIN)
                        watched[fd] = client
                for fd, _events in poller.poll():
                    if fd == self._wake_r.fileno():
                        try:
                            self._wake_r.recv(4096)
                        except OSError:
                            pass
                    elif self._listener is not None and fd == self._listener.fileno():
                        with self._lock:
                            self._accept_pending()
                    elif fd in watched:
                        client = watched[fd]
                        if not self._discard_input(client):
                            poller.unregister(fd)
                            del watched[fd]
        finally:
            with self._lock:
                remaining = self._clients + self._finished
                self._clients, self._finished = [], []
                self._client_snapshot = ()
            for client in remaining:
                client.abort("sender closed")
                client.join(1.0)
                client.close_socket()
            close_quietly(self._listener)
            self._listener = None
            close_quietly(self._wake_r)
            close_quietly(self._wake_w)

    @staticmethod
    def _discard_input(client: ClientConnection) -> bool:
        """Read and ignore bytes a client sent; False once there is nothing more to watch."""
        try:
            data = client.sock.recv(65536, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError as exc:
            client.abort(f"connection lost ({exc.strerror or exc})")
            return False
        if not data:
            client.read_closed = True
            return False
        return True
