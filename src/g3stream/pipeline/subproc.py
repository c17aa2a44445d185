"""Subproc: run one pipeline module in a child process (``pipe.Add(..., subprocess=True)``).

Frames travel to the child and back in their serialized form over a socket
pair, so the child can work on one frame while the parent process prepares
the next.  Outputs come back in order but not necessarily on the same call:
a call returns whatever the child has finished so far, and the
EndProcessing frame waits for everything still outstanding.  The module's
state lives in the child; changes it makes to its own attributes are not
seen by the parent.

Needs the ``fork`` start method (Linux, other Unix); elsewhere the module
runs in this process.
"""

from __future__ import annotations

import logging
import multiprocessing
import select
import socket
import struct
import traceback
from typing import Any

from ..codec.container import decode_frame, encode_frame_bytes
from ..frame import G3Frame, G3FrameType
from .errors import G3PipelineError
from .module import G3Module, Processor, frames_out

__all__ = ["Subproc", "can_fork"]

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<BQ")  # kind, payload length
_KIND_FRAMES = 0
_KIND_ERROR = 1
_COUNT = struct.Struct("<I")
_LENGTH = struct.Struct("<Q")


def can_fork() -> bool:
    """Whether modules can run in forked child processes here."""
    return "fork" in multiprocessing.get_all_start_methods()


def _pack_frames(frames: list[G3Frame]) -> bytes:
    parts = [_COUNT.pack(len(frames))]
    for f in frames:
        raw = encode_frame_bytes(f)
        parts += [_LENGTH.pack(len(raw)), raw]
    return b"".join(parts)


def _unpack_frames(payload: bytes) -> list[G3Frame]:
    (n,) = _COUNT.unpack_from(payload, 0)
    pos = _COUNT.size
    out = []
    for _ in range(n):
        (size,) = _LENGTH.unpack_from(payload, pos)
        pos += _LENGTH.size
        out.append(decode_frame(payload[pos : pos + size]))
        pos += size
    return out


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _child_main(
    sock: socket.socket, parent_end: socket.socket, process: Processor, name: str
) -> None:
    """The child's loop: frames in, the module's output frames (or its error) out."""
    parent_end.close()  # so that the parent going away reads as end of input
    while True:
        head = _recv_exact(sock, _HEADER.size)
        if head is None:
            return
        _, size = _HEADER.unpack(head)
        payload = _recv_exact(sock, size)
        if payload is None:
            return
        (frame,) = _unpack_frames(payload)
        try:
            out = frames_out(process(frame), frame, name)
            reply, kind = _pack_frames(out), _KIND_FRAMES
        except BaseException as exc:  # reported to the parent, which raises
            text = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
            reply, kind = text.encode("utf-8", "replace"), _KIND_ERROR
        sock.sendall(_HEADER.pack(kind, len(reply)) + reply)
        if kind == _KIND_ERROR or frame.type == G3FrameType.EndProcessing:
            return


class Subproc(G3Module):
    """Runs the frame processor ``target`` in a forked child process.

    At most ``maxqueuelen`` frames are outstanding in the child; beyond
    that, calls wait for it.  An exception in the child stops the pipeline
    with a ``G3PipelineError`` carrying the child's traceback.
    """

    def __init__(self, target: Processor, name: str | None = None, maxqueuelen: int = 50) -> None:
        self.target = target
        self.name = name or getattr(target, "__name__", type(target).__name__)
        self.maxqueuelen = max(1, int(maxqueuelen))
        self._sock: socket.socket | None = None
        self._child: Any = None
        self._outbuf = bytearray()
        self._inbuf = bytearray()
        self._outstanding = 0

    def _start(self) -> None:
        ours, theirs = socket.socketpair()
        ctx = multiprocessing.get_context("fork")
        self._child = ctx.Process(
            target=_child_main,
            args=(theirs, ours, self.target, self.name),
            name=self.name,
            daemon=True,
        )
        self._child.start()
        theirs.close()
        ours.setblocking(False)
        self._sock = ours

    def Process(self, frame: G3Frame | None) -> list[G3Frame]:
        """Queue ``frame`` for the child; return the outputs that are ready."""
        if frame is None:
            raise G3PipelineError(f'module "{self.name}" cannot be a first module in a subprocess')
        if self._sock is None:
            self._start()
        payload = _pack_frames([frame])
        self._outbuf += _HEADER.pack(_KIND_FRAMES, len(payload)) + payload
        self._outstanding += 1
        ending = frame.type == G3FrameType.EndProcessing
        ready: list[G3Frame] = []
        # wait only when we must: to finish, or when too much is queued
        while True:
            must_wait = (ending and self._outstanding > 0) or self._outstanding >= self.maxqueuelen
            self._exchange(ready, timeout=1.0 if must_wait else 0.0)
            if not must_wait:
                break
        if ending:
            self._finish()
        return ready

    def _exchange(self, ready: list[G3Frame], timeout: float) -> None:
        assert self._sock is not None
        sock = self._sock
        writers = [sock] if self._outbuf else []
        readable, writable, _ = select.select([sock], writers, [], timeout)
        if writable:
            try:
                sent = sock.send(self._outbuf)
                del self._outbuf[:sent]
            except BlockingIOError:
                pass
        if not readable:
            return
        try:
            chunk: bytes | None = sock.recv(1 << 20)
        except BlockingIOError:
            chunk = None
        if chunk:
            self._inbuf += chunk
        self._take_replies(ready)
        if chunk == b"" and self._outstanding > 0:
            self._fail("ended its subprocess unexpectedly")

    def _take_replies(self, ready: list[G3Frame]) -> None:
        buf = self._inbuf
        while len(buf) >= _HEADER.size:
            kind, size = _HEADER.unpack_from(buf, 0)
            if len(buf) < _HEADER.size + size:
                return
            payload = bytes(buf[_HEADER.size : _HEADER.size + size])
            del buf[: _HEADER.size + size]
            if kind == _KIND_ERROR:
                self._fail("failed in its subprocess:\n" + payload.decode("utf-8", "replace"))
            ready += _unpack_frames(payload)
            self._outstanding -= 1

    def _fail(self, why: str) -> None:
        self._finish()
        raise G3PipelineError(f'module "{self.name}" {why}', self.name)

    def _finish(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._child is not None:
            self._child.join(timeout=10)
            if self._child.is_alive():
                self._child.terminate()
                self._child.join(timeout=5)
            self._child = None

    def __del__(self) -> None:
        try:
            self._finish()
        except Exception:  # interpreter shutdown: nothing left to clean
            pass
