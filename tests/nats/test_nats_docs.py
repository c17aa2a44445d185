"""docs/NATS.md shows the exact server configuration files the tests use."""

from __future__ import annotations

from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "NATS.md"
CONFIGS = sorted((Path(__file__).parent / "config").glob("*.conf"))


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_each_server_configuration_appears_verbatim_in_the_docs(config: Path):
    assert f"`{config.name}`" in DOC.read_text()
    assert config.read_text() in DOC.read_text()
