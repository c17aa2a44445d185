"""G3 streams through NATS JetStream against direct TCP, on this machine, in the same run.

Both paths use g3stream end to end: G3NetworkSender -> G3Reader(tcp://) for
direct TCP; G3NatsSender -> a local nats-server with JetStream (file
storage) -> G3Reader(nats://) for JetStream.  Sender and readers run in threads of
this process (NATS adds each side's event-loop thread); the server is a
separate process.  Figures are measured at the reader, first frame to last.

Scenarios:

* large:    Scan frames of about 8 MB (split into messages on JetStream); MB/s.
* small:    Timepoint frames (a G3Time and three integers); frames/s.
* fanout:   one sender, 8 readers; aggregate frames/s (small frames).
* latency:  Timepoint frames at 152.6 Hz; p50 and p99 send-to-receipt delay.
* joiner:   a late joiner's time to its first frame (the metadata snapshot)
            on a stream holding N frames, for a small and a large N.
* filerelay: small frames read from a file (``track_filename``, as ``relay FILE
            --to``: frames named ``file@offset``), published one frame per
            message (how position-named frames travelled before they were
            batched) and in batches; frames/s at a reader against direct TCP.

Longer variants of the CI tests (more kills, longer outages): bench/soak_nats.py.

Small frames travel in batches (several frames per message) unless
``--batch-frames 1`` (one frame per message, as before batches) is given.

Run:  python bench/bench_nats.py [--only NAME ...] [--quick] [--joiner-frames N]
                                 [--batch-frames N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from workloads import channel_data, large_frames, small_frames

import g3stream
from g3stream import G3Frame, G3FrameType, G3NetworkSender, G3Reader
from g3stream.nats import G3NatsSender, NatsSource
from g3stream.nats.layout import HDR_MSG_ID, HDR_TYPE, data_subject

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "nats"))
from natsservers import NatsServer  # noqa: E402

LATENCY_HZ = 152.6
STREAM_BYTES = 600 << 20  # per stream: the scenarios fit, the test server's store too


def _count(reader_next, n: int, on_frame=None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Read ``n`` frames with ``reader_next()``; rate figures from first to last."""
    got = nbytes = 0
    first = last = 0.0
    while got < n:
        f = reader_next()
        if f is None:
            break
        now = time.perf_counter()
        if not got:
            first = now
        last = now
        got += 1
        nbytes += len(f.encoded())
        if on_frame is not None:
            on_frame(f, now)
    span = max(last - first, 1e-9)
    return {
        "frames": got,
        "bytes": nbytes,
        "seconds": span,
        "fps": got / span,
        "mbps": nbytes / span / 1e6,
    }


def _g3reader_next(reader: G3Reader):  # type: ignore[no-untyped-def]
    def nxt() -> G3Frame | None:
        out = reader(None)
        return out[0] if out else None

    return nxt


def tcp(frames: list[G3Frame], readers: int = 1, pace: float = 0.0, on_frame=None) -> list[dict]:  # type: ignore[no-untyped-def]
    sender = G3NetworkSender("*", 0)
    port = sender.port
    rs = [G3Reader(f"tcp://127.0.0.1:{port}", timeout=30) for _ in range(readers)]
    deadline = time.monotonic() + 30
    while sender.statistics().connected_clients < readers and time.monotonic() < deadline:
        time.sleep(0.01)
    results: list[dict] = [{}] * readers

    def read(k: int) -> None:
        results[k] = _count(_g3reader_next(rs[k]), len(frames), on_frame)

    threads = [threading.Thread(target=read, args=(k,)) for k in range(readers)]
    for t in threads:
        t.start()
    _send(sender, frames, pace)
    sender(G3Frame(G3FrameType.EndProcessing))
    for t in threads:
        t.join(600)
    for r in rs:
        r.close()
    return results


def _send(sender: Any, frames: list[G3Frame], pace: float) -> None:
    start = time.monotonic()
    for i, f in enumerate(frames):
        if pace:
            delay = start + i / pace - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            f["t"] = time.time()
        sender(f)


async def _delete(url: str, streams: list[str]) -> None:
    import nats as nats_py

    nc = await nats_py.connect(url)
    for s in streams:
        await nc.jetstream().delete_stream(s)
    await nc.close()


def nats(
    server: NatsServer,
    name: str,
    frames: list[G3Frame],
    readers: int = 1,
    pace: float = 0.0,
    on_frame=None,
    **options: Any,
) -> list[dict]:  # type: ignore[no-untyped-def]
    url = f"{server.url}/{name}"
    sender = G3NatsSender(
        f"{url}?max_bytes={STREAM_BYTES}",
        max_inflight_bytes=64 << 20,
        **{**SENDER_OPTIONS, **options},
    )
    # read as users read a stream, and as the TCP figures are: with G3Reader
    rs = [G3Reader(f"{url}?start=first", timeout=30) for _ in range(readers)]
    results: list[dict] = [{}] * readers

    def read(k: int) -> None:
        results[k] = _count(_g3reader_next(rs[k]), len(frames), on_frame)

    threads = [threading.Thread(target=read, args=(k,)) for k in range(readers)]
    for t in threads:
        t.start()
    _send(sender, frames, pace)
    sender.Close()
    for t in threads:
        t.join(600)
    stats = sender.statistics()
    for r in results:
        r["frames_per_message"] = stats.frames_sent / max(1, stats.messages_sent)
    for r in rs:
        r.close()
    asyncio.run(_delete(server.url, [name, f"{name}_META"]))
    return results


