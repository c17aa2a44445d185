"""Every public error class of g3stream, in one place.

Two trees, each rooted where spt3g's users would look for it:

* bad data: :class:`G3FormatError` and its subclasses, each carrying the
  absolute byte ``offset`` where the problem was found;
* connection problems: :class:`G3ConnectionError` and its subclasses, each
  naming the peer involved.

Every error raised where spt3g raises ``RuntimeError`` is also a
``RuntimeError``, so that code written for spt3g (``except RuntimeError:``)
catches it, while the typed classes (``except G3FormatError:``,
``except ConnectionError:``, ``except FileNotFoundError:``) work as well.
The modules that raise these errors re-export them under their old import
paths.
"""

from __future__ import annotations


class G3FormatError(ValueError, RuntimeError):
    """Bytes that are not a valid G3 stream (a ``ValueError`` and, as in spt3g, a ``RuntimeError``).

    ``offset`` is the absolute byte offset in the stream (or blob) where the
    problem was found, or ``None`` when it is not known.
    """

    def __init__(self, message: str, offset: int | None = None) -> None:
        self.offset = offset
        self.message = message
        where = f" at byte offset {offset}" if offset is not None else ""
        super().__init__(f"{message}{where}")


class CRCMismatchError(G3FormatError):
    """A frame's stored CRC does not match its contents."""


class TruncatedFrameError(G3FormatError):
    """A stream ended, or a blob ran out, in the middle of a frame or object."""


class InvalidLengthError(G3FormatError):
    """A length or count field is negative, implausible or over the size limit."""


class UnsupportedVersionError(G3FormatError):
    """A class version newer than this implementation can read."""


class InvalidEndianError(G3FormatError):
    """An archive's endianness flag is neither 0 (big) nor 1 (little)."""


class UnknownClassError(G3FormatError):
    """A blob names a frame-object class this package does not know."""


class UnknownTypeCodeError(G3FormatError):
    """A type code (enum value, pointer id, name id) that is not defined."""


class CompressedDataError(G3FormatError):
    """A compressed G3 file whose compressed data is corrupt."""


class FLACDecodeError(G3FormatError):
    """A FLAC payload is not a valid FLAC stream."""


class DecodedSizeError(InvalidLengthError):
    """Decoding would produce more bytes than the frame's decoded-size limit allows.

    Raised before the allocation, by every place that decompresses, expands
    or copies data (FLAC and bzip2 payloads, filled-in time gaps,
    byte-swapped arrays); the limit is absolute, in bytes per frame (see
    ``FrameDecoder``).  Also raised, without a limit being reached, when the
    system refuses the memory that decoding needs.
    """


class NestingTooDeepError(InvalidLengthError):
    """Frame objects nested (pointer within pointer) deeper than the nesting limit.

    An ``InvalidLengthError``, as nesting errors were before they had their own type.
    """


class ArgumentTooLongError(G3FormatError):
    """A recorded pipeline argument whose text is too long to be parsed back safely.

    Its text stays available as ``G3ModuleArg.repr``.
    """


class FLACUnavailableError(RuntimeError):
    """No usable libFLAC shared library could be found or loaded."""


# -- connections -------------------------------------------------------------
class G3ConnectionError(ConnectionError, RuntimeError):
    """A network peer could not be reached or went away.

    A ``ConnectionError`` (an ``OSError``) and, as in spt3g, a ``RuntimeError``.
    """


class G3ConnectionRefusedError(G3ConnectionError):
    """Nothing accepted a connection at the given host and port."""


class G3HostUnresolvableError(G3ConnectionError):
    """A host name could not be resolved to any address."""


class G3ConnectionTimeoutError(G3ConnectionError):
    """Connecting to a peer took longer than the configured timeout."""


class G3ConnectionLostError(G3ConnectionError):
    """An established connection failed (reset, broken pipe, peer vanished)."""


class G3SendTimeoutError(G3ConnectionError):
    """A peer took no data within ``send_timeout`` (or its queue within ``close_timeout``)."""


class G3SenderClosedError(G3ConnectionError):
    """A frame was given to a connecting sender after it was closed: it was not sent."""


# -- NATS JetStream (g3stream.nats) ----------------------------------------------
class G3NatsError(G3ConnectionError):
    """A NATS server could not be used (the subclasses say why)."""


class NatsUnreachableError(G3NatsError):
    """No NATS server of the URL accepted a connection in time."""


class NatsAuthError(G3NatsError):
    """The server refused the credentials, or a credentials file cannot be used.

    Covers user and password, token and credentials files (``creds=``).
    """


class NatsRefusedError(G3NatsError):
    """The server refused a request: a publish, a stream or a consumer it would not create."""


class NatsOutageError(G3NatsError):
    """The server stayed unreachable longer than the configured outage timeout."""


class NotAG3FrameError(G3FormatError):
    """A message on a G3 stream that does not hold a G3 frame (or a part of one).

    ``offset`` and ``sequence`` are the message's stream sequence.
    """

    def __init__(self, message: str, sequence: int) -> None:
        super().__init__(message, sequence)
        self.sequence = sequence


# -- frames and frame objects ---------------------------------------------------
class DuplicateKeyError(KeyError, RuntimeError):
    """A key that a frame already holds was assigned again."""


class G3TimestreamError(ValueError, RuntimeError):
    """An operation the reference refuses, e.g. FLAC for units other than Counts/None.

    It is both a ``ValueError`` and a ``RuntimeError`` (what spt3g raises).
    """


class G3TimesampleError(ValueError, RuntimeError):
    """Maps that cannot be combined (it is also the ``RuntimeError`` spt3g raises)."""


# -- files ---------------------------------------------------------------------
class G3FileNotFoundError(FileNotFoundError, RuntimeError):
    """A file to read does not exist (a ``FileNotFoundError`` and, as in spt3g, a ``RuntimeError``)."""


class G3TimeParseError(ValueError, RuntimeError):
    """A string that is not a time G3Time can read (also the ``RuntimeError`` spt3g raises)."""


class ReaderSeekError(RuntimeError):
    """``G3Reader.seek`` was asked for something impossible (after the end, on a socket)."""


# -- the pipeline ----------------------------------------------------------------
class G3PipelineError(RuntimeError):
    """A pipeline was misused or a module broke a pipeline rule.

    Examples: running a pipeline twice or with no modules, a module that
    swallows the EndProcessing frame, a module returning something that is
    not a frame.  ``module`` names the offending module when there is one.
    """

    def __init__(self, message: str, module: str | None = None) -> None:
        super().__init__(message)
        self.module = module


class G3ModuleArgumentError(G3PipelineError, TypeError):
    """Keyword arguments were given to ``Add`` for a module that cannot take them.

    Only classes (instantiated with them) and plain functions (called with
    them) take keyword arguments; an already constructed instance does not.
    """


class G3FatalError(RuntimeError):
    """Raised by ``log_fatal`` after the message has been logged."""

    def __init__(self, message: str, unit: str = "Python") -> None:
        super().__init__(message)
        self.unit = unit


#: The names ``g3stream`` exports at its top level (the others are reached
#: through the modules that raise them, as before).
__all__ = [
    "G3FormatError",
    "CRCMismatchError",
    "TruncatedFrameError",
    "InvalidLengthError",
    "UnsupportedVersionError",
    "InvalidEndianError",
    "UnknownClassError",
    "UnknownTypeCodeError",
    "DecodedSizeError",
    "NestingTooDeepError",
    "G3ConnectionError",
    "G3FileNotFoundError",
    "G3TimeParseError",
]
