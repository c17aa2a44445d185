"""Helpers shared by the network tests: frames, readers, bounded waits.

Every wait here is bounded (socket timeouts, joins with timeouts), so a test
fails instead of hanging when the code under test misbehaves.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from g3stream import G3Frame, G3FrameType, G3VectorDouble
from g3stream.codec.decoder import FrameDecoder
from g3stream.errors import TruncatedFrameError
from g3stream.io.source import StreamRestart

#: Upper bound for any single wait in these tests (seconds).
TIMEOUT = 20.0
#: Upper bound for a reference (spt3g) subprocess.
SUBPROCESS_TIMEOUT = 60.0

T = G3FrameType.Timepoint
S = G3FrameType.Scan
C = G3FrameType.Calibration


def make_frame(frame_type: Any, seq: int, payload: int = 0) -> G3Frame:
    """A frame carrying its sequence number and ``payload`` float64 values."""
    frame = G3Frame(frame_type)
    frame["seq"] = seq
    if payload:
        frame["data"] = G3VectorDouble(np.arange(payload, dtype=np.float64) + seq)
    return frame


def seqs(frames: Iterable[G3Frame]) -> list[int]:
    """Sequence numbers of ``frames``."""
    return [f["seq"] for f in frames]


def types(frames: Iterable[G3Frame]) -> list[int]:
    """Frame type codes of ``frames``."""
    return [int(f.type) for f in frames]


def decode_all(data: bytes) -> list[G3Frame]:
    """Decode a complete byte stream; raises if it ends inside a frame."""
    dec = FrameDecoder()
    dec.feed(data)
    frames = dec.frames()
    dec.close()
    return frames


def wait_until(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    """Poll a readiness condition until it holds; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    wake = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached within the time limit")
        wake.wait(0.005)


class Background:
    """Run a function in a daemon thread; ``result()`` joins with a timeout."""

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._value: Any = None
        self._error: BaseException | None = None
        self.done = threading.Event()

        def run() -> None:
            try:
                self._value = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - re-raised in result()
                self._error = exc
            finally:
                self.done.set()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def result(self, timeout: float = TIMEOUT) -> Any:
        """The function's return value (its exception is re-raised)."""
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise AssertionError(f"background call did not finish within {timeout} s")
        if self._error is not None:
            raise self._error
        return self._value


def read_source(
    source: Any, restarts: list[int] | None = None, limit: int | None = None
) -> list[G3Frame]:
    """Drive a byte source and a FrameDecoder the way G3Reader does.

    ``StreamRestart`` resets the decoder (the bytes it dropped are appended
    to ``restarts``); a source that ends inside a frame raises
    ``TruncatedFrameError``. With ``limit``, stop after that many frames.
    """
    dec = FrameDecoder()
    frames: list[G3Frame] = []
    while True:
        try:
            data = source.read(1 << 20)
        except StreamRestart:
            dropped = dec.reset()
            if restarts is not None:
                restarts.append(dropped)
            continue
        if not data:
            if not dec.at_boundary:
                raise TruncatedFrameError("stream ended inside a frame", dec.offset)
            return frames
        dec.feed(data)
        while (frame := dec.next_frame()) is not None:
            frames.append(frame)
            if limit is not None and len(frames) >= limit:
                return frames


def connect_client(port: int, rcvbuf: int | None = None, host: str = "127.0.0.1") -> socket.socket:
    """A plain TCP client of a listening sender (optionally with a tiny receive buffer)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(TIMEOUT)
    try:
        sock.connect((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def small_buffer_listener(rcvbuf: int = 4096) -> socket.socket:
    """A listening IPv4 socket whose connections have a tiny receive buffer (set before the handshake)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    sock.settimeout(TIMEOUT)
    return sock


def recv_all(sock: socket.socket) -> bytes:
    """Read until the peer closes (each recv bounded by the socket timeout)."""
    chunks = []
    while True:
        data = sock.recv(1 << 20)
        if not data:
            break
        chunks.append(data)
    sock.close()
    return b"".join(chunks)


def free_port() -> int:
    """A port that was free a moment ago (for peers that cannot bind port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def python_env() -> dict[str, str]:
    """Environment for a Python subprocess that can import g3stream from this tree."""
    env = dict(os.environ)
    src = os.path.join(os.path.dirname(__file__), "..", "..", "src")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.path.abspath(src), env.get("PYTHONPATH")]))
    return env


def spawn_python(code: str, *args: str) -> subprocess.Popen[bytes]:
    """Start ``code`` in a separate Python process (stdin/stdout piped)."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=python_env(),
    )


def finish(proc: subprocess.Popen[bytes], timeout: float = SUBPROCESS_TIMEOUT) -> tuple[str, str]:
    """Wait for a subprocess with a hard limit (killed when over it); return its output."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=10)
        raise AssertionError(
            f"subprocess timed out; stderr:\n{err.decode(errors='replace')}"
        ) from None
    return out.decode(errors="replace"), err.decode(errors="replace")


def netcat() -> str | None:
    """Path of the ``nc`` command, or None."""
    return shutil.which("nc")
