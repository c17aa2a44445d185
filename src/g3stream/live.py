"""A live reader for notebooks and monitors: the latest frames of a stream, kept in memory.

:class:`LiveReader` reads a source (anything :class:`~g3stream.io.G3Reader`
reads, or any iterable of frames such as a
:class:`~g3stream.sim.SimulatedDAQ`) in a background thread and keeps the
last frames of each type in ring buffers.  The caller asks, without
blocking on the stream:

* :meth:`LiveReader.latest` - the newest frame of a type;
* :meth:`LiveReader.frames` - the last ``n`` frames of a type;
* :meth:`LiveReader.timestream` - the last seconds of detector
  timestreams from the Scan frames, as numpy arrays;
* :meth:`LiveReader.scalars` - a numeric key of a frame type over time;
* :meth:`LiveReader.health` - connected, reconnects, age of the last frame.

Memory is bounded by the ring sizes whatever the stream rate.  The reading
thread does no more per frame than a ring append and the observers that
were added (:meth:`LiveReader.add_observer`), so a notebook kernel or a web
server reading the rings never slows the stream down.  Use it as a context
manager::

    with LiveReader("tcp://daq:4536", reconnect=True) as live:
        live.wait_for("Scan", timeout=10)
        win = live.timestream("RawTimestreams_I", seconds=30)
        plt.plot(win.times - win.times[-1], win.values.T)
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .frame import G3Frame, G3FrameType
from .io import G3Reader  # type: ignore[attr-defined]
from .objects.time import TICKS_PER_SECOND

log = logging.getLogger(__name__)

__all__ = [
    "Health",
    "LiveReader",
    "SourceLiveness",
    "TimestreamWindow",
    "frame_type",
    "is_timestream_map",
]

#: Frames kept per type unless the caller says otherwise.
DEFAULT_HISTORY = 64
#: Seconds without a frame after which a stream counts as stale.
DEFAULT_STALE_AFTER = 3.0

#: An observer sees every frame as it arrives: (frame, its size in bytes, arrival time).
Observer = Callable[[G3Frame, int, float], None]


def frame_type(value: G3FrameType | int | str) -> G3FrameType:
    """A frame type from a G3FrameType, a code, a name (``"Scan"``) or a code letter (``"S"``)."""
    if isinstance(value, str) and value in G3FrameType.names:
        return G3FrameType.names[value]
    return G3FrameType(value)


def is_timestream_map(value: Any) -> bool:
    """True for a timestream map (a G3TimestreamMap, or a G3SuperTimestream read as one)."""
    return type(value).__name__ == "G3TimestreamMap"


@dataclass(frozen=True)
class Health:
    """The state of the stream at one moment.

    ``connected`` is whether the source is delivering (for a network source:
    a connection is open); ``reconnects`` counts outages survived;
    ``last_frame_age_s`` is the time since the last frame (None before the
    first); ``state`` is one of ``waiting``, ``streaming``, ``stale``
    (no frame for ``stale_after`` seconds), ``disconnected``, ``ended`` or
    ``error``; ``ok`` is True only while streaming.
    """

    connected: bool
    reconnects: int
    last_frame_age_s: float | None
    state: str
    frames: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True while frames arrive (the state a monitor shows green)."""
        return self.state == "streaming"


@dataclass(frozen=True)
class TimestreamWindow:
    """Detector samples over a span of time.

    ``times`` are the sample times in seconds since 1970 (UTC), shape
    ``(n,)``; ``values`` has shape ``(len(channels), n)``; ``channels``
    names the rows.  Channels missing from a frame give NaN there.
    """

    key: str
    channels: list[str]
    times: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return int(self.times.shape[0])


