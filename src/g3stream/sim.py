"""A simulated data-acquisition (DAQ) source: a driving module for any pipeline.

:class:`SimulatedDAQ` produces a stream shaped like a telescope's live data:

* first an Observation frame, a Wiring frame and a Calibration frame;
* then Timepoint frames at ``sample_rate`` (152.6 Hz by default, the SPT-3G
  sample rate), each carrying its time stamp (``EventHeader``, a G3Time),
  its sample number (``SampleIndex``) and one sample per detector
  (``Samples``, a G3VectorDouble in the detector order of the Wiring frame);
* after every ``samples_per_scan`` Timepoints, a Scan frame holding the same
  samples as a G3TimestreamMap (``RawTimestreams_I``), one G3Timestream per
  detector, with the scan number and the scan's start and stop times;
* every ``metadata_interval`` scans, the Wiring and Calibration frames again
  (as a DAQ does when its configuration is re-read).

The output is a pure function of the constructor arguments: the same seed,
start time and sizes give the same frames, byte for byte.  With
``realtime=True`` frames are released at the pace of their time stamps (a
live source for demonstrations and latency tests); otherwise they come as
fast as they can be made.

Use it as the first module of a pipeline::

    pipe.Add(SimulatedDAQ, n_detectors=32, n_samples=1526, seed=7)

or iterate it directly: ``for frame in SimulatedDAQ(n_samples=100): ...``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import objects as _objects
from .frame import G3Frame, G3FrameType
from .objects.time import TICKS_PER_SECOND, G3Time

log = logging.getLogger(__name__)

__all__ = ["SimulatedDAQ", "SPT3G_SAMPLE_RATE", "DEFAULT_START_TIME"]

#: The sample rate of the SPT-3G readout, in Hz.
SPT3G_SAMPLE_RATE = 152.587890625

#: The time stamp of the first sample unless another is given (2026-01-01 UTC).
DEFAULT_START_TIME = G3Time("2026-01-01T00:00:00Z")

_WAFERS = ("w172", "w174", "w176", "w177", "w180", "w181", "w187", "w188", "w201", "w203")
_BANDS = (95, 150, 220)
_POLS = ("x", "y")


def _object_class(name: str) -> Any:
    """A frame-object class by its spt3g name, with a clear error when not available."""
    cls = getattr(_objects, name, None)
    if cls is None:
        raise RuntimeError(f"the simulated DAQ needs the frame-object class {name}")
    return cls


def detector_names(n: int) -> list[str]:
    """``n`` plausible detector names (``w172/95/0000x`` style), unique and sorted."""
    names = []
    for i in range(n):
        wafer = _WAFERS[i % len(_WAFERS)]
        band = _BANDS[(i // len(_WAFERS)) % len(_BANDS)]
        pol = _POLS[(i // (len(_WAFERS) * len(_BANDS))) % 2]
        names.append(f"{wafer}/{band}/{i:04d}{pol}")
    return sorted(names)


class SimulatedDAQ:
    """A driving module that simulates a telescope's data-acquisition stream.

    * ``n_detectors``: detectors (timestreams per Scan frame, samples per Timepoint).
    * ``sample_rate``: Timepoint frames per second of simulated time, in Hz.
    * ``samples_per_scan``: Timepoint frames per Scan frame (each timestream's length).
    * ``n_samples``: stop after this many Timepoint frames (a final partial scan
      is still emitted as a Scan frame); ``None`` runs until :meth:`halt`.
    * ``seed``: seed of the random generator: the same seed gives the same stream.
    * ``start_time``: time stamp of the first sample (G3Time, ticks, ISO text or
      datetime); defaults to :data:`DEFAULT_START_TIME`; ``"now"`` is the wall clock.
    * ``metadata_interval``: re-issue the Wiring and Calibration frames every
      this many scans (0 never re-issues them).
    * ``realtime``: release each frame only when the wall clock reaches its time stamp.
    * ``scans``: False leaves out the Scan frames (Timepoints only).
    """

    def __init__(
        self,
        n_detectors: int = 16,
        sample_rate: float = SPT3G_SAMPLE_RATE,
        samples_per_scan: int = 152,
        n_samples: int | None = None,
        seed: int = 0,
        start_time: Any = None,
        metadata_interval: int = 10,
        realtime: bool = False,
        scans: bool = True,
    ) -> None:
        if n_detectors < 1:
            raise ValueError("n_detectors must be at least 1")
        if not sample_rate > 0:
            raise ValueError("sample_rate must be positive")
        if samples_per_scan < 1:
            raise ValueError("samples_per_scan must be at least 1")
        if n_samples is not None and n_samples < 0:
            raise ValueError("n_samples must not be negative")
        self.n_detectors = int(n_detectors)
        self.sample_rate = float(sample_rate)
        self.samples_per_scan = int(samples_per_scan)
        self.n_samples = None if n_samples is None else int(n_samples)
        self.seed = int(seed)
        self.metadata_interval = int(metadata_interval)
        self.realtime = bool(realtime)
        self.scans = bool(scans)
        if start_time is None:
            start = G3Time(DEFAULT_START_TIME)
        elif isinstance(start_time, str) and start_time.lower() == "now":
            start = G3Time.Now()
        else:
            start = G3Time(start_time)
        self.start_time = start
        self.detectors = detector_names(self.n_detectors)

        self._rng = np.random.default_rng(self.seed)
        rng = self._rng
        self._offsets = rng.normal(8000.0, 1500.0, self.n_detectors)
        self._white = rng.uniform(5.0, 15.0, self.n_detectors)
        self._drift_step = rng.uniform(0.2, 1.0, self.n_detectors)
        self._gain = rng.uniform(0.8, 1.2, self.n_detectors)
        self._responsivity = rng.uniform(1.0e-17, 3.0e-17, self.n_detectors)
        self._drift = np.zeros(self.n_detectors)

        self._pending: deque[G3Frame] = deque()
        self._due: deque[float] = deque()  # simulated time (s after start) of each pending frame
        self._sample = 0  # index of the next sample to generate
        self._scan = 0
        self._started = False
        self._finished = False
        self._halt = threading.Event()
        self._wall_start: float | None = None

    # -- control -------------------------------------------------------------
    def halt(self) -> None:
        """Stop the stream: the next call returns no frames (safe from any thread)."""
        self._halt.set()

    @property
    def samples_generated(self) -> int:
        """Timepoint samples produced so far."""
        return self._sample

    # -- frame builders ------------------------------------------------------
    def _time_at(self, sample: int) -> G3Time:
        return G3Time(self.start_time.time + round(sample * TICKS_PER_SECOND / self.sample_rate))

    def observation_frame(self) -> G3Frame:
        """The Observation frame that opens the stream."""
        f = G3Frame(G3FrameType.Observation)
        f["SourceName"] = "simulated-field"
        f["ObservationID"] = 1000 + self.seed
        f["ObservationStart"] = G3Time(self.start_time)
        f["SampleRate"] = self.sample_rate
        f["Simulated"] = True
        f["Seed"] = self.seed
        return f

    def wiring_frame(self) -> G3Frame:
        """The Wiring frame: detector names and the readout channel of each."""
        vector_string = _object_class("G3VectorString")
        map_string = _object_class("G3MapString")
        f = G3Frame(G3FrameType.Wiring)
        f["DetectorNames"] = vector_string(self.detectors)
        wiring = map_string()
        for i, name in enumerate(self.detectors):
            board, rest = divmod(i, 256)
            squid, channel = divmod(rest, 64)
            wiring[name] = f"iceboard{board:03d}/squid{squid}/ch{channel:02d}"
        f["WiringMap"] = wiring
        return f

    def calibration_frame(self) -> G3Frame:
        """The Calibration frame: per-detector responsivity, band and polarization."""
        map_double = _object_class("G3MapDouble")
        map_int = _object_class("G3MapInt")
        map_string = _object_class("G3MapString")
        resp, band, pol = map_double(), map_int(), map_string()
        for i, name in enumerate(self.detectors):
            resp[name] = float(self._responsivity[i])
            band[name] = int(name.split("/")[1])
            pol[name] = name[-1]
        f = G3Frame(G3FrameType.Calibration)
        f["Responsivity"] = resp
        f["BandGHz"] = band
        f["Polarization"] = pol
        f["CalibrationTime"] = self._time_at(self._sample)
        return f

    def _block(self, n: int) -> np.ndarray:
        """The next ``n`` samples of every detector, shape (n_detectors, n)."""
        rng = self._rng
        t = (self._sample + np.arange(n)) / self.sample_rate
        # a scan-synchronous signal common to all detectors, a slow random
        # walk per detector, and white noise
        common = 40.0 * np.sin(2 * np.pi * 0.05 * t)
        steps = rng.normal(0.0, 1.0, (self.n_detectors, n)) * self._drift_step[:, None]
        drift = self._drift[:, None] + np.cumsum(steps, axis=1)
        self._drift = drift[:, -1].copy()
        white = rng.normal(0.0, 1.0, (self.n_detectors, n)) * self._white[:, None]
        return self._offsets[:, None] + self._gain[:, None] * common[None, :] + drift + white

    def _timepoint(self, sample: int, values: np.ndarray) -> G3Frame:
        vector_double = _object_class("G3VectorDouble")
        f = G3Frame(G3FrameType.Timepoint)
        f["EventHeader"] = self._time_at(sample)
        f["SampleIndex"] = sample
        f["Samples"] = vector_double(np.ascontiguousarray(values))
        return f

    def _scan_frame(self, first: int, block: np.ndarray) -> G3Frame:
        timestream = _object_class("G3Timestream")
        timestream_map = _object_class("G3TimestreamMap")
        units = _object_class("G3TimestreamUnits")
        n = block.shape[1]
        start, stop = self._time_at(first), self._time_at(first + n - 1)
        tsm = timestream_map()
        for i, name in enumerate(self.detectors):
            ts = timestream(np.ascontiguousarray(block[i]))
            ts.units = units.Counts
            ts.start = start
            ts.stop = stop
            tsm[name] = ts
        f = G3Frame(G3FrameType.Scan)
        f["ScanNumber"] = self._scan
        f["ScanStart"] = start
        f["ScanStop"] = stop
        f["RawTimestreams_I"] = tsm
        return f

    def _queue(self, frame: G3Frame, due_sample: int) -> None:
        self._pending.append(frame)
        self._due.append(due_sample / self.sample_rate)

    def _refill(self) -> None:
        """Generate the next scan's worth of frames (or the opening metadata)."""
        if not self._started:
            self._started = True
            for f in (self.observation_frame(), self.wiring_frame(), self.calibration_frame()):
                self._queue(f, 0)
            return
        n = self.samples_per_scan
        if self.n_samples is not None:
            n = min(n, self.n_samples - self._sample)
        if n <= 0:
            self._finished = True
            return
        if self._scan and self.metadata_interval and self._scan % self.metadata_interval == 0:
            self._queue(self.wiring_frame(), self._sample)
            self._queue(self.calibration_frame(), self._sample)
        first = self._sample
        block = self._block(n)
        for j in range(n):
            self._queue(self._timepoint(first + j, block[:, j]), first + j)
        self._sample = first + n
        if self.scans:
            self._queue(self._scan_frame(first, block), first + n - 1)
        self._scan += 1

    # -- module protocol -----------------------------------------------------
    def __call__(self, frame: G3Frame | None = None) -> list[G3Frame] | None:
        """Pipeline entry point: called with ``None``, returns the next frames.

        An empty list ends the stream.  Called with a frame (not as the
        first module), the frame is passed on unchanged.
        """
        if frame is not None:
            return None
        if self._halt.is_set():
            return []
        if not self._pending:
            if self._finished:
                return []
            self._refill()
            if not self._pending:
                return []
        if not self.realtime:
            out = list(self._pending)
            self._pending.clear()
            self._due.clear()
            return out
        if self._wall_start is None:
            self._wall_start = time.monotonic()
        wait = self._wall_start + self._due[0] - time.monotonic()
        if wait > 0 and self._halt.wait(wait):
            return []
        self._due.popleft()
        return [self._pending.popleft()]

    def __iter__(self) -> Iterator[G3Frame]:
        """Iterate the frames of the stream (the same frames a pipeline would get)."""
        while True:
            frames = self()
            if not frames:
                return
            yield from frames

    def __repr__(self) -> str:
        return (
            f"SimulatedDAQ(n_detectors={self.n_detectors}, sample_rate={self.sample_rate}, "
            f"samples_per_scan={self.samples_per_scan}, n_samples={self.n_samples}, seed={self.seed})"
        )
