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

from ..io import G3Reader
from ..nats import G3NatsSender, is_nats_url
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
    p.add_argument(
        "--to",
        metavar="NATS_URL",
        default=None,
        help="publish to a NATS JetStream stream (nats://host:port/STREAM, see docs/NATS.md) "
        "instead of serving TCP clients; URL may then also be a file",
    )
    add_sender_options(p, default_port=-1)
    add_reader_options(p)
    add_metrics_options(p)
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Relay until the upstream ends (without ``--reconnect``) or Ctrl-C."""
    if args.to is not None:
        return run_to_nats(args)
    if args.port < 0:
        raise UsageError("--port is required (or --to nats://...)")
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


def run_to_nats(args: argparse.Namespace) -> int:
    """Publish the upstream's frames to the JetStream stream of ``--to``."""
    if not is_nats_url(args.to):
        raise UsageError(f"--to {args.to}: expected nats://host:port/STREAM")
    sender = G3NatsSender(args.to)
    try:
        if is_nats_url(args.url):
            # frames named by the upstream's sequences: start with the message
            # the destination holds last (its frames up to there are skipped)
            kwargs = reader_options(args)
            reader = open_reader(args.url, resume_after=sender.stored_position, **kwargs)
        elif is_url(args.url):
            reader = open_reader(args.url, **reader_options(args))
        else:  # files: frames named by file and offset, so a restarted relay never duplicates
            reader = G3Reader(args.url, track_filename=True)
    except BaseException:
        end_processing([sender])
        raise
    announce(f"publishing to {sender.address.display}")
    count = 0
    try:
        for frame in reader_frames(reader):
            sender(frame)
            count += 1
    except KeyboardInterrupt:
        log.warning("interrupted: waiting for the last acknowledgements")
    finally:
        close_module(reader)
        end_processing([sender])
        log.info("sender statistics: %s", sender.statistics())
    log.info("relayed %d frames", count)
    return EXIT_OK
