"""A simulated DAQ for the browser tests: the simulated stream, with a known sine on one channel.

Run as ``python daq.py --port N [--rate HZ]``: serves on 127.0.0.1:N (0: a
free port) and prints ``serving on port N``, then ``sent N T`` about four
times a second: N Timepoint frames sent by monotonic time T (the rate it
really sends, which a loaded machine may hold below HZ).  The first detector's
timestream in every Scan frame is replaced by ``OFFSET + AMPLITUDE *
sin(2 pi FREQUENCY t)`` at the sample times, so a plot of it has a known
shape.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from g3stream import G3NetworkSender, G3Timestream
from g3stream.frame import G3FrameType
from g3stream.sim import SimulatedDAQ

OFFSET = 1000.0
AMPLITUDE = 100.0
FREQUENCY = 0.5
DETECTORS = 4
SAMPLES_PER_SCAN = 500
KEY = "RawTimestreams_I"


def make_daq(rate: float) -> SimulatedDAQ:
    """The simulated DAQ the tests read (real time)."""
    return SimulatedDAQ(
        n_detectors=DETECTORS,
        sample_rate=rate,
        samples_per_scan=SAMPLES_PER_SCAN,
        start_time="now",
        realtime=True,
    )


def sine_channel(daq: SimulatedDAQ) -> str:
    """The detector that carries the sine."""
    return daq.detectors[0]


def inject(frame: object, channel: str) -> None:
    """Replace ``channel`` of a Scan frame's timestreams by the known sine."""
    tsm = frame[KEY]  # type: ignore[index]
    old = tsm[channel]
    n = len(old)
    t0 = old.start.time / 1e8
    t1 = old.stop.time / 1e8
    times = np.linspace(t0, t1, n) if n > 1 else np.array([t0])
    new = G3Timestream(OFFSET + AMPLITUDE * np.sin(2 * np.pi * FREQUENCY * times))
    new.units = old.units
    new.start = old.start
    new.stop = old.stop
    tsm[channel] = new
    del frame[KEY]  # type: ignore[attr-defined]
    frame[KEY] = tsm  # type: ignore[index]


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--rate", type=float, default=1000.0)
    args = p.parse_args()
    daq = make_daq(args.rate)
    channel = sine_channel(daq)
    sender = G3NetworkSender(hostname="*", port=args.port, bind_address="127.0.0.1")
    print(f"serving on port {sender.port}", flush=True)
    sent = 0
    next_report = time.monotonic()
    try:
        for frame in daq:
            if frame.type == G3FrameType.Scan:
                inject(frame, channel)
            sender(frame)
            if frame.type == G3FrameType.Timepoint:
                sent += 1
                now = time.monotonic()
                if now >= next_report:
                    print(f"sent {sent} {now:.6f}", flush=True)
                    next_report = now + 0.25
    except KeyboardInterrupt:
        pass
    finally:
        sender.Close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
