"""Network streaming benchmarks: g3stream against spt3g, in the same run.

Every scenario runs the sender and the reader(s) in separate processes, with
a hard time limit on each.  Frames are built before timing starts; rates are
measured in the reader process, from the first frame received to the last.

Scenarios (all over loopback):

* large:   200 Scan frames, each a G3TimestreamMap of 100 channels x 10,000
           float64 samples (about 8 MB); throughput in MB/s.  A plain Python
           socket pair moving the same bytes (200 encoded frames, each in
           memory of its own, built before timing and released once sent;
           the reader receives each into a new buffer, as a frame must be
           kept) is measured too, and the "limit": the same again with one
           CRC-32C pass over the bytes on each side (what any G3 sender and
           reader must at least do).  "cached limit" is the limit with one
           frame's bytes sent 200 times into one reused 1 MB buffer: the
           data then stays in the CPU's cache, which no real stream does.  Each repetition runs g3stream, spt3g
           and the limit in turn; the figures against the limit and against
           spt3g are the median of each repetition's own ratio.
* small:   50,000 Timepoint frames (a G3Time and three integers); frames/s.
* fanout:  one listening sender, 8 reader processes; aggregate MB/s.
* memory:  a connecting sender streams 4 GB to a reader that reads slowly
           (a paced raw socket); the sender's peak memory growth.
* latency: Timepoint frames at 152.6 Hz (the SPT-3G sample rate); p50 and
           p99 of send-to-receipt delay.

Throughput scenarios run ``--repeat`` times (default 3), the two libraries
taking turns, and keep each library's best run: the figures then measure the
code rather than whatever else the machine was doing (except "large", whose
ratios are medians of same-repetition ratios, see above).

Run:  python bench/bench_network.py [--only NAME ...] [--quick] [--repeat N]

The script calls itself with ``--role`` for the worker processes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from workloads import channel_data, large_frames, small_frames

LARGE_FRAMES = 200
SMALL_FRAMES = 50_000
FANOUT_CLIENTS = 8
FANOUT_FRAMES = 40
MEMORY_BYTES = 4 << 30
MEMORY_FRAME_VALUES = 1 << 20  # 8 MB of float64 per frame
MEMORY_READ_RATE = 250e6  # bytes per second the slow reader accepts
MEMORY_PENDING_BOUND = 64 << 20  # g3stream's max_pending_bytes in that scenario
LATENCY_HZ = 152.6
LATENCY_FRAMES = 1526
PROCESS_LIMIT = 600.0
SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


# -- worker side ---------------------------------------------------------------


def library(impl: str) -> Any:
    """The module that provides G3Frame, G3NetworkSender, G3Reader, ... for ``impl``."""
    if impl == "spt3g":
        from spt3g import core

        return core
    from g3stream import core as g3core

    return g3core


def connect_sender(lib: Any, host: str, port: int, **options: Any) -> Any:
    """Construct a connecting sender, retrying while the reader is not listening yet."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return lib.G3NetworkSender(hostname=host, port=port, **options)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)  # the peer process is still starting up


def emit(result: dict[str, Any]) -> None:
    print(json.dumps(result), flush=True)


def role_sender(args: argparse.Namespace) -> None:
    lib = library(args.impl)
    end = lib.G3Frame(lib.G3FrameType.EndProcessing)
    if args.scenario in ("large", "fanout"):
        frames = large_frames(lib, args.frames, channel_data(4536))
    elif args.scenario in ("small", "latency"):
        frames = small_frames(lib, args.frames)
    else:
        raise SystemExit(f"unknown scenario {args.scenario}")
    if args.scenario == "fanout":
        # spt3g's queues are unbounded; give g3stream's per-client byte cap room
        # for the whole stream so that no reader is cut off for lagging.
        options = {}
        if args.impl == "g3stream":
            options = {"max_pending_bytes": 2 << 30, "close_timeout": PROCESS_LIMIT}
        sender = lib.G3NetworkSender(hostname="*", port=args.port, **options)
        print("ready", flush=True)
        sys.stdin.readline()  # every reader is connected
    else:
        sender = connect_sender(lib, "127.0.0.1", args.port)
    if args.scenario == "latency":
        period = 1.0 / LATENCY_HZ
        start = time.monotonic()
        for i, frame in enumerate(frames):
            delay = start + i * period - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # pacing the source, as hardware would
            frame["sent"] = time.monotonic()
            sender(frame)
    else:
        cpu = time.process_time()
        # each frame is released once sent, as in a pipeline: none outlives its turn
        for i in range(len(frames)):
            frame, frames[i] = frames[i], None
            sender(frame)
            del frame
        sender(end)
        sender.Close()  # every frame is out: the CPU it took is all counted
        if args.scenario == "large":
            emit({"cpu": time.process_time() - cpu})
        return
    sender(end)


