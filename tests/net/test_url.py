"""Parsing of tcp:// addresses."""

from __future__ import annotations

import pytest

from g3stream.net import TcpAddress, is_tcp_url, parse_tcp_url


@pytest.mark.parametrize(
    ("url", "host", "port", "listen"),
    [
        ("tcp://localhost:4536", "localhost", 4536, False),
        ("tcp://192.0.2.7:1", "192.0.2.7", 1, False),
        ("tcp://[::1]:4536", "::1", 4536, False),
        ("tcp://[fe80::1%lo]:80", "fe80::1%lo", 80, False),
        ("tcp://*:4536", "*", 4536, True),
        ("tcp://*:0", "*", 0, True),
        ("tcp://daq.example.org:65535/", "daq.example.org", 65535, False),
    ],
)
def test_parse(url: str, host: str, port: int, listen: bool) -> None:
    address = parse_tcp_url(url)
    assert address == TcpAddress(host, port)
    assert address.listen is listen


@pytest.mark.parametrize(
    "url",
    [
        "file.g3",
        "tcp://",
        "tcp://host",
        "tcp://:4536",
        "tcp://host:port",
        "tcp://host:65536",
        "tcp://host:-1",
        "tcp://::1:4536",
        "tcp://[::1]4536",
        "tcp://[::1",
    ],
)
def test_rejects_malformed(url: str) -> None:
    with pytest.raises(ValueError):
        parse_tcp_url(url)


def test_round_trip_text() -> None:
    for url in ("tcp://[::1]:5", "tcp://host:7", "tcp://*:0"):
        assert str(parse_tcp_url(url)) == url


def test_is_tcp_url() -> None:
    assert is_tcp_url("tcp://*:1")
    assert not is_tcp_url("data/tcp://x.g3")
    assert not is_tcp_url(b"tcp://*:1")
    assert not is_tcp_url(None)
