"""Hand-crafted hostile frames: small inputs that claim or expand to huge costs.

Shared by the resource-bound tests and ``bench/fuzz_decode.py``.  Each
builder returns the bytes of one complete frame (``frame_bytes``) or one
blob; the sizes in the docstrings are what the input would cost a decoder
without bounds.
"""

from __future__ import annotations

import bz2
import struct
import sys
from collections.abc import Callable

import numpy as np

from g3stream import G3Frame, G3FrameType
from g3stream.cereal import OpaqueFrameObject, encode_object_bytes
from g3stream.objects import G3ModuleArg, G3ModuleConfig, G3PipelineInfo, G3Timestream

# -- FLAC streams made of constant frames ------------------------------------------


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


_CRC16 = []
for _i in range(256):
    _c = _i << 8
    for _ in range(8):
        _c = ((_c << 1) ^ 0x8005) & 0xFFFF if _c & 0x8000 else (_c << 1) & 0xFFFF
    _CRC16.append(_c)


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[(crc >> 8) ^ byte]
    return crc


def _utf8_number(n: int) -> bytes:
    """FLAC's UTF-8-like coding of a frame number."""
    if n < 0x80:
        return bytes([n])
    if n < 0x800:
        return bytes([0xC0 | n >> 6, 0x80 | n & 0x3F])
    if n < 0x10000:
        return bytes([0xE0 | n >> 12, 0x80 | (n >> 6) & 0x3F, 0x80 | n & 0x3F])
    return bytes([0xF0 | n >> 18, 0x80 | (n >> 12) & 0x3F, 0x80 | (n >> 6) & 0x3F, 0x80 | n & 0x3F])


def flac_constant_stream(n_frames: int, blocksize: int = 65535, value: int = 7) -> bytes:
    """A valid mono 32-bit FLAC stream of ``n_frames`` constant frames of ``blocksize`` samples.

    About 16 bytes per frame: 64 kB of it decodes to about 270 million samples.
    """
    info = struct.pack(">HH", 16, blocksize) + b"\x00" * 6
    info += struct.pack(">Q", (44100 << 44) | (31 << 36))  # rate, mono, 32 bits, length unknown
    info += b"\x00" * 16  # no MD5
    out = bytearray(b"fLaC" + bytes([0x80, 0, 0, len(info)]) + info)
    const = struct.pack(">i", value)
    for i in range(n_frames):
        head = b"\xff\xf8\x70\x00" + _utf8_number(i) + struct.pack(">H", blocksize - 1)
        head += bytes([_crc8(head)])
        body = head + b"\x00" + const  # a CONSTANT subframe
        out += body + struct.pack(">H", _crc16(body))
    return bytes(out)


def flac_timestream_blob(payload: bytes) -> bytes:
    """A float64 G3Timestream blob whose FLAC payload is ``payload``."""
    ts = G3Timestream(np.zeros(16), compression_level=1)
    blob = encode_object_bytes(ts)
    at = blob.index(b"fLaC")
    assert blob[at - 8 : at] == struct.pack("<Q", len(blob) - at), "payload is not last"
    return blob[: at - 8] + struct.pack("<Q", len(payload)) + payload


def frame_bytes(entries: dict[str, bytes], kind: G3FrameType = G3FrameType.Scan) -> bytes:
    """One complete frame holding ``entries`` (key -> blob) as they are."""
    frame = G3Frame(kind)
    for key, blob in entries.items():
        frame[key] = OpaqueFrameObject("G3Timestream", blob)
    return bytes(frame.encoded())


def flac_bomb_frame(n_frames: int = 4000) -> bytes:
    """A 64 kB frame with one FLAC timestream of ~262 million samples (3 GB as float64 + int32)."""
    return frame_bytes({"bomb": flac_timestream_blob(flac_constant_stream(n_frames))})


def flac_map_bomb_frame(members: int = 16, n_frames: int = 4000) -> bytes:
    """A ~1 MB frame of ``members`` FLAC timestreams like ``flac_bomb_frame``'s (48 GB in all)."""
    blob = flac_timestream_blob(flac_constant_stream(n_frames))
    return frame_bytes({f"ts{i:02d}": blob for i in range(members)})


# -- G3SuperTimestream: bzip2 times and constant channels -------------------------------


