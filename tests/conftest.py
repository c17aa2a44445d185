"""Shared test fixtures: where the reference-written vectors live."""

from __future__ import annotations

from pathlib import Path

import pytest
from vectorfiles import VECTORS


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    """Directory of the reference-written test vectors (a copy of the shared corpus)."""
    return VECTORS
