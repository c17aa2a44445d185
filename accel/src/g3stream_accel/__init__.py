"""Optional compiled per-frame hot paths for g3stream (see its ``codec`` package)."""

from ._codec import (
    API,
    crc,
    crc_kind,
    crc_of_parts,
    decode_run,
    encode_small,
    pack_timestreams,
    scan,
)

__version__ = "0.1.0"

__all__ = [
    "API",
    "crc",
    "crc_kind",
    "crc_of_parts",
    "decode_run",
    "encode_small",
    "pack_timestreams",
    "scan",
    "__version__",
]
