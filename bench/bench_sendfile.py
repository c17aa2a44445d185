"""Would ``sendfile`` help a sender serving an unchanged .g3 file?  A measurement.

A pipeline ``G3Reader(file) -> G3NetworkSender`` sends every unchanged frame
from the bytes the reader already holds (``frame.original_bytes``): one copy,
from the reader's buffer into the socket.  ``os.sendfile`` could instead hand
the frame's byte range of the file to the socket from the page cache, with no
copy through user memory -- but the reader has read those bytes anyway (the
pipeline needs the frames, and their CRC is checked), so sendfile adds work
(a second pass over the file's pages by the kernel) in exchange for the one
copy it saves.

Each scenario streams the same uncompressed file (on tmpfs, so the page cache
holds it, the case most favourable to sendfile) over loopback to a reader
process that counts the bytes it receives (and checks the count):

* read only:      ``G3Reader`` iterating over the file, nothing sent (the floor
                  every pipeline pays);
* sender:         ``G3Reader`` -> ``G3NetworkSender`` (connect mode), as shipped;
* read+sendmsg:   ``G3Reader``, then each frame's bytes written with ``sendall``
                  (the sender's mechanism without its queues and threads);
* read+sendfile:  ``G3Reader``, then each frame's byte range of the file sent
                  with ``os.sendfile`` (``socket.sendfile`` where it is missing);
* sendfile alone: the whole file with one ``socket.sendfile`` and no reader
                  (not a pipeline: the bound sendfile could reach).

Run:  python bench/bench_sendfile.py [--frames N] [--repeat N] [--dir DIR] [--only large small]

Figures are MB/s of file bytes delivered (best of ``--repeat``); ratios are
against "sender" measured in the same run.  sendfile's fallback on platforms
without ``os.sendfile`` is ``send`` from user memory, i.e. "read+sendmsg".
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from workloads import COUNTING_READER, channel_data, large_frames, small_frames

from g3stream import core

sendfile = getattr(os, "sendfile", None)


def with_reader(send: Callable[[int], None], expected: int) -> float:
    """Run ``send(port)`` against a counting reader process; seconds from start to last byte."""
    proc = subprocess.Popen(
        [sys.executable, "-c", COUNTING_READER, "connect", "0"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    try:
        port = int(proc.stdout.readline())
        start = time.perf_counter()
        send(port)
        received = int(proc.stdout.readline())
        elapsed = time.perf_counter() - start
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if received != expected:
        raise SystemExit(f"reader received {received} bytes, expected {expected}")
    return elapsed


def connected(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_only(path: str) -> float:
    start = time.perf_counter()
    for frame in core.G3Reader(path):
        del frame
    return time.perf_counter() - start


def sender(path: str, size: int) -> float:
    def send(port: int) -> None:
        out = core.G3NetworkSender("127.0.0.1", port)
        for frame in core.G3Reader(path):
            out(frame)
        out(core.G3Frame(core.G3FrameType.EndProcessing))

    return with_reader(send, size)


def read_sendmsg(path: str, size: int) -> float:
    def send(port: int) -> None:
        with connected(port) as sock:
            for frame in core.G3Reader(path):
                sock.sendall(frame.original_bytes)

    return with_reader(send, size)


def read_sendfile(path: str, size: int) -> float:
    def send(port: int) -> None:
        with connected(port) as sock, open(path, "rb") as f:
            out, src = sock.fileno(), f.fileno()
            for frame in core.G3Reader(path):
                offset = frame.stream_offset
                nbytes = len(memoryview(frame.original_bytes))
                if sendfile is None:  # the portable way: socket.sendfile's own fallback
                    sock.sendfile(f, offset, nbytes)
                    continue
                while nbytes:  # os.sendfile directly: no per-call set-up of socket.sendfile
                    sent = sendfile(out, src, offset, nbytes)
                    offset += sent
                    nbytes -= sent

    return with_reader(send, size)


def sendfile_alone(path: str, size: int) -> float:
    def send(port: int) -> None:
        with connected(port) as sock, open(path, "rb") as f:
            sock.sendfile(f)

    return with_reader(send, size)


def best(repeat: int, run: Callable[[], float]) -> float:
    return min(run() for _ in range(repeat))


def workload(name: str, frames: list[Any], directory: str, repeat: int) -> None:
    path = os.path.join(directory, f"sendfile-{name}.g3")
    writer = core.G3Writer(path)
    for frame in frames:
        writer(frame)
    writer(core.G3Frame(core.G3FrameType.EndProcessing))
    del writer
    frames.clear()
    size = os.path.getsize(path)
    first = next(iter(core.G3Reader(path)))
    assert first.stream_offset == 0 and first.original_bytes is not None
    del first
    mb = size / 1e6
    print(f"{name}: {mb:,.0f} MB file, os.sendfile available: {hasattr(os, 'sendfile')}")
    results: dict[str, float] = {}
    scenarios: dict[str, Callable[[], float]] = {
        "sender": lambda: sender(path, size),
        "read only": lambda: read_only(path),
        "read+sendmsg": lambda: read_sendmsg(path, size),
        "read+sendfile": lambda: read_sendfile(path, size),
        "sendfile alone": lambda: sendfile_alone(path, size),
    }
    for _ in range(repeat):  # alternate the scenarios, keep each one's best
        for label, run in scenarios.items():
            seconds = run()
            results[label] = min(results.get(label, seconds), seconds)
    base = mb / results["sender"]
    for label, seconds in results.items():
        rate = mb / seconds
        print(f"  {label:<15} {rate:>9,.0f} MB/s   {rate / base:.2f}x sender")
    os.unlink(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=200, help="large frames (8 MB each)")
    parser.add_argument("--small", type=int, default=100_000, help="small frames")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default="/dev/shm" if os.path.isdir("/dev/shm") else None)
    parser.add_argument("--only", nargs="*", choices=["large", "small"])
    args = parser.parse_args()
    only = set(args.only or ["large", "small"])
    directory = tempfile.mkdtemp(prefix="g3-sendfile-", dir=args.dir)
    try:
        if "large" in only:
            workload(
                "large", large_frames(core, args.frames, channel_data(4536)), directory, args.repeat
            )
        if "small" in only:
            workload("small", small_frames(core, args.small), directory, args.repeat)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
