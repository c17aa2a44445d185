"""TcpSource: the byte source behind ``G3Reader('tcp://...')``.

Connect mode (``tcp://host:port``) connects at construction, as spt3g does,
so a refused or unresolvable address fails at once with an error naming host
and port, and a sender in listen mode that processes a frame after the
constructor returned is guaranteed to deliver it. With ``reconnect=True``
the constructor also makes one attempt (so that guarantee holds whenever
the sender is up), but a failure is not an error: the connection is then
retried on ``read()`` until the sender is up. Listen mode (``tcp://*:port``)
binds and listens at construction (port 0 picks a free port, see
:attr:`TcpSource.port`) and waits for a sender on the first ``read()``.

``timeout`` follows spt3g (seconds, negative = none) and bounds connecting
and every wait for data; when it expires the source simply ends. Unlike
spt3g it also bounds the wait for a sender in listen mode.

With ``reconnect=True`` a lost connection is retried at once, then with
exponential backoff and random jitter (``initial_backoff`` doubling up to
``max_backoff``) while the sender stays away; each attempt is bounded by
``connect_timeout``, so a host that does not answer at all cannot hold the
source in one long attempt. In listen mode the next sender is accepted.
The outage is logged when it starts, and "resumed" when data arrives again
(not on a mere connection, which a dying sender may still accept); then
``StreamRestart`` tells the reader to discard a frame the outage cut in half.

Every stream socket has TCP keep-alive (``keepalive_idle``), so a sender
that vanished without closing its connection (power loss) is detected by
the kernel and handled like any lost connection.

:meth:`TcpSource.statistics` gives a consistent snapshot of the source's
state and counters from any thread while another one reads.

All waiting happens in blocking socket calls, which release the GIL; another
thread may call :meth:`TcpSource.close` to cancel a wait.
"""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from g3stream.errors import G3ConnectionError
from g3stream.io.source import SourceState, SourceStatistics, StreamRestart
from g3stream.net.sockets import (
    DEFAULT_KEEPALIVE_IDLE,
    close_quietly,
    connect,
    endpoint,
    open_listener,
    peer_name,
    shutdown_quietly,
    timeout_or_none,
    tune_stream_socket,
)
from g3stream.net.url import parse_tcp_url

log = logging.getLogger(__name__)

#: Pause after the first failed retry (seconds); the first retry is immediate.
DEFAULT_INITIAL_BACKOFF = 0.05
#: Longest pause between two retries (seconds): also the longest a restarted
#: sender can be up before the source is connected to it again.
DEFAULT_MAX_BACKOFF = 1.0
#: Longest single connection attempt in reconnecting mode (seconds).
DEFAULT_CONNECT_TIMEOUT = 2.0
#: Most bytes asked of the kernel per read: recv() allocates what it is asked
#: for up front, so a huge request (a bogus length field) never turns into a
#: huge allocation; the caller simply reads again.
MAX_RECV_BYTES = 16 << 20
#: Asks the kernel to fill the whole buffer before returning (0 where unknown:
#: each receive then simply returns what has arrived).
_WAIT_ALL = getattr(socket, "MSG_WAITALL", 0)


class _Deadline:
    """A point in time after which a wait gives up (``None``: never)."""

    def __init__(self, timeout: float | None) -> None:
        self.end = None if timeout is None else time.monotonic() + timeout

    def remaining(self) -> float | None:
        """Seconds left (never negative), or ``None`` for no limit."""
        if self.end is None:
            return None
        return max(0.0, self.end - time.monotonic())

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self.end is not None and time.monotonic() >= self.end