def _string(s: str) -> bytes:
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def super_timestream_bomb_blob(n_det: int = 1000, n_samp: int = 10_000_000) -> bytes:
    """A G3SuperTimestream of constant float64 channels whose shape asks for n_det*n_samp*8 bytes.

    The times are ``n_samp`` zeros, bzip2-compressed; by default the blob is
    about 30 kB and its declared shape 75 GiB.
    """
    out = bytearray(b"\x01" + struct.pack("<I", 0x80000001) + _string("G3SuperTimestream"))
    out += struct.pack("<III", 0x80000001, 0, 1)  # pointer id, versions
    out += struct.pack("<bbb", 1, 9, 2)  # FLAC level, bzip2 work factor, bzip2 times
    comp = _zeros_bz2(8 * n_samp)
    out += struct.pack("<iI", n_samp, len(comp)) + comp
    names = [f"d{i:04d}" for i in range(n_det)]
    out += struct.pack("<IQ", 1, n_det) + b"".join(_string(s) for s in names)
    out += struct.pack("<qq", 12, 2) + struct.pack("<32q", n_det, n_samp, *([0] * 30))
    out += struct.pack("<qb", n_det * n_samp * 8, 4)  # size, per-channel blocks
    out += struct.pack("<Q", n_det) + struct.pack(f"<{n_det}d", *([1.0] * n_det))
    block = b"\x04" + struct.pack("<q", 3)  # constant channel
    offsets = [len(block) * i for i in range(n_det + 1)]
    out += struct.pack("<Q", n_det + 1) + struct.pack(f"<{n_det + 1}i", *offsets)
    out += struct.pack("<i", len(block) * n_det) + block * n_det
    return bytes(out)


_BZ2_CACHE: dict[int, bytes] = {}


def _zeros_bz2(n: int) -> bytes:
    if n not in _BZ2_CACHE:
        comp = bz2.BZ2Compressor(9)
        chunk = bytes(1 << 20)
        parts = [comp.compress(chunk) for _ in range(n >> 20)]
        parts.append(comp.compress(bytes(n & ((1 << 20) - 1))))
        parts.append(comp.flush())
        _BZ2_CACHE[n] = b"".join(parts)
    return _BZ2_CACHE[n]


def super_timestream_bomb_frame() -> bytes:
    """A ~30 kB frame whose G3SuperTimestream declares 75 GiB of samples."""
    return frame_bytes({"bomb": super_timestream_bomb_blob()})


# -- pipeline-info chains ---------------------------------------------------------------


def pipeline_chain_blob(depth: int = 300) -> bytes:
    """A G3PipelineInfo whose module config holds an argument holding a config ... ``depth`` deep.

    module config -> argument -> pointer to module config -> ...: about 70
    bytes a level.
    """
    inner: G3ModuleConfig | None = None
    for i in range(depth):
        mc = G3ModuleConfig(f"m{i}", "")
        if inner is not None:
            mc.config["x"] = G3ModuleArg("", inner)
        inner = mc
    info = G3PipelineInfo()
    assert inner is not None
    info.modules = [inner]
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20 * depth + 1000))  # the writer recurses too
    try:
        return encode_object_bytes(info)
    finally:
        sys.setrecursionlimit(limit)


def pipeline_chain_frame(depth: int = 300) -> bytes:
    """A PipelineInfo frame holding ``pipeline_chain_blob(depth)``."""
    frame = G3Frame(G3FrameType.PipelineInfo)
    frame["PipelineInfo"] = OpaqueFrameObject("G3PipelineInfo", pipeline_chain_blob(depth))
    return bytes(frame.encoded())


def long_argument_frame(size: int = 2 << 20) -> bytes:
    """A PipelineInfo frame whose one module argument is a ``size``-character list literal."""
    text = "[" + ",".join(["1"] * (size // 2)) + "]"
    mc = G3ModuleConfig("m", "m")
    mc.config["values"] = G3ModuleArg(text)
    info = G3PipelineInfo()
    info.modules = [mc]
    frame = G3Frame(G3FrameType.PipelineInfo)
    frame["PipelineInfo"] = info
    return bytes(frame.encoded())


#: name -> builder of every crafted bomb (each returns one frame's bytes).
BOMBS: dict[str, Callable[[], bytes]] = {
    "flac_64k": flac_bomb_frame,
    "flac_map_1M": flac_map_bomb_frame,
    "super_timestream_75GiB": super_timestream_bomb_frame,
    "pipeline_chain_300": pipeline_chain_frame,
}
