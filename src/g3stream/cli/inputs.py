"""Frame sources for the command-line tools: files, standard input and ``tcp://`` URLs.

Files and standard input are decoded here with the sans-I/O
:class:`~g3stream.codec.decoder.FrameDecoder`, so every frame comes with its
byte offset and progress can be followed on the compressed file.  Network
URLs are read with :class:`g3stream.io.G3Reader`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from ..cereal.budget import DEFAULT_MAX_DECODED_SIZE
from ..codec.decoder import FrameDecoder
from ..frame import G3Frame
from ..io import G3Reader
from ..io.schemes import is_stream_url, registered_schemes
from .common import CommandError, UsageError, size_arg

#: Bytes read from a file at a time.
CHUNK_SIZE = 1 << 20

STDIN_NAME = "-"


def is_url(name: str) -> bool:
    """True for an address of a registered scheme (``tcp://`` ...) rather than a file."""
    return is_stream_url(name)


def open_raw(name: str) -> Any:
    """Open a file (or ``-`` for standard input) for reading, without decompression."""
    if name == STDIN_NAME:
        return sys.stdin.buffer
    try:
        return open(name, "rb")  # noqa: SIM115 - closed by the caller
    except FileNotFoundError:
        raise CommandError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise CommandError(f"{name}: is a directory") from None
    except PermissionError:
        raise CommandError(f"{name}: permission denied") from None


def stream_frames(
    name: str,
    progress: Callable[[int], None] | None = None,
    verify_crc: bool = True,
    max_decoded_size: int = DEFAULT_MAX_DECODED_SIZE,
) -> Iterator[G3Frame]:
    """Yield every frame of the file ``name`` (``-`` for stdin), in order.

    ``progress`` is called with the offset reached in the (decompressed)
    stream.  Bad data raises a :class:`~g3stream.errors.G3FormatError`
    whose ``offset`` is the byte offset in the (decompressed) stream; a
    file that ends inside a frame raises
    :class:`~g3stream.errors.TruncatedFrameError`.  Files are read by
    :class:`g3stream.io.G3Reader` (large frames in one block, no extra
    copies); standard input is decoded here as it arrives.  The values of
    each frame decode to at most ``max_decoded_size`` bytes.
    """
    if name == STDIN_NAME:
        yield from _stdin_frames(progress, verify_crc, max_decoded_size)
        return
    open_raw(name).close()  # a clear message for a missing or unreadable file
    reader = G3Reader(name, verify_crc=verify_crc, max_decoded_size=max_decoded_size)
    try:
        while True:
            frames = reader(None)
            if not frames:
                return
            if progress is not None:
                position = reader.tell()
                if position >= 0:
                    progress(position)
            yield from frames
    finally:
        reader.close()


def _stdin_frames(
    progress: Callable[[int], None] | None, verify_crc: bool, max_decoded_size: int
) -> Iterator[G3Frame]:
    stream: Any = sys.stdin.buffer
    decoder = FrameDecoder(verify_crc=verify_crc, max_decoded_size=max_decoded_size)
    while True:
        chunk = stream.read1(CHUNK_SIZE)
        if not chunk:
            break
        decoder.feed(chunk)
        if progress is not None:
            progress(decoder.offset + decoder.buffered)
        while True:
            frame = decoder.next_frame()
            if frame is None:
                break
            yield frame
    decoder.close()


def file_size(name: str) -> int | None:
    """The size of a regular file on disk, or None (stdin, pipes)."""
    if name == STDIN_NAME:
        return None
    try:
        st = os.stat(name)
    except OSError:
        return None
    return st.st_size if st.st_size > 0 else None


def known_schemes() -> str:
    """The registered URL prefixes, for messages (``tcp://, nats://``)."""
    return ", ".join(s.prefix for s in registered_schemes())


def check_url(url: str) -> str:
    """``url`` if it is a well-formed address (``tcp://host:port`` ...), else a UsageError."""
    if not is_stream_url(url):
        raise UsageError(f"{url}: not an address of a known scheme ({known_schemes()})")
    from ..net.url import is_tcp_url, parse_tcp_url  # the network layer, only for a URL

    if not is_tcp_url(url):
        return url  # its source checks it when opened
    try:
        parse_tcp_url(url)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return url


def listening_port(url: str, reader: Any) -> int | None:
    """The local port a ``tcp://*:port`` reader listens on; None for a connecting reader."""
    from ..net.url import is_tcp_url, parse_tcp_url

    if not is_tcp_url(url) or not parse_tcp_url(url).listen:
        return None
    port = getattr(reader, "port", None)
    return int(port) if port is not None else None


def open_reader(url: str, **kwargs: Any) -> Any:
    """A :class:`g3stream.io.G3Reader` for ``url`` (the network layer's reader)."""
    check_url(url)
    return G3Reader(url, **kwargs)


def reader_frames(reader: Any) -> Iterator[G3Frame]:
    """Yield frames from a G3Reader-like driving module until it returns none."""
    while True:
        frames = reader(None)
        if not frames:
            return
        yield from frames


def iter_source(
    name: str, on_listen: Callable[[int], None] | None = None, **reader_kwargs: Any
) -> Iterator[G3Frame]:
    """Frames of a file, ``-`` or ``tcp://`` URL, whichever ``name`` is.

    For a listening URL (``tcp://*:port``) ``on_listen`` is called with the
    bound port before waiting for the sender.
    """
    if is_url(name):
        reader = open_reader(name, **reader_kwargs)
        try:
            port = listening_port(name, reader)
            if port is not None and on_listen is not None:
                on_listen(port)
            yield from reader_frames(reader)
        finally:
            close = getattr(reader, "close", None) or getattr(reader, "Close", None)
            if close is not None:
                close()
    else:
        limit = reader_kwargs.get("max_decoded_size", DEFAULT_MAX_DECODED_SIZE)
        yield from stream_frames(name, max_decoded_size=limit)


def add_decode_options(p: argparse.ArgumentParser) -> None:
    """``--max-decoded-size``: what the values of one frame may decode to."""
    p.add_argument(
        "--max-decoded-size",
        type=size_arg,
        default=DEFAULT_MAX_DECODED_SIZE,
        metavar="SIZE",
        help="refuse frames whose values decode to more than SIZE bytes in all, "
        "e.g. 512M (default: 4G)",
    )


def non_negative_float_arg(text: str) -> float:
    """argparse type: a number of seconds that is 0 or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:  # also rejects nan
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def add_reader_options(p: argparse.ArgumentParser) -> None:
    """Options of the network reader, shared by ``record``, ``relay`` and ``stats``."""
    from ..net.sockets import DEFAULT_KEEPALIVE_IDLE
    from ..net.tcp_source import DEFAULT_INITIAL_BACKOFF, DEFAULT_MAX_BACKOFF

    add_decode_options(p)
    p.add_argument(
        "--reconnect",
        action="store_true",
        help=(
            "survive sender restarts: retry at once on a lost connection, then with "
            "growing pauses while the sender is away"
        ),
    )
    p.add_argument(
        "--retry-interval",
        type=non_negative_float_arg,
        default=None,
        metavar="SECONDS",
        help=(
            "with --reconnect: the pause after the first failed retry, doubled after "
            f"each further one (default {DEFAULT_INITIAL_BACKOFF:g} s)"
        ),
    )
    p.add_argument(
        "--max-backoff",
        type=non_negative_float_arg,
        default=None,
        metavar="SECONDS",
        help=(
            "with --reconnect: the longest pause between retries, so the longest a "
            f"restarted sender waits to be reconnected (default {DEFAULT_MAX_BACKOFF:g} s)"
        ),
    )
    p.add_argument(
        "--keepalive",
        type=non_negative_float_arg,
        default=None,
        metavar="SECONDS",
        help=(
            "TCP keep-alive: probe a sender silent for this long, so that one that "
            f"vanished (power loss) is detected (default {DEFAULT_KEEPALIVE_IDLE:g} s; 0: off)"
        ),
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=-1.0,
        metavar="SECONDS",
        help="end the stream when no data arrives for this long (default: wait forever)",
    )


def reader_options(args: argparse.Namespace) -> dict[str, Any]:
    """The G3Reader keyword arguments that ``add_reader_options`` collected."""
    kwargs: dict[str, Any] = {"max_decoded_size": args.max_decoded_size}
    if args.reconnect:
        kwargs["reconnect"] = True
    if args.timeout >= 0:
        kwargs["timeout"] = args.timeout
    if args.retry_interval is not None:
        kwargs["initial_backoff"] = args.retry_interval
    if args.max_backoff is not None:
        kwargs["max_backoff"] = args.max_backoff
    if args.keepalive is not None:
        kwargs["keepalive_idle"] = args.keepalive or None
    return kwargs


def add_skip_option(p: argparse.ArgumentParser) -> None:
    """``--skip-key``: leave out frames carrying a key (a DAQ's keep-alive frames)."""
    p.add_argument(
        "--skip-key",
        action="append",
        default=[],
        metavar="KEY",
        help=(
            "leave out frames that carry KEY, such as the keep-alive frames some DAQs "
            "send when idle (sostream_flowcontrol); counted and reported; repeatable"
        ),
    )


class FrameSkipper:
    """Leaves out frames carrying any of ``keys``, counting what it left out."""

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = tuple(keys)
        #: Frames left out so far.
        self.skipped = 0

    def __call__(self, frames: Iterable[G3Frame]) -> Iterator[G3Frame]:
        """The frames of ``frames`` that carry none of the keys."""
        keys = self.keys
        if not keys:
            yield from frames
            return
        for frame in frames:
            if any(key in frame for key in keys):
                self.skipped += 1
                continue
            yield frame
