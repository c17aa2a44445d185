"""Sender CPU per frame: g3stream against spt3g, in the same run.

What one frame costs the sending process (every thread: encoding, queueing,
writing to the socket), measured with ``getrusage`` around the sending loop
(EndProcessing included, so everything queued has been written), with the
receiving end a plain socket in another process that counts the bytes and
decodes nothing.  Frames are built before timing and released once given to
the sender, as a pipeline does.

Workloads (each run in both modes, connect and listen, one client):

* small: Timepoint frames (a G3Time and three integers), CPU in us/frame;
* large: Scan frames of a G3TimestreamMap of 100 channels x 10,000 float64
  samples (8 MB), CPU in ms/frame.

The ratio is spt3g's CPU per frame over g3stream's (above 1: g3stream needs
less), the same convention as the other scripts, so ``compare_trees.py`` can
compare two trees with it.  Each figure is the median of ``--repeat`` runs,
the libraries taking turns.

A run whose reader did not receive every byte is discarded (said so).

Run:  python bench/bench_sender_cpu.py [--only small large] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

from workloads import COUNTING_READER, channel_data, large_frames, small_frames

SMALL_FRAMES = 50_000
LARGE_FRAMES = 200
LIMIT = 600.0


def library(impl: str) -> Any:
    if impl == "spt3g":
        from spt3g import core

        return core
    from g3stream import core as g3core

    return g3core


def role_sender(args: argparse.Namespace) -> None:
    """Build frames, wait for the go, send them, print the CPU used."""
    lib = library(args.impl)
    if args.workload == "small":
        frames = small_frames(lib, args.frames)
    else:
        frames = large_frames(lib, args.frames, channel_data(4536))
    end = lib.G3Frame(lib.G3FrameType.EndProcessing)
    if args.mode == "connect":
        sender = lib.G3NetworkSender(hostname="127.0.0.1", port=args.port)
    else:
        # spt3g's queues are unbounded: give g3stream's byte cap room for the
        # whole stream, so that a reader slowed by a busy machine is not cut off.
        options = {"max_pending_bytes": 4 << 30, "close_timeout": LIMIT}
        if args.impl == "spt3g":
            options = {}
        sender = lib.G3NetworkSender(hostname="*", port=args.port, **options)
        print("listening", flush=True)
    sys.stdin.readline()  # the client is connected
    if args.mode == "listen":
        if args.impl == "g3stream":
            deadline = time.monotonic() + 60
            while sender.statistics().connected_clients < 1 and time.monotonic() < deadline:
                time.sleep(0.001)
        else:
            time.sleep(0.5)  # spt3g accepts in its own thread and reports nothing
    before = resource.getrusage(resource.RUSAGE_SELF)
    for i in range(len(frames)):
        frame, frames[i] = frames[i], None
        sender(frame)
        del frame
    sender(end)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(json.dumps({"cpu": cpu}), flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def frame_bytes(workload: str) -> int:
    """Serialized size of one frame of ``workload`` (every frame has the same size)."""
    from g3stream import core as g3core

    if workload == "small":
        frame = small_frames(g3core, 1)[0]
    else:
        frame = large_frames(g3core, 1, channel_data(4536))[0]
    return len(frame.encoded())


def run(impl: str, mode: str, workload: str, frames: int) -> float | None:
    """CPU seconds per frame of one sender process; None if it failed or lost frames."""
    here = os.path.abspath(__file__)
    port = 0
    drain: subprocess.Popen[str] | None = None
    if mode == "connect":
        drain = subprocess.Popen(
            [sys.executable, "-c", COUNTING_READER, mode, "0"], stdout=subprocess.PIPE, text=True
        )
        assert drain.stdout is not None
        port = int(drain.stdout.readline())
    else:
        port = free_port()
    sender = subprocess.Popen(
        [sys.executable, here, "--role", "sender", "--impl", impl, "--mode", mode]
        + ["--workload", workload, "--frames", str(frames), "--port", str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sender.stdin is not None and sender.stdout is not None
    try:
        if mode == "listen":
            assert sender.stdout.readline().strip() == "listening"
            drain = subprocess.Popen(
                [sys.executable, "-c", COUNTING_READER, mode, str(port)],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert drain.stdout is not None
            assert drain.stdout.readline().strip() == "connected"
        sender.stdin.write("go\n")
        sender.stdin.flush()
        line = sender.stdout.readline()
        assert drain is not None and drain.stdout is not None
        received = drain.stdout.readline()
        sender.wait(LIMIT)
        drain.wait(LIMIT)
        if not line or not received.strip():
            return None
        if int(received) != frames * frame_bytes(workload):
            print(f"  ({impl}, {mode}: the reader did not receive every frame)", flush=True)
            return None
        return float(json.loads(line)["cpu"]) / frames
    finally:
        for proc in (sender, drain):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


def have_spt3g() -> bool:
    try:
        import spt3g  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role")
    parser.add_argument("--impl", default="g3stream", choices=["g3stream", "spt3g"])
    parser.add_argument("--mode", default="connect", choices=["connect", "listen"])
    parser.add_argument("--workload", default="small", choices=["small", "large"])
    parser.add_argument("--frames", type=int, default=0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--only", nargs="*", choices=["small", "large"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.role == "sender":
        role_sender(args)
        return
    impls = ["g3stream", "spt3g"] if have_spt3g() else ["g3stream"]
    print(f"sender CPU per frame ({os.cpu_count()} CPUs), median of {args.repeat} runs")
    for workload in args.only or ["small", "large"]:
        frames = SMALL_FRAMES if workload == "small" else LARGE_FRAMES
        scale, unit = (1e6, "us/frame") if workload == "small" else (1e3, "ms/frame")
        for mode in ("connect", "listen"):
            runs: dict[str, list[float]] = {impl: [] for impl in impls}
            for _ in range(args.repeat):
                for impl in impls:
                    cpu = run(impl, mode, workload, frames)
                    if cpu is not None:
                        runs[impl].append(cpu * scale)
            med = {impl: statistics.median(v) if v else None for impl, v in runs.items()}
            ours, theirs = med["g3stream"], med.get("spt3g")
            ratio = f"{theirs / ours:.2f}x" if ours and theirs else "n/a"
            shown = {k: "n/a" if v is None else f"{v:.2f} {unit}" for k, v in med.items()}
            print(
                f"  {workload} frames, {mode}: g3stream {shown['g3stream']}, "
                f"spt3g {shown.get('spt3g', 'n/a')}, ratio {ratio}",
                flush=True,
            )


if __name__ == "__main__":
    main()