class SourceLiveness:
    """Connection state of a reader: connected, and outages survived.

    The one place that knows how liveness is read.  A reader with a
    ``statistics()`` method (fields ``connected`` and ``reconnects``) is
    asked directly.  Otherwise both are derived from frame arrivals, which
    the owner reports with :meth:`arrived`: the source counts as connected
    while the last frame is at most ``stale_after`` seconds old, and each
    return of frames after a longer silence counts as one reconnect.
    """

    def __init__(self, reader: Any, stale_after: float = DEFAULT_STALE_AFTER) -> None:
        self.reader = reader
        self.stale_after = float(stale_after)
        self._last: float | None = None
        self._outages = 0
        self._lock = threading.Lock()

    def arrived(self, when: float | None) -> None:
        """Report the arrival time (``time.time()``) of the latest frame (None: none yet)."""
        if when is None:
            return
        with self._lock:
            last = self._last
            if last is not None and when > last:
                if when - last > self.stale_after:
                    self._outages += 1
            if last is None or when > last:
                self._last = when

    def last_arrival(self) -> float | None:
        """The latest arrival reported (``time.time()``), None before the first."""
        with self._lock:
            return self._last

    def status(self) -> tuple[bool | None, int, float | None]:
        """(connected, reconnects, seconds since the last frame); None where nothing is known."""
        stats = getattr(self.reader, "statistics", None)
        if callable(stats):
            s = stats()
            if hasattr(s, "connected") and hasattr(s, "reconnects"):
                age = getattr(s, "last_frame_age_s", None)
                return bool(s.connected), int(s.reconnects), age
        with self._lock:
            last, outages = self._last, self._outages
        if last is None:
            return None, outages, None
        age = max(0.0, time.time() - last)
        return age <= self.stale_after, outages, age


