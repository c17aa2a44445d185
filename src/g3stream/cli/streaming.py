"""Building blocks of the streaming subcommands: senders, pacing and shutdown.

The streaming commands drive their modules by hand (source -> modules) so
that Ctrl-C can stop the source and still let the sender flush and close its
clients within its deadline.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from ..frame import G3Frame, G3FrameType
from ..net import G3NetworkSender, G3ThrottledNetworkSender
from .common import UsageError, decimation_arg, non_negative_int_arg, port_arg

log = logging.getLogger("g3stream.cli")


def add_sender_options(p: argparse.ArgumentParser, default_port: int | None = None) -> None:
    """Options shared by ``serve`` and ``relay``: where to serve and how to queue."""
    p.add_argument(
        "-p",
        "--port",
        type=port_arg,
        required=default_port is None,
        default=default_port,
        help="TCP port to serve on (0: a free port, printed at start-up)",
    )
    p.add_argument(
        "--host",
        default="*",
        help="'*' (default) listens for clients on every interface; any other host name "
        "makes the server connect to a reader listening at HOST:PORT instead",
    )
    p.add_argument(
        "--bind",
        metavar="ADDRESS",
        default=None,
        help="listen on this local address only (for example 127.0.0.1) instead of every interface",
    )
    p.add_argument(
        "--max-clients",
        type=non_negative_int_arg,
        default=0,
        metavar="N",
        help="refuse clients beyond N at a time (0: no limit)",
    )
    p.add_argument(
        "--max-queue-size",
        type=non_negative_int_arg,
        default=0,
        metavar="N",
        help="per client, drop new Timepoint/Scan frames while N frames are queued "
        "(0: never drop; metadata frames are never dropped)",
    )
    p.add_argument(
        "--wait-for-client",
        type=non_negative_int_arg,
        default=0,
        metavar="N",
        help="do not start sending before N clients are connected",
    )
    p.add_argument(
        "--decimate",
        action="append",
        type=decimation_arg,
        metavar="TYPE=N",
        help="send only every Nth frame of TYPE (for example Timepoint=10; N=0 sends none); "
        "repeatable",
    )


def make_sender(args: argparse.Namespace) -> Any:
    """The network sender the options ask for (throttled when ``--decimate`` is given)."""
    options: dict[str, Any] = {}
    if args.host == "*":
        options["max_clients"] = args.max_clients
        if args.bind:
            options["bind_address"] = args.bind
    elif args.bind or args.max_clients:
        raise UsageError("--bind and --max-clients apply to listening servers (--host '*')")
    if args.decimate:
        return G3ThrottledNetworkSender(
            hostname=args.host,
            port=args.port,
            frame_decimation=dict(args.decimate),
            max_queue_size=args.max_queue_size,
            **options,
        )
    return G3NetworkSender(
        hostname=args.host, port=args.port, max_queue_size=args.max_queue_size, **options
    )


def sender_port(sender: Any, requested: int) -> int:
    """The port a sender is bound to (the system's choice when 0 was requested)."""
    port = getattr(sender, "port", None)
    return int(port) if port else requested


def wait_for_clients(sender: Any, n: int, stop: threading.Event) -> None:
    """Return once ``sender`` has ``n`` connected clients (or ``stop`` is set)."""
    if n <= 0:
        return
    log.info("waiting for %d client(s)", n)
    while not stop.is_set():
        if sender.statistics().connected_clients >= n:
            return
        stop.wait(0.05)


def announce(what: str) -> None:
    """Print a start-up line on stdout and flush it (scripts wait for it)."""
    print(what, flush=True)


def end_processing(modules: Iterable[Any]) -> None:
    """Send an EndProcessing frame through ``modules`` so they flush and close."""
    frames = [G3Frame(G3FrameType.EndProcessing)]
    for module in modules:
        out: list[G3Frame] = []
        for frame in frames:
            result = module(frame)
            if result is None or result is True:
                out.append(frame)
            elif isinstance(result, G3Frame):
                out.append(result)
            elif result is not False:
                out.extend(result)
        frames = out


def paced(
    frames: Iterable[G3Frame], rate: float | None, stop: threading.Event
) -> Iterator[G3Frame]:
    """Yield ``frames`` at most ``rate`` per second (all at once when ``rate`` is None).

    Waiting is done on ``stop`` so another thread can cut it short.
    """
    if not rate:
        for frame in frames:
            if stop.is_set():
                return
            yield frame
        return
    start = time.monotonic()
    for i, frame in enumerate(frames):
        wait = start + i / rate - time.monotonic()
        if wait > 0 and stop.wait(wait):
            return
        if stop.is_set():
            return
        yield frame


def close_module(module: Any) -> None:
    """Call a module's ``close()``/``Close()`` if it has one; never raises."""
    for name in ("close", "Close"):
        fn = getattr(module, name, None)
        if callable(fn):
            try:
                fn()
            except Exception:  # noqa: BLE001 - shutting down: log and go on
                log.debug("error while closing %r", module, exc_info=True)
            return


@contextlib.contextmanager
def stop_reading_on_signal(reader: Any) -> Iterator[threading.Event]:
    """Make Ctrl-C and SIGTERM end the reading between two frames, not inside a write.

    The first signal closes ``reader`` (from a thread of its own, as a
    duration timer does), so the loop over its frames ends after the frame
    in hand and the output is finished whole; a second signal interrupts at
    once (``KeyboardInterrupt``).  The event tells whether a signal came.
    """
    stopping = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stopping
        return

    def stop(signum: int, _frame: object) -> None:
        if stopping.is_set():
            raise KeyboardInterrupt(f"signal {signum}")
        stopping.set()
        threading.Thread(target=close_module, args=(reader,), daemon=True).start()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stopping
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def log_sender_statistics(sender: Any) -> None:
    """Log the sender's totals at the end of a run."""
    stats_fn = getattr(sender, "statistics", None)
    if not callable(stats_fn):
        return
    try:
        stats = stats_fn()
    except Exception:  # noqa: BLE001 - statistics are informative only
        return
    log.info("sender statistics: %s", stats)
