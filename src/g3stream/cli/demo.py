"""``g3stream demo``: a simulated DAQ streaming to a live monitor, on this machine.

A background thread runs the simulated DAQ (:class:`g3stream.sim.SimulatedDAQ`,
real time, 152.6 Hz Timepoints and one Scan per second) into a listening
G3NetworkSender on a free local port; the monitor connects to it with
``G3Reader('tcp://127.0.0.1:PORT')`` and shows the live frame and byte rates
per frame type.  It ends by itself after ``--duration`` seconds or on Ctrl-C.
"""

from __future__ import annotations

import argparse
import logging
import threading
from typing import Any

from ..frame import G3Frame, G3FrameType
from ..net import G3NetworkSender
from ..rates import RateBoard
from ..sim import SPT3G_SAMPLE_RATE, SimulatedDAQ
from .common import EXIT_OK, format_bytes, positive_float_arg
from .monitor import StreamMonitor, show_until_done
from .rates import RateDisplay
from .serve import add_simulation_options, start_time_arg
from .streaming import close_module

HELP = "watch a simulated telescope stream live (server and monitor on this machine)"

log = logging.getLogger("g3stream.cli")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``demo`` subcommand."""
    p = subparsers.add_parser(
        "demo",
        help=HELP,
        description=(
            "Start a simulated DAQ served on a free local port and a monitor that reads it "
            "over TCP, showing frame and byte rates per frame type. Ends after --duration "
            "seconds or on Ctrl-C."
        ),
    )
    p.add_argument(
        "--duration",
        type=positive_float_arg,
        default=10.0,
        metavar="SECONDS",
        help="how long to run (default 10)",
    )
    p.add_argument(
        "--interval",
        type=positive_float_arg,
        default=0.5,
        metavar="SECONDS",
        help="refresh interval of the display (default 0.5)",
    )
    p.add_argument(
        "--rate",
        type=positive_float_arg,
        default=SPT3G_SAMPLE_RATE,
        metavar="HZ",
        help=f"sample (Timepoint) rate (default {SPT3G_SAMPLE_RATE:.4g} Hz)",
    )
    add_simulation_options(p)
    p.set_defaults(run=run)
    return p


class DemoServer:
    """The simulated DAQ feeding a listening G3NetworkSender, in a background thread."""

    def __init__(self, sim: SimulatedDAQ) -> None:
        self.sim = sim
        self.sender = G3NetworkSender(hostname="*", port=0)
        self.port = int(self.sender.port)
        self.frames = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="g3stream-demo-daq", daemon=True)

    def start(self) -> DemoServer:
        """Start producing and serving frames."""
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            for frame in self.sim:
                self.sender(frame)
                self.frames += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            self.error = exc
        finally:
            try:
                self.sender(G3Frame(G3FrameType.EndProcessing))
            except Exception as exc:  # noqa: BLE001
                log.debug("closing the demo sender: %s", exc)

    def stop(self, timeout: float = 5.0) -> None:
        """Halt the DAQ, let the sender flush and close, and wait for the thread."""
        self.sim.halt()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout)
        if self._thread.is_alive() or self._thread.ident is None:
            close_module(self.sender)


def run(args: argparse.Namespace) -> int:
    """Run the demo for ``--duration`` seconds (or until Ctrl-C)."""
    sim = SimulatedDAQ(
        n_detectors=args.detectors,
        sample_rate=args.rate,
        samples_per_scan=args.samples_per_scan,
        seed=args.seed,
        start_time=start_time_arg(args.start_time),
        realtime=True,
    )
    server = DemoServer(sim)
    url = f"tcp://127.0.0.1:{server.port}"
    print(
        f"simulated DAQ: {args.detectors} detectors at {args.rate:.4g} Hz, "
        f"serving on port {server.port}; monitor reading {url}",
        flush=True,
    )
    board = RateBoard()
    monitor = StreamMonitor(url, board, timeout=10.0)
    try:
        # the monitor connects first, so it receives every frame the DAQ sends
        monitor.start()
        server.start()
        with RateDisplay(board, f"g3stream demo - monitor of {url}") as display:
            show_until_done(monitor, display, args.interval, args.duration)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        # the frames still on their way, and the stream's end, reach the monitor
        monitor.done.wait(5.0)
        monitor.stop()
    snap = board.snapshot()
    if server.error is not None:
        raise server.error
    print(
        f"demo finished: received {snap.frames} frames ({format_bytes(snap.nbytes)}) "
        f"in {snap.elapsed:.1f} s; {server.frames} frames sent",
        flush=True,
    )
    return EXIT_OK
