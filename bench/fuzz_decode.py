"""Mutation fuzzing of frame decoding: only typed errors, bounded time, bounded memory.

Seeds are every frame of the shared test vectors (tests/vectors) and the
hand-crafted bombs of ``tests/hostile_inputs.py`` (a 64 kB FLAC frame that
expands to 3 GB, a 1 MB frame of such timestreams, a G3SuperTimestream
declaring 75 GiB, a pipeline-info chain 300 objects deep).  Each input is a
seed frame mutated one to four times (bit flips, interesting integers written
over length and count fields, inserted, deleted, duplicated or spliced
bytes, truncation); most then get their CRC recomputed so that the mutation
reaches the object decoders rather than stopping at the checksum.

Each input is fed to a ``FrameDecoder(max_decoded_size=...)`` and every
value of every frame is decoded.  A ``G3FormatError`` subclass is the
expected outcome for bad data; anything else (an untyped exception, an
input slower than ``--max-input-seconds``, a peak RSS over ``--max-rss``)
is a failure, reported with the input saved under ``--save-dir``.  An
input slower than that bound is timed twice more and its fastest time kept,
so that a moment without CPU on a shared machine is not taken for the
input's cost; its CPU time is reported as well.

    python bench/fuzz_decode.py                          # 100,000 inputs
    python bench/fuzz_decode.py --count 1000000          # the full run
    python bench/fuzz_decode.py --count 2000 --time-limit 20   # a short run

Exit status 0 when every input behaved; 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import resource
import signal
import struct
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the vectors' reader and the crafted bombs

from hostile_inputs import BOMBS, long_argument_frame  # noqa: E402

from g3stream.cereal.crc import g3_crc  # noqa: E402
from g3stream.codec.container import ScannedFrame, scan_frame  # noqa: E402
from g3stream.codec.decoder import FrameDecoder  # noqa: E402
from g3stream.errors import G3FormatError  # noqa: E402
from g3stream.io.compression import open_decompressed  # noqa: E402

VECTORS = ROOT / "tests" / "vectors"

_INTERESTING = (
    0,
    1,
    2,
    7,
    0x7F,
    0x80,
    0xFF,
    0x100,
    0x7FFF,
    0xFFFF,
    0x10000,
    0x7FFFFFFF,
    0x80000000,
    0xFFFFFFFF,
    0x40000000,
    1 << 32,
    1 << 40,
    1 << 62,
    (1 << 63) - 1,
    (1 << 64) - 1,
)


class Hang(Exception):
    """An input took longer than the hang timeout."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise Hang


def seed_frames() -> list[tuple[str, bytes]]:
    """(name, bytes) of every frame of the vectors, then the crafted bombs."""
    seeds: list[tuple[str, bytes]] = []
    for path in sorted(VECTORS.iterdir()):
        if ".g3" not in path.name:
            continue
        with open_decompressed(str(path)) as f:
            data = f.read()
        pos = 0
        while pos < len(data):
            found = scan_frame(data, pos, len(data), pos)
            if not isinstance(found, ScannedFrame):
                break
            seeds.append((f"{path.name}@{pos}", bytes(data[pos : pos + found.size])))
            pos += found.size
    for name, build in BOMBS.items():
        seeds.append((name, build()))
    seeds.append(("long_argument_256k", long_argument_frame(256 << 10)))
    return seeds


def fix_crc(data: bytearray) -> None:
    """Recompute the CRC of the frame ``data`` starts with, if it still scans as one."""
    try:
        found = scan_frame(data, 0, len(data), 0)
    except G3FormatError:
        return
    if not isinstance(found, ScannedFrame):
        return
    mv = memoryview(data)
    crc = g3_crc(mv[piece] for piece in found.entries)
    struct.pack_into("<I" if found.little else ">I", data, found.size - 4, crc)


