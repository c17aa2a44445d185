"""Data at risk when a recorder is killed: g3stream record against spt3g, same run.

A simulated DAQ (``g3stream serve --simulate``: 152.6 Hz, 16 detectors,
time stamps from the wall clock) feeds a recorder that is killed with
SIGKILL at a random moment, again and again: ``g3stream record`` (with
``--flush-interval``) and an spt3g pipeline (G3Reader from the same
address into G3Writer), each to a plain and a gzip file.  After each kill
the file is read with g3stream: it must hold the stream without a gap, in
order; the figure is the age at the kill of the newest frame on disk (the
data at risk), in seconds and bytes of stream.  A g3stream file must never
miss a frame older than the flush interval (plus the delivery margin).

Run:  python bench/bench_kill.py [--kills N] [--max-run SECONDS] [--flush-interval S]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from g3stream import G3FrameType, G3Reader, TruncatedFrameError

TICKS_PER_SECOND = 100_000_000
HERE = Path(__file__).resolve().parent

SPT3G_RECORDER = """
import sys
from spt3g import core
pipe = core.G3Pipeline()
pipe.Add(core.G3Reader, filename=sys.argv[1])
pipe.Add(core.G3Writer, filename=sys.argv[2])
pipe.Run()
"""


def g3stream_command() -> list[str]:
    here = Path(sys.executable).parent / "g3stream"
    return [str(here)] if here.exists() else [sys.executable, "-m", "g3stream"]


def start_server() -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [*g3stream_command(), "serve", "--simulate", "--port", "0", "--bind", "127.0.0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        m = re.search(r"serving on port (\d+)", line)
        if m:
            return proc, int(m.group(1))
    proc.kill()
    raise RuntimeError("the simulated DAQ did not start")


def start_recorder(kind: str, url: str, out: Path, interval: float) -> subprocess.Popen[bytes]:
    if kind == "g3stream":
        args = [*g3stream_command(), "record", url, str(out), "--flush-interval", str(interval)]
    else:
        args = [sys.executable, "-c", SPT3G_RECORDER, url, str(out)]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for_file(path: Path, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Until the recorder has created its file (it is connected and writing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if path.exists():
            return
        time.sleep(0.01)
    raise RuntimeError(f"the recorder did not create {path}")


def on_disk(path: Path) -> tuple[list, bool]:
    """The complete frames g3stream reads from ``path``, and whether it is torn."""
    frames = []
    with G3Reader(path) as reader:
        try:
            for f in reader:
                frames.append(f)
        except TruncatedFrameError:
            return frames, True
    return frames, False


def one_kill(kind: str, url: str, out: Path, interval: float, run_for: float) -> dict:
    proc = start_recorder(kind, url, out, interval)
    try:
        wait_for_file(out, proc)
        started = time.time()
        time.sleep(run_for)
        killed_at = time.time()
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(30)
    frames, torn = on_disk(out)
    samples = [f for f in frames if f.type == G3FrameType.Timepoint]
    indices = [int(f["SampleIndex"]) for f in samples]
    gapless = indices == list(range(indices[0], indices[0] + len(indices))) if indices else True
    rate = 0.0
    if samples:
        newest = samples[-1]["EventHeader"].time / TICKS_PER_SECOND
        age = killed_at - newest
        oldest = samples[0]["EventHeader"].time / TICKS_PER_SECOND
        if newest > oldest:
            rate = sum(len(f.encoded()) for f in frames) / (newest - oldest)
    else:  # nothing on disk: everything since the start is at risk
        age = killed_at - started
    return {
        "frames": len(frames),
        "age": age,
        "gapless": gapless,
        "torn": torn,
        "rate": rate,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kills", type=int, default=20, help="kills per recorder and format")
    p.add_argument("--max-run", type=float, default=8.0, help="longest run before a kill (s)")
    p.add_argument("--flush-interval", type=float, default=1.0, help="g3stream's (s)")
    p.add_argument("--margin", type=float, default=0.5, help="delivery latency allowed (s)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-spt3g", action="store_true", help="kill only g3stream's recorder")
    args = p.parse_args()
    kinds = ["g3stream"]
    if not args.no_spt3g:
        try:
            import spt3g.core  # noqa: F401

            kinds.append("spt3g")
        except ImportError:
            print("spt3g not installed: g3stream only")
    rng = random.Random(args.seed)
    server, port = start_server()
    url = f"tcp://127.0.0.1:{port}"
    failures = 0
    try:
        with tempfile.TemporaryDirectory(prefix="g3kill-") as tmp:
            print(
                f"flush interval {args.flush_interval} s, {args.kills} kills each, "
                f"runs of 0.2..{args.max_run} s"
            )
            for kind in kinds:
                for suffix in (".g3", ".g3.gz"):
                    results = []
                    for i in range(args.kills):
                        out = Path(tmp) / f"{kind}-{i}{suffix}"
                        r = one_kill(
                            kind, url, out, args.flush_interval, rng.uniform(0.2, args.max_run)
                        )
                        results.append(r)
                        os.unlink(out)
                    ages = [r["age"] for r in results]
                    empty = sum(r["frames"] == 0 for r in results)
                    gaps = sum(not r["gapless"] for r in results)
                    rates = [r["rate"] for r in results if r["rate"]]
                    rate = statistics.median(rates) if rates else 0.0
                    print(
                        f"  {kind:9s} {suffix:7s} age of the newest frame on disk at the kill: "
                        f"median {statistics.median(ages):5.2f} s, max {max(ages):5.2f} s "
                        f"(~{max(ages) * rate / 1024:,.0f} KiB of stream at {rate / 1024:,.1f} "
                        f"KiB/s); empty files {empty}/{len(results)}, gaps {gaps}"
                    )
                    if kind == "g3stream":
                        late = [a for a in ages if a > args.flush_interval + args.margin]
                        if late or gaps:
                            failures += 1
                            print(
                                f"    FAIL: {len(late)} kills lost frames older than "
                                f"the flush interval"
                            )
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
