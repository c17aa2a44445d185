"""Long stress run of the sender's writer threads against the producer.

The long version of tests/net/test_sender_race.py: large frames (64 MB by
default) interleaved with small ones, several reader processes, garbage with
finalizers collected at nearly every allocation, and a thread switch
interval of a microsecond. Each reader checks that it received every frame,
in order; the script fails if any thread of the sender died or any stream
ended short.

Run:  python bench/stress_sender_race.py [--rounds 5] [--large 20] [--frame-mb 64] [--clients 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import threading
import time

import numpy as np

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
sys.path.insert(0, os.path.abspath(SRC))

from g3stream import G3Frame, G3FrameType, G3VectorDouble  # noqa: E402
from g3stream.net import G3NetworkSender  # noqa: E402

READER = r"""
import socket, sys
from g3stream.codec.decoder import FrameDecoder
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=120)
dec = FrameDecoder()
seqs = []
while True:
    data = s.recv(1 << 20)
    if not data:
        break
    dec.feed(data)
    while (f := dec.next_frame()) is not None:
        seqs.append(int(f['seq']))
dec.close()
print(len(seqs), int(seqs == list(range(len(seqs)))), flush=True)
"""


class Finalized:
    """Cyclic garbage with a finalizer."""

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        for _ in range(20):
            pass


def one_round(args: argparse.Namespace, big: np.ndarray) -> str | None:
    sender = G3NetworkSender("*", 0, max_pending_bytes=4 * big.nbytes + (64 << 20))
    env = dict(os.environ, PYTHONPATH=os.path.abspath(SRC))
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(sender.port)], stdout=subprocess.PIPE, env=env
        )
        for _ in range(args.clients)
    ]
    deadline = time.monotonic() + 60
    while sender.statistics().connected_clients < args.clients:
        if time.monotonic() > deadline:
            return "readers did not connect"
        time.sleep(0.01)
    seq = 0
    for _ in range(args.large):
        frame = G3Frame(G3FrameType.Scan)
        frame["seq"] = seq
        frame["data"] = G3VectorDouble(big)
        sender(frame)
        seq += 1
        for _ in range(args.small):
            Finalized()
            small = G3Frame(G3FrameType.Timepoint)
            small["seq"] = seq
            sender(small)
            seq += 1
    sender(G3Frame(G3FrameType.EndProcessing))
    for proc in readers:
        out, _ = proc.communicate(timeout=600)
        n, in_order = (int(x) for x in out.split())
        if n != seq or not in_order:
            return f"a reader got {n} of {seq} frames (in order: {bool(in_order)})"
    stats = sender.statistics()
    if stats.clients_lost or stats.clients_overflowed or stats.frames_dropped:
        return f"clients lost or cut: {stats}"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--large", type=int, default=20, help="large frames per round")
    parser.add_argument("--small", type=int, default=200, help="small frames after each large")
    parser.add_argument("--frame-mb", type=int, default=64)
    parser.add_argument("--clients", type=int, default=3)
    args = parser.parse_args()
    big = np.zeros((args.frame_mb << 20) // 8)
    errors: list[BaseException] = []
    threading.excepthook = lambda a: errors.append(a.exc_value)  # type: ignore[arg-type,assignment]
    gc.set_threshold(1, 1, 1)
    sys.setswitchinterval(1e-6)
    failed = False
    for r in range(args.rounds):
        start = time.monotonic()
        problem = one_round(args, big)
        if errors:
            problem = f"{problem or ''} thread errors: {errors!r}"
            errors.clear()
        print(
            f"round {r + 1}: {'ok' if problem is None else problem} ({time.monotonic() - start:.1f} s)"
        )
        failed = failed or problem is not None
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