def role_reader(args: argparse.Namespace) -> None:
    lib = library(args.impl)
    reader = lib.G3Reader(args.url, n_frames_to_read=args.frames)
    if args.announce:
        print("connected", flush=True)
    first = last = 0.0
    cpu_first = cpu_last = 0.0
    count = 0
    nbytes = 0
    delays = []
    frame_size = args.frame_size
    latency = args.scenario == "latency"
    while True:
        frames = reader(None) if args.impl == "spt3g" else reader.Process(None)
        if not frames:
            break
        now = time.monotonic()
        cpu_last = time.process_time()
        for frame in frames:
            if count == 0:
                first = now
                cpu_first = cpu_last
            count += 1
            nbytes += frame_size
            if latency:
                delays.append(now - frame["sent"])
        last = now
    emit(
        {
            "frames": count,
            "bytes": nbytes,
            "first": first,
            "last": last,
            "delays": delays,
            "cpu": cpu_last - cpu_first,
        }
    )


def role_raw_sender(args: argparse.Namespace) -> None:
    from crc32c import crc32c

    from g3stream import core as g3core

    # the bytes of real frames: all-zero bytes would be the kernel's shared
    # zero page, which a CRC and a send read from one cached page.  As the
    # libraries do, every frame has its own memory, built before timing and
    # released once sent (``--cached``: one frame's bytes sent every time,
    # which stays in the CPU's cache)
    data = channel_data(4536)
    if args.cached:
        one = bytes(large_frames(g3core, 1, data)[0].encoded())
        payloads = [one] * args.frames
    else:
        payloads = [bytes(large_frames(g3core, 1, data)[0].encoded()) for _ in range(args.frames)]
    assert all(len(p) == args.frame_size for p in payloads)
    deadline = time.monotonic() + 60
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", args.port))
            break
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    cpu = time.process_time()
    payloads.reverse()
    while payloads:
        payload = payloads.pop()
        if args.crc:
            crc32c(payload)
        sock.sendall(payload)
        del payload
    sock.close()
    emit({"cpu": time.process_time() - cpu})


def role_raw_reader(args: argparse.Namespace) -> None:
    from crc32c import crc32c

    listener = socket.create_server(("127.0.0.1", args.port))
    print("listening", flush=True)
    conn, _ = listener.accept()
    # as a reader of frames must: each frame lands in memory of its own, which
    # the frame keeps (``--cached``: one 1 MB buffer reused, in the cache)
    size = (1 << 20) if args.cached else args.frame_size
    buf = bytearray(size)
    view = memoryview(buf)
    used = 0
    total = 0
    first = last = 0.0
    cpu_first = cpu_last = 0.0
    frame_end = args.frame_size
    while True:
        if used == size:
            buf = bytearray(size)
            view = memoryview(buf)
            used = 0
        n = conn.recv_into(view[used:])
        if not n:
            break
        if args.crc:
            crc32c(view[used : used + n])
        used += n
        total += n
        if total >= frame_end:  # a frame's last byte: time it as the readers do
            frame_end += args.frame_size
            last = time.monotonic()
            cpu_last = time.process_time()
            if not first:
                first, cpu_first = last, cpu_last
    emit(
        {
            "frames": args.frames,
            "bytes": total,  # as the readers count: every frame, over first to last
            "first": first,
            "last": last,
            "delays": [],
            "cpu": cpu_last - cpu_first,
        }
    )


def role_memory_sender(args: argparse.Namespace) -> None:
    import numpy as np

    lib = library(args.impl)
    values = np.arange(MEMORY_FRAME_VALUES, dtype=np.float64)
    options = {"max_pending_bytes": MEMORY_PENDING_BOUND} if args.impl == "g3stream" else {}
    sender = connect_sender(lib, "127.0.0.1", args.port, **options)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    for i in range(args.frames):
        frame = lib.G3Frame(lib.G3FrameType.Scan)
        frame["Index"] = i
        frame["Samples"] = lib.G3VectorDouble(values)  # produced on the fly, like a DAQ
        sender(frame)
    sender(lib.G3Frame(lib.G3FrameType.EndProcessing))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    emit({"baseline": baseline, "peak": peak})


def role_slow_reader(args: argparse.Namespace) -> None:
    listener = socket.create_server(("127.0.0.1", args.port))
    print("listening", flush=True)
    conn, _ = listener.accept()
    buf = memoryview(bytearray(1 << 20))
    total = 0
    start = time.monotonic()
    while True:
        n = conn.recv_into(buf)
        if not n:
            break
        total += n
        ahead = total / MEMORY_READ_RATE - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)  # a reader slower than the sender
    emit({"bytes": total, "seconds": time.monotonic() - start})


