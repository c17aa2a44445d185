"""``g3stream relay``: read one stream and serve it to many clients (a fan-out tier).

The DAQ host serves a single relay; monitors and recorders connect to the
relay instead, so a slow or misbehaving client never loads the DAQ.  Frames
are forwarded from their original bytes (never re-encoded).
"""

from __future__ import annotations

import argparse
import logging
import threading
from typing import Any

from .common import EXIT_OK, UsageError
from .inputs import (
    add_reader_options,
    check_url,
    is_url,
    listening_port,
    open_reader,
    reader_frames,
    reader_options,
)
from .prometheus import add_metrics_options, start_metrics
from .streaming import (
    add_sender_options,
    announce,
    close_module,
    end_processing,
    log_sender_statistics,
    make_sender,
    sender_port,
    wait_for_clients,
)

HELP = "re-serve a stream to many clients (fan-out)"

log = logging.getLogger("g3stream.cli")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``relay`` subcommand."""
    p = subparsers.add_parser(
        "relay",
        help=HELP,
        description=(
            "Read a stream from URL and serve it on PORT to any number of clients. "
            "Late clients get the latest metadata frames first. Stop with Ctrl-C."
        ),
    )
    p.add_argument("url", metavar="URL", help="tcp://host:port, or tcp://*:port to listen")
    add_sender_options(p)
    add_reader_options(p)
    add_metrics_options(p)
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Relay until the upstream ends (without ``--reconnect``) or Ctrl-C."""
    if not is_url(args.url):
        raise UsageError(f"{args.url}: expected a tcp://host:port URL (to serve files use serve)")
    check_url(args.url)
    kwargs = reader_options(args)
    reader = open_reader(args.url, **kwargs)
    listen_port = listening_port(args.url, reader)
    if listen_port:
        announce(f"listening on port {listen_port}")
    sender = make_sender(args)
    announce(f"serving on port {sender_port(sender, args.port)}")
    metrics = start_metrics(args, reader=reader, sender=sender)
    count = 0
    try:
        wait_for_clients(sender, args.wait_for_client, threading.Event())
        for frame in reader_frames(reader):
            sender(frame)
            metrics.count(frame)
            count += 1
    except KeyboardInterrupt:
        log.warning("interrupted: closing client connections")
    finally:
        end_processing([sender])
        close_module(reader)
        log_sender_statistics(sender)
        metrics.close()
    log.info("relayed %d frames", count)
    return EXIT_OK