def mutate(rng: random.Random, data: bytes, seeds: list[tuple[str, bytes]]) -> bytes:
    """``data`` changed one to four times."""
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
        n = len(buf)
        if n == 0:
            buf += rng.randbytes(rng.randint(1, 64))
            continue
        op = rng.randrange(9)
        at = rng.randrange(n)
        if op == 0:
            buf[at] ^= 1 << rng.randrange(8)
        elif op == 1:
            buf[at] = rng.choice((0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)))
        elif op in (2, 3):  # an interesting integer over a (maybe) length field
            width = 8 if op == 2 else 4
            value = rng.choice(_INTERESTING) & ((1 << (8 * width)) - 1)
            if rng.random() < 0.3:
                value = (value + rng.randint(-2, 2)) % (1 << (8 * width))
            order = "<" if rng.random() < 0.8 else ">"
            raw = struct.pack(order + ("Q" if width == 8 else "I"), value)
            buf[at : at + width] = raw[: max(0, min(width, n - at))]
        elif op == 4:
            buf[at:at] = rng.randbytes(rng.randint(1, 16))
        elif op == 5:
            del buf[at : at + rng.randint(1, 16)]
        elif op == 6:  # duplicate a region
            length = rng.randint(1, min(256, n - at))
            chunk = bytes(buf[at : at + length])
            dest = rng.randrange(n)
            buf[dest:dest] = chunk
        elif op == 7:  # splice another seed's bytes in
            other = rng.choice(seeds)[1]
            start = rng.randrange(len(other))
            chunk = other[start : start + rng.randint(1, 512)]
            buf[at : at + len(chunk)] = chunk
        else:
            del buf[at:]
    if rng.random() < 0.85:
        fix_crc(buf)
    return bytes(buf)


def decode_everything(data: bytes, limit: int) -> int:
    """Decode every value of every frame in ``data``; the number of frames."""
    dec = FrameDecoder(max_decoded_size=limit)
    dec.feed(data)
    count = 0
    while True:
        frames = dec.frames()
        if not frames:
            break
        for frame in frames:
            count += 1
            for key in frame.keys():
                frame[key]
    dec.close()
    return count


def run_one(data: bytes, limit: int, hang_seconds: float) -> tuple[str, float, float]:
    """Decode ``data``: (outcome, wall seconds, CPU seconds).

    The outcome is ``decoded``, the name of the typed error, ``HANG`` or
    ``UNTYPED <name>`` followed by the traceback on the next lines.
    """
    signal.setitimer(signal.ITIMER_REAL, hang_seconds)
    t0 = time.perf_counter()
    c0 = time.process_time()
    try:
        decode_everything(data, limit)
        outcome = "decoded"
    except G3FormatError as exc:
        outcome = type(exc).__name__
    except Hang:
        outcome = "HANG"
    except Exception as exc:  # the point: anything untyped is a finding
        outcome = f"UNTYPED {type(exc).__name__}\n" + "".join(traceback.format_exception(exc))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return outcome, time.perf_counter() - t0, time.process_time() - c0


