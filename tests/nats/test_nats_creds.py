"""Credentials-file authentication against a nats-server in operator (JWT) mode.

The operator, its accounts and users are made by ``natsjwt`` (nkeys and
signed JWTs, as ``nsc`` would make them); the server trusts the operator
and knows the accounts from ``resolver_preload`` (``config/creds.conf``).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from natshelpers import numbered
from natsservers import NatsServer

pytest.importorskip("nkeys", reason="credentials files need the nkeys package")

import natsjwt  # noqa: E402

from g3stream.io import G3Reader  # noqa: E402
from g3stream.nats import G3NatsSender, NatsAuthError, NatsSource  # noqa: E402


@pytest.fixture(scope="module")
def operator_server(tmp_path_factory: pytest.TempPathFactory):
    """A JetStream server trusting a fresh operator, and that operator's keys."""
    workdir = tmp_path_factory.mktemp("creds")
    setup = natsjwt.OperatorSetup.new()
    server = NatsServer(workdir / "server", "creds.conf", **setup.server_values(workdir / "keys"))
    try:
        yield server.start(), setup
    finally:
        server.stop()


def test_a_credentials_file_authenticates_sender_and_reader(operator_server, tmp_path: Path):
    server, setup = operator_server
    creds = setup.user_creds(tmp_path / "daq.creds")
    url = f"nats://127.0.0.1:{server.port}/CREDS?creds={creds}"
    with G3NatsSender(url) as sender:
        sender(numbered(0, "Observation"))
        for i in range(1, 20):
            sender(numbered(i))
    with G3Reader(f"{url}&start=first", timeout=2) as reader:
        assert [int(f["i"]) for f in reader] == list(range(20))


def _rejected(server: NatsServer, creds: Path) -> NatsAuthError:
    return _rejected_at(server.port, creds)


def _rejected_at(port: int, creds: Path) -> NatsAuthError:
    """The error a sender gets for ``creds`` at ``port``; a reader gets one too."""
    url = f"nats://127.0.0.1:{port}/CREDS?creds={creds}"
    with pytest.raises(NatsAuthError) as sender_error:
        G3NatsSender(url, connect_timeout=5)
    with pytest.raises(NatsAuthError):
        NatsSource(url, connect_timeout=5)
    return sender_error.value


def test_a_user_of_an_unknown_account_is_refused(operator_server, tmp_path: Path):
    server, _ = operator_server
    stranger = natsjwt.OperatorSetup.new()  # another operator's account: unknown to the server
    err = _rejected(server, stranger.user_creds(tmp_path / "stranger.creds"))
    assert "refused the credentials" in str(err)
    assert f"127.0.0.1:{server.port}" in str(err)


def test_an_expired_user_jwt_is_refused(operator_server, tmp_path: Path):
    server, setup = operator_server
    err = _rejected(server, setup.user_creds(tmp_path / "old.creds", expires=time.time() - 60))
    assert "refused the credentials" in str(err)


def test_a_tampered_jwt_is_refused(operator_server, tmp_path: Path):
    server, setup = operator_server
    creds = setup.user_creds(tmp_path / "tampered.creds")
    # the same claims with another user name: the account's signature no longer matches
    lines = creds.read_text().splitlines()
    header, claims, signature = lines[1].split(".")
    decoded = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    decoded["name"] = "root"
    forged = base64.urlsafe_b64encode(json.dumps(decoded).encode()).rstrip(b"=").decode()
    lines[1] = ".".join([header, forged, signature])
    creds.write_text("\n".join(lines) + "\n")
    _rejected(server, creds)


def test_a_seed_that_does_not_match_the_jwt_is_refused(operator_server, tmp_path: Path):
    server, setup = operator_server
    creds = setup.user_creds(tmp_path / "a.creds")
    other = setup.user_creds(tmp_path / "b.creds")
    jwt_part = creds.read_text().split("-----BEGIN USER NKEY SEED-----")[0]
    seed_part = other.read_text().split("-----BEGIN USER NKEY SEED-----")[1]
    creds.write_text(jwt_part + "-----BEGIN USER NKEY SEED-----" + seed_part)
    _rejected(server, creds)


def _refused_before_connecting(creds: Path) -> NatsAuthError:
    """The error for a ``creds=`` file refused before any connection (no server listens)."""
    return _rejected_at(1, creds)


def test_a_missing_credentials_file_is_a_clear_error(tmp_path: Path):
    missing = tmp_path / "nowhere.creds"
    err = _refused_before_connecting(missing)
    assert "cannot read the credentials file" in str(err)
    assert str(missing) in str(err)


def test_a_file_that_is_not_a_credentials_file_is_a_clear_error(tmp_path: Path):
    bogus = tmp_path / "bogus.creds"
    bogus.write_text("user: daq\npassword: secret\n")
    err = _refused_before_connecting(bogus)
    assert "is not a NATS credentials file" in str(err)


JWT_BEGIN = "-----BEGIN NATS USER JWT-----"
JWT_END = "------END NATS USER JWT------\n"
SEED_BEGIN = "-----BEGIN USER NKEY SEED-----"
SEED_END = "------END USER NKEY SEED------\n"


def _seed_marker_last(text: str) -> str:
    return text.split(SEED_BEGIN)[0] + SEED_BEGIN


def _jwt_marker_last(text: str) -> str:
    jwt_part, seed_part = text.split(SEED_BEGIN)
    return SEED_BEGIN + seed_part + jwt_part.split(JWT_BEGIN)[0] + JWT_BEGIN


def _empty_seed(text: str) -> str:
    return text.split(SEED_BEGIN)[0] + SEED_BEGIN + "\n" + SEED_END


def _empty_jwt(text: str) -> str:
    return JWT_BEGIN + "\n" + JWT_END + text.split(JWT_END)[1]


# a marker on the last line without its newline (the section is missing), or
# a marker line followed at once by its end line (the section is empty)
@pytest.mark.parametrize("damage", [_seed_marker_last, _jwt_marker_last, _empty_seed, _empty_jwt])
def test_a_credentials_file_with_a_missing_or_empty_section_is_a_clear_error(
    damage: Callable[[str], str], tmp_path: Path
):
    creds = natsjwt.OperatorSetup.new().user_creds(tmp_path / "cut.creds")
    text = creds.read_text()
    assert JWT_BEGIN in text and SEED_BEGIN in text and JWT_END in text
    creds.write_text(damage(text))
    err = _refused_before_connecting(creds)
    assert "is not a NATS credentials file" in str(err)


def test_no_credentials_at_all_is_refused(operator_server):
    server, _ = operator_server
    with pytest.raises(NatsAuthError, match="refused the credentials"):
        G3NatsSender(f"nats://127.0.0.1:{server.port}/CREDS", connect_timeout=5)
