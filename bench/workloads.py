"""The frames every benchmark measures, built the same way for g3stream and spt3g.

``lib`` is either ``g3stream.core`` or ``spt3g.core``: both libraries take
the same calls, so one builder serves both.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Detector channels and samples per channel of a large Scan frame (about 8 MB).
CHANNELS = 100
SAMPLES = 10_000
#: A time near 2023, in 10 ns ticks.
TICKS = 1_700_000_000 * 100_000_000


def channel_data(seed: int = 2024) -> np.ndarray:
    """One (channels, samples) float64 block for the large frames to share."""
    return np.random.default_rng(seed).standard_normal((CHANNELS, SAMPLES))


def large_frames(lib: Any, n: int, data: np.ndarray) -> list[Any]:
    """``n`` Scan frames, each holding a G3TimestreamMap of ``data``'s rows."""
    names = [f"det{j:03d}" for j in range(CHANNELS)]
    frames = []
    for i in range(n):
        tsm = lib.G3TimestreamMap()
        for j, name in enumerate(names):
            ts = lib.G3Timestream(data[j])
            ts.start = lib.G3Time(TICKS + i * 10**9)
            ts.stop = lib.G3Time(TICKS + (i + 1) * 10**9)
            tsm[name] = ts
        frame = lib.G3Frame(lib.G3FrameType.Scan)
        frame["RawTimestreams"] = tsm
        frames.append(frame)
    return frames


def small_frames(lib: Any, n: int) -> list[Any]:
    """``n`` Timepoint frames with a G3Time and three integers."""
    frames = []
    for i in range(n):
        frame = lib.G3Frame(lib.G3FrameType.Timepoint)
        frame["EventHeader"] = lib.G3Time(TICKS + i * 655_360)
        frame["Index"] = i
        frame["Board"] = i % 64
        frame["Flags"] = 7
        frames.append(frame)
    return frames


#: A reader process that counts the bytes it receives and prints the total at
#: the end.  ``python -c COUNTING_READER connect 0`` listens (printing its port)
#: for a sender that connects; ``... listen PORT`` connects to a listening
#: sender (printing "connected").
COUNTING_READER = r"""
import socket, sys, time
mode, port = sys.argv[1], int(sys.argv[2])
if mode == "connect":  # the sender connects to us
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    print(listener.getsockname()[1], flush=True)
    conn, _ = listener.accept()
else:  # the sender listens
    deadline = time.monotonic() + 60
    while True:
        try:
            conn = socket.create_connection(("127.0.0.1", port))
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    print("connected", flush=True)
buf = bytearray(1 << 22)
total = 0
while True:
    n = conn.recv_into(buf)
    if not n:
        break
    total += n
print(total, flush=True)
"""
