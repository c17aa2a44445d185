"""FLAC payloads of compressed timestreams, through libFLAC via ctypes (FORMAT.md 10.4).

The reference stores a compressed ``G3Timestream`` as a complete native FLAC
stream (mono, 24 or 32 bits per sample).  This module talks to a libFLAC
shared library directly, found by the platform's normal library search (the
system's package, a conda or Homebrew prefix); ``G3STREAM_LIBFLAC`` (a path)
overrides the search.  Without libFLAC everything else works, and FLAC
timestreams raise ``FLACUnavailableError`` with ``INSTALL_HINT``.

Decoding works frame by frame: libFLAC hands over one block of samples per
callback and the block is copied with ``memmove`` into a growing numpy
buffer, so no Python work is done per sample.

Only libFLAC 1.5.0 (the version the reference links) reproduces the
reference's payload bytes exactly; other versions write a different vendor
string but streams that decode to the same samples.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import itertools
import logging
import os
import sys
import threading
from typing import Any

import numpy as np

from .errors import DecodedSizeError, FLACDecodeError, FLACUnavailableError

log = logging.getLogger(__name__)

__all__ = [
    "INSTALL_HINT",
    "FLACUnavailableError",
    "FLACDecodeError",
    "LibFLAC",
    "get_libflac",
    "FLAC_BIT_DEPTHS",
]

#: Bit depths the G3 format allows for FLAC timestreams.
FLAC_BIT_DEPTHS = (24, 32)

_FLAC_MAGIC = b"fLaC"


# -- C callback signatures -------------------------------------------------
_READ_CB = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t), ctypes.c_void_p
)
_WRITE_CB = ctypes.CFUNCTYPE(
    ctypes.c_int,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.POINTER(ctypes.c_void_p),
    ctypes.c_void_p,
)
_TELL_CB = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64), ctypes.c_void_p
)
_METADATA_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
_ERROR_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)
_ENC_WRITE_CB = ctypes.CFUNCTYPE(
    ctypes.c_int,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_uint32,
    ctypes.c_uint32,
    ctypes.c_void_p,
)

# libFLAC enum values used here
_READ_CONTINUE, _READ_END_OF_STREAM, _READ_ABORT = 0, 1, 2
_WRITE_CONTINUE, _WRITE_ABORT = 0, 1
_DECODER_END_OF_STREAM = 4
_TELL_OK, _TELL_ERROR = 0, 1
_ENCODER_WRITE_OK, _ENCODER_WRITE_FATAL = 0, 1

_DECODER_ERRORS = {
    0: "lost sync",
    1: "bad frame header",
    2: "frame CRC mismatch",
    3: "unparseable stream",
    4: "bad metadata",
    5: "out-of-bounds value",
    6: "missing frame",
}

# Offsets inside FLAC__StreamMetadata (type, is_last, length, then the union,
# 8-byte aligned); STREAMINFO's total_samples follows seven uint32 fields.
_META_STREAMINFO_TOTAL_OFFSET = 16 + 7 * 4 + 4

# Largest number of samples handed to libFLAC in one process call.
_ENCODE_CHUNK = 1 << 22


# -- per-call state, looked up from libFLAC's client_data ---------------------
class _DecodeState:
    __slots__ = (
        "src",
        "src_addr",
        "src_len",
        "pos",
        "out",
        "out_addr",
        "n",
        "errors",
        "exc",
        "max",
        "get_position",
        "consumed",
    )

    def __init__(
        self, payload: np.ndarray, capacity: int, max_samples: int | None, get_position: Any
    ) -> None:
        self.src = payload
        self.src_addr = payload.ctypes.data
        self.src_len = payload.nbytes
        self.pos = 0
        self.out = np.empty(capacity, dtype=np.int32)
        self.out_addr = self.out.ctypes.data
        self.n = 0
        self.errors: list[int] = []
        self.exc: BaseException | None = None
        self.max = max_samples
        self.get_position = get_position
        self.consumed = 0  # end of the last complete frame (or of the metadata)

    def reserve(self, total: int) -> None:
        cap = self.out.shape[0]
        if total > cap:
            grown = max(total, 2 * cap)
            if self.max is not None:
                grown = min(grown, max(self.max, total))  # never beyond the bound
            self.out.resize((grown,), refcheck=False)
            self.out_addr = self.out.ctypes.data


class _EncodeState:
    __slots__ = ("chunks", "exc")

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.exc: BaseException | None = None


_states: dict[int, Any] = {}
_tokens = itertools.count(1)
_states_lock = threading.Lock()


def _new_token(state: Any) -> int:
    with _states_lock:
        token = next(_tokens)
        _states[token] = state
    return token


def _drop_token(token: int) -> None:
    with _states_lock:
        _states.pop(token, None)


@_READ_CB
def _read_cb(_dec: int, buf: int, nbytes: Any, token: int) -> int:
    st = _states.get(token)
    if st is None:
        return _READ_ABORT
    want = nbytes[0]
    k = min(want, st.src_len - st.pos)
    if k <= 0:
        nbytes[0] = 0
        return _READ_END_OF_STREAM
    ctypes.memmove(buf, st.src_addr + st.pos, k)
    st.pos += k
    nbytes[0] = k
    return _READ_CONTINUE


@_TELL_CB
def _tell_cb(_dec: int, where: Any, token: int) -> int:
    st = _states.get(token)
    if st is None:
        return _TELL_ERROR
    where[0] = st.pos
    return _TELL_OK


@_WRITE_CB
def _write_cb(dec: int, frame: int, channels: Any, token: int) -> int:
    st = _states.get(token)
    if st is None:
        return _WRITE_ABORT
    try:
        # FLAC__Frame starts with FLAC__FrameHeader, whose first field is the block size.
        blocksize = ctypes.c_uint32.from_address(frame).value
        total = st.n + blocksize
        if st.max is not None and total > st.max:
            st.exc = DecodedSizeError(
                f"FLAC payload holds more than the {st.max} samples its decoded-size limit allows",
                st.consumed,
            )
            return _WRITE_ABORT
        st.reserve(total)
        ctypes.memmove(st.out_addr + 4 * st.n, channels[0], 4 * blocksize)
        st.n = total
        where = ctypes.c_uint64(0)
        if st.get_position(dec, ctypes.byref(where)):
            st.consumed = where.value
        return _WRITE_CONTINUE
    except BaseException as exc:  # never let an exception cross into C
        st.exc = exc
        return _WRITE_ABORT


@_METADATA_CB
def _metadata_cb(_dec: int, meta: int, token: int) -> None:
    st = _states.get(token)
    if st is None:
        return
    try:
        if ctypes.c_int.from_address(meta).value != 0:  # only STREAMINFO is of interest
            return
        total = ctypes.c_uint64.from_address(meta + _META_STREAMINFO_TOTAL_OFFSET).value
        # The count is only a hint for preallocation; never trust it far beyond
        # what the payload size can plausibly hold.
        hint = min(total, 16 * st.src_len + 65536)
        if st.max is not None:
            hint = min(hint, st.max)
        st.reserve(hint)
    except BaseException as exc:
        st.exc = exc


@_ERROR_CB
def _error_cb(_dec: int, status: int, token: int) -> None:
    st = _states.get(token)
    if st is not None:
        st.errors.append(status)


@_ENC_WRITE_CB
def _enc_write_cb(_enc: int, buf: int, nbytes: int, _samples: int, _frame: int, token: int) -> int:
    st = _states.get(token)
    if st is None:
        return _ENCODER_WRITE_FATAL
    try:
        st.chunks.append(ctypes.string_at(buf, nbytes))
        return _ENCODER_WRITE_OK
    except BaseException as exc:
        st.exc = exc
        return _ENCODER_WRITE_FATAL


# -- the library -----------------------------------------------------------
class LibFLAC:
    """A loaded libFLAC shared library, with the few entry points G3 needs.

    ``path`` names the shared library file (or a name ``ctypes`` can load).
    Raises ``FLACUnavailableError`` if it cannot be loaded or lacks the API.
    """

    def __init__(self, path: str) -> None:
        # Another libFLAC (of another version) may already be loaded into the
        # process, e.g. by a C++ extension.  Bind this library's own symbols
        # to itself so that the two can never mix their internal functions.
        mode = ctypes.RTLD_LOCAL | getattr(os, "RTLD_DEEPBIND", 0)
        try:
            lib = ctypes.CDLL(path, mode=mode)
        except OSError as exc:
            raise FLACUnavailableError(f"cannot load libFLAC from {path!r}: {exc}") from None
        self.path = path
        try:
            self._bind(lib)
        except AttributeError as exc:
            raise FLACUnavailableError(f"{path!r} is not a usable libFLAC: {exc}") from None
        self._lib = lib
        self._local = threading.local()
        self.version: str = ctypes.c_char_p.in_dll(lib, "FLAC__VERSION_STRING").value.decode()  # type: ignore[union-attr]
        self.vendor: str = ctypes.c_char_p.in_dll(lib, "FLAC__VENDOR_STRING").value.decode()  # type: ignore[union-attr]

    def _bind(self, lib: ctypes.CDLL) -> None:
        vp, u32, b = ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int

        def fn(name: str, res: Any, *args: Any) -> Any:
            f = getattr(lib, name)
            f.restype = res
            f.argtypes = list(args)
            return f

        self.dec_new = fn("FLAC__stream_decoder_new", vp)
        self.dec_delete = fn("FLAC__stream_decoder_delete", None, vp)
        self.dec_init_stream = fn(
            "FLAC__stream_decoder_init_stream",
            ctypes.c_int,
            vp,
            _READ_CB,
            vp,
            _TELL_CB,
            vp,
            vp,
            _WRITE_CB,
            _METADATA_CB,
            _ERROR_CB,
            vp,
        )
        self.dec_process = fn("FLAC__stream_decoder_process_until_end_of_stream", b, vp)
        self.dec_reset = fn("FLAC__stream_decoder_reset", b, vp)
        self.dec_process_metadata = fn("FLAC__stream_decoder_process_until_end_of_metadata", b, vp)
        self.dec_get_position = fn(
            "FLAC__stream_decoder_get_decode_position", b, vp, ctypes.POINTER(ctypes.c_uint64)
        )
        self.dec_finish = fn("FLAC__stream_decoder_finish", b, vp)
        self.dec_get_state = fn("FLAC__stream_decoder_get_state", ctypes.c_int, vp)
        self.enc_new = fn("FLAC__stream_encoder_new", vp)
        self.enc_delete = fn("FLAC__stream_encoder_delete", None, vp)
        self.enc_set_channels = fn("FLAC__stream_encoder_set_channels", b, vp, u32)
        self.enc_set_bps = fn("FLAC__stream_encoder_set_bits_per_sample", b, vp, u32)
        self.enc_set_level = fn("FLAC__stream_encoder_set_compression_level", b, vp, u32)
        self.enc_set_md5 = fn("FLAC__stream_encoder_set_do_md5", b, vp, b)
        self.enc_init_stream = fn(
            "FLAC__stream_encoder_init_stream", ctypes.c_int, vp, _ENC_WRITE_CB, vp, vp, vp, vp
        )
        self.enc_process = fn(
            "FLAC__stream_encoder_process_interleaved", b, vp, ctypes.c_void_p, u32
        )
        self.enc_finish = fn("FLAC__stream_encoder_finish", b, vp)
        self.enc_get_state = fn("FLAC__stream_encoder_get_state", ctypes.c_int, vp)

    def __repr__(self) -> str:
        return f"LibFLAC({self.path!r}, version {self.version!r})"

    def _worker(self) -> _DecoderWorker:
        """This thread's initialised stream decoder (created on first use)."""
        worker: _DecoderWorker | None = getattr(self._local, "worker", None)
        if worker is None or not worker.dec:
            worker = _DecoderWorker(self)
            self._local.worker = worker
        return worker

    # -- decoding --------------------------------------------------------
    def decode(self, payload: Any, max_samples: int | None = None) -> np.ndarray:
        """Decode a complete FLAC stream to its channel-0 samples as ``int32``.

        ``max_samples`` (optional) bounds the number of samples accepted, as a
        guard against hostile payloads: the output never grows beyond it, and
        a stream holding more raises ``DecodedSizeError`` (whose offset is in
        the payload).  Raises ``FLACDecodeError`` for anything that is not a
        clean FLAC stream.
        """
        src = np.frombuffer(payload, dtype=np.uint8)
        if src.nbytes < 4 or src[:4].tobytes() != _FLAC_MAGIC:
            raise FLACDecodeError("FLAC payload does not start with the 'fLaC' marker", 0)
        capacity = min(max(4096, src.nbytes), max_samples if max_samples is not None else 1 << 62)
        st = _DecodeState(src, max(capacity, 0), max_samples, self.dec_get_position)
        worker = self._worker()
        dec, token = worker.dec, worker.token
        _states[token] = st
        try:
            # reset() returns an initialised decoder to the start of a new stream:
            # much cheaper than a fresh decoder (initialisation dominates small payloads)
            if not self.dec_reset(dec):
                worker.close()
                raise MemoryError("libFLAC could not reset its decoder")
            ok = self.dec_process_metadata(dec)
            where = ctypes.c_uint64(0)
            if ok and self.dec_get_position(dec, ctypes.byref(where)):
                st.consumed = where.value
            ok = ok and self.dec_process(dec)
            state = self.dec_get_state(dec)
        finally:
            _states[token] = None
        if st.exc is not None:
            raise st.exc
        if st.errors:
            what = ", ".join(sorted({_DECODER_ERRORS.get(e, f"error {e}") for e in st.errors}))
            raise FLACDecodeError(f"corrupt FLAC payload ({what})", st.pos)
        if not ok or state != _DECODER_END_OF_STREAM:
            raise FLACDecodeError(
                f"FLAC payload could not be decoded (decoder state {state})", st.pos
            )
        if st.consumed != st.src_len:
            raise FLACDecodeError(
                f"FLAC payload has {st.src_len - st.consumed} bytes after its last complete frame",
                st.consumed,
            )
        out = st.out
        if out.shape[0] != st.n:
            out.resize((st.n,), refcheck=False)
        return out

    # -- encoding --------------------------------------------------------
    def encode(self, samples: Any, level: int, bit_depth: int) -> bytes:
        """Encode ``int32`` samples as a mono FLAC stream with the reference's settings.

        Settings: 1 channel, ``bit_depth`` bits per sample, compression
        ``level``, default sample rate, MD5 off, no seek callback.  Samples
        must fit in ``bit_depth`` bits (``ValueError`` otherwise).
        """
        if bit_depth not in FLAC_BIT_DEPTHS:
            raise ValueError(f"FLAC bit depth must be 24 or 32, not {bit_depth}")
        if not 0 <= int(level) <= 9:
            raise ValueError(f"FLAC compression level must be between 0 and 9, not {level}")
        arr = np.asarray(samples)
        if arr.ndim != 1:
            raise ValueError("FLAC samples must be a one-dimensional array")
        if arr.dtype != np.int32:
            if arr.size and not np.issubdtype(arr.dtype, np.integer):
                raise TypeError(f"FLAC samples must be integers, not {arr.dtype}")
            if arr.size and (arr.min() < -(2**31) or arr.max() >= 2**31):
                raise ValueError("FLAC samples do not fit in 32 bits")
        arr = np.ascontiguousarray(arr, dtype=np.int32)
        if bit_depth == 24 and arr.size:
            lo, hi = int(arr.min()), int(arr.max())
            if lo < -(1 << 23) or hi >= 1 << 23:
                raise ValueError("FLAC samples do not fit in 24 bits")
        st = _EncodeState()
        token = _new_token(st)
        enc = self.enc_new()
        if not enc:
            _drop_token(token)
            raise MemoryError("libFLAC could not allocate an encoder")
        try:
            self.enc_set_channels(enc, 1)
            self.enc_set_bps(enc, bit_depth)
            self.enc_set_level(enc, int(level))
            self.enc_set_md5(enc, 0)
            status = self.enc_init_stream(enc, _enc_write_cb, None, None, None, token)
            if status != 0:
                raise FLACUnavailableError(
                    f"libFLAC {self.version} refused the encoder settings "
                    f"(init status {status}; 32-bit samples need libFLAC >= 1.4)"
                )
            base = arr.ctypes.data
            n = arr.shape[0]
            for start in range(0, n, _ENCODE_CHUNK):
                count = min(_ENCODE_CHUNK, n - start)
                if not self.enc_process(enc, base + 4 * start, count):
                    state = self.enc_get_state(enc)
                    raise ValueError(
                        f"libFLAC could not encode the samples (encoder state {state})"
                    )
            if not self.enc_finish(enc):
                state = self.enc_get_state(enc)
                raise ValueError(f"libFLAC could not finish the stream (encoder state {state})")
        finally:
            self.enc_delete(enc)
            _drop_token(token)
        if st.exc is not None:
            raise st.exc
        return b"".join(st.chunks)