class TcpSource:
    """A :class:`~g3stream.io.source.ByteSource` reading a G3 stream from TCP.

    Parameters
    ----------
    url:
        ``tcp://host:port``, ``tcp://[v6addr]:port`` (connect) or
        ``tcp://*:port`` (listen; 0 = a free port).
    timeout:
        Seconds to wait for a connection or for data before the source ends;
        negative means wait forever (spt3g's convention).
    reconnect:
        Survive outages: retry refused/lost connections with backoff and
        raise ``StreamRestart`` after resuming.
    initial_backoff, max_backoff:
        The pause after the first failed retry and the largest pause between
        retries, in seconds (each pause is drawn between half and all of
        the current backoff, so that many readers do not retry in step).
    connect_timeout:
        Reconnecting mode: the longest one connection attempt may take.
    keepalive_idle:
        Seconds of silence after which TCP keep-alive probes the sender
        (``None`` or 0: no keep-alive).
    bind_address:
        Listen mode only: bind this local address instead of all interfaces.
    """

    def __init__(
        self,
        url: str,
        timeout: float = -1.0,
        reconnect: bool = False,
        *,
        initial_backoff: float = DEFAULT_INITIAL_BACKOFF,
        max_backoff: float = DEFAULT_MAX_BACKOFF,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        keepalive_idle: float | None = DEFAULT_KEEPALIVE_IDLE,
        bind_address: str | None = None,
        **options: Any,
    ) -> None:
        if options:
            raise TypeError(f"unknown TcpSource option(s): {', '.join(sorted(options))}")
        if initial_backoff < 0 or max_backoff < 0:
            raise ValueError("backoff times cannot be negative")
        if connect_timeout <= 0:
            raise ValueError(f"connect_timeout must be positive, not {connect_timeout}")
        if keepalive_idle is not None and keepalive_idle < 0:
            raise ValueError(f"keepalive_idle cannot be negative, not {keepalive_idle}")
        self.name = url
        self.address = parse_tcp_url(url)
        self.timeout = timeout_or_none(timeout)
        self.reconnect = bool(reconnect)
        self.initial_backoff = float(initial_backoff)
        self.max_backoff = float(max_backoff)
        self.connect_timeout = float(connect_timeout)
        self.keepalive_idle = keepalive_idle
        #: Number of connections established so far.
        self.connections = 0
        #: Number of connections lost in reconnecting mode.
        self.outages = 0
        #: Number of outages after which data arrived again.
        self.reconnects = 0
        self._sock: socket.socket | None = None
        self._listener: socket.socket | None = None
        self._delivered = 0  # bytes handed out from the current connection
        self._restart_pending = False
        self._ended = False
        self._closed = False
        self._wake = threading.Event()
        self._lock = threading.Lock()
        # Everything statistics() reports, updated and read under _stats_lock.
        self._stats_lock = threading.Lock()
        self._state = SourceState.LISTENING if self.address.listen else SourceState.CONNECTING
        self._bytes_received = 0
        self._last_data: float | None = None
        self._peer: str | None = None
        self._outage_since: float | None = None
        # The next retry's backoff: 0 retries at once (after data, or at first).
        self._backoff = 0.0
        self._random = random.Random()
        self._warned_unreachable = False
        if self.address.listen:
            self._listener = open_listener(self.address.port, bind_address)
            self.port: int = self._listener.getsockname()[1]
            log.debug("%s: listening on port %d", self.name, self.port)
        else:
            self.port = self.address.port
            if self.reconnect:
                # One attempt now, so that a sender already up delivers every
                # frame it processes from here on; a failure is retried later.
                self._establish(_Deadline(self.timeout), attempts=1)
            elif not self._establish(_Deadline(self.timeout)):
                self._end()

    # -- public API ---------------------------------------------------------

    @property
    def listening(self) -> bool:
        """True for a ``tcp://*:port`` source (it waits for a sender)."""
        return self.address.listen

    @property
    def connected(self) -> bool:
        """True while a connection to a sender is open."""
        return self._sock is not None

    @property
    def state(self) -> SourceState:
        """Where the source stands (see :class:`~g3stream.io.source.SourceState`)."""
        return self._state

    def statistics(self) -> SourceStatistics:
        """A consistent snapshot of the source's state and counters (any thread).

        ``last_frame_age_s`` is the age of the last data received: a byte
        source does not see frames (``G3Reader.statistics()`` reports the
        age of the last complete frame).
        """
        with self._stats_lock:
            last = self._last_data
            return SourceStatistics(
                name=self.name,
                state=self._state,
                connected=self._peer is not None,
                reconnects=self.reconnects,
                outages=self.outages,
                connections=self.connections,
                bytes_received=self._bytes_received,
                last_frame_age_s=None if last is None else time.monotonic() - last,
                peer=self._peer,
            )

    def read(self, max_bytes: int) -> bytes:
        """Return up to ``max_bytes`` bytes of the stream, ``b""`` at its end.

        Waits (releasing the GIL) for a connection and for data, each bounded
        by ``timeout``. Raises ``StreamRestart`` after a reconnect that follows
        delivered data, and a :class:`G3ConnectionError` subclass when the
        peer cannot be reached and ``reconnect`` is off.
        """
        chunk = self._receive(lambda sock: sock.recv(min(max_bytes, MAX_RECV_BYTES)))
        return chunk if isinstance(chunk, bytes) else b""

    def readinto(self, buffer: bytearray | memoryview) -> int:
        """Receive straight into ``buffer``; return the byte count, 0 at the end.

        Same waiting, timeout, reconnect and ``StreamRestart`` behaviour as
        :meth:`read`, without allocating a new bytes object per call (lets a
        consumer receive a large frame directly into its final buffer).
        """
        if not len(buffer):
            return 0
        count = self._receive(lambda sock: sock.recv_into(buffer))
        return count if isinstance(count, int) else 0

    def readinto_all(self, buffer: bytearray | memoryview) -> int:
        """Like :meth:`readinto`, but wait until ``buffer`` is full when possible.

        For a caller that needs every byte of ``buffer`` before it can go on
        (the rest of a large frame): one wake-up and one call per buffer
        instead of one per packet.  Fewer bytes come back when the stream
        ends or fails, when the source is closed, or when a ``timeout`` is
        set (the wait is then bounded as for :meth:`readinto`).
        """
        if not len(buffer):
            return 0
        count = self._receive(lambda sock: sock.recv_into(buffer, 0, _WAIT_ALL))
        return count if isinstance(count, int) else 0

    def _receive(self, op: Callable[[socket.socket], bytes | int]) -> bytes | int:
        """Run one receive ``op`` on the connection, handling every wait and outage.

        Returns what ``op`` returned when it delivered data, or ``b""`` at
        the end of the source.
        """
        if self._ended or self._closed:
            return b""
        deadline = _Deadline(self.timeout)
        while True:
            if self._sock is None:
                if not self._establish(deadline):
                    self._end()
                    return b""
                if self._restart_pending:
                    self._restart_pending = False
                    raise StreamRestart(f"{self.name}: stream restarted after an outage")
            sock = self._sock
            assert sock is not None
            try:
                wait = deadline.remaining()
                if wait is not None or sock.gettimeout() is not None:
                    sock.settimeout(wait)
                got = op(sock)
            except TimeoutError:
                log.info("%s: no data for %s s, ending the stream", self.name, self.timeout)
                self._end()
                return b""
            except OSError as exc:
                if self._closed:
                    return b""
                reason = f"connection lost ({exc.strerror or exc})"
            else:
                size = got if isinstance(got, int) else len(got)
                if size:
                    self._delivered += size
                    self._received(size)
                    return got
                if self._closed:
                    return b""
                reason = "connection closed by the sender"
            if not self._connection_ended(reason):
                self._end()
                return b""

    def close(self) -> None:
        """Close every socket and cancel any wait in progress; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        # a source that ended by itself keeps saying so (readers close ended sources)
        self._set_state(SourceState.ENDED if self._ended else SourceState.CLOSED, connected=False)
        self._wake.set()
        for sock in (self._sock, self._listener):
            if sock is not None:
                shutdown_quietly(sock)
        # Closing the descriptors is left to the reading thread when it is
        # inside a call; doing it here too is harmless once shut down.
        close_quietly(self._listener)
        close_quietly(self._sock)

    def __enter__(self) -> TcpSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def __repr__(self) -> str:
        mode = f"listening on port {self.port}" if self.listening else "connect"
        return f"<TcpSource {self.name} ({mode}, {self._state.value})>"

    # -- internals ----------------------------------------------------------

    def _set_state(
        self, state: SourceState, connected: bool | None = None, peer: str | None = None
    ) -> None:
        """Change the reported state (``connected``: also open or drop the peer)."""
        with self._stats_lock:
            if self._state is SourceState.CLOSED:
                return  # closing is final
            self._state = state
            if connected is True:
                self._peer = peer
            elif connected is False:
                self._peer = None

    def _received(self, size: int) -> None:
        """Account for ``size`` bytes just received; the first ones mark the stream live."""
        now = time.monotonic()
        with self._stats_lock:
            self._bytes_received += size
            self._last_data = now
            if self._state is SourceState.STREAMING:
                return
            if self._state is not SourceState.CLOSED:
                self._state = SourceState.STREAMING
            since, self._outage_since = self._outage_since, None
            if since is not None:
                self.reconnects += 1
        # A connection that delivers data is healthy: the next outage retries at once.
        self._backoff = 0.0
        if since is not None:
            log.warning(
                "%s: stream resumed after %.2f s (connection %d)",
                self.name,
                now - since,
                self.connections,
            )

    def _end(self) -> None:
        """Mark the source finished and release its sockets."""
        self._ended = True
        self._set_state(SourceState.ENDED, connected=False)
        sock, self._sock = self._sock, None
        close_quietly(sock)
        listener, self._listener = self._listener, None
        close_quietly(listener)

    def _connection_ended(self, reason: str) -> bool:
        """Handle the end of one connection; return True to go on reading."""
        sock, self._sock = self._sock, None
        close_quietly(sock)
        if not self.reconnect:
            log.debug("%s: %s", self.name, reason)
            return False
        if self._delivered:
            self._restart_pending = True
        else:
            # Nothing came over that connection (a dying sender accepted it):
            # not a sign that the sender is back, so keep backing off.
            self._grow_backoff()
        self._delivered = 0
        with self._stats_lock:
            self.outages += 1
            new_outage = self._outage_since is None
            if new_outage:
                self._outage_since = time.monotonic()
        self._set_state(SourceState.RECONNECTING, connected=False)
        if new_outage:
            log.warning("%s: %s; waiting for the stream to resume", self.name, reason)
        else:
            log.info("%s: %s before any data; still waiting", self.name, reason)
        return True

    def _grow_backoff(self) -> None:
        """After a failed attempt: the next pause doubles, up to ``max_backoff``."""
        if self._backoff <= 0:
            self._backoff = min(self.initial_backoff, self.max_backoff)
        else:
            self._backoff = min(self._backoff * 2, self.max_backoff)

    def _establish(self, deadline: _Deadline, attempts: int | None = None) -> bool:
        """Open the next connection; False when the source should end instead.

        ``attempts`` limits the connection attempts (connect mode; ``None``:
        as many as ``reconnect`` and ``timeout`` allow).
        """
        if self.listening:
            ok = self._accept(deadline)
        else:
            ok = self._connect(deadline, attempts)
        if ok:
            assert self._sock is not None
            with self._stats_lock:
                self.connections += 1
            self._set_state(SourceState.CONNECTED, connected=True, peer=peer_name(self._sock))
        return ok

    def _accept(self, deadline: _Deadline) -> bool:
        listener = self._listener
        if listener is None or self._closed:
            return False
        try:
            listener.settimeout(deadline.remaining())
            conn, _ = listener.accept()
        except TimeoutError:
            log.info("%s: no sender connected within %s s", self.name, self.timeout)
            return False
        except OSError:
            if self._closed:
                return False
            raise
        conn.settimeout(None)
        tune_stream_socket(conn, self.keepalive_idle)
        log.info("%s: sender %s connected", self.name, peer_name(conn))
        self._sock = conn
        if self._closed:  # close() raced with accept(): do not leak the socket
            self._end()
            return False
        if not self.reconnect:
            # Only the first sender is read; refuse others clearly.
            self._listener = None
            close_quietly(listener)
        return True

    def _connect(self, deadline: _Deadline, attempts: int | None = None) -> bool:
        where = endpoint(self.address.host, self.address.port)
        failures = 0
        while not self._closed:
            if self._backoff > 0:
                pause = self._backoff * self._random.uniform(0.5, 1.0)
                remaining = deadline.remaining()
                if remaining is not None:
                    if remaining <= 0:
                        return False
                    pause = min(pause, remaining)
                if self._wake.wait(pause):
                    return False
            limit = deadline.remaining()
            if self.reconnect:
                # bound each attempt: a host that drops the handshake must not
                # hold the source for the system's minutes-long SYN retries
                limit = self.connect_timeout if limit is None else min(limit, self.connect_timeout)
            try:
                sock = connect(self.address.host, self.address.port, limit, self.keepalive_idle)
            except G3ConnectionError as exc:
                if not self.reconnect:
                    if isinstance(exc.__cause__, TimeoutError):
                        log.info("%s: %s", self.name, exc)
                        return False
                    raise
                failures += 1
                self._grow_backoff()
                if not self._warned_unreachable and self._outage_since is None:
                    self._warned_unreachable = True
                    log.warning("%s: %s; retrying with backoff", self.name, exc)
                else:
                    log.debug("%s: retry failed: %s", self.name, exc)
                if (attempts is not None and failures >= attempts) or deadline.expired():
                    return False
                continue
            self._sock = sock
            if self._closed:
                self._end()
                return False
            log.info("%s: connected to %s", self.name, where)
            return True
        return False
