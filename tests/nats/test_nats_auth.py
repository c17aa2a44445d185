"""Authentication and TLS as NATS provides them, against servers that require them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from natshelpers import numbered, read_numbers
from natsservers import NatsServer

from g3stream.nats import G3NatsSender, NatsAuthError, NatsSource, NatsUnreachableError


@pytest.fixture
def password_server(tmp_path: Path):
    server = NatsServer(tmp_path / "auth", "auth.conf", password="s3cret/pw")
    try:
        yield server.start()
    finally:
        server.stop()


def test_user_and_password_in_the_url(password_server):
    url = f"nats://daq:s3cret%2Fpw@127.0.0.1:{password_server.port}/AUTH"
    with G3NatsSender(url) as sender:
        sender(numbered(7))
    src = NatsSource(f"{url}?start=first")
    try:
        assert read_numbers(src, 1) == [7]
    finally:
        src.close()


@pytest.mark.parametrize("userinfo", ["daq:wrong@", "nobody:s3cret%2Fpw@", ""])
def test_wrong_or_missing_credentials_give_a_clear_error(password_server, userinfo):
    url = f"nats://{userinfo}127.0.0.1:{password_server.port}/AUTH"
    with pytest.raises(NatsAuthError, match="refused the credentials"):
        G3NatsSender(url, connect_timeout=5)
    with pytest.raises(NatsAuthError):
        NatsSource(url, connect_timeout=5)


def test_token_in_the_url(tmp_path: Path):
    server = NatsServer(tmp_path / "token", "token.conf", token="t0ken")
    try:
        server.start()
        url = f"nats://t0ken@127.0.0.1:{server.port}/TOK"
        with G3NatsSender(url) as sender:
            sender(numbered(3))
        src = NatsSource(f"{url}?start=first")
        try:
            assert read_numbers(src, 1) == [3]
        finally:
            src.close()
        with pytest.raises(NatsAuthError):
            G3NatsSender(f"nats://wrong@127.0.0.1:{server.port}/TOK", connect_timeout=5)
    finally:
        server.stop()


def _make_certificates(directory: Path) -> None:
    """A private CA and a server certificate for 127.0.0.1, made with the openssl command."""

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=g3 test CA",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
    )
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server-key.pem",
        "-out",
        "server.csr",
    )
    run(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "server.pem",
    )


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_tls_with_a_private_ca(tmp_path: Path):
    certs = tmp_path / "certs"
    certs.mkdir()
    _make_certificates(certs)
    server = NatsServer(tmp_path / "tls", "tls.conf", cert_dir=certs)
    try:
        server.start()
        url = f"nats+tls://127.0.0.1:{server.port}/SECURE?ca={certs / 'ca.pem'}"
        with G3NatsSender(url) as sender:
            sender(numbered(5))
        src = NatsSource(f"{url}&start=first")
        try:
            assert read_numbers(src, 1) == [5]
        finally:
            src.close()
        # without trusting the private CA the connection is refused, with a typed error
        with pytest.raises(NatsUnreachableError):
            G3NatsSender(f"nats+tls://127.0.0.1:{server.port}/SECURE", connect_timeout=5)
    finally:
        server.stop()


def test_an_unreachable_server_is_a_typed_error():
    from natsservers import free_port

    with pytest.raises(NatsUnreachableError, match="cannot connect|no NATS server"):
        G3NatsSender(f"nats://127.0.0.1:{free_port()}/NOWHERE", connect_timeout=3)
    assert sys.modules["g3stream.nats"]  # and nothing was left running (the loop thread stopped)
