"""Pipeline overhead: frames through a chain of Python modules, g3stream against spt3g.

A G3InfiniteSource emits N Scan frames; a chain of small Python modules
(a function that adds a key, one that reads it, a class module, Rename,
Delete and a filter that drops nothing, then a check of the renamed key) processes each of them.  Frames
per second, for each library, in the same run.

Run:  python bench/bench_pipeline.py [--frames N] [--repeat R]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import g3stream.core as g3core


def build(lib: Any, n: int) -> Any:
    """A pipeline of a source and eight modules."""

    class Count(lib.G3Module):
        def __init__(self) -> None:
            super().__init__()
            self.n = 0

        def Process(self, frame: Any) -> None:
            self.n += 1

    def add(frame: Any) -> None:
        if frame.type == lib.G3FrameType.Scan:
            frame["x"] = 1

    def read(frame: Any) -> None:
        if frame.type == lib.G3FrameType.Scan:
            assert frame["x"] == 1

    def read_renamed(frame: Any) -> None:
        if frame.type == lib.G3FrameType.Scan:
            assert frame["y"] == 1

    def keep_all(frame: Any) -> bool:
        return True

    pipe = lib.G3Pipeline()
    pipe.Add(lib.G3InfiniteSource, type=lib.G3FrameType.Scan, n=n)
    pipe.Add(add)
    pipe.Add(read)
    pipe.Add(Count)
    pipe.Add(lib.Rename, keys={"x": "y"})
    pipe.Add(keep_all)
    pipe.Add(read_renamed)
    pipe.Add(lib.Delete, keys=["y"])
    pipe.Add(Count)
    return pipe


def best_rate(lib: Any, n: int, repeat: int) -> float:
    """Best frames per second over ``repeat`` runs (building the pipeline is not timed)."""
    best = 0.0
    for _ in range(repeat):
        pipe = build(lib, n)
        t = time.perf_counter()
        pipe.Run()
        best = max(best, n / (time.perf_counter() - t))
    return best


def main() -> None:
    """Print both libraries' rates and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ours = best_rate(g3core, args.frames, args.repeat)
    print(f"g3stream: {ours:,.0f} frames/s through 8 modules")
    try:
        from spt3g import core as refcore
    except ImportError:
        print("spt3g not installed: no comparison")
        return
    ref = best_rate(refcore, args.frames, args.repeat)
    print(f"spt3g:    {ref:,.0f} frames/s through 8 modules")
    print(f"ratio g3stream/spt3g: {ours / ref:.2f}x")


if __name__ == "__main__":
    main()
