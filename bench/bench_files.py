"""File write and read throughput: g3stream against spt3g, in the same run.

Two workloads, each written and read by both implementations:

* large: 200 Scan frames, each holding a G3TimestreamMap of 100 channels
  x 10,000 float64 samples (about 8 MB per frame);
* small: 100,000 Timepoint frames holding a G3Time and three integers.

Frames are built before any timing starts, afresh for every write run
(spt3g caches a frame's serialized blobs once written).  Files go to a tmpfs
(``/dev/shm`` when it exists) so the figures measure the libraries, not a
disk.  Each figure is the best of ``--repeat`` runs.  "read" iterates over
the frames (both libraries decode values lazily); "read, mmap=True" is the
same for g3stream's opt-in memory-mapped reading (against spt3g's plain
read); "read+decode" also fetches each frame's values.

Run:  python bench/bench_files.py [--repeat N] [--dir DIR] [--only large|small]
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workloads import channel_data, large_frames, small_frames

import g3stream

try:  # trees before the accelerator (bench/compare_trees.py) have no _accel
    from g3stream._accel import accel as codec_accel
except ImportError:
    codec_accel = None

try:
    from spt3g import core as spt3g_core
except ImportError:  # the figures for g3stream alone are still useful
    spt3g_core = None


LARGE_FRAMES = 200
SMALL_FRAMES = 100_000


def scratch_dir(requested: str | None) -> str:
    """A fresh directory on tmpfs when possible (``/dev/shm``), else the default temp dir."""
    if requested:
        base = requested
    elif os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        base = "/dev/shm"
    else:
        base = tempfile.gettempdir()
    return tempfile.mkdtemp(prefix="g3bench-", dir=base)


# -- frame construction (not timed) ---------------------------------------


# -- timed operations ------------------------------------------------------


def write_file(lib: Any, path: str, frames: list[Any]) -> None:
    """Write ``frames``, releasing each once written, as a pipeline does."""
    w = lib.G3Writer(path)
    for i in range(len(frames)):
        f, frames[i] = frames[i], None
        w(f)
        del f
    w(lib.G3Frame(lib.G3FrameType.EndProcessing))
    del w


def read_file(lib: Any, path: str) -> int:
    n = 0
    for _ in lib.G3File(path):
        n += 1
    return n


def read_mapped(lib: Any, path: str) -> int:
    """g3stream only: large frames as views of a memory map (``G3Reader(mmap=True)``)."""
    n = 0
    for _ in lib.G3Reader(path, mmap=True):
        n += 1
    return n


def read_and_decode(lib: Any, path: str) -> int:
    n = 0
    for f in lib.G3File(path):
        for k in f.keys():
            f[k]
        n += 1
    return n


def best_time(fn: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


@dataclass
class Figure:
    label: str
    ours: float
    theirs: float | None
    unit: str

    def line(self) -> str:
        if self.theirs is None:
            return f"  {self.label:<26} g3stream {self.ours:>12,.1f} {self.unit}"
        ratio = self.ours / self.theirs
        return (
            f"  {self.label:<26} g3stream {self.ours:>12,.1f} {self.unit}   "
            f"spt3g {self.theirs:>12,.1f} {self.unit}   ratio {ratio:5.2f}x"
        )


def run_workload(
    name: str,
    build: Callable[[Any], list[Any]],
    work_dir: str,
    repeat: int,
    per_frame: bool,
) -> list[Figure]:
    libs: dict[str, Any] = {"g3stream": g3stream}
    if spt3g_core is not None:
        libs["spt3g"] = spt3g_core
    paths = {lib_name: os.path.join(work_dir, f"{name}-{lib_name}.g3") for lib_name in libs}
    times: dict[tuple[str, str], float] = {}
    n_frames = 0
    for lib_name, lib in libs.items():
        # fresh frames for every run: spt3g keeps a frame's serialized blobs
        # after writing it once, which would turn later runs into copies
        best = float("inf")
        for _ in range(repeat):
            frames = build(lib)
            n_frames = len(frames)
            gc.collect()
            t0 = time.perf_counter()
            write_file(lib, paths[lib_name], frames)
            best = min(best, time.perf_counter() - t0)
            del frames
        times["write", lib_name] = best
    sizes = {lib_name: os.path.getsize(p) for lib_name, p in paths.items()}
    if len(set(sizes.values())) != 1:
        print(f"  warning: file sizes differ: {sizes}", file=sys.stderr)
    for lib_name, lib in libs.items():
        count = read_file(lib, paths[lib_name])
        assert count == n_frames, (lib_name, count)
        times["read", lib_name] = best_time(
            lambda lib=lib, p=paths[lib_name]: read_file(lib, p), repeat
        )
        times["read+decode", lib_name] = best_time(
            lambda lib=lib, p=paths[lib_name]: read_and_decode(lib, p), repeat
        )
        if lib is g3stream:
            times["read, mmap=True", lib_name] = best_time(
                lambda lib=lib, p=paths[lib_name]: read_mapped(lib, p), repeat
            )
    if "spt3g" in libs:
        times["read, mmap=True", "spt3g"] = times["read", "spt3g"]
    size = sizes["g3stream"]
    print(
        f"{name}: {n_frames:,} frames, {size / 1e6:,.1f} MB per file, best of {repeat}",
        flush=True,
    )
    figures = []
    for op in ("write", "read", "read, mmap=True", "read+decode"):
        mine = times[op, "g3stream"]
        ref = times.get((op, "spt3g"))
        if per_frame:
            fig = Figure(op, n_frames / mine, n_frames / ref if ref else None, "frames/s")
        else:
            fig = Figure(op, size / mine / 1e6, size / ref / 1e6 if ref else None, "MB/s")
        print(fig.line(), flush=True)
        figures.append(fig)
    for p in paths.values():
        os.remove(p)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (best kept)")
    parser.add_argument("--dir", help="directory for the files (default: tmpfs)")
    parser.add_argument("--only", choices=("large", "small"), help="run one workload")
    args = parser.parse_args(argv)
    work_dir = scratch_dir(args.dir)
    print(f"g3stream {g3stream.__version__}", end="")
    if spt3g_core is None:
        print("; spt3g not installed: g3stream figures only")
    else:
        import spt3g.version

        print(f", spt3g {spt3g.version.version}")
    if codec_accel is None:
        print("codec: pure Python (no g3stream_accel, or G3STREAM_PURE=1)")
    else:
        print(f"codec: g3stream_accel {codec_accel.__version__} (CRC: {codec_accel.crc_kind()})")
    print(f"files in {work_dir}\n", flush=True)
    try:
        if args.only in (None, "large"):
            data = channel_data()
            run_workload(
                "large",
                lambda lib: large_frames(lib, LARGE_FRAMES, data),
                work_dir,
                args.repeat,
                False,
            )
        if args.only in (None, "small"):
            run_workload(
                "small", lambda lib: small_frames(lib, SMALL_FRAMES), work_dir, args.repeat, True
            )
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