class _DecoderWorker:
    """One thread's libFLAC stream decoder, initialised once and reset per payload."""

    __slots__ = ("lib", "dec", "token")

    def __init__(self, lib: LibFLAC) -> None:
        self.lib = lib
        self.token = _new_token(None)
        self.dec = lib.dec_new()
        if not self.dec:
            _drop_token(self.token)
            raise MemoryError("libFLAC could not allocate a decoder")
        status = lib.dec_init_stream(
            self.dec,
            _read_cb,
            None,
            _tell_cb,
            None,
            None,
            _write_cb,
            _metadata_cb,
            _error_cb,
            self.token,
        )
        if status != 0:
            self.close()
            raise FLACUnavailableError(f"libFLAC decoder initialisation failed (status {status})")

    def close(self) -> None:
        """Free the decoder (the worker is replaced on next use)."""
        dec, self.dec = self.dec, None
        if dec:
            self.lib.dec_finish(dec)
            self.lib.dec_delete(dec)
        _drop_token(self.token)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing useful left to do
            pass


def _version_key(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split("."):
        digits = "".join(itertools.takewhile(str.isdigit, piece))
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


#: Shared-library names of libFLAC, newest ABI first, tried through the
#: platform's own library search (``dlopen``/``LoadLibrary`` and their paths).
_SONAMES = {
    "linux": ["libFLAC.so.14", "libFLAC.so.12", "libFLAC.so.8", "libFLAC.so"],
    "darwin": ["libFLAC.14.dylib", "libFLAC.12.dylib", "libFLAC.8.dylib", "libFLAC.dylib"],
    "win32": ["FLAC.dll", "libFLAC.dll", "libFLAC-14.dll", "libFLAC-12.dll", "libFLAC-8.dll"],
}


def _prefix_dirs() -> list[str]:
    """Library folders of the running environment (a conda or Homebrew prefix), if any."""
    if sys.platform == "win32":
        dirs = [os.path.join(sys.prefix, "Library", "bin")]
    else:
        dirs = [os.path.join(sys.prefix, "lib")]
    if sys.platform == "darwin":
        dirs += ["/opt/homebrew/lib", "/usr/local/lib"]  # Homebrew on arm64 and x86-64
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


def _system_candidates() -> list[str]:
    """libFLAC libraries the platform's normal library search can find, best guess first."""
    key = "linux" if sys.platform.startswith("linux") else sys.platform
    names = _SONAMES.get(key, ["libFLAC.so"])
    found: list[str] = []
    located = ctypes.util.find_library("FLAC") or ctypes.util.find_library("libFLAC")
    if located:
        found.append(located)
    for d in _prefix_dirs():
        found.extend(os.path.join(d, n) for n in names if os.path.exists(os.path.join(d, n)))
    found.extend(names)  # bare names: the dynamic loader searches its own paths
    return list(dict.fromkeys(found))


#: How to get libFLAC, shown whenever FLAC timestreams are needed but it is missing.
INSTALL_HINT = (
    "FLAC-compressed timestreams need the libFLAC shared library, which was not found. "
    "Install it with the system's package manager (Debian/Ubuntu: apt install libflac14 "
    "or libflac12; Fedora: dnf install flac-libs; macOS: brew install flac; conda: "
    "conda install -c conda-forge libflac; Windows: put FLAC.dll on PATH), or set "
    "G3STREAM_LIBFLAC to the library's path. libFLAC 1.5.0 writes bytes identical to spt3g's"
)


_default: LibFLAC | None = None
_default_lock = threading.Lock()


def get_libflac() -> LibFLAC:
    """The libFLAC used by ``decode_flac`` and ``encode_flac`` (loaded on first use).

    The path in the ``G3STREAM_LIBFLAC`` environment variable wins; otherwise
    the newest loadable libFLAC that the platform's library search finds
    (see ``INSTALL_HINT``).  Raises ``FLACUnavailableError`` if there is none.
    """
    global _default
    if _default is not None:
        return _default
    with _default_lock:
        if _default is not None:
            return _default
        override = os.environ.get("G3STREAM_LIBFLAC")
        if override:
            try:
                _default = LibFLAC(override)
            except FLACUnavailableError as exc:
                raise FLACUnavailableError(f"G3STREAM_LIBFLAC: {exc}. {INSTALL_HINT}") from None
            return _default
        loaded: list[LibFLAC] = []
        problems: list[str] = []
        for path in _system_candidates():
            try:
                loaded.append(LibFLAC(path))
            except FLACUnavailableError as exc:
                problems.append(str(exc))
        if not loaded:
            log.debug("no libFLAC: %s", "; ".join(problems))
            raise FLACUnavailableError(INSTALL_HINT)
        _default = max(loaded, key=lambda lib: _version_key(lib.version))
        return _default
