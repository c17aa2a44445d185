"""NATS decentralised authentication for the tests: nkeys, signed JWTs and ``.creds`` files.

What ``nsc`` (a Go tool, not on PyPI) would make for an operator-mode
server, done here with the ``nkeys`` package (the NATS ed25519 keys,
maintained by the NATS authors; test extra).  No maintained Python library
writes NATS JWTs, so this module signs the claims itself, following the
format the server verifies:

* a JWT is ``base64url(header) "." base64url(claims) "." base64url(signature)``
  without padding, the header being ``{"typ": "JWT", "alg": "ed25519-nkey"}``
  and the signature the issuer's ed25519 signature of the first two parts;
* the claims name the issuer (``iss``) and the subject (``sub``) by their
  public nkeys, carry an id (``jti``: the base32 SHA-512/256 digest of the
  claims without it), the issue time (``iat``), an optional expiry
  (``exp``), and a ``nats`` object whose ``type`` is ``operator``,
  ``account`` or ``user`` (``version`` 2);
* an operator signs itself and its accounts, an account signs its users;
  an account is enabled for JetStream by non-zero storage limits.

A credentials file holds a user's JWT and its nkey seed between the marker
lines every NATS client looks for.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import nkeys

_HEADER = {"typ": "JWT", "alg": "ed25519-nkey"}
_UNLIMITED = -1


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class Identity:
    """An nkey pair of one role: its seed (secret) and public key."""

    seed: bytes
    public: str

    @classmethod
    def new(cls, prefix: int) -> Identity:
        """A fresh random key of the role given by an ``nkeys.PREFIX_BYTE_*``."""
        seed = nkeys.encode_seed(os.urandom(32), prefix)
        return cls(seed, nkeys.from_seed(bytearray(seed)).public_key.decode())

    def sign(self, data: bytes) -> bytes:
        """The ed25519 signature of ``data`` by this key."""
        return bytes(nkeys.from_seed(bytearray(self.seed)).sign(data))


def operator() -> Identity:
    """A new operator key (public key ``O...``)."""
    return Identity.new(nkeys.PREFIX_BYTE_OPERATOR)


def account() -> Identity:
    """A new account key (public key ``A...``)."""
    return Identity.new(nkeys.PREFIX_BYTE_ACCOUNT)


def user() -> Identity:
    """A new user key (public key ``U...``)."""
    return Identity.new(nkeys.PREFIX_BYTE_USER)


def encode_jwt(
    issuer: Identity,
    subject: str,
    name: str,
    nats: dict[str, object],
    expires: float | None = None,
) -> str:
    """The JWT of ``nats`` claims about ``subject``, signed by ``issuer``."""
    claims: dict[str, object] = {
        "jti": "",
        "iat": int(time.time()),
        "iss": issuer.public,
        "name": name,
        "sub": subject,
        "nats": {**nats, "version": 2},
    }
    if expires is not None:
        claims["exp"] = int(expires)
    digest = hashlib.new("sha512_256", json.dumps(claims).encode()).digest()
    claims["jti"] = base64.b32encode(digest).decode().rstrip("=")
    signed = f"{_b64(json.dumps(_HEADER).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signed}.{_b64(issuer.sign(signed.encode()))}"


def operator_jwt(op: Identity, system_account: Identity) -> str:
    """The self-signed JWT of operator ``op``."""
    return encode_jwt(
        op, op.public, "g3-operator", {"type": "operator", "system_account": system_account.public}
    )


def account_jwt(op: Identity, acct: Identity, name: str, jetstream: bool) -> str:
    """The JWT of account ``acct`` signed by ``op``; ``jetstream`` allows unlimited streams."""
    limits: dict[str, object] = {
        "subs": _UNLIMITED,
        "data": _UNLIMITED,
        "payload": _UNLIMITED,
        "imports": _UNLIMITED,
        "exports": _UNLIMITED,
        "wildcards": True,
        "conn": _UNLIMITED,
        "leaf": _UNLIMITED,
    }
    if jetstream:
        limits.update(
            mem_storage=_UNLIMITED, disk_storage=_UNLIMITED, streams=_UNLIMITED, consumer=_UNLIMITED
        )
    return encode_jwt(op, acct.public, name, {"type": "account", "limits": limits})


def user_jwt(acct: Identity, usr: Identity, name: str, expires: float | None = None) -> str:
    """The JWT of user ``usr`` of account ``acct`` (no permission limits)."""
    claims = {"type": "user", "subs": _UNLIMITED, "data": _UNLIMITED, "payload": _UNLIMITED}
    return encode_jwt(acct, usr.public, name, claims, expires)


def write_creds(path: Path, jwt: str, usr: Identity) -> Path:
    """Write the credentials file of a user (its JWT and seed); ``path``."""
    path.write_text(
        "-----BEGIN NATS USER JWT-----\n"
        f"{jwt}\n"
        "------END NATS USER JWT------\n"
        "\n"
        "The seed below proves this user's identity: keep this file secret.\n"
        "\n"
        "-----BEGIN USER NKEY SEED-----\n"
        f"{usr.seed.decode()}\n"
        "------END USER NKEY SEED------\n"
    )
    path.chmod(0o600)
    return path


@dataclass
class OperatorSetup:
    """An operator, its system account and a JetStream account, with their JWTs."""

    operator: Identity
    system: Identity
    account: Identity
    operator_jwt: str
    system_jwt: str
    account_jwt: str

    @classmethod
    def new(cls) -> OperatorSetup:
        """Fresh keys and JWTs for a server in operator mode."""
        op, sys_acct, acct = operator(), account(), account()
        return cls(
            op,
            sys_acct,
            acct,
            operator_jwt(op, sys_acct),
            account_jwt(op, sys_acct, "SYS", jetstream=False),
            account_jwt(op, acct, "G3", jetstream=True),
        )

    def user_creds(self, path: Path, name: str = "daq", expires: float | None = None) -> Path:
        """A credentials file for a new user of the JetStream account."""
        usr = user()
        return write_creds(path, user_jwt(self.account, usr, name, expires), usr)

    def server_values(self, workdir: Path) -> dict[str, object]:
        """The values of the ``creds.conf`` template's placeholders (writes the operator JWT)."""
        workdir.mkdir(parents=True, exist_ok=True)
        op_file = workdir / "operator.jwt"
        op_file.write_text(self.operator_jwt + "\n")
        return {
            "operator_jwt": op_file,
            "system_account": self.system.public,
            "system_account_jwt": self.system_jwt,
            "account": self.account.public,
            "account_jwt": self.account_jwt,
        }
