"""Writer threads against the producer while the garbage collector switches threads.

The race: a writer built its next batch with ``list(islice(queue))`` on a
deque the producer appends to, relying on C code being atomic under the GIL.
But creating the islice and the list allocates objects, an allocation may
start a garbage collection, and a collection runs finalizers, which are
Python code: the GIL could pass to the producer between the deque iterator's
creation and its first step, and the writer died with "deque mutated during
iteration", ending that client's stream short. Queues are now only touched
under the sender's lock. This test makes the window wide: a collection at
almost every allocation, finalizers in the garbage, a tiny switch interval.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator

import pytest
from g3net_testutil import (
    Background,
    T,
    connect_client,
    decode_all,
    make_frame,
    recv_all,
    seqs,
    wait_until,
)

from g3stream import G3Frame, G3FrameType
from g3stream.net import G3NetworkSender

CLIENTS = 3
FRAMES = 3000


class Finalized:
    """Cyclic garbage with a finalizer (Python code run by the collector)."""

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        for _ in range(20):
            pass


@pytest.fixture
def thread_errors() -> Iterator[list[BaseException]]:
    """Exceptions that ended any thread during the test."""
    errors: list[BaseException] = []
    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        errors.append(args.exc_value)  # type: ignore[arg-type]

    threading.excepthook = hook
    yield errors
    threading.excepthook = previous


@pytest.fixture
def hostile_scheduling() -> Iterator[None]:
    """Collections at nearly every allocation and thread switches every microsecond."""
    thresholds, interval = gc.get_threshold(), sys.getswitchinterval()
    gc.set_threshold(1, 1, 1)
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)
    gc.set_threshold(*thresholds)


@pytest.mark.parametrize("round_", range(3))
def test_writers_survive_collections_that_switch_threads(
    thread_errors: list[BaseException], hostile_scheduling: None, round_: int
) -> None:
    sender = G3NetworkSender("*", 0)
    try:
        readers = [Background(recv_all, connect_client(sender.port)) for _ in range(CLIENTS)]
        wait_until(lambda: sender.statistics().connected_clients == CLIENTS)
        for i in range(FRAMES):
            Finalized()
            Finalized()
            sender(make_frame(T, i, 16))
        sender(G3Frame(G3FrameType.EndProcessing))
        results = [decode_all(r.result()) for r in readers]
    finally:
        sender.Close()
    assert thread_errors == []
    for got in results:
        assert seqs(got) == list(range(FRAMES))
    assert sender.statistics().frames_dropped == 0
