"""Small socket helpers shared by the TCP source and the network senders.

Everything here is plain stdlib sockets: blocking calls release the GIL, so a
thread waiting on the network never stalls other Python threads.
"""

from __future__ import annotations

import ctypes
import select
import selectors
import socket
import struct
import sys
from collections.abc import Callable, Sequence

from g3stream.errors import G3ConnectionError
from g3stream.net.errors import (
    G3ConnectionRefusedError,
    G3ConnectionTimeoutError,
    G3HostUnresolvableError,
)

from .._types import Buffer

#: Flag that stops send() from raising SIGPIPE on a closed peer (Linux); 0 elsewhere.
SEND_FLAGS: int = getattr(socket, "MSG_NOSIGNAL", 0)

#: ``MSG_DONTWAIT`` (one non-blocking call on a blocking socket) where the platform
#: has it; ``None`` elsewhere (Windows), where the helpers below fall back.
MSG_DONTWAIT: int | None = getattr(socket, "MSG_DONTWAIT", None)

#: The readiness selector class (epoll, kqueue, poll or select, whatever the platform has best).
SELECTOR: type[selectors.BaseSelector] = selectors.DefaultSelector

#: Largest number of buffers handed to one sendmsg() call (IOV_MAX is 1024 on Linux).
MAX_IOVECS = 512


