"""Encoding large frames: microseconds per frame, pure Python against the accelerator.

Builds ``--frames`` Scan frames of the large workload (a G3TimestreamMap of
100 channels x 10,000 float64 samples, about 8 MB each) before timing, then
encodes each once with ``encode_frame`` (the buffers a sender hands to the
socket, CRC included) and releases it, as a pipeline does; then the same
with a second thread checksumming half of each frame, as a network sender
and ``G3Writer`` do.  Also times the map alone (``encode_object``, no CRC), the part the accelerator packs.  Each
path runs in its own process (``G3STREAM_PURE=1`` for the pure one); each
figure is the best of ``--repeat`` runs.

    python bench/bench_encode.py [--frames 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from workloads import channel_data, large_frames


def measure(frames: int) -> dict[str, float]:
    """Microseconds per frame for this process's codec path."""
    from concurrent.futures import ThreadPoolExecutor

    from g3stream import core
    from g3stream.cereal import encode_object
    from g3stream.frame import encode_frame

    data = channel_data()
    out = {}
    helper = ThreadPoolExecutor(1)  # as a sender or G3Writer lends one
    for label, encode in (
        ("frame", encode_frame),
        ("halves", lambda f: encode_frame(f, helper)),
        ("map", lambda f: encode_object(f["RawTimestreams"])),
    ):
        batch = large_frames(core, frames, data)
        start = time.perf_counter()
        for i in range(len(batch)):
            frame, batch[i] = batch[i], None
            encode(frame)
            del frame
        out[label] = (time.perf_counter() - start) / frames * 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.frames)), flush=True)
        return
    best: dict[str, dict[str, float]] = {}
    for _ in range(args.repeat):
        for path, pure in (("pure", "1"), ("accelerated", "0")):
            env = {**os.environ, "G3STREAM_PURE": pure}
            line = subprocess.run(
                [sys.executable, __file__, "--child", "--frames", str(args.frames)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=600,
            ).stdout
            for label, us in json.loads(line).items():
                got = best.setdefault(path, {})
                got[label] = min(us, got.get(label, us))
    print(f"encoding {args.frames} large frames, best of {args.repeat} (us per frame)")
    for label, what in (
        ("frame", "encode_frame (with CRC)"),
        ("halves", "same, CRC in two threads"),
        ("map", "the map alone"),
    ):
        pure, fast = best["pure"][label], best["accelerated"][label]
        print(
            f"  {what:<26} pure {pure:8,.0f}   accelerated {fast:8,.0f}   ratio {pure / fast:5.2f}x"
        )


if __name__ == "__main__":
    main()
