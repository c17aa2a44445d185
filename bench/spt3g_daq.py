"""A stand-in data-acquisition process: spt3g's G3NetworkSender in listen mode.

Run as a script (it needs the reference implementation, ``spt3g``)::

    python bench/spt3g_daq.py PORT --frames N --rate HZ [--boot-time SECONDS]

After SECONDS (a DAQ's start-up time, default 0) it binds PORT, prints ``bound PORT``, then emits an Observation frame and N
Timepoint frames (``SampleIndex`` 0..N-1, ``EventHeader`` the time of
emission) at HZ frames per second, as a DAQ does: whether or not a reader is
connected.  A thread watches the kernel's table of TCP connections (Linux
``/proc/net/tcp*``) for an established connection to PORT, and at the end
the DAQ prints ``first_connected I``: the first SampleIndex emitted once the
watcher had seen a reader connected (-1: none), so a test can tell frames
emitted before any reader could receive them from frames lost afterwards.  The last
line is ``emitted N``.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

_ESTABLISHED = "01"


def connected_to(port: int) -> bool:
    """True when the kernel holds an established TCP connection whose local port is ``port``."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state = fields[1], fields[3]
            if state == _ESTABLISHED and int(local.rsplit(":", 1)[1], 16) == port:
                return True
    return False


def main() -> int:
    """Emit the frames through a listening G3NetworkSender; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--boot-time", type=float, default=0.0)
    args = parser.parse_args()

    from spt3g import core

    time.sleep(args.boot_time)  # the scenario's start-up time, not a synchronisation
    sender = core.G3NetworkSender(hostname="*", port=args.port, max_queue_size=0)
    print(f"bound {args.port}", flush=True)
    # Scanning the connection table takes milliseconds: a watcher thread does it,
    # so that the DAQ keeps its rate.  It can only notice a connection late,
    # which makes first_connected an upper bound.
    seen = threading.Event()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set() and not connected_to(args.port):
            done.wait(0.005)
        seen.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    state = {"next": -1, "first_connected": -1}
    period = 1.0 / args.rate
    bound = time.monotonic()
    start = 0.0  # the sample clock starts with the first sample

    def emit(frame: object) -> object:
        nonlocal start
        i = state["next"]
        if i >= args.frames:
            return []
        state["next"] = i + 1
        if i < 0:
            obs = core.G3Frame(core.G3FrameType.Observation)
            obs["source"] = "spt3g_daq"
            return obs
        if i == 0:
            start = time.monotonic()
            print(f"pipeline started {start - bound:.3f} s after binding", flush=True)
        wait = start + i * period - time.monotonic()
        if wait > 0:
            time.sleep(wait)  # the DAQ's own sample clock
        if state["first_connected"] < 0 and seen.is_set():
            state["first_connected"] = i
        f = core.G3Frame(core.G3FrameType.Timepoint)
        f["SampleIndex"] = i
        f["EventHeader"] = core.G3Time.Now()
        return f

    pipe = core.G3Pipeline()
    pipe.Add(emit)
    pipe.Add(sender)
    pipe.Run()
    done.set()
    watcher.join()
    print(f"first_connected {state['first_connected']}", flush=True)
    print(f"emitted {args.frames}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