# -- orchestration -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.path.abspath(SRC), env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def collect(proc: subprocess.Popen[str], limit: float = PROCESS_LIMIT) -> dict[str, Any] | None:
    """Wait for a worker (killed past ``limit``); its JSON result, or None."""
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        print(f"  worker {proc.args[3:5]} killed after {limit:.0f} s", file=sys.stderr)
        return None
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if proc.returncode != 0 and not lines:
        print(f"  worker failed ({proc.returncode}): {err.strip()[-2000:]}", file=sys.stderr)
        return None
    return json.loads(lines[-1]) if lines else None


def frame_bytes(impl: str, scenario: str) -> int:
    """Serialized size of one frame of a scenario (both libraries write the same bytes)."""
    from g3stream import core as g3core

    frames = (
        large_frames(g3core, 1, channel_data(4536))
        if scenario in ("large", "fanout")
        else small_frames(g3core, 1)
    )
    return len(frames[0].encoded())


def point_to_point(impl: str, scenario: str, n: int) -> dict[str, Any] | None:
    """Reader listening, sender connecting; the reader's measurement."""
    port = free_port()
    size = frame_bytes(impl, scenario)
    common = ["--impl", impl, "--scenario", scenario, "--port", str(port), "--frames", str(n)]
    reader = spawn(
        "--role", "reader", *common, "--url", f"tcp://*:{port}", "--frame-size", str(size)
    )
    sender = spawn("--role", "sender", *common)
    result = collect(reader)
    sender_result = collect(sender, 60)
    if result is not None and sender_result is not None:
        result["sender_cpu"] = sender_result.get("cpu")
    return result


def raw_pair(n: int, size: int, crc: bool = False, cached: bool = False) -> dict[str, Any] | None:
    """A plain socket pair moving ``n`` x ``size`` bytes (each side checksumming with ``crc``)."""
    port = free_port()
    common = ["--port", str(port), "--frames", str(n), "--frame-size", str(size)]
    if crc:
        common.append("--crc")
    if cached:
        common.append("--cached")
    reader = spawn("--role", "raw-reader", *common)
    assert reader.stdout is not None
    reader.stdout.readline()
    sender = spawn("--role", "raw-sender", *common)
    result = collect(reader)
    sender_result = collect(sender, 60)
    if result is not None and sender_result is not None:
        result["sender_cpu"] = sender_result.get("cpu")
    return result


def fanout(impl: str, n: int, reader_impl: str | None = None) -> float | None:
    """Aggregate MB/s of FANOUT_CLIENTS readers (of ``reader_impl``) on one listening sender."""
    port = free_port()
    size = frame_bytes(impl, "fanout")
    common = ["--scenario", "fanout", "--port", str(port), "--frames", str(n)]
    sender = spawn("--role", "sender", "--impl", impl, *common)
    assert sender.stdout is not None and sender.stdin is not None
    if sender.stdout.readline().strip() != "ready":
        collect(sender, 10)
        return None
    readers = [
        spawn(
            "--role",
            "reader",
            "--impl",
            reader_impl or impl,
            *common,
            "--url",
            f"tcp://127.0.0.1:{port}",
            "--frame-size",
            str(size),
            "--announce",
        )
        for _ in range(FANOUT_CLIENTS)
    ]
    for reader in readers:
        assert reader.stdout is not None
        reader.stdout.readline()  # "connected"
    sender.stdin.write("go\n")
    sender.stdin.flush()
    results = [collect(r) for r in readers]
    collect(sender, 60)
    if any(r is None or r["frames"] != n for r in results):
        return None
    first = min(r["first"] for r in results if r)
    last = max(r["last"] for r in results if r)
    total = sum(r["bytes"] for r in results if r)
    return total / (last - first) / 1e6


def memory(impl: str, total: int) -> dict[str, Any] | None:
    port = free_port()
    n = total // (MEMORY_FRAME_VALUES * 8)
    reader = spawn("--role", "slow-reader", "--port", str(port))
    assert reader.stdout is not None
    reader.stdout.readline()
    sender = spawn(
        "--role", "memory-sender", "--impl", impl, "--port", str(port), "--frames", str(n)
    )
    result = collect(sender)
    collect(reader, 60)
    return result


def rate(result: dict[str, Any] | None, frames: bool = False) -> float | None:
    if not result or result["last"] <= result["first"]:
        return None
    span = result["last"] - result["first"]
    if frames:
        return (result["frames"] - 1) / span
    return result["bytes"] / span / 1e6


