"""asyncio API: read and send G3 frames with ``async with`` / ``async for``.

:class:`AsyncReader` reads any source :class:`~g3stream.io.G3Reader` reads.
A ``tcp://host:port`` stream is received natively on the event loop: an
:class:`asyncio.BufferedProtocol` receives straight into the sans-I/O
:class:`~g3stream.codec.decoder.FrameDecoder` (the same decoder every other
reader uses), with flow control so that a consumer that falls behind pauses
the socket instead of growing a queue.  Every other source (files, listening
addresses, other schemes) is read by a G3Reader in a worker thread, a batch
at a time, so the loop never blocks::

    async with AsyncReader("tcp://daq:4536") as reader:
        async for frame in reader:
            ...

:class:`AsyncSender` serves frames to network clients; it drives the
package's G3NetworkSender (its per-client queues, metadata replay and drop
rules) from a worker thread, so one fan-out implementation serves both
APIs::

    async with AsyncSender(port=4536) as sender:
        await sender.send(frame)
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

from ..codec.decoder import FrameDecoder
from ..errors import G3ConnectionError
from ..frame import G3Frame
from ..io import G3Reader  # type: ignore[attr-defined]
from ..net import G3NetworkSender  # type: ignore[attr-defined]
from ..net.errors import (
    G3ConnectionLostError,
    G3ConnectionRefusedError,
    G3ConnectionTimeoutError,
    G3HostUnresolvableError,
)
from ..net.url import parse_tcp_url

log = logging.getLogger(__name__)

__all__ = ["AsyncReader", "AsyncSender", "read_frames"]

#: Frames decoded and not yet taken before the socket is paused.
HIGH_WATER = 256
#: The socket resumes once the backlog is down to this many frames.
LOW_WATER = 64


class _StreamProtocol(asyncio.BufferedProtocol):
    """Receives a G3 stream into a FrameDecoder; decoded frames wait in a bounded backlog."""

    def __init__(self, decoder: FrameDecoder) -> None:
        self.decoder = decoder
        self.frames: deque[G3Frame] = deque()
        self.error: BaseException | None = None
        self.ended = False
        self.transport: asyncio.Transport | None = None
        self.paused = False
        self.wake = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.decoder.get_buffer(sizehint)

    def buffer_updated(self, nbytes: int) -> None:
        self.decoder.buffer_updated(nbytes)
        try:
            self.frames.extend(self.decoder.frames())
        except Exception as exc:  # noqa: BLE001 - bad data: handed to the consumer in order
            self.error = exc
            if self.transport is not None:
                self.transport.close()
        if len(self.frames) >= HIGH_WATER and not self.paused and self.transport is not None:
            self.transport.pause_reading()
            self.paused = True
        self.wake.set()

    def eof_received(self) -> bool | None:
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None and self.error is None:
            self.error = G3ConnectionLostError(f"connection lost: {exc}")
        elif self.error is None:
            try:
                self.decoder.close()  # a stream cut inside a frame is an error
            except Exception as err:  # noqa: BLE001 - handed to the consumer
                self.error = err
        self.ended = True
        self.wake.set()

    def take(self) -> G3Frame | None:
        """The next decoded frame, or None when none is ready."""
        if not self.frames:
            return None
        frame = self.frames.popleft()
        if self.paused and len(self.frames) <= LOW_WATER and self.transport is not None:
            self.transport.resume_reading()
            self.paused = False
        return frame


class AsyncReader:
    """Reads frames from ``source`` on an asyncio event loop.

    ``source`` is anything G3Reader reads; ``tcp://host:port`` is received
    on the loop itself, the rest in a worker thread.  ``timeout`` bounds
    connecting (seconds; None waits as long as the system does).  Other
    keywords (``max_frame_size``, ``verify_crc``, and for the worker-thread
    sources any G3Reader option) are passed on.  Errors are the package's:
    :class:`~g3stream.errors.G3ConnectionError` subclasses for the network,
    :class:`~g3stream.errors.G3FormatError` subclasses for bad data, raised
    in stream order after the frames that preceded them.
    """

    def __init__(self, source: str, timeout: float | None = None, **options: Any) -> None:
        self.source = source
        self.timeout = timeout
        self.options = options
        self._protocol: _StreamProtocol | None = None
        self._reader: Any = None
        self._batch: deque[G3Frame] = deque()
        self._done = False
        self.frames_read = 0

    @property
    def native(self) -> bool:
        """True when the source is received on the event loop (a connecting ``tcp://``)."""
        if not self.source.startswith("tcp://"):
            return False
        try:
            return not parse_tcp_url(self.source).listen
        except ValueError:
            return False

    async def open(self) -> AsyncReader:
        """Connect or open the source."""
        if self.native:
            await self._connect()
        else:
            self._reader = await asyncio.to_thread(G3Reader, self.source, **self.options)
        return self

    async def _connect(self) -> None:
        addr = parse_tcp_url(self.source)
        decoder = FrameDecoder(**self.options)
        loop = asyncio.get_running_loop()
        where = f"{addr.host}:{addr.port}"
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(lambda: _StreamProtocol(decoder), addr.host, addr.port),
                self.timeout,
            )
        except ConnectionRefusedError as exc:
            raise G3ConnectionRefusedError(f"connection to {where} refused") from exc
        except asyncio.TimeoutError as exc:
            raise G3ConnectionTimeoutError(f"connecting to {where} timed out") from exc
        except OSError as exc:
            if "Name or service not known" in str(exc) or "getaddrinfo" in str(exc):
                raise G3HostUnresolvableError(f"cannot resolve {addr.host}") from exc
            raise G3ConnectionError(f"cannot connect to {where}: {exc}") from exc
        self._protocol = protocol

    async def read(self) -> G3Frame | None:
        """The next frame, or None at the end of the stream."""
        if self._protocol is not None:
            return await self._read_native(self._protocol)
        if self._reader is None:
            raise RuntimeError("AsyncReader is not open (use 'async with' or 'await open()')")
        if not self._batch and not self._done:
            frames = await asyncio.to_thread(self._reader, None)
            if frames:
                self._batch.extend(frames)
            else:
                self._done = True
        if not self._batch:
            return None
        self.frames_read += 1
        return self._batch.popleft()

    async def _read_native(self, p: _StreamProtocol) -> G3Frame | None:
        while True:
            frame = p.take()
            if frame is not None:
                self.frames_read += 1
                return frame
            if p.error is not None:
                err, p.error = p.error, None
                p.ended = True
                raise err
            if p.ended:
                return None
            p.wake.clear()
            await p.wake.wait()

    async def close(self) -> None:
        """Close the connection or the reader."""
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()
        if self._reader is not None:
            await asyncio.to_thread(self._reader.close)

    async def __aenter__(self) -> AsyncReader:
        return await self.open()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __aiter__(self) -> AsyncReader:
        return self

    async def __anext__(self) -> G3Frame:
        frame = await self.read()
        if frame is None:
            raise StopAsyncIteration
        return frame