def peak_rss() -> int:
    """Peak resident set size of this process, bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def parse_size(text: str) -> int:
    """``64M``, ``2G``, ``1048576``."""
    factors = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    t = text.strip().lower().removesuffix("ib").removesuffix("b")
    if t and t[-1] in factors:
        return int(float(t[:-1]) * factors[t[-1]])
    return int(t)


def main(argv: list[str] | None = None) -> int:
    """Run the fuzzer; 0 when every input gave a result or a typed error in time."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--count", type=int, default=100_000, help="inputs to try (default 100000)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument(
        "--max-decoded-size",
        type=parse_size,
        default=64 << 20,
        help="the decoders' decoded-size limit per frame (default 64M)",
    )
    p.add_argument(
        "--max-input-seconds",
        type=float,
        default=1.0,
        help="fail if one input takes longer (default 1.0)",
    )
    p.add_argument(
        "--max-rss",
        type=parse_size,
        default=1 << 30,
        help="fail if the peak RSS exceeds this (default 1G)",
    )
    p.add_argument(
        "--hang-seconds", type=float, default=30.0, help="abandon an input after this long"
    )
    p.add_argument("--time-limit", type=float, default=0.0, help="stop after SECONDS (0: none)")
    p.add_argument("--save-dir", type=Path, help="write failing and slowest inputs here")
    p.add_argument("--progress", type=int, default=10_000, help="report every N inputs")
    args = p.parse_args(argv)

    signal.signal(signal.SIGALRM, _on_alarm)
    seeds = seed_frames()
    rss_before = peak_rss()
    rng = random.Random(args.seed)
    outcomes: Counter[str] = Counter()
    failures: list[tuple[str, str, bytes]] = []
    slowest = (0.0, "", b"")
    over_time = 0
    max_cpu = 0.0
    started = time.perf_counter()
    done = 0
    for i in range(args.count):
        if args.time_limit and time.perf_counter() - started > args.time_limit:
            break
        name, seed = rng.choice(seeds)
        data = mutate(rng, seed, seeds) if rng.random() < 0.97 else seed
        outcome, elapsed, cpu = run_one(data, args.max_decoded_size, args.hang_seconds)
        if elapsed > args.max_input_seconds:  # re-time: was it the input or the machine?
            for _ in range(2):
                _, again, again_cpu = run_one(data, args.max_decoded_size, args.hang_seconds)
                elapsed, cpu = min(elapsed, again), min(cpu, again_cpu)
        if outcome.startswith("UNTYPED") or outcome == "HANG":
            failures.append((name, outcome, data))
            outcome = outcome.split("\n", 1)[0]
        outcomes[outcome] += 1
        done = i + 1
        max_cpu = max(max_cpu, cpu)
        if elapsed > slowest[0]:
            slowest = (elapsed, name, data)
        if elapsed > args.max_input_seconds:
            over_time += 1
        if args.progress and done % args.progress == 0:
            print(
                f"{done} inputs, {time.perf_counter() - started:.0f} s, "
                f"slowest {slowest[0]:.3f} s, peak RSS {peak_rss() >> 20} MiB",
                flush=True,
            )
    total = time.perf_counter() - started
    rss = peak_rss()

    print(f"inputs: {done} in {total:.1f} s ({done / max(total, 1e-9):.0f}/s), seed {args.seed}")
    print(f"seeds: {len(seeds)} frames ({len(BOMBS)} crafted bombs)")
    print(f"decoded-size limit: {args.max_decoded_size} bytes per frame")
    for outcome, n in outcomes.most_common():
        print(f"  {outcome}: {n}")
    untyped = sum(n for k, n in outcomes.items() if k.startswith("UNTYPED") or k == "HANG")
    print(f"untyped errors or hangs: {untyped}")
    print(
        f"slowest input: {slowest[0]:.3f} s (from seed {slowest[1]}, {len(slowest[2])} bytes); "
        f"inputs over {args.max_input_seconds} s: {over_time}; most CPU time for one "
        f"input: {max_cpu:.3f} s"
    )
    print(f"peak RSS: {rss >> 20} MiB (after loading the seeds: {rss_before >> 20} MiB)")
    if args.save_dir is not None:
        args.save_dir.mkdir(parents=True, exist_ok=True)
        (args.save_dir / "slowest.g3").write_bytes(slowest[2])
        for name, what, data in failures:
            digest = hashlib.sha1(data).hexdigest()[:12]
            (args.save_dir / f"fail-{digest}.g3").write_bytes(data)
            (args.save_dir / f"fail-{digest}.txt").write_text(f"seed {name}\n{what}")
    for name, what, _ in failures[:5]:
        print(f"--- failure from seed {name}:\n{what}")
    ok = not failures and over_time == 0 and rss <= args.max_rss
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