def best_of(
    repeat: int, impls: list[str], run: Callable[[str], float | None]
) -> dict[str, float | None]:
    """Highest figure of ``repeat`` runs per library, the libraries taking turns."""
    best: dict[str, float | None] = dict.fromkeys(impls)
    for _ in range(max(1, repeat)):
        for impl in impls:
            value = run(impl)
            current = best[impl]
            if value is not None and (current is None or value > current):
                best[impl] = value
    return best


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def have_spt3g() -> bool:
    try:
        import spt3g  # noqa: F401
    except ImportError:
        return False
    return True


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, str]] = []

    def add(
        self,
        label: str,
        ours: float | None,
        theirs: float | None,
        unit: str,
        target: str = "",
        ratio_of_runs: float | None = None,
    ) -> None:
        """A row; ``ratio_of_runs`` replaces ours / theirs (a median of per-run ratios)."""

        def fmt(v: float | None) -> str:
            return "n/a" if v is None else f"{v:,.1f} {unit}"

        ratio = "n/a"
        if ratio_of_runs is not None:
            ratio = f"{ratio_of_runs:.2f}x"
        elif ours is not None and theirs:
            ratio = f"{ours / theirs:.2f}x"
        self.rows.append((label, fmt(ours), fmt(theirs), ratio, target))
        print(f"  {label}: g3stream {fmt(ours)}, spt3g {fmt(theirs)}, ratio {ratio}", flush=True)

    def note(self, label: str, value: float | None, unit: str, ratio: str, target: str) -> None:
        shown = "n/a" if value is None else f"{value:,.1f} {unit}"
        self.rows.append((label, shown, "", ratio, target))
        print(f"  {label}: {shown}, {ratio}", flush=True)

    def show(self) -> None:
        header = ("scenario", "g3stream", "spt3g", "g3stream/spt3g", "target")
        widths = [max(len(r[i]) for r in [header, *self.rows]) for i in range(5)]
        for row in [header, tuple("-" * w for w in widths), *self.rows]:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def large(table: Table, impls: list[str], n: int, repeat: int) -> None:
    """The large-frame scenario: per repetition g3stream, spt3g, the plain pair and the limit.

    The machine's load changes between repetitions, so each repetition's
    g3stream figure is compared with the spt3g figure and the limit of the
    same repetition, and the median of those ratios is reported.  The CPU
    time each side spends per frame (sender, then reader, from the first
    frame to the last) is shown too: on a busy machine it varies much less
    than the rates.
    """
    size = frame_bytes("g3stream", "large")
    runs: dict[str, list[float | None]] = {
        k: [] for k in [*impls, "plain", "limit", "cached limit"]
    }
    cpus: dict[str, list[tuple[float, float]]] = {k: [] for k in [*impls, "limit"]}

    def measure(key: str, result: dict[str, Any] | None) -> None:
        runs[key].append(rate(result))
        if key in cpus and result and result.get("sender_cpu") is not None and n > 1:
            cpus[key].append((result["sender_cpu"] / n * 1e6, result["cpu"] / (n - 1) * 1e6))

    for i in range(max(1, repeat)):
        for impl in impls:
            measure(impl, point_to_point(impl, "large", n))
        measure("plain", raw_pair(n, size))
        measure("limit", raw_pair(n, size, crc=True))
        measure("cached limit", raw_pair(n, size, crc=True, cached=True))
        shown = ", ".join(f"{k} {v[-1] or 0:,.0f}" for k, v in runs.items())
        print(f"  large, repetition {i + 1}: {shown} MB/s", flush=True)
        shown = ", ".join(f"{k} {c[-1][0]:,.0f} + {c[-1][1]:,.0f}" for k, c in cpus.items() if c)
        print(f"    CPU per frame (sender + reader): {shown} us", flush=True)

    def median_of(key: str) -> float | None:
        values = [v for v in runs[key] if v is not None]
        return statistics.median(values) if values else None

    def median_ratio(key: str) -> float | None:
        pairs = zip(runs["g3stream"], runs[key], strict=True)
        values = [a / b for a, b in pairs if a is not None and b]
        return statistics.median(values) if values else None

    ours = median_of("g3stream")
    theirs = median_of("spt3g") if "spt3g" in runs else None
    vs_spt3g = median_ratio("spt3g") if "spt3g" in runs else None
    table.add(f"large frames ({n} x 8 MB)", ours, theirs, "MB/s", ">= 1.5x", vs_spt3g)
    for key, label, target in (
        ("plain", "  plain Python socket pair, same bytes", ">= 0.5x"),
        ("limit", "  limit: same, one CRC-32C pass per side", ">= 0.85x"),
        ("cached limit", "  the limit with one frame's bytes, cached", ""),
    ):
        share = median_ratio(key)
        shown = "n/a" if share is None else f"g3stream/{key} ratio {share:.2f}x"
        table.note(label, median_of(key), "MB/s", shown, target)
    for key, label in (("g3stream", "g3stream"), ("spt3g", "spt3g"), ("limit", "limit")):
        if cpus.get(key):
            send = statistics.median(c[0] for c in cpus[key])
            recv = statistics.median(c[1] for c in cpus[key])
            print(
                f"  CPU per frame, {label} (median): sender {send:,.0f} us, reader {recv:,.0f} us"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role")
    parser.add_argument("--impl", default="g3stream", choices=["g3stream", "spt3g"])
    parser.add_argument("--scenario", default="large")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--frames", type=int, default=0)
    parser.add_argument("--frame-size", type=int, default=0)
    parser.add_argument("--url", default="")
    parser.add_argument("--announce", action="store_true")
    parser.add_argument("--crc", action="store_true", help="raw roles: one CRC-32C pass per side")
    parser.add_argument(
        "--cached", action="store_true", help="raw roles: one frame's bytes, one reused buffer"
    )
    parser.add_argument(
        "--only",
        nargs="*",
        choices=["large", "small", "fanout", "memory", "latency"],
        help="run only these scenarios",
    )
    parser.add_argument("--quick", action="store_true", help="a tenth of the data everywhere")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of each throughput scenario, alternating libraries; the best is kept",
    )
    args = parser.parse_args()

    roles = {
        "sender": role_sender,
        "reader": role_reader,
        "raw-sender": role_raw_sender,
        "raw-reader": role_raw_reader,
        "memory-sender": role_memory_sender,
        "slow-reader": role_slow_reader,
    }
    if args.role:
        roles[args.role](args)
        return

    scale = 10 if args.quick else 1
    only = set(args.only or ["large", "small", "fanout", "memory", "latency"])
    impls = ["g3stream", "spt3g"] if have_spt3g() else ["g3stream"]
    if "spt3g" not in impls:
        print("spt3g is not installed: g3stream figures only")
    table = Table()
    print(f"network benchmarks ({os.cpu_count()} CPUs), sender and readers in separate processes")

    if "large" in only:
        large(table, impls, LARGE_FRAMES // scale, args.repeat)
    if "small" in only:
        n = SMALL_FRAMES // scale
        res = best_of(
            args.repeat, impls, lambda impl: rate(point_to_point(impl, "small", n), frames=True)
        )
        table.add(
            "small frames (50,000 Timepoint)",
            res["g3stream"],
            res.get("spt3g"),
            "frames/s",
            ">= 2x",
        )
    if "fanout" in only:
        n = max(4, FANOUT_FRAMES // scale)
        res2 = best_of(args.repeat, impls, lambda impl: fanout(impl, n))
        if "spt3g" in impls:
            # The same with spt3g readers on both sides: the senders alone compared.
            res3 = best_of(args.repeat, impls, lambda impl: fanout(impl, n, "spt3g"))
        table.add(
            f"fan-out to {FANOUT_CLIENTS} clients (aggregate)",
            res2["g3stream"],
            res2.get("spt3g"),
            "MB/s",
        )
        if "spt3g" in impls:
            table.add(
                "  same, spt3g readers (senders compared)",
                res3["g3stream"],
                res3.get("spt3g"),
                "MB/s",
            )
    if "memory" in only:
        total = MEMORY_BYTES // scale
        mem = {impl: memory(impl, total) for impl in impls}
        growth = {impl: (r["peak"] - r["baseline"]) / 1e6 if r else None for impl, r in mem.items()}
        table.add(
            f"sender peak memory growth, {total >> 20} MB to a slow reader (lower is better)",
            growth["g3stream"],
            growth.get("spt3g"),
            "MB",
            f"bounded ({MEMORY_PENDING_BOUND >> 20} MB buffer)",
        )
    if "latency" in only:
        n = LATENCY_FRAMES // scale
        lat = {impl: point_to_point(impl, "latency", n) for impl in impls}
        for q in (0.5, 0.99):
            vals = {
                impl: percentile(r["delays"], q) * 1e3 if r and r["delays"] else None
                for impl, r in lat.items()
            }
            table.add(
                f"latency p{int(q * 100)} at {LATENCY_HZ} Hz",
                vals["g3stream"],
                vals.get("spt3g"),
                "ms",
            )
    print()
    table.show()


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
