"""``g3stream dump --json`` throughput on timestream-heavy input (MB of G3 input per second).

Writes a file of ``--frames`` large Scan frames (a G3TimestreamMap of 100
channels x 10,000 float64 samples each, about 8 MB per frame; 5 frames make
40 MB), then times:

* in-process: ``frame_json`` over every frame of the file, with orjson (if
  installed) and with the standard library's ``json``;
* end to end: the ``g3stream dump --json FILE`` command, output to /dev/null
  (includes starting Python and importing the package);
* start-up: the same command on a file of one small frame, the fixed cost
  in every run of the command, and the command's rate without it.

The command runs as from an installed package, whose modules' bytecode pip
compiles at install: ``PYTHONDONTWRITEBYTECODE`` is dropped for it and one
untimed run caches the bytecode first.  Without cached bytecode every start
compiles the package's modules again (about 70 ms more here).

Users dump files of hundreds of MB: run with ``--frames 50`` (400 MB) too;
at 5 frames the fixed start-up is a large part of the whole.

spt3g has no JSON output, so the figures are absolute; each is the best of
``--repeat`` runs, as wall-clock rate and as rate per CPU second (the latter
is steadier on a busy machine; for the command it includes starting Python).

Run:  python bench/bench_dump_json.py [--frames N] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from workloads import channel_data, large_frames

import g3stream
from g3stream.cli import dump


def _cpu() -> float:
    """CPU seconds of this process and of its finished children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def best_of(repeat: int, fn: Callable[[], None]) -> tuple[float, float]:
    """The best wall-clock and the best CPU time of ``repeat`` runs of ``fn``."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), _cpu()
        fn()
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, _cpu() - c0)
    return wall, cpu


def rates(size: int, times: tuple[float, float]) -> str:
    wall, cpu = times
    return f"{size / wall / 1e6:8.1f} MB/s   (per CPU second: {size / cpu / 1e6:8.1f} MB/s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=5, help="large frames in the file")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (best is kept)")
    args = parser.parse_args()
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()
    work = tempfile.mkdtemp(prefix="g3bench-json-", dir=base)
    try:
        path = os.path.join(work, "timestreams.g3")
        writer = g3stream.G3Writer(path)
        for frame in large_frames(g3stream, args.frames, channel_data()):
            writer(frame)
        writer.close()
        size = os.path.getsize(path)
        print(f"input: {args.frames} Scan frames, {size / 1e6:.1f} MB")

        def in_process(fast: bool) -> None:
            for frame in g3stream.G3File(path):
                dump.frame_json(frame, fast=fast)

        modes = [("orjson", True)] if dump.orjson is not None else []
        modes.append(("standard library json", False))
        for label, fast in modes:
            t = best_of(args.repeat, lambda fast=fast: in_process(fast))
            print(f"  in-process, {label:<30} {rates(size, t)}")
        command = [
            os.path.join(os.path.dirname(sys.executable), "g3stream"),
            "dump",
            "--json",
            path,
        ]
        if not os.path.exists(command[0]):
            command = [sys.executable, "-m", "g3stream", *command[1:]]

        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

        def end_to_end() -> None:
            subprocess.run(command, stdout=subprocess.DEVNULL, check=True, timeout=600, env=env)

        end_to_end()  # caches the bytecode, as installing does
        t = best_of(args.repeat, end_to_end)
        label = "orjson" if dump.orjson is not None else "standard library json"
        print(f"  {'g3stream dump --json (' + label + ')':<42} {rates(size, t)}")
        tiny = os.path.join(work, "tiny.g3")
        writer = g3stream.G3Writer(tiny)
        writer(g3stream.G3Frame(g3stream.G3FrameType.Timepoint))
        writer.close()
        short = [*command[:-1], tiny]

        def start_up() -> None:
            subprocess.run(short, stdout=subprocess.DEVNULL, check=True, timeout=600, env=env)

        fixed = best_of(args.repeat, start_up)
        print(
            f"  {'start-up (one small frame)':<42} {fixed[0]:8.3f} s       (CPU: {fixed[1]:.3f} s)"
        )
        rest = (max(t[0] - fixed[0], 1e-9), max(t[1] - fixed[1], 1e-9))
        print(f"  {'the command without its start-up':<42} {rates(size, rest)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
