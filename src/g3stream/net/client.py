"""One connected peer of a network sender: its socket and its writer thread.

What the peer receives is decided by its :class:`~g3stream.net.fanout.FanOutClient`;
this module only moves bytes. A writer thread per peer takes the next
buffers (under the sender's lock), writes them with a blocking scatter-gather
send (which releases the GIL, so a slow or stalled peer only stalls its own
thread) and acknowledges what went out (under the lock again). When a peer
is keeping up (its writer asleep, nothing waiting), the producer hands a
frame to the socket itself with a non-blocking send
(:meth:`ClientConnection.send_directly`), saving a thread wake-up.

Every access to the fan-out state happens under the sender's lock; the
writer sleeps on an event only after saying so (``idle``) under that lock,
and the producer wakes it under the same lock, so no wake-up is lost.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

from g3stream.net.fanout import DisconnectReason, FanOut, FanOutClient
from g3stream.net.sockets import (
    close_quietly,
    send_buffers,
    send_nowait,
    set_send_timeout,
    shutdown_quietly,
)

#: Most frames written by one sendmsg() call.
MAX_BATCH_FRAMES = 256
#: Most bytes gathered into one sendmsg() call (a larger single frame goes alone).
MAX_BATCH_BYTES = 4 << 20


class ClientConnection:
    """A connected peer of a :class:`~g3stream.net.sender.G3NetworkSender`.

    ``lock`` is the sender's lock, which guards ``client`` and ``fanout``.
    ``on_finished`` is called from the writer thread once it has stopped and
    the client has left the fan-out; the owner then closes the socket (see
    :meth:`close_socket`).
    """

    def __init__(
        self,
        sock: socket.socket,
        peer: str,
        client: FanOutClient,
        fanout: FanOut,
        lock: threading.Lock,
        *,
        send_timeout: float | None,
        on_finished: Callable[[ClientConnection], None],
    ) -> None:
        self.sock = sock
        self.peer = peer
        self.client = client
        self.send_timeout = send_timeout
        self._fanout = fanout
        self._lock = lock
        self._on_finished = on_finished
        #: Why the connection ended early (``None`` while healthy or after a clean end).
        self.error: str | None = None
        #: Frames still queued when the connection ended early (never sent).
        self.discarded = 0
        #: True once the peer half-closed its side (we stop reading from it).
        self.read_closed = False
        #: Guarded by the lock: the writer is asleep waiting for ``ready``.
        self.idle = False
        #: Guarded by the lock: the producer waits on ``room``.
        self.producer_waiting = False
        self.ready = threading.Event()
        self.room = threading.Event()
        #: Set once the writer is over: it ran to its end, or it could not be started.
        #: A link accepted but whose writer has not started yet is not over.
        self._over = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"g3-send-{peer}", daemon=True)
        set_send_timeout(sock, send_timeout)

    def start(self) -> None:
        """Start the writer thread.

        Raises :class:`RuntimeError` when no thread can be started; the link
        then counts as over (:meth:`join` returns True) and the owner must
        :meth:`abort` it.
        """
        try:
            self._thread.start()
        except RuntimeError:
            self._over.set()
            raise

    def wake(self) -> None:
        """Wake the writer if it sleeps and has work (caller holds the lock)."""
        if self.idle and self.client.has_work:
            self.idle = False
            self.ready.set()

    def send_directly(self) -> None:
        """Hand the next frame to the socket without waiting (caller holds the lock).

        Whatever the socket does not take stays queued for the writer.
        """
        client = self.client
        buffers, _ = client.take(1, 0)
        if not buffers:
            return
        try:
            sent = send_nowait(self.sock, buffers[0])
        except OSError as exc:
            client.acknowledge(0)
            self._fail_locked(DisconnectReason.LOST, f"connection lost ({exc.strerror or exc})")
            return
        client.acknowledge(sent or 0)  # None: no non-blocking send here; the writer sends it

    def abort(self, reason: DisconnectReason, message: str) -> int:
        """End the connection now, discarding its queue; return the frames discarded.

        Must be called without the lock held.
        """
        with self._lock:
            discarded = self._fail_locked(reason, message)
        return discarded

    def _fail_locked(self, reason: DisconnectReason, message: str) -> int:
        discarded = 0
        if self.client.reason is None:
            discarded = self._fanout.remove(self.client, reason)
            self.discarded = discarded
            self.error = message
        self.ready.set()
        self.room.set()
        shutdown_quietly(self.sock)  # wakes the writer if it is inside sendmsg()
        return discarded

    def join(self, timeout: float | None) -> bool:
        """Wait for the writer to be over; True once it is.

        A writer not started yet (accepted by one thread, started by it once
        it has released the sender's lock) is waited for like a running one:
        it still has its queue to send.
        """
        if not self._over.wait(timeout):
            return False
        if self._thread.ident is not None:
            self._thread.join(1.0)  # only returning from _run() is left
        return True

    @property
    def alive(self) -> bool:
        """False once the writer is over or the client has left the fan-out."""
        return not self._over.is_set() and self.client.reason is None

    # -- writer thread -------------------------------------------------------------

    def _run(self) -> None:
        lock = self._lock
        client = self.client
        reason: DisconnectReason | None = None
        message: str | None = None
        try:
            while True:
                with lock:
                    self.idle = False
                    if client.reason is not None:
                        break
                    buffers, size = client.take(MAX_BATCH_FRAMES, MAX_BATCH_BYTES)
                    if not buffers:
                        if client.done:
                            break
                        self.idle = True
                        self.ready.clear()
                if not buffers:
                    self.ready.wait()
                    continue
                try:
                    sent = send_buffers(self.sock, buffers, size)
                except (BlockingIOError, TimeoutError):  # SO_SNDTIMEO expired
                    reason = DisconnectReason.SEND_TIMEOUT
                    message = f"took no data for {self.send_timeout} s (send_timeout)"
                    break
                except OSError as exc:
                    reason = DisconnectReason.LOST
                    message = f"connection lost ({exc.strerror or exc})"
                    break
                with lock:
                    client.acknowledge(sent)
                    if self.producer_waiting:
                        self.room.set()
        finally:
            with lock:
                self.idle = False
                # a failed send no longer reads what it took: let go of it, so
                # that nothing (frozen arrays above all) is held by a dead link
                client.acknowledge(0)
                clean = client.reason is None and reason is None and client.done
                if client.reason is None:
                    self.discarded = self._fanout.remove(client, reason)
                    self.error = message
                self.room.set()
            if clean:
                shutdown_quietly(self.sock, socket.SHUT_WR)  # a clean end of stream
            try:
                self._on_finished(self)
            finally:
                self._over.set()

    def close_socket(self) -> None:
        """Discard unread input (avoids a reset) and close the socket."""
        try:
            self.sock.setblocking(False)
            while self.sock.recv(65536):
                pass
        except OSError:
            pass
        close_quietly(self.sock)