class LiveReader:
    """Reads a stream in a background thread and keeps its recent frames per type.

    ``source`` is a file name or URL (read with ``G3Reader(source,
    **reader_options)``, for example ``reconnect=True`` or ``timeout=5``), a
    G3Reader-like driving module, or an iterable of frames.  ``history`` is
    the number of frames kept per type; ``history_per_type`` overrides it for
    some types (``{"Scan": 120, "Timepoint": 2000}``).  ``stale_after`` is the silence, in seconds, after which
    :meth:`health` reports the stream stale.
    """

    def __init__(
        self,
        source: str | Any,
        history: int = DEFAULT_HISTORY,
        history_per_type: Mapping[G3FrameType | int | str, int] | None = None,
        stale_after: float = DEFAULT_STALE_AFTER,
        **reader_options: Any,
    ) -> None:
        if history < 1:
            raise ValueError("history must be at least 1")
        self.source = source
        self.history = int(history)
        self.history_per_type = {frame_type(t): int(n) for t, n in (history_per_type or {}).items()}
        self.stale_after = float(stale_after)
        self.reader_options = reader_options
        self.error: BaseException | None = None
        self._rings: dict[G3FrameType, deque[tuple[float, G3Frame]]] = {}
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._observers: list[Observer] = []
        self._frames = 0
        self._per_type: dict[G3FrameType, int] = {}
        self._last_arrival: float | None = None
        self._stop = threading.Event()
        self._ended = False
        self._reader: Any = None
        self._liveness: SourceLiveness | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ----------------------------------------------------------
    def start(self) -> LiveReader:
        """Open the source (errors surface here) and start reading in the background."""
        if self._thread is not None:
            raise RuntimeError("LiveReader already started")
        src = self.source
        if isinstance(src, str):
            self._reader = G3Reader(src, **self.reader_options)
        elif self.reader_options:
            raise TypeError("reader options apply only to a source given by name")
        else:
            self._reader = src
        self._liveness = SourceLiveness(self._reader, self.stale_after)
        self._thread = threading.Thread(target=self._run, name="g3stream-live", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop reading and close the source; waits up to ``timeout`` s for the thread."""
        self._stop.set()
        halt = getattr(self._reader, "halt", None)
        if callable(halt):
            halt()
        close = getattr(self._reader, "close", None)
        if callable(close) and isinstance(self.source, str):
            close()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._arrived:
            self._arrived.notify_all()

    close = stop

    def __enter__(self) -> LiveReader:
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """True while the background thread reads."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def reader(self) -> Any:
        """The underlying reader (a G3Reader for a named source)."""
        return self._reader

    def add_observer(self, observer: Observer) -> None:
        """Call ``observer(frame, nbytes, arrival_time)`` in the reading thread for every frame.

        Observers must be quick: they run before the next frame is read.
        """
        self._observers.append(observer)

    # -- reading thread ------------------------------------------------------
    def _source_frames(self) -> Iterator[G3Frame]:
        reader = self._reader
        if callable(reader):
            while not self._stop.is_set():
                frames = reader(None)
                if not frames:
                    return
                yield from frames
        else:
            yield from reader

    def _run(self) -> None:
        try:
            for frame in self._source_frames():
                if self._stop.is_set():
                    break
                self._add(frame)
        except BaseException as exc:  # noqa: BLE001 - reported through health()
            if not self._stop.is_set():
                log.warning("live reader stopped: %s", exc)
                self.error = exc
        finally:
            with self._arrived:
                self._ended = True
                self._arrived.notify_all()

    def _add(self, frame: G3Frame) -> None:
        now = time.time()
        nbytes = len(frame.encoded()) if self._observers else 0
        t = frame.type
        with self._arrived:
            ring = self._rings.get(t)
            if ring is None:
                ring = self._rings[t] = deque(maxlen=self.history_per_type.get(t, self.history))
            ring.append((now, frame))
            self._frames += 1
            self._per_type[t] = self._per_type.get(t, 0) + 1
            self._last_arrival = now
            self._arrived.notify_all()
        if self._liveness is not None:
            self._liveness.arrived(now)
        for observer in self._observers:
            observer(frame, nbytes, now)

    # -- queries -------------------------------------------------------------
    def received(self, type: G3FrameType | int | str | None = None) -> int:  # noqa: A002
        """Frames of ``type`` (of every type when None) received since the start."""
        with self._lock:
            return self._frames if type is None else self._per_type.get(frame_type(type), 0)

    def types(self) -> list[G3FrameType]:
        """The frame types seen so far, in order of first arrival."""
        with self._lock:
            return list(self._rings)

    def latest(self, type: G3FrameType | int | str) -> G3Frame | None:  # noqa: A002
        """The newest frame of ``type``, or None if none arrived yet."""
        with self._lock:
            ring = self._rings.get(frame_type(type))
            return ring[-1][1] if ring else None

    def frames(self, type: G3FrameType | int | str, n: int | None = None) -> list[G3Frame]:  # noqa: A002
        """The last ``n`` frames of ``type`` (all that are kept when ``n`` is None), oldest first."""
        return [f for _, f in self._entries(frame_type(type), n)]

    def arrivals(
        self,
        type: G3FrameType | int | str,  # noqa: A002
        n: int | None = None,
    ) -> list[tuple[float, G3Frame]]:
        """The last ``n`` frames of ``type`` with their arrival times (seconds since 1970)."""
        return self._entries(frame_type(type), n)

    def _entries(self, t: G3FrameType, n: int | None) -> list[tuple[float, G3Frame]]:
        with self._lock:
            ring = self._rings.get(t)
            if not ring:
                return []
            entries = list(ring)
        return entries if n is None else entries[-n:] if n > 0 else []

    def wait_for(
        self,
        type: G3FrameType | int | str | None = None,  # noqa: A002
        timeout: float | None = None,
        count: int = 1,
    ) -> bool:
        """Wait until ``count`` frames of ``type`` (any type when None) were received in all.

        Returns False when ``timeout`` passes or the stream ends first.
        """
        t = None if type is None else frame_type(type)
        end = None if timeout is None else time.monotonic() + timeout

        def have() -> bool:
            return (self._frames if t is None else self._per_type.get(t, 0)) >= count

        with self._arrived:
            while not have():
                if self._ended:
                    return False
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._arrived.wait(left if left is not None else 1.0)
            return True

    def health(self) -> Health:
        """Connected, reconnects and the age of the last frame, now."""
        with self._lock:
            last, frames, ended = self._last_arrival, self._frames, self._ended
        age = None if last is None else max(0.0, time.time() - last)
        connected, reconnects, _ = self._liveness.status() if self._liveness else (None, 0, None)
        if connected is None:  # nothing arrived yet
            connected = False
        if self.error is not None:
            state = "error"
        elif ended:
            state = "ended"
        elif not connected:
            state = "disconnected"
        elif age is None:
            state = "waiting"
        elif age > self.stale_after:
            state = "stale"
        else:
            state = "streaming"
        err = None if self.error is None else str(self.error)
        return Health(bool(connected and not ended), reconnects, age, state, frames, err)

    def timestream_keys(self, type: G3FrameType | int | str = "Scan") -> list[str]:  # noqa: A002
        """Keys of the newest frame of ``type`` that hold timestream maps."""
        frame = self.latest(type)
        if frame is None:
            return []
        keys = []
        for k in sorted(frame.keys()):
            try:
                if is_timestream_map(frame[k]):
                    keys.append(k)
            except Exception:  # an undecodable entry is simply not offered  # noqa: BLE001
                continue
        return keys

    def channels(self, key: str, type: G3FrameType | int | str = "Scan") -> list[str]:  # noqa: A002
        """The channel names of timestream map ``key`` in the newest frame of ``type``."""
        frame = self.latest(type)
        if frame is None or key not in frame:
            return []
        value = frame[key]
        return sorted(value.keys()) if is_timestream_map(value) else []

    def timestream(
        self,
        key: str,
        channels: Sequence[str] | None = None,
        seconds: float = 10.0,
        type: G3FrameType | int | str = "Scan",  # noqa: A002
        default_channels: int = 4,
    ) -> TimestreamWindow:
        """The last ``seconds`` of timestream map ``key`` (channels: the first few by default).

        Samples come from the kept frames of ``type``, oldest first; a window
        longer than what the ring holds is cut to what it holds.
        """
        entries = self._entries(frame_type(type), None)
        if channels is None:
            channels = self.channels(key, type)[:default_channels]
        names = list(channels)
        chunks_t: list[np.ndarray] = []
        chunks_v: list[np.ndarray] = []
        newest: float | None = None
        for _, frame in reversed(entries):
            if key not in frame:
                continue
            tsm = frame[key]
            if not is_timestream_map(tsm) or not len(tsm):
                continue
            times = _sample_times(tsm)
            if times is None:
                continue
            if newest is None:
                newest = float(times[-1])
            block = np.full((len(names), times.shape[0]), np.nan)
            for row, name in enumerate(names):
                if name in tsm:
                    data = np.asarray(tsm[name], dtype=np.float64)
                    block[row, : data.shape[0]] = data[: times.shape[0]]
            chunks_t.append(times)
            chunks_v.append(block)
            if float(times[0]) <= newest - seconds:
                break
        if not chunks_t or newest is None:
            return TimestreamWindow(key, names, np.empty(0), np.empty((len(names), 0)))
        times = np.concatenate(chunks_t[::-1])
        values = np.concatenate(chunks_v[::-1], axis=1)
        keep = times > newest - seconds
        return TimestreamWindow(key, names, times[keep], values[:, keep])

    def scalar_keys(self, type: G3FrameType | int | str) -> list[str]:  # noqa: A002
        """Keys of the newest frame of ``type`` whose values are plain numbers."""
        frame = self.latest(type)
        if frame is None:
            return []
        out = []
        for k in sorted(frame.keys()):
            try:
                if _number(frame[k]) is not None:
                    out.append(k)
            except Exception:  # noqa: BLE001 - undecodable entries are not offered
                continue
        return out

    def scalars(
        self,
        type: G3FrameType | int | str,  # noqa: A002
        key: str,
        n: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(arrival times, values) of numeric ``key`` over the last ``n`` kept frames of ``type``.

        Frames without the key, or where it is not a number, are left out.
        """
        times, values = [], []
        for t, frame in self._entries(frame_type(type), n):
            if key not in frame:
                continue
            try:
                v = _number(frame[key])
            except Exception:  # noqa: BLE001 - an undecodable value is left out
                v = None
            if v is not None:
                times.append(t)
                values.append(v)
        return np.asarray(times, dtype=np.float64), np.asarray(values, dtype=np.float64)


def _number(value: Any) -> float | None:
    """``value`` as a float if it is a plain number (bool, int, float, G3Time), else None."""
    if isinstance(value, bool | int | float | np.integer | np.floating):
        return float(value)
    if type(value).__name__ == "G3Time":
        return float(value.time) / TICKS_PER_SECOND
    return None


def _sample_times(tsm: Any) -> np.ndarray | None:
    """Sample times (seconds since 1970) of the timestreams of a map, from its first member."""
    first = tsm[next(iter(tsm.keys()))]
    n = len(first)
    if n == 0:
        return None
    start = float(first.start.time) / TICKS_PER_SECOND
    stop = float(first.stop.time) / TICKS_PER_SECOND
    if n == 1 or stop <= start:
        rate = float(first.sample_rate) * TICKS_PER_SECOND
        step = 1.0 / rate if rate > 0 else 0.0
        return start + step * np.arange(n)
    return np.linspace(start, stop, n)