def endpoint(host: str, port: int) -> str:
    """Format a host and port for messages: ``host:port`` or ``[v6addr]:port``."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def peer_name(sock: socket.socket) -> str:
    """Return the remote end of a connected socket as ``host:port``.

    IPv4 peers that reached a dual-stack socket are shown in IPv4 form.
    """
    try:
        address = sock.getpeername()
    except OSError:
        return "unknown"
    host, port = str(address[0]), int(address[1])
    if host.startswith("::ffff:") and "." in host:
        host = host[len("::ffff:") :]
    return endpoint(host, port)


def timeout_or_none(timeout: float | None) -> float | None:
    """Map spt3g's convention (negative = wait forever) to Python's ``None``."""
    if timeout is None or timeout < 0:
        return None
    return float(timeout)


def disable_sigpipe(sock: socket.socket) -> None:
    """On platforms without MSG_NOSIGNAL, ask the socket not to raise SIGPIPE."""
    option = getattr(socket, "SO_NOSIGPIPE", None)
    if SEND_FLAGS == 0 and option is not None:  # pragma: no cover - BSD/macOS only
        sock.setsockopt(socket.SOL_SOCKET, option, 1)


#: Seconds a stream connection may stay silent before TCP keep-alive probes start.
DEFAULT_KEEPALIVE_IDLE = 10.0
#: Unanswered keep-alive probes after which the kernel declares the peer gone.
KEEPALIVE_PROBES = 4

# The option naming the idle time: TCP_KEEPIDLE (Linux, BSD, recent macOS),
# TCP_KEEPALIVE on older macOS.
_KEEPIDLE: int | None = getattr(socket, "TCP_KEEPIDLE", getattr(socket, "TCP_KEEPALIVE", None))


def enable_keepalive(sock: socket.socket, idle: float = DEFAULT_KEEPALIVE_IDLE) -> None:
    """Turn on TCP keep-alive so that a vanished peer is noticed by the kernel.

    After ``idle`` seconds without traffic the kernel sends probes, one every
    ``idle / KEEPALIVE_PROBES`` seconds (at least 1 s); when
    ``KEEPALIVE_PROBES`` of them go unanswered the connection fails with an
    error, which wakes a blocked ``recv``.  A half-open peer (a host that
    lost power, a cable pulled) is thus detected in about twice ``idle``
    without any application-level timeout.  Options the platform lacks are
    skipped (keep-alive then uses the system's timing).
    """
    whole = max(1, round(idle))
    interval = max(1, round(idle / KEEPALIVE_PROBES))
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    except OSError:  # pragma: no cover - not a TCP socket
        return
    tuning = (
        (_KEEPIDLE, whole),
        (getattr(socket, "TCP_KEEPINTVL", None), interval),
        (getattr(socket, "TCP_KEEPCNT", None), KEEPALIVE_PROBES),
    )
    for option, value in tuning:
        if option is None:
            continue  # pragma: no cover - platform without this option
        try:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)
        except OSError:  # pragma: no cover - refused by the platform
            pass


def tune_stream_socket(
    sock: socket.socket, keepalive_idle: float | None = DEFAULT_KEEPALIVE_IDLE
) -> None:
    """Prepare a connected TCP socket for frame streaming.

    No Nagle delay, no SIGPIPE, and TCP keep-alive after ``keepalive_idle``
    silent seconds (``None`` or 0: keep-alive off).
    """
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:  # pragma: no cover - not a TCP socket
        pass
    disable_sigpipe(sock)
    if keepalive_idle:
        enable_keepalive(sock, keepalive_idle)


def open_listener(port: int, bind_address: str | None = None, backlog: int = 64) -> socket.socket:
    """Bind and listen on ``port`` (0 = any free port).

    With no ``bind_address`` the socket accepts IPv4 and IPv6 on every
    interface (dual-stack when the system allows it, IPv4 otherwise).
    With a ``bind_address`` only that local address is used. A port that
    cannot be bound (in use, privileged) raises :class:`G3ConnectionError`.
    """
    try:
        return _bind_listener(port, bind_address, backlog)
    except G3ConnectionError:
        raise
    except OSError as exc:
        where = endpoint(bind_address or "*", port)
        raise G3ConnectionError(f"cannot listen on {where}: {exc.strerror or exc}") from exc


def _bind_listener(port: int, bind_address: str | None, backlog: int) -> socket.socket:
    if bind_address in (None, "", "*"):
        if socket.has_ipv6 and socket.has_dualstack_ipv6():
            try:
                return socket.create_server(
                    ("::", port), family=socket.AF_INET6, backlog=backlog, dualstack_ipv6=True
                )
            except OSError:
                pass  # IPv6 configured but unusable: fall back to IPv4 only
        return socket.create_server(("0.0.0.0", port), family=socket.AF_INET, backlog=backlog)
    try:
        infos = socket.getaddrinfo(
            bind_address, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise G3HostUnresolvableError(
            f"cannot resolve local address {bind_address!r}: {exc.strerror}"
        ) from exc
    family, _, _, _, address = infos[0]
    return socket.create_server(address[:2], family=family, backlog=backlog)


def connect(
    host: str,
    port: int,
    timeout: float | None = None,
    keepalive_idle: float | None = DEFAULT_KEEPALIVE_IDLE,
) -> socket.socket:
    """Open a TCP connection to ``host``:``port``, trying every resolved address.

    ``timeout`` bounds the connection attempt (``None`` or negative: no limit).
    The returned socket is in blocking mode, tuned by
    :func:`tune_stream_socket` (``keepalive_idle`` is passed on). Failures
    raise a :class:`G3ConnectionError` subclass whose message names host and port.
    """
    where = endpoint(host, port)
    try:
        sock = socket.create_connection((host, port), timeout=timeout_or_none(timeout))
    except socket.gaierror as exc:
        raise G3HostUnresolvableError(
            f"cannot resolve host {host!r} (port {port}): {exc.strerror}"
        ) from exc
    except ConnectionRefusedError as exc:
        raise G3ConnectionRefusedError(f"connection to {where} refused") from exc
    except TimeoutError as exc:
        raise G3ConnectionTimeoutError(
            f"connecting to {where} timed out after {timeout} s"
        ) from exc
    except OSError as exc:
        raise G3ConnectionError(f"cannot connect to {where}: {exc.strerror or exc}") from exc
    sock.settimeout(None)
    tune_stream_socket(sock, keepalive_idle)
    return sock


def new_selector() -> selectors.BaseSelector:
    """A readiness selector of the best kind the platform has (:data:`SELECTOR`)."""
    return SELECTOR()


def recv_nowait(sock: socket.socket, size: int) -> bytes | None:
    """Up to ``size`` bytes from a blocking socket without waiting; ``None`` when none are ready.

    ``b""`` means the peer ended its stream. Errors of a failed connection
    are raised (``OSError``). Only one thread may read the socket (another
    may write to it meanwhile).
    """
    flag = MSG_DONTWAIT
    if flag is None:  # no per-call flag: ask first (only this thread reads the socket)
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return None
        return sock.recv(size)
    try:
        return sock.recv(size, flag)
    except (BlockingIOError, InterruptedError):
        return None


def send_nowait(sock: socket.socket, data: Buffer) -> int | None:
    """Send what a blocking socket takes at once: the byte count (0 when full).

    ``None`` where the platform cannot send without waiting on a blocking
    socket (the caller leaves the data to its blocking writer). Errors of a
    failed connection are raised (``OSError``).
    """
    flag = MSG_DONTWAIT
    if flag is None:
        return None
    try:
        return sock.send(data, flag | SEND_FLAGS)
    except (BlockingIOError, InterruptedError):
        return 0


def set_send_timeout(sock: socket.socket, timeout: float | None) -> None:
    """Make a blocking send give up (``BlockingIOError``) after ``timeout`` s without progress.

    This is the kernel's ``SO_SNDTIMEO``: unlike a Python socket timeout it
    leaves the socket in blocking mode, so non-blocking sends
    (:func:`send_nowait`) stay non-blocking. ``None`` = no limit.
    """
    if timeout is None:
        return
    if sys.platform == "win32":  # pragma: no cover - a DWORD of milliseconds there
        value = struct.pack("=L", max(1, round(timeout * 1000)))
    else:
        seconds = int(timeout)
        micros = int((timeout - seconds) * 1e6)
        if seconds == 0 and micros == 0:
            micros = 1
        value = struct.pack("ll", seconds, micros)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)


def send_buffers(sock: socket.socket, buffers: Sequence[Buffer], nbytes: int | None = None) -> int:
    """Write every byte of ``buffers`` to a blocking socket; return the byte count.

    Uses scatter-gather ``sendmsg`` (no concatenation copy), completes partial
    sends, and never raises SIGPIPE. ``nbytes``, the total size when the
    caller knows it, enables a fast path for the usual case of one complete
    send. Raises ``OSError`` when the peer is gone.
    """
    if nbytes is not None and len(buffers) <= MAX_IOVECS:
        sent = sock.sendmsg(buffers, (), SEND_FLAGS)
        if sent == nbytes:
            return sent
        return sent + _send_rest(sock, buffers, sent)
    return _send_rest(sock, buffers, 0)


def _send_rest(sock: socket.socket, buffers: Sequence[Buffer], skip: int) -> int:
    """Send ``buffers`` minus their first ``skip`` bytes; return the bytes sent."""
    pending = []
    for buf in buffers:
        view = memoryview(buf).cast("B")
        if skip >= len(view):
            skip -= len(view)
            continue
        pending.append(view[skip:] if skip else view)
        skip = 0
    total = 0
    while pending:
        batch = pending[:MAX_IOVECS]
        sent = sock.sendmsg(batch, (), SEND_FLAGS)
        total += sent
        # Drop the buffers that went out completely; trim the one cut in half.
        index = 0
        while index < len(batch) and sent >= len(batch[index]):
            sent -= len(batch[index])
            index += 1
        del pending[:index]
        if sent:
            pending[0] = pending[0][sent:]
    return total


def shutdown_quietly(sock: socket.socket, how: int = socket.SHUT_RDWR) -> None:
    """``shutdown()`` a socket, ignoring errors from an already dead connection.

    Shutting a socket down wakes any thread blocked in send, recv or accept
    on it, which is how waits are cancelled.
    """
    try:
        sock.shutdown(how)
    except OSError:
        pass


def close_quietly(sock: socket.socket | None) -> None:
    """Close a socket, ignoring every error."""
    if sock is None:
        return
    try:
        sock.close()
    except OSError:  # pragma: no cover
        pass


class _PollFd(ctypes.Structure):
    _fields_ = [("fd", ctypes.c_int), ("events", ctypes.c_short), ("revents", ctypes.c_short)]


#: poll()'s "readable" event bit (the same on every Unix).
_POLLIN = 0x001


def _libc_poll() -> Callable[..., int] | None:
    """libc's poll(), called *without* releasing the GIL (ctypes.PyDLL), if available."""
    if sys.platform == "win32":  # pragma: no cover - no libc poll() there
        return None
    try:
        poll = ctypes.PyDLL(None).poll
    except (OSError, AttributeError, TypeError):  # pragma: no cover - no C library handle
        return None
    # No argtypes: checking arguments through them costs more than the system
    # call; callers pass exactly poll()'s C types (pointer, nfds_t, int).
    poll.restype = ctypes.c_int
    return poll  # type: ignore[no-any-return]


_POLL = _libc_poll()


def readiness_probe(sock: socket.socket) -> Callable[[], bool]:
    """Return a function that tells at once whether ``sock`` is readable.

    For a listening socket, readable means a completed connection is
    waiting to be accepted. The probe is meant to run for every frame, so it
    avoids releasing the GIL where it can (a zero-timeout ``select`` would
    hand the GIL to the writer threads on every call, which costs far more
    than the system call itself): libc's poll() through ctypes. Elsewhere
    (Windows, or no C library handle) it falls back to a zero-timeout
    ``select.select``.
    """
    poll = _POLL
    if poll is not None:
        pfd = _PollFd(sock.fileno(), _POLLIN, 0)
        ref = ctypes.byref(pfd)
        one = ctypes.c_ulong(1)  # nfds_t

        def probe() -> bool:
            return poll(ref, one, 0) > 0

        return probe

    def probe_select() -> bool:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)

    return probe_select
