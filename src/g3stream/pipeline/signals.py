"""Ctrl-C handling while a pipeline runs.

The first SIGINT asks the running pipelines to stop after the frame in
flight (the EndProcessing frame still flows, so outputs are closed
properly); a second one raises ``KeyboardInterrupt`` inside whatever module
is running, aborting the run.  The previous handler is restored afterwards.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

__all__ = ["sigint_halts"]

log = logging.getLogger("g3stream.G3Pipeline")


@contextmanager
def sigint_halts(halt: Callable[[], None]) -> Iterator[bool]:
    """Within the block, the first SIGINT calls ``halt()``; the second raises KeyboardInterrupt.

    Yields whether the handler was installed: signal handlers can only be
    installed from the main thread, elsewhere nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield False
        return
    previous: Any = signal.getsignal(signal.SIGINT)

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        log.warning(
            "SIGINT received: halting data processing after current frame. Send SIGINT "
            "again to abort processing immediately, which may result in corrupt output files."
        )
        signal.signal(signal.SIGINT, signal.default_int_handler)
        halt()

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield True
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
