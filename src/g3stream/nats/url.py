"""Parsing of ``nats://`` stream addresses.

Forms::

    nats://host:4222/STREAM                       no authentication
    nats://user:password@host:4222/STREAM         user and password
    nats://TOKEN@host:4222/STREAM                 a token
    nats+tls://host:4222/STREAM?ca=/path/ca.pem   TLS (system CAs unless ca= is given)
    nats://h1:4222,h2:4222,h3:4222/STREAM         several servers of one cluster

Query options of readers: ``start`` (``new``, the default; ``first``;
``seq:N``; ``time:ISO-8601``), ``durable`` (a consumer name), ``types``
(comma-separated frame type names, filtered by the server), ``decimate``
(``Timepoint:10,Scan:2``: keep every Nth frame of a type), ``bad``
(``error``, the default, or ``skip``: messages that are not G3 frames).
Options of every URL: ``creds`` (a NATS credentials file), ``ca``,
``cert`` and ``key`` (TLS files).  Options of senders: ``max_bytes``,
``max_age`` (seconds), ``replicas``, ``storage`` (``file`` or ``memory``),
``dedup_window`` (seconds).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import parse_qsl, unquote, urlsplit

from g3stream.frame import G3FrameType

#: URL prefixes handled by this package.
NATS_SCHEMES = ("nats://", "nats+tls://")

_STREAM_NAME = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
_START_KINDS = ("new", "first", "seq", "time")
_READER_KEYS = {"start", "durable", "types", "decimate", "bad"}
_SENDER_KEYS = {"max_bytes", "max_age", "replicas", "storage", "dedup_window"}
_COMMON_KEYS = {"creds", "ca", "cert", "key"}


def is_nats_url(name: object) -> bool:
    """True for a ``nats://`` or ``nats+tls://`` address."""
    return isinstance(name, str) and name.startswith(NATS_SCHEMES)


@dataclass(frozen=True)
class StartPosition:
    """Where a reader starts: ``new`` data, the ``first`` message, a sequence or a time."""

    kind: str = "new"
    sequence: int = 0
    time: datetime | None = None

    def __str__(self) -> str:
        if self.kind == "seq":
            return f"seq:{self.sequence}"
        if self.kind == "time" and self.time is not None:
            return f"time:{self.time.isoformat()}"
        return self.kind


@dataclass(frozen=True)
class NatsAddress:
    """A parsed ``nats://`` URL (see the module documentation for the options)."""

    servers: tuple[str, ...]
    stream: str
    tls: bool = False
    user: str | None = None
    password: str | None = None
    token: str | None = None
    creds: str | None = None
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    start: StartPosition = field(default_factory=StartPosition)
    durable: str | None = None
    types: tuple[G3FrameType, ...] = ()
    decimate: tuple[tuple[G3FrameType, int], ...] = ()
    skip_bad: bool = False
    max_bytes: int | None = None
    max_age: float | None = None
    replicas: int | None = None
    storage: str | None = None
    dedup_window: float | None = None

    @property
    def display(self) -> str:
        """The URL without credentials, for logs and error messages."""
        scheme = "nats+tls" if self.tls else "nats"
        return f"{scheme}://{','.join(self.servers)}/{self.stream}"

    def server_urls(self) -> list[str]:
        """The server URLs for the NATS client (credentials are passed separately)."""
        scheme = "tls" if self.tls else "nats"
        return [f"{scheme}://{s}" for s in self.servers]


def _parse_start(text: str) -> StartPosition:
    kind, _, arg = text.partition(":")
    if kind not in _START_KINDS:
        raise ValueError(f"start={text!r}: expected new, first, seq:N or time:ISO-8601")
    if kind == "seq":
        if not arg.isdigit() or int(arg) < 1:
            raise ValueError(f"start={text!r}: the sequence must be a positive integer")
        return StartPosition("seq", sequence=int(arg))
    if kind == "time":
        try:
            when = datetime.fromisoformat(arg.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"start={text!r}: not an ISO-8601 time") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return StartPosition("time", time=when)
    if arg:
        raise ValueError(f"start={text!r}: {kind} takes no argument")
    return StartPosition(kind)


def _frame_type(name: str) -> G3FrameType:
    name = name.strip()
    if not name:
        raise ValueError("empty frame type name")
    return G3FrameType(name)


def _parse_decimate(text: str) -> tuple[tuple[G3FrameType, int], ...]:
    out = []
    for item in text.split(","):
        name, sep, n = item.partition(":")
        if not sep or not n.isdigit():
            raise ValueError(f"decimate={text!r}: expected TYPE:N[,TYPE:N...]")
        out.append((_frame_type(name), int(n)))
    return tuple(out)


def parse_nats_url(url: str) -> NatsAddress:
    """Parse ``url``; ``ValueError`` names what is wrong with it."""
    if not is_nats_url(url):
        raise ValueError(f"{url!r}: expected nats://[user:pass@]host:port/STREAM")
    tls = url.startswith("nats+tls://")
    parts = urlsplit(url)
    netloc = parts.netloc
    userinfo, at, hosts = netloc.rpartition("@")
    if not at:
        hosts, userinfo = netloc, ""
    servers = tuple(h for h in hosts.split(",") if h)
    if not servers:
        raise ValueError(f"{url!r}: no server host")
    servers = tuple(h if re.search(r":\d+$", h) else f"{h}:4222" for h in servers)
    user = password = token = None
    if userinfo:
        name, colon, secret = userinfo.partition(":")
        if colon:
            user, password = unquote(name), unquote(secret)
        else:
            token = unquote(name)
    stream = parts.path.strip("/")
    if not _STREAM_NAME.match(stream):
        raise ValueError(
            f"{url!r}: the path must be a stream name (letters, digits, - and _), not {stream!r}"
        )
    opts: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in _READER_KEYS | _SENDER_KEYS | _COMMON_KEYS:
            raise ValueError(f"{url!r}: unknown option {key!r}")
        opts[key] = value
    bad = opts.get("bad", "error")
    if bad not in ("error", "skip"):
        raise ValueError(f"bad={bad!r}: expected error or skip")
    storage = opts.get("storage")
    if storage not in (None, "file", "memory"):
        raise ValueError(f"storage={storage!r}: expected file or memory")
    durable = opts.get("durable")
    if durable is not None and not _STREAM_NAME.match(durable):
        raise ValueError(f"durable={durable!r}: letters, digits, - and _ only")
    types = tuple(_frame_type(t) for t in opts["types"].split(",")) if "types" in opts else ()
    return NatsAddress(
        servers=servers,
        stream=stream,
        tls=tls,
        user=user,
        password=password,
        token=token,
        creds=opts.get("creds"),
        ca=opts.get("ca"),
        cert=opts.get("cert"),
        key=opts.get("key"),
        start=_parse_start(opts.get("start", "new")),
        durable=durable,
        types=types,
        decimate=_parse_decimate(opts["decimate"]) if "decimate" in opts else (),
        skip_bad=bad == "skip",
        max_bytes=int(opts["max_bytes"]) if "max_bytes" in opts else None,
        max_age=float(opts["max_age"]) if "max_age" in opts else None,
        replicas=int(opts["replicas"]) if "replicas" in opts else None,
        storage=storage,
        dedup_window=float(opts["dedup_window"]) if "dedup_window" in opts else None,
    )


__all__ = ["NATS_SCHEMES", "NatsAddress", "StartPosition", "is_nats_url", "parse_nats_url"]
