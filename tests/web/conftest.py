"""Fixtures of the web, metrics and notebook-reader tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

_CLI_TESTS = str(Path(__file__).parent.parent / "cli")
if _CLI_TESTS not in sys.path:
    sys.path.insert(0, _CLI_TESTS)

from clihelpers import Background  # noqa: E402


@pytest.fixture
def background() -> Iterator[type[Background]]:
    """Start background ``g3stream`` processes; every one is stopped at the end of the test."""
    started: list[Background] = []

    class Tracked(Background):
        def __init__(self, args: Sequence[str], stdout_binary: bool = False) -> None:
            super().__init__(args, stdout_binary)
            started.append(self)

    yield Tracked
    for bg in started:
        bg.stop()
