"""``--metrics-port``: the Prometheus endpoint shared by the streaming commands.

Each command adds the options with :func:`add_metrics_options`, starts the
endpoint with :func:`start_metrics` (which does nothing without
``--metrics-port``), calls :meth:`CommandMetrics.count` for every frame it
handles, and :meth:`CommandMetrics.close` at the end.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from ..frame import G3Frame
from ..live import SourceLiveness
from ..metrics import MetricsServer, StreamMetrics, serve_metrics
from ..rates import RateBoard
from .common import CommandError, frame_size, port_arg


def add_metrics_options(p: argparse.ArgumentParser) -> None:
    """Add ``--metrics-port`` and ``--metrics-bind`` to a command."""
    p.add_argument(
        "--metrics-port",
        type=port_arg,
        default=None,
        metavar="N",
        help="serve Prometheus metrics at http://ADDRESS:N/metrics (0: a free port, printed)",
    )
    p.add_argument(
        "--metrics-bind",
        default="",
        metavar="ADDRESS",
        help="local address of the metrics endpoint (default: every interface)",
    )


class CommandMetrics:
    """Counts a command's frames into a RateBoard and serves them (when enabled)."""

    def __init__(
        self,
        board: RateBoard | None = None,
        reader: Any = None,
        sender: Any = None,
        counting: bool = True,
    ) -> None:
        self.board = board if board is not None else RateBoard()
        self._counting = counting
        self._liveness = SourceLiveness(reader) if reader is not None else None
        self._external = not counting
        self._seen = 0
        self.collector = StreamMetrics(
            rates=self.board,
            health=self._health if reader is not None else None,
            sender=sender,
        )
        self.server: MetricsServer | None = None

    def _health(self) -> tuple[bool | None, int, float | None]:
        assert self._liveness is not None
        if self._external:
            # frames counted elsewhere: an arrival is seen here, when the totals moved
            total = sum(r.frames for r in self.board.snapshot().rows)
            if total != self._seen:
                self._seen = total
                self._liveness.arrived(time.time())
        return self._liveness.status()

    def count(self, frame: G3Frame) -> None:
        """Count one frame handled by the command."""
        if self._counting:
            self.board.add(frame, frame_size(frame))
            if self._liveness is not None:
                self._liveness.arrived(time.time())

    def close(self) -> None:
        """Stop the endpoint."""
        if self.server is not None:
            self.server.close()
            self.server = None


class _NoMetrics(CommandMetrics):
    """Stands in when ``--metrics-port`` is not given: counts nothing."""

    def __init__(self) -> None:
        self.server = None

    def count(self, frame: G3Frame) -> None:
        """Do nothing."""

    def close(self) -> None:
        """Do nothing."""


def start_metrics(
    args: argparse.Namespace,
    *,
    board: RateBoard | None = None,
    reader: Any = None,
    sender: Any = None,
) -> CommandMetrics:
    """Start the endpoint ``--metrics-port`` asks for; a no-op object without it.

    ``board`` is a RateBoard the command already fills (its frames are then
    not counted again); ``reader`` gives connection health, ``sender`` the
    clients and their queues.  The port is announced on standard error.
    """
    port = getattr(args, "metrics_port", None)
    if port is None:
        return _NoMetrics()
    metrics = CommandMetrics(board, reader, sender, counting=board is None)
    try:
        metrics.server = serve_metrics(metrics.collector, port, args.metrics_bind)
    except ImportError as exc:
        raise CommandError(str(exc)) from None
    print(f"metrics on port {metrics.server.port}", file=sys.stderr, flush=True)
    return metrics
