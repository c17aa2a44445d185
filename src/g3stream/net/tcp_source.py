"""TcpSource: the byte source behind ``G3Reader('tcp://...')``.

Connect mode (``tcp://host:port``) connects at construction, as spt3g does,
so a refused or unresolvable address fails at once with an error naming host
and port, and a sender in listen mode that processes a frame after the
constructor returned is guaranteed to deliver it. With ``reconnect=True`` the
connection is made on the first ``read()`` instead, retrying until the sender
is up. Listen mode (``tcp://*:port``) binds and listens at
construction (port 0 picks a free port, see :attr:`TcpSource.port`) and
waits for a sender on the first ``read()``.

``timeout`` follows spt3g (seconds, negative = none) and bounds connecting
and every wait for data; when it expires the source simply ends. Unlike
spt3g it also bounds the wait for a sender in listen mode.

With ``reconnect=True`` a refused or lost connection is retried with capped
exponential backoff (listen mode: the next sender is accepted), each outage is
logged, and ``StreamRestart`` is raised once the stream resumes so that the
reader discards a frame the outage cut in half.

All waiting happens in blocking socket calls, which release the GIL; another
thread may call :meth:`TcpSource.close` to cancel a wait.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from g3stream.errors import G3ConnectionError
from g3stream.io.source import StreamRestart
from g3stream.net.sockets import (
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

#: First pause before retrying a refused or lost connection (seconds).
DEFAULT_INITIAL_BACKOFF = 0.1
#: Longest pause between two retries (seconds).
DEFAULT_MAX_BACKOFF = 10.0
#: Most bytes asked of the kernel per read: recv() allocates what it is asked
#: for up front, so a huge request (a bogus length field) never turns into a
#: huge allocation; the caller simply reads again.
MAX_RECV_BYTES = 16 << 20


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
        The first and the largest pause between retries, in seconds.
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
        bind_address: str | None = None,
        **options: Any,
    ) -> None:
        if options:
            raise TypeError(f"unknown TcpSource option(s): {', '.join(sorted(options))}")
        self.name = url
        self.address = parse_tcp_url(url)
        self.timeout = timeout_or_none(timeout)
        self.reconnect = bool(reconnect)
        self.initial_backoff = float(initial_backoff)
        self.max_backoff = float(max_backoff)
        #: Number of connections established so far.
        self.connections = 0
        #: Number of outages survived in reconnecting mode.
        self.outages = 0
        self._sock: socket.socket | None = None
        self._listener: socket.socket | None = None
        self._delivered = 0  # bytes handed out from the current connection
        self._restart_pending = False
        self._ended = False
        self._closed = False
        self._wake = threading.Event()
        self._lock = threading.Lock()
        if self.address.listen:
            self._listener = open_listener(self.address.port, bind_address)
            self.port: int = self._listener.getsockname()[1]
            log.debug("%s: listening on port %d", self.name, self.port)
        else:
            self.port = self.address.port
            if not self.reconnect and not self._establish(_Deadline(self.timeout)):
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
        return f"<TcpSource {self.name} ({mode})>"

    # -- internals ----------------------------------------------------------

    def _end(self) -> None:
        """Mark the source finished and release its sockets."""
        self._ended = True
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
        self.outages += 1
        log.warning("%s: %s; waiting for the stream to resume", self.name, reason)
        if self._delivered:
            self._restart_pending = True
        self._delivered = 0
        return True

    def _establish(self, deadline: _Deadline) -> bool:
        """Open the next connection; False when the source should end instead."""
        if self.listening:
            ok = self._accept(deadline)
        else:
            ok = self._connect(deadline)
        if ok:
            self.connections += 1
            if self.connections > 1:
                log.warning("%s: stream resumed (connection %d)", self.name, self.connections)
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
        tune_stream_socket(conn)
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

    def _connect(self, deadline: _Deadline) -> bool:
        where = endpoint(self.address.host, self.address.port)
        backoff = self.initial_backoff
        failures = 0
        while not self._closed:
            try:
                sock = connect(self.address.host, self.address.port, deadline.remaining())
            except G3ConnectionError as exc:
                if not self.reconnect:
                    if isinstance(exc.__cause__, TimeoutError):
                        log.info("%s: %s", self.name, exc)
                        return False
                    raise
                failures += 1
                if failures == 1:
                    log.warning("%s: %s; retrying with backoff", self.name, exc)
                else:
                    log.debug("%s: retry %d failed: %s", self.name, failures, exc)
                pause = backoff
                remaining = deadline.remaining()
                if remaining is not None:
                    if remaining <= 0:
                        return False
                    pause = min(pause, remaining)
                if self._wake.wait(pause):
                    return False
                backoff = min(backoff * 2, self.max_backoff)
                continue
            self._sock = sock
            if self._closed:
                self._end()
                return False
            log.info("%s: connected to %s", self.name, where)
            return True
        return False
