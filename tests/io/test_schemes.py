"""The source-scheme table: G3Reader opens every URL through it, files otherwise."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from g3stream import G3Frame, G3FrameType, G3Reader, G3Writer
from g3stream.codec.container import encode_frame_bytes
from g3stream.io import schemes
from g3stream.io.file_source import FileSource
from g3stream.io.schemes import (
    is_stream_url,
    open_source,
    redact_url,
    register_scheme,
    registered_schemes,
    scheme_for,
)


class MemorySource:
    """A byte source over bytes in memory (what a transport provides)."""

    def __init__(self, url: str, *, timeout: float, reconnect: bool, **options: Any) -> None:
        self.name = url
        self.options = dict(options, timeout=timeout, reconnect=reconnect)
        self._data = io.BytesIO(STREAM[url])

    def read(self, max_bytes: int) -> bytes:
        return self._data.read(max_bytes)

    def close(self) -> None:
        self._data.close()


def frames(n: int) -> list[G3Frame]:
    out = []
    for i in range(n):
        f = G3Frame(G3FrameType.Timepoint)
        f["i"] = i
        out.append(f)
    return out


STREAM: dict[str, bytes] = {}


@pytest.fixture
def mem_scheme():
    saved = dict(schemes._SCHEMES)
    register_scheme("mem://", MemorySource, description="bytes in memory, for tests")
    yield
    schemes._SCHEMES.clear()
    schemes._SCHEMES.update(saved)


def test_tcp_is_registered_by_the_package() -> None:
    assert "tcp://" in [s.prefix for s in registered_schemes()]
    assert is_stream_url("tcp://localhost:4536")
    assert not is_stream_url("night/run-0001.g3")
    assert scheme_for("unknown://x") is None


def test_built_in_schemes_open_with_their_transports() -> None:
    """The package registers each transport by name; the name resolves to its real factory."""
    from g3stream.nats import open_nats_source
    from g3stream.nats.url import NATS_SCHEMES
    from g3stream.net import TcpSource
    from g3stream.net.url import TCP_SCHEME

    assert scheme_for(TCP_SCHEME + "h:1") is not None
    assert scheme_for(TCP_SCHEME + "h:1").resolve() is TcpSource  # type: ignore[union-attr]
    for prefix in NATS_SCHEMES:
        found = scheme_for(prefix + "h/S")
        assert found is not None and found.resolve() is open_nats_source
    assert {s.prefix for s in registered_schemes()} >= {TCP_SCHEME, *NATS_SCHEMES}


def test_reading_files_loads_no_network_layer(tmp_path: Path) -> None:
    """A fresh interpreter that reads a file imports neither sockets' layers nor asyncio."""
    import subprocess
    import sys

    path = tmp_path / "one.g3"
    G3Writer(str(path))(frames(1)[0])
    code = (
        "import sys, g3stream\n"
        f"n = len(list(g3stream.G3Reader({str(path)!r})))\n"
        "late = [m for m in ('g3stream.net', 'g3stream.nats', 'g3stream.pipeline', 'asyncio')"
        " if m in sys.modules]\n"
        "print(n, late)\n"
        "sender = g3stream.G3NetworkSender\n"  # loaded on first use
        "print(sender.__module__, 'g3stream.net' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split("\n")
    assert out[0] == "1 []"
    assert out[1] == "g3stream.net.sender True"


def test_a_registered_scheme_is_read_by_g3reader(mem_scheme: None, tmp_path: Path) -> None:
    STREAM["mem://a"] = b"".join(encode_frame_bytes(f) for f in frames(5))
    path = tmp_path / "tail.g3"
    with G3Writer(str(path)) as w:
        for f in frames(2):
            w(f)
    got = [f["i"] for f in G3Reader(["mem://a", str(path)])]
    assert got == [0, 1, 2, 3, 4, 0, 1]


def test_options_reach_the_factory_and_files_refuse_them(mem_scheme: None, tmp_path: Path) -> None:
    STREAM["mem://b"] = b""
    src = open_source("mem://b", timeout=3.0, reconnect=True, flavour="x")
    assert isinstance(src, MemorySource)
    assert src.options == {"flavour": "x", "timeout": 3.0, "reconnect": True}
    path = tmp_path / "f.g3"
    path.write_bytes(encode_frame_bytes(frames(1)[0]))
    assert isinstance(open_source(str(path)), FileSource)
    with pytest.raises(TypeError, match="flavour"):
        open_source(str(path), flavour="x")


def test_a_factory_named_by_module_is_imported_when_first_used(mem_scheme: None) -> None:
    register_scheme("lazy://", f"{__name__}:MemorySource")
    STREAM["lazy://c"] = encode_frame_bytes(frames(1)[0])
    assert [f["i"] for f in G3Reader("lazy://c")] == [0]
    register_scheme("missing://", "g3stream_no_such_module:Source")
    with pytest.raises(ImportError, match="missing:// sources need an optional dependency"):
        open_source("missing://x")


def test_a_prefix_must_look_like_a_scheme() -> None:
    with pytest.raises(ValueError):
        register_scheme("tcp", MemorySource)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("nats://alice:s3cret@host:4222/S", "nats://alice:***@host:4222/S"),
        ("nats://tok3n@host:4222/S", "nats://***@host:4222/S"),
        ("tcp://host:4536", "tcp://host:4536"),
        ("run@2026.g3", "run@2026.g3"),
        ("nats://host/S?start=time:2026@x", "nats://host/S?start=time:2026@x"),
    ],
)
def test_credentials_never_reach_a_display(url: str, shown: str) -> None:
    assert redact_url(url) == shown
