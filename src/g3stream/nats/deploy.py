"""Deployment helpers: a data centre's streams that source a remote site's streams.

At a remote site, a leaf-node server with its own JetStream domain (for
example ``site``) stores the DAQ's stream while the link is down.  In the
data centre, streams of the same names *source* the site's streams through
the site domain's API (``$JS.<domain>.API``): whenever the link is up, the
hub's streams catch up, in order, from where they stopped.  The hub's data
stream has no subjects of its own (the site's subjects are not captured a
second time), and its metadata stream keeps one message per subject, like
the site's.  Readers at the data centre use the hub's streams with the same
URLs as at the site.  docs/NATS.md has the server configurations.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .connection import (
    DEFAULT_DEDUP_WINDOW,
    DEFAULT_MAX_AGE,
    DEFAULT_MAX_BYTES,
    connect,
    nats_module,
    stream_config,
)
from .errors import NatsRefusedError
from .layout import meta_stream
from .url import parse_nats_url


async def _source_streams(url: str, remote_domain: str) -> list[str]:
    api = nats_module().js.api
    addr = parse_nats_url(url)
    nc = await connect(addr, name="g3stream-deploy")
    try:
        js = nc.jetstream()
        external = api.ExternalStream(api=f"$JS.{remote_domain}.API")
        storage = api.StorageType.MEMORY if addr.storage == "memory" else api.StorageType.FILE
        common: dict[str, Any] = {"storage": storage, "num_replicas": addr.replicas or 1}
        configs = [
            api.StreamConfig(
                name=addr.stream,
                sources=[api.StreamSource(name=addr.stream, external=external)],
                max_bytes=addr.max_bytes if addr.max_bytes is not None else DEFAULT_MAX_BYTES,
                max_age=addr.max_age if addr.max_age is not None else DEFAULT_MAX_AGE,
                duplicate_window=addr.dedup_window or DEFAULT_DEDUP_WINDOW,
                allow_direct=True,
                **common,
            ),
            api.StreamConfig(
                name=meta_stream(addr.stream),
                sources=[api.StreamSource(name=meta_stream(addr.stream), external=external)],
                max_msgs_per_subject=1,
                allow_direct=True,
                **common,
            ),
        ]
        created = []
        for config in configs:
            if await stream_config(js, config.name) is not None:
                continue
            try:
                await js.add_stream(config)
            except nats_module().js.errors.APIError as exc:
                raise NatsRefusedError(f"cannot create stream {config.name}: {exc}") from None
            created.append(config.name)
        return created
    finally:
        await nc.close()


def source_streams(url: str, remote_domain: str) -> list[str]:
    """Create, on the server of ``url``, the streams that source the stream of ``url`` from
    the JetStream domain ``remote_domain``; the names of those created (existing ones are kept).
    """
    return asyncio.run(_source_streams(url, remote_domain))


__all__ = ["source_streams"]