async def read_frames(source: str, n: int = 0, **options: Any) -> list[G3Frame]:
    """The frames of ``source`` (the first ``n`` when ``n`` > 0), read without blocking the loop."""
    out = []
    async with AsyncReader(source, **options) as reader:
        async for frame in reader:
            out.append(frame)
            if n and len(out) >= n:
                break
    return out


class AsyncSender:
    """Serves frames to network clients from asyncio code.

    The keywords are G3NetworkSender's (``hostname="*"``, ``port``,
    ``max_queue_size``, ``bind_address``, ...).  :meth:`send` hands a frame
    to the sender from a worker thread, so a blocking moment in the sender
    never blocks the loop; frames keep their order when sends are awaited
    one after the other.
    """

    def __init__(self, hostname: str = "*", port: int = 0, **options: Any) -> None:
        self.hostname = hostname
        self.requested_port = port
        self.options = options
        self.sender: Any = None

    @property
    def port(self) -> int:
        """The port the sender listens on (or connects to)."""
        if self.sender is None:
            raise RuntimeError("AsyncSender is not open")
        return int(self.sender.port)

    async def open(self) -> AsyncSender:
        """Bind (or connect)."""
        self.sender = await asyncio.to_thread(
            G3NetworkSender, hostname=self.hostname, port=self.requested_port, **self.options
        )
        return self

    async def send(self, frame: G3Frame) -> None:
        """Queue ``frame`` for every client."""
        if self.sender is None:
            raise RuntimeError("AsyncSender is not open")
        await asyncio.to_thread(self.sender, frame)

    def statistics(self) -> Any:
        """The sender's statistics (frames and bytes sent and dropped, clients, queues)."""
        if self.sender is None:
            raise RuntimeError("AsyncSender is not open")
        return self.sender.statistics()

    async def close(self) -> None:
        """Flush the queues (within the sender's deadline) and close every client."""
        if self.sender is not None:
            await asyncio.to_thread(self.sender.Close)

    async def __aenter__(self) -> AsyncSender:
        return await self.open()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
