"""Frames lost when a DAQ restarts under ``g3stream record --reconnect``.

The long version of tests/cli/test_cli_restarts.py.  A DAQ (spt3g's
G3NetworkSender in listen mode, bench/spt3g_daq.py, in a subprocess) emits
SampleIndex 0..N-1 at a fixed rate whether or not a reader is connected, and
is restarted ``--restarts`` times with a start-up time of ``--boot-time``
seconds; ``g3stream record --reconnect`` records all of it to standard output.

For each run it prints the frames lost (the first SampleIndex recorded:
frames 0..first-1 never reached the recorder), the first index the DAQ
emitted once it saw a reader's connection, whether anything was lost after
the first recorded frame, and a summary.  Frames lost before the DAQ saw a
connection could not have reached any reader; what lies after it is the
recorder's doing and must be zero.

Run:  python bench/bench_restarts.py [--restarts 20] [--rate 152.6] [--frames 600]
                                      [--boot-time 3] [-- record options...]

For example ``-- --max-backoff 0.1`` measures a recorder told to retry faster.
spt3g has no reconnecting reader, so there is no ratio here: the figures
are g3stream's alone.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "src")
DAQ = os.path.join(HERE, "spt3g_daq.py")
sys.path.insert(0, SRC)

from g3stream.codec.decoder import FrameDecoder  # noqa: E402

PROCESS_LIMIT = 120.0


def free_port() -> int:
    """A port nothing listens on (just released by the system)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def runs_of(data: bytes) -> list[list[int]]:
    """SampleIndex values of each DAQ run (a new run starts when the index goes back)."""
    dec = FrameDecoder()
    dec.feed(data)
    runs: list[list[int]] = []
    for frame in dec.frames():
        if "SampleIndex" in frame:
            index = int(frame["SampleIndex"])
            if not runs or index <= runs[-1][-1]:
                runs.append([])
            runs[-1].append(index)
    return runs


def run_daq(port: int, frames: int, rate: float, boot_time: float) -> int:
    """One DAQ run; returns the first index emitted with a reader connected
    (``frames`` when the DAQ noticed none before its end)."""
    out = subprocess.run(
        [sys.executable, DAQ, str(port), "--frames", str(frames), "--rate", str(rate),
         "--boot-time", str(boot_time)],
        capture_output=True, text=True, timeout=PROCESS_LIMIT, check=True,
    ).stdout  # fmt: skip
    m = re.search(r"^first_connected (-?\d+)$", out, re.M)
    assert m is not None, out
    first = int(m.group(1))
    return first if first >= 0 else frames


def main() -> int:
    """Run the scenario and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restarts", type=int, default=20)
    parser.add_argument("--rate", type=float, default=152.6, help="DAQ frames per second")
    parser.add_argument("--frames", type=int, default=600, help="frames per DAQ run")
    parser.add_argument("--boot-time", type=float, default=3.0, help="DAQ start-up seconds")
    parser.add_argument("record_options", nargs="*", help="extra options for record")
    args = parser.parse_args()
    try:
        import spt3g  # noqa: F401
    except ImportError:
        print("spt3g is not installed: pip install -e '.[test]'", file=sys.stderr)
        return 1

    port = free_port()
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")]))
    )
    record = [sys.executable, "-m", "g3stream", "record", f"tcp://127.0.0.1:{port}", "-",
              "--reconnect", *args.record_options]  # fmt: skip
    recorder = subprocess.Popen(record, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    captured = bytearray()

    def pump() -> None:
        assert recorder.stdout is not None
        while chunk := recorder.stdout.read1(65536):  # type: ignore[attr-defined]
            captured.extend(chunk)

    err_lines: list[str] = []
    retrying = threading.Event()

    def pump_err() -> None:
        assert recorder.stderr is not None
        for raw in recorder.stderr:
            line = raw.decode(errors="replace")
            err_lines.append(line)
            if "retrying with backoff" in line:
                retrying.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    err_reader = threading.Thread(target=pump_err, daemon=True)
    err_reader.start()
    try:
        # the first DAQ starts once the recorder is up and retrying
        if not retrying.wait(PROCESS_LIMIT):
            raise RuntimeError("the recorder did not start")
        seen = [run_daq(port, args.frames, args.rate, 0.0)]
        for _ in range(args.restarts):
            seen.append(run_daq(port, args.frames, args.rate, args.boot_time))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            runs = runs_of(bytes(captured))
            if len(runs) > args.restarts and runs[-1][-1] == args.frames - 1:
                break
            threading.Event().wait(0.05)
    finally:
        recorder.send_signal(2)
        try:
            recorder.wait(timeout=30)
        except subprocess.TimeoutExpired:
            recorder.kill()
            recorder.wait()
        reader.join(10)
        err_reader.join(10)
    runs = runs_of(bytes(captured))
    print(f"record options: --reconnect {' '.join(args.record_options)}")
    print(f"DAQ: {args.frames} frames at {args.rate:g} Hz per run, {args.restarts} restarts, "
          f"start-up {args.boot_time:g} s")  # fmt: skip
    print(f"{'run':>4} {'lost':>6} {'lost s':>7} {'DAQ saw reader at':>18} {'lost after':>10}")
    lost = []
    for i, (run, at) in enumerate(zip(runs, seen, strict=False)):
        after = (run[-1] - run[0] + 1) - len(run) + (args.frames - 1 - run[-1])
        lost.append(run[0])
        print(f"{i:>4} {run[0]:>6} {run[0] / args.rate:>7.3f} {at:>18} {after:>10}")
    print("(run 0: the first DAQ, started without start-up time while the recorder retries)")
    if len(runs) != len(seen):
        print(f"runs recorded: {len(runs)} of {len(seen)} (whole runs lost)")
    restarts = lost[1:]
    if restarts:
        print(
            f"frames lost per restart: mean {statistics.mean(restarts):.1f}, "
            f"median {statistics.median(restarts):.0f}, max {max(restarts)} "
            f"(max {max(restarts) / args.rate:.3f} s of data); "
            f"beyond what the DAQ emitted before a connection: "
            f"{sum(max(0, r[0] - a) for r, a in zip(runs, seen, strict=False))}"
        )
    if recorder.returncode != 0:
        print("".join(err_lines), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
