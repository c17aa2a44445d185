"""The network event log: rate-limited by key, and never blocking the caller."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest
from g3net_testutil import wait_until

from g3stream.net import eventlog


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.gate = threading.Event()
        self.gate.set()

    def emit(self, record: logging.LogRecord) -> None:
        self.gate.wait(30)
        self.lines.append(record.getMessage())


@pytest.fixture
def collected() -> Iterator[tuple[logging.Logger, Collect]]:
    logger = logging.getLogger("g3stream.net.test_eventlog")
    handler = Collect()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    eventlog.configure(interval=0.5, burst=3)
    yield logger, handler
    handler.gate.set()
    eventlog.flush(5)
    eventlog.configure(interval=eventlog.DEFAULT_INTERVAL, burst=eventlog.DEFAULT_BURST)
    logger.removeHandler(handler)


def test_repeated_events_become_one_summary_line(
    collected: tuple[logging.Logger, Collect],
) -> None:
    logger, handler = collected
    log = eventlog.EventLog(logger)
    for i in range(100):
        log.warning("client lost", "client %d lost", i)
    log.info("other", "a different kind of event")
    wait_until(lambda: any("more like this" in line for line in handler.lines))
    assert handler.lines[:3] == ["client 0 lost", "client 1 lost", "client 2 lost"]
    assert "a different kind of event" in handler.lines
    (summary,) = [line for line in handler.lines if "more like this" in line]
    assert summary.startswith("97 more like this")
    assert len(handler.lines) == 5


def test_a_blocked_handler_never_blocks_the_caller(
    collected: tuple[logging.Logger, Collect],
) -> None:
    logger, handler = collected
    handler.gate.clear()  # as a write to a full stderr pipe
    eventlog.configure(burst=10**9)
    log = eventlog.EventLog(logger)
    start = time.monotonic()
    for i in range(3 * eventlog.CAPACITY):
        log.warning(f"kind {i}", "event %d", i)
    assert time.monotonic() - start < 5.0
    handler.gate.set()
    assert eventlog.flush(20)
    assert len(handler.lines) <= eventlog.CAPACITY + 1
    assert any("log lines lost" in line for line in handler.lines)


def test_disabled_levels_cost_nothing(collected: tuple[logging.Logger, Collect]) -> None:
    logger, handler = collected
    logger.setLevel(logging.WARNING)
    eventlog.EventLog(logger).info("x", "not logged")
    assert eventlog.flush(5)
    assert handler.lines == []
