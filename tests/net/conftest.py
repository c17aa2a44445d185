"""Network tests: the shared helper module made importable (importlib import mode), and fixtures."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from g3stream.errors import G3ConnectionError
from g3stream.net import G3NetworkSender

_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


@pytest.fixture
def senders() -> Iterator[list[G3NetworkSender]]:
    """Collects senders made by a test and closes them whatever happens."""
    made: list[G3NetworkSender] = []
    yield made
    for sender in made:
        sender.close_timeout = 0.1
        try:
            sender.Close()
        except G3ConnectionError:  # a test may leave frames undelivered on purpose
            pass