def latency(run) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """p50 and p99 delays (ms), and frames per message (1 for direct TCP)."""
    delays: list[float] = []
    results = run(lambda f, _now: delays.append(time.time() - float(f["t"])))
    delays.sort()
    fpm = results[0].get("frames_per_message", 1.0)
    return delays[len(delays) // 2] * 1e3, delays[int(len(delays) * 0.99)] * 1e3, fpm


async def _fill(url: str, stream: str, n: int) -> None:
    """Append ``n`` small Timepoint frames to the stream as fast as nats-py publishes."""
    import nats as nats_py

    payload = bytes(small_frames(g3stream, 1)[0].encoded())
    nc = await nats_py.connect(url)
    js = nc.jetstream(publish_async_max_pending=20000)
    subject = data_subject(stream, G3FrameType.Timepoint)
    for i in range(n):
        await js.publish_async(
            subject,
            payload,
            headers={HDR_TYPE: str(int(G3FrameType.Timepoint)), HDR_MSG_ID: f"fill-{i}"},
        )
    await js.publish_async_completed()
    await nc.close()


def joiner(server: NatsServer, name: str, n: int) -> float:
    url = f"{server.url}/{name}"
    with G3NatsSender(f"{url}?max_bytes={STREAM_BYTES}") as sender:
        for t in ("Observation", "Calibration", "Wiring"):
            f = G3Frame(t)
            f["x"] = 1
            sender(f)
    asyncio.run(_fill(server.url, name, n))
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        src = NatsSource(url)
        d = src.next_delivery(30)
        times.append(time.perf_counter() - t0)
        assert d is not None and d.snapshot
        src.close()
    return statistics.median(times)


#: Options of every G3NatsSender of the run (from the command line).
SENDER_OPTIONS: dict[str, Any] = {}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--quick", action="store_true", help="fewer frames (a smoke run)")
    ap.add_argument("--joiner-frames", type=int, default=1_000_000)
    ap.add_argument(
        "--batch-frames",
        type=int,
        default=None,
        help="the senders' max_batch_frames (1: one frame per message; default: the sender's)",
    )
    args = ap.parse_args()
    if args.batch_frames is not None:
        SENDER_OPTIONS["max_batch_frames"] = args.batch_frames
    want = set(args.only or ["large", "small", "fanout", "latency", "joiner", "filerelay"])
    n_large = 10 if args.quick else 40
    n_small = 5000 if args.quick else 50_000
    n_fan = 2000 if args.quick else 10_000
    n_lat = 300 if args.quick else 1526
    with tempfile.TemporaryDirectory() as tmp, NatsServer(Path(tmp) / "nats") as server:
        print(f"nats-server on {server.url}; figures: JetStream / direct TCP")
        if "large" in want:
            frames = large_frames(g3stream, n_large, channel_data())
            t = tcp(frames)[0]
            n = nats(server, "LARGE", frames)[0]
            print(
                f"large  {n['mbps']:8.1f} MB/s  vs {t['mbps']:8.1f} MB/s   ratio {n['mbps'] / t['mbps']:.2f}"
            )
        if "small" in want:
            frames = small_frames(g3stream, n_small)
            t = tcp(frames)[0]
            n = nats(server, "SMALL", frames)[0]
            print(
                f"small  {n['fps']:8.0f} fr/s  vs {t['fps']:8.0f} fr/s   ratio {n['fps'] / t['fps']:.2f}"
                f"  ({n['frames_per_message']:.1f} frames per message)"
            )
        if "fanout" in want:
            frames = small_frames(g3stream, n_fan)
            t = sum(r["fps"] for r in tcp(frames, readers=8))
            n = sum(r["fps"] for r in nats(server, "FANOUT", frames, readers=8))
            print(
                f"fanout {n:8.0f} fr/s  vs {t:8.0f} fr/s   ratio {n / t:.2f}  (8 readers, aggregate)"
            )
        if "latency" in want:
            frames = small_frames(g3stream, n_lat)
            tp50, tp99, _ = latency(lambda cb: tcp(frames, pace=LATENCY_HZ, on_frame=cb))
            frames = small_frames(g3stream, n_lat)
            np50, np99, fpm = latency(
                lambda cb: nats(server, "LATENCY", frames, pace=LATENCY_HZ, on_frame=cb)
            )
            print(
                f"latency p50 {np50:.2f} ms vs {tp50:.2f} ms; p99 {np99:.2f} ms vs {tp99:.2f} ms "
                f"(at {LATENCY_HZ} Hz; {fpm:.2f} frames per message)"
            )
        if "filerelay" in want:
            path = Path(tmp) / "relay.g3"
            with g3stream.G3Writer(str(path)) as writer:
                for f in small_frames(g3stream, n_small):
                    writer(f)
            frames = list(G3Reader(str(path), track_filename=True))
            t = tcp(frames)[0]
            one = nats(server, "FILEONE", frames, max_batch_frames=1)[0]
            batched = nats(server, "FILEBATCH", frames)[0]
            for label, n in (("one frame per message", one), ("batches", batched)):
                print(
                    f"file relay {n['fps']:8.0f} fr/s  vs {t['fps']:8.0f} fr/s   "
                    f"ratio {n['fps'] / t['fps']:.2f}  ({label}: "
                    f"{n['frames_per_message']:.1f} frames per message)"
                )
        if "joiner" in want:
            small = joiner(server, "JOINSMALL", 1000)
            big = joiner(server, "JOINBIG", 20_000 if args.quick else args.joiner_frames)
            print(
                f"joiner first frame: {small * 1e3:.1f} ms on 1,000 frames; {big * 1e3:.1f} ms on "
                f"{20_000 if args.quick else args.joiner_frames:,} frames (target < 100 ms)"
            )


if __name__ == "__main__":
    main()
