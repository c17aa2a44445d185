"""A private asyncio loop in a background thread, and connecting to NATS.

nats-py is asyncio; the pipeline is synchronous.  Each sender or source owns
one :class:`LoopThread` (a daemon thread running its own event loop) and
talks to it only through :meth:`LoopThread.run` (wait for a coroutine's
result, with a timeout) and :meth:`LoopThread.call` (schedule a callable).
All nats-py objects live on that loop and are touched only from it.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from .errors import G3NatsError, NatsAuthError, NatsRefusedError, NatsUnreachableError
from .layout import data_subjects, meta_stream, meta_subjects
from .url import NatsAddress

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds granted to a first connection unless the caller says otherwise.
DEFAULT_CONNECT_TIMEOUT = 10.0
#: Default limits of a data stream (bytes and seconds): a stream never fills a disk.
DEFAULT_MAX_BYTES = 1 << 30
DEFAULT_MAX_AGE = 7 * 86400.0
#: Default de-duplication window (seconds): a relay restarted within it never duplicates.
DEFAULT_DEDUP_WINDOW = 600.0


def nats_module() -> Any:
    """The nats-py package (an optional dependency: the ``nats`` extra)."""
    try:
        import nats
    except ImportError:  # pragma: no cover - depends on the installation
        raise G3NatsError(
            "nats:// URLs need the nats-py package: pip install 'g3stream[nats]'"
        ) from None
    return nats


class LoopThread:
    """An asyncio event loop running in a daemon thread of its own."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()
        self.loop.close()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and return its result (``TimeoutError`` after ``timeout``)."""
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result(timeout)
        except TimeoutError:
            fut.cancel()
            raise

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Schedule ``fn(*args)`` on the loop."""
        self.loop.call_soon_threadsafe(fn, *args)

    def spawn(self, coro: Awaitable[Any]) -> None:
        """Start ``coro`` as a task on the loop, not waiting for it."""
        asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel what still runs on the loop, stop it and join the thread (idempotent)."""
        if not self._thread.is_alive():
            return
        try:
            self.run(_cancel_others(), timeout)
        except Exception:  # a task that will not end: stop the loop anyway
            log.debug("tasks still running when the loop was stopped", exc_info=True)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)


async def _cancel_others() -> None:
    current = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not current]
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _tls_context(addr: NatsAddress) -> ssl.SSLContext | None:
    if not addr.tls:
        return None
    ctx = ssl.create_default_context(cafile=addr.ca)
    if addr.cert:
        ctx.load_cert_chain(addr.cert, addr.key)
    return ctx


async def connect(
    addr: NatsAddress,
    timeout: float = DEFAULT_CONNECT_TIMEOUT,
    name: str = "g3stream",
    on_event: Callable[[str], None] | None = None,
) -> Any:
    """A connected nats-py client for ``addr``; reconnects forever once connected.

    Raises :class:`NatsAuthError` for refused credentials and
    :class:`NatsUnreachableError` when no server answers within ``timeout``.
    """
    nats = nats_module()
    check_credentials_file(addr)
    errors: list[BaseException] = []

    async def error_cb(exc: BaseException) -> None:
        errors.append(exc)
        log.debug("%s: %s", addr.display, exc)

    async def disconnected_cb() -> None:
        if on_event is not None:
            on_event("disconnected")

    async def reconnected_cb() -> None:
        if on_event is not None:
            on_event("reconnected")

    kwargs: dict[str, Any] = {
        "servers": addr.server_urls(),
        "name": name,
        "connect_timeout": max(1, int(min(timeout, 10))),
        "allow_reconnect": True,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.25,
        "error_cb": error_cb,
        "disconnected_cb": disconnected_cb,
        "reconnected_cb": reconnected_cb,
        "pending_size": 64 << 20,
    }
    if addr.user is not None:
        kwargs["user"], kwargs["password"] = addr.user, addr.password
    if addr.token is not None:
        kwargs["token"] = addr.token
    if addr.creds is not None:
        kwargs["user_credentials"] = addr.creds
    tls = _tls_context(addr)
    if tls is not None:
        kwargs["tls"] = tls
        kwargs["tls_hostname"] = addr.servers[0].rsplit(":", 1)[0]
    # the first connection must not retry forever: a wrong address is an error
    kwargs["max_reconnect_attempts"] = 0
    # nats-py reports refused credentials to error_cb and may keep trying:
    # watch for that rather than waiting for the timeout
    task = asyncio.ensure_future(nats.connect(**kwargs))
    deadline = asyncio.get_running_loop().time() + timeout
    while not task.done():
        if any(_is_auth_error(e) for e in errors) or asyncio.get_running_loop().time() > deadline:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            if any(_is_auth_error(e) for e in errors):
                raise NatsAuthError(
                    f"{addr.display}: the server refused the credentials ({errors[-1]})"
                )
            raise NatsUnreachableError(
                f"{addr.display}: no NATS server answered within {timeout:g} s"
            )
        await asyncio.wait([task], timeout=0.05)
    try:
        nc = task.result()
    except Exception as exc:
        raise _classify(addr, exc, errors) from None
    nc.options["max_reconnect_attempts"] = -1
    return nc


def check_credentials_file(addr: NatsAddress) -> None:
    """Refuse a ``creds=`` file that cannot be used, before connecting.

    Raises :class:`NatsAuthError` for a file that cannot be read or does not
    hold a user JWT and an nkey seed (nats-py would wait forever on such a
    file), and :class:`G3NatsError` when the ``nkeys`` package that signs
    with the seed is missing.
    """
    if addr.creds is None:
        return
    try:
        text = Path(addr.creds).read_bytes()
    except OSError as exc:
        raise NatsAuthError(
            f"{addr.display}: cannot read the credentials file {addr.creds}: {exc.strerror or exc}"
        ) from None
    for marker, what in (
        (b"BEGIN NATS USER JWT", "user JWT"),
        (b"BEGIN USER NKEY SEED", "nkey seed"),
    ):
        if not _creds_value(text, marker):
            raise NatsAuthError(
                f"{addr.display}: {addr.creds} is not a NATS credentials file (no {what})"
            )
    try:
        import nkeys  # noqa: F401  (nats-py signs the server's challenge with it)
    except ImportError:  # pragma: no cover - depends on the installation
        raise G3NatsError(
            "credentials files need the nkeys package: pip install 'g3stream[nats-creds]'"
        ) from None


def _creds_value(text: bytes, marker: bytes) -> bytes:
    """The line after the ``marker`` line of a credentials file, or b"" when it is missing.

    nats-py takes that whole line, less its last byte, as the JWT or seed:
    a marker or value line without its newline, or a value that is blank or
    another marker line, cannot be used.
    """
    start = text.find(marker)
    if start < 0:
        return b""
    begin = text.find(b"\n", start) + 1
    end = text.find(b"\n", begin) if begin else -1
    if end < 0:
        return b""
    value = text[begin:end].strip()
    return b"" if value.startswith(b"-") else value


def _is_auth_error(exc: BaseException) -> bool:
    """Whether nats-py reported refused credentials (it has no error class for all forms)."""
    nats = nats_module()
    if isinstance(exc, nats.errors.AuthorizationError):
        return True
    text = str(exc).lower()
    return "authorization violation" in text or "authentication" in text


def _classify(addr: NatsAddress, exc: BaseException, errors: list[BaseException]) -> G3NatsError:
    if any(_is_auth_error(e) for e in [*errors, exc]):
        return NatsAuthError(f"{addr.display}: the server refused the credentials ({exc})")
    return NatsUnreachableError(f"{addr.display}: cannot connect ({exc or type(exc).__name__})")


async def stream_config(js: Any, name: str) -> Any | None:
    """The configuration of stream ``name``, or None when it does not exist."""
    nats = nats_module()
    try:
        info = await js.stream_info(name)
    except nats.js.errors.NotFoundError:
        return None
    return info.config


async def ensure_streams(js: Any, addr: NatsAddress) -> None:
    """Create the data and metadata streams of ``addr`` when they do not exist.

    Existing streams keep their configuration (an operator may have tuned
    it); a stream that exists with other subjects is an error.
    """
    nats = nats_module()
    api = nats.js.api
    storage = api.StorageType.MEMORY if addr.storage == "memory" else api.StorageType.FILE
    replicas = addr.replicas or 1
    max_age = addr.max_age if addr.max_age is not None else DEFAULT_MAX_AGE
    dedup = addr.dedup_window if addr.dedup_window is not None else DEFAULT_DEDUP_WINDOW
    if max_age > 0:
        dedup = min(dedup, max_age)
    wanted = [
        api.StreamConfig(
            name=addr.stream,
            subjects=[data_subjects(addr.stream)],
            storage=storage,
            num_replicas=replicas,
            max_bytes=addr.max_bytes if addr.max_bytes is not None else DEFAULT_MAX_BYTES,
            max_age=max_age,
            discard=api.DiscardPolicy.OLD,
            duplicate_window=dedup,
            allow_direct=True,
        ),
        api.StreamConfig(
            name=meta_stream(addr.stream),
            subjects=[meta_subjects(addr.stream)],
            storage=storage,
            num_replicas=replicas,
            max_msgs_per_subject=1,
            duplicate_window=dedup,
            allow_direct=True,
        ),
    ]
    for config in wanted:
        existing = await stream_config(js, config.name)
        if existing is not None:
            if list(existing.subjects or []) != config.subjects and not existing.sources:
                raise NatsRefusedError(
                    f"stream {config.name} exists with subjects {existing.subjects}, "
                    f"expected {config.subjects}"
                )
            continue
        try:
            await js.add_stream(config)
        except nats.js.errors.APIError as exc:
            raise NatsRefusedError(f"cannot create stream {config.name}: {exc}") from None
        log.info("created stream %s", config.name)


__all__ = [
    "LoopThread",
    "check_credentials_file",
    "connect",
    "ensure_streams",
    "nats_module",
    "stream_config",
]
