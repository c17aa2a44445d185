"""Soak test of a listening G3NetworkSender under churning clients.

A simulated DAQ streams Timepoint frames at ten times the SPT-3G sample rate
(1526 Hz) plus one Scan frame a second into a listening sender. One
well-behaved reader stays connected for the whole run. Meanwhile, every
second, a client process opens ``--churn`` new connections: some read for a
few seconds and close, some never read, some connect and reset at once.

Every ``--every`` seconds the script prints the sender process's resident
memory, open file descriptors and threads, the connected clients, and the
steady reader's frame rate. At the end it checks that the reader lost no
frame and that descriptors and threads are back where they started.

Run:  python bench/soak_sender.py [--duration 600] [--churn 20] [--every 10]

g3stream only: this measures resource stability, not speed, so there is no
spt3g figure to compare with.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
sys.path.insert(0, os.path.abspath(SRC))

from g3stream import G3Frame, G3FrameType, G3Time, G3VectorDouble  # noqa: E402
from g3stream.codec.decoder import FrameDecoder  # noqa: E402
from g3stream.net import G3NetworkSender  # noqa: E402

DAQ_RATE = 10 * 152.6

CHURN_SCRIPT = r"""
import random, socket, struct, sys, threading, time
port, churn, duration = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
rng = random.Random(7)

def reader(life):
    try:
        s = socket.create_connection(('127.0.0.1', port), timeout=10)
        end = time.monotonic() + life
        while time.monotonic() < end and s.recv(1 << 16):
            pass
        s.close()
    except OSError:
        pass

def sleeper(life):
    try:
        s = socket.create_connection(('127.0.0.1', port), timeout=10)
        time.sleep(life)
        s.close()
    except OSError:
        pass

def resetter():
    try:
        s = socket.create_connection(('127.0.0.1', port), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        s.close()
    except OSError:
        pass

stop = time.monotonic() + duration
while time.monotonic() < stop:
    for _ in range(churn):
        kind = rng.random()
        if kind < 0.4:
            t = threading.Thread(target=reader, args=(rng.uniform(0.5, 5),), daemon=True)
        elif kind < 0.6:
            t = threading.Thread(target=sleeper, args=(rng.uniform(0.5, 5),), daemon=True)
        else:
            t = threading.Thread(target=resetter, daemon=True)
        t.start()
    time.sleep(1.0)
time.sleep(6)
"""


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def daq(sender: G3NetworkSender, stop: threading.Event, counter: list[int]) -> None:
    start = time.monotonic()
    i = 0
    while not stop.is_set():
        wait = start + i / DAQ_RATE - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        frame = G3Frame(G3FrameType.Timepoint)
        frame["EventHeader"] = G3Time(i)
        frame["Index"] = i
        sender(frame)
        if i % 1526 == 0:
            scan = G3Frame(G3FrameType.Scan)
            scan["Data"] = G3VectorDouble([float(i)] * 2000)
            sender(scan)
            counter[0] += 1
        i += 1
        counter[0] += 1


def read(sock: socket.socket, counter: list[int]) -> None:
    dec = FrameDecoder()
    while True:
        data = sock.recv(1 << 16)
        if not data:
            return
        dec.feed(data)
        while dec.next_frame() is not None:
            counter[0] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of churn")
    parser.add_argument("--churn", type=int, default=20, help="new clients per second")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between reports")
    args = parser.parse_args()

    start_fds, start_threads = open_fds(), threading.active_count()
    sender = G3NetworkSender("*", 0)
    steady = socket.create_connection(("127.0.0.1", sender.port), timeout=30)
    sent, received = [0], [0]
    reader = threading.Thread(target=read, args=(steady, received), daemon=True)
    reader.start()
    stop = threading.Event()
    producer = threading.Thread(target=daq, args=(sender, stop, sent), daemon=True)
    producer.start()
    churn = subprocess.Popen(
        [sys.executable, "-c", CHURN_SCRIPT, str(sender.port), str(args.churn), str(args.duration)]
    )
    print(f"{'t (s)':>7} {'RSS (MB)':>9} {'fds':>6} {'threads':>8} {'clients':>8} {'frames/s':>9}")
    t0 = last_t = time.monotonic()
    last_n = 0
    try:
        while churn.poll() is None:
            try:  # a report every --every seconds, and at once when the churn ends
                churn.wait(timeout=args.every)
            except subprocess.TimeoutExpired:
                pass
            now, n = time.monotonic(), received[0]
            stats = sender.statistics()
            print(
                f"{now - t0:7.0f} {rss_mb():9.1f} {open_fds():6d} {threading.active_count():8d} "
                f"{stats.connected_clients:8d} {(n - last_n) / (now - last_t):9.1f}",
                flush=True,
            )
            last_t, last_n = now, n
    finally:
        churn.kill()
        stop.set()
        producer.join()
        sender(G3Frame(G3FrameType.EndProcessing))
        reader.join(30)
        steady.close()
    stats = sender.statistics()
    print(
        f"clients accepted {stats.clients_accepted}, lost {stats.clients_lost}, "
        f"overflowed {stats.clients_overflowed}; steady reader got {received[0]} of "
        f"{sent[0]} frames; fds {start_fds} -> {open_fds()}, "
        f"threads {start_threads} -> {threading.active_count()}"
    )
    if received[0] != sent[0]:
        sys.exit("the steady reader lost frames")


if __name__ == "__main__":
    main()
