"""Prometheus metrics of a stream: frames, bytes, drops, gaps, connection health, clients.

:class:`StreamMetrics` is a Prometheus collector (for the ``prometheus-client``
package, the ``g3stream[metrics]`` extra) that reads its values at scrape
time from the objects a command already keeps: a rate board (frames, bytes
and drops per frame type, gaps), a health function (connected, reconnects,
age of the last frame), a network sender (clients and their queues) and
any extra samples (the web monitor's browsers).  Nothing is counted twice
and nothing is done per frame for the metrics themselves.
:func:`serve_metrics` serves them over HTTP for Prometheus to scrape.

Metric names (all prefixed ``g3stream_``):

=====================================  =======  ==========================================
``frames_total{type}``                 counter  frames received, by frame type
``bytes_total{type}``                  counter  bytes received, by frame type
``frames_dropped_total{type}``         counter  frames missing from the sequence numbers
``gaps_total``                         counter  pauses in the Timepoint time stamps
``connected``                          gauge    1 while the source delivers, else 0
``reconnects_total``                   counter  outages of the source survived
``last_frame_age_seconds``             gauge    time since the last frame arrived
``clients``                            gauge    clients connected to the sender
``client_queue_frames{client}``        gauge    frames queued for each client
``client_queue_bytes{client}``         gauge    bytes queued for each client
``sent_frames_total``                  counter  frames sent to clients (all clients)
``sent_bytes_total``                   counter  bytes sent to clients (all clients)
``send_dropped_frames_total``          counter  frames dropped for clients that fell behind
=====================================  =======  ==========================================
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

__all__ = ["MetricSample", "MetricsServer", "StreamMetrics", "serve_metrics", "PREFIX"]

#: Prefix of every metric name.
PREFIX = "g3stream_"


class _RateRow(Protocol):
    type_name: str
    frames: int
    nbytes: int
    dropped: int


class _RateSnapshot(Protocol):
    rows: list[Any]
    gaps: int


class RateSource(Protocol):
    """Anything with a ``snapshot()`` of per-type totals (a RateBoard)."""

    def snapshot(self) -> Any:
        """Current totals."""


@dataclass(frozen=True)
class MetricSample:
    """One extra sample: ``kind`` is ``gauge`` or ``counter`` (name without ``_total``)."""

    name: str
    help: str
    kind: str
    value: float
    labels: tuple[tuple[str, str], ...] = ()


#: A health function: (connected or None when unknown, reconnects, last frame age or None).
HealthFunction = Callable[[], tuple[bool | None, int, float | None]]


class StreamMetrics:
    """A Prometheus collector reading a stream's counters when scraped.

    Every source is optional: ``rates`` (a RateBoard), ``health`` (a
    :data:`HealthFunction`), ``sender`` (anything with G3NetworkSender's
    ``statistics()``, typed or a dict), ``extra`` (a function giving more
    :class:`MetricSample` values).
    """

    def __init__(
        self,
        rates: RateSource | None = None,
        health: HealthFunction | None = None,
        sender: Any = None,
        extra: Callable[[], Iterable[MetricSample]] | None = None,
    ) -> None:
        self.rates = rates
        self.health = health
        self.sender = sender
        self.extra = extra

    def collect(self) -> Iterator[Any]:
        """The metric families, read now (called by prometheus-client at every scrape)."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        def counter(name: str, doc: str, labels: list[str] | None = None) -> Any:
            return CounterMetricFamily(PREFIX + name, doc, labels=labels)

        def gauge(name: str, doc: str, labels: list[str] | None = None) -> Any:
            return GaugeMetricFamily(PREFIX + name, doc, labels=labels)

        if self.rates is not None:
            snap = self.rates.snapshot()
            frames = counter("frames", "Frames received, by frame type.", ["type"])
            nbytes = counter("bytes", "Bytes received, by frame type.", ["type"])
            dropped = counter(
                "frames_dropped", "Frames missing from the stream's sequence numbers.", ["type"]
            )
            for row in snap.rows:
                frames.add_metric([row.type_name], row.frames)
                nbytes.add_metric([row.type_name], row.nbytes)
                dropped.add_metric([row.type_name], row.dropped)
            yield frames
            yield nbytes
            yield dropped
            gaps = counter("gaps", "Pauses in the Timepoint time stamps.")
            gaps.add_metric([], snap.gaps)
            yield gaps
        if self.health is not None:
            connected, reconnects, age = self.health()
            if connected is not None:
                g = gauge("connected", "1 while the source delivers frames, else 0.")
                g.add_metric([], 1.0 if connected else 0.0)
                yield g
            c = counter("reconnects", "Outages of the source survived.")
            c.add_metric([], reconnects)
            yield c
            if age is not None:
                g = gauge("last_frame_age_seconds", "Seconds since the last frame arrived.")
                g.add_metric([], age)
                yield g
        if self.sender is not None:
            yield from self._sender_families(counter, gauge)
        if self.extra is not None:
            for s in self.extra():
                make = counter if s.kind == "counter" else gauge
                fam = make(s.name, s.help, [k for k, _ in s.labels])
                fam.add_metric([v for _, v in s.labels], s.value)
                yield fam

    def _sender_families(self, counter: Any, gauge: Any) -> Iterator[Any]:
        stats = self.sender.statistics()
        g = gauge("clients", "Clients connected to the sender.")
        g.add_metric([], _field(stats, "connected_clients"))
        yield g
        qf = gauge("client_queue_frames", "Frames queued for each client.", ["client"])
        qb = gauge("client_queue_bytes", "Bytes queued for each client.", ["client"])
        clients = _field(stats, "clients", {})
        for peer, cs in clients.items():
            qf.add_metric([str(peer)], _field(cs, "queue_frames"))
            qb.add_metric([str(peer)], _field(cs, "queue_bytes"))
        yield qf
        yield qb
        for key, name, doc in (
            ("frames_sent", "sent_frames", "Frames sent to clients (all clients)."),
            ("bytes_sent", "sent_bytes", "Bytes sent to clients (all clients)."),
            (
                "frames_dropped",
                "send_dropped_frames",
                "Frames dropped for clients that fell behind.",
            ),
        ):
            c = counter(name, doc)
            c.add_metric([], _field(stats, key))
            yield c


def _field(stats: Any, name: str, default: Any = 0) -> Any:
    """A field of a sender's statistics (a typed dataclass, or a dict in older senders)."""
    if isinstance(stats, dict):
        return stats.get(name, default)
    return getattr(stats, name, default)


class MetricsServer:
    """A running metrics endpoint; :attr:`port` is the bound port, :meth:`close` stops it."""

    def __init__(self, server: Any, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self.port: int = int(server.server_port)

    def close(self) -> None:
        """Stop serving and wait for the serving thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def serve_metrics(collector: StreamMetrics, port: int, address: str = "") -> MetricsServer:
    """Serve ``collector`` at ``http://address:port/metrics`` (port 0: a free port).

    Raises ImportError with an installation hint when prometheus-client is missing.
    """
    try:
        from prometheus_client import CollectorRegistry, start_http_server
    except ImportError as exc:
        raise ImportError(
            "metrics need the prometheus-client package: pip install 'g3stream[metrics]'"
        ) from exc
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)  # type: ignore[arg-type]
    server, thread = start_http_server(port, addr=address, registry=registry)
    log.info("metrics on port %d", server.server_port)
    return MetricsServer(server, thread)
