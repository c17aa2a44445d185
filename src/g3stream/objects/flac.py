"""FLAC payloads of G3Timestream (FORMAT.md 10.4): samples to a FLAC stream and back.

The codec itself is libFLAC, loaded by :mod:`g3stream.libflac`; this module
states what G3 asks of it (mono, 24 or 32 bits per sample, the reference's
encoder settings).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import FLACDecodeError, FLACUnavailableError
from ..libflac import FLAC_BIT_DEPTHS, LibFLAC, get_libflac

__all__ = [
    "FLACUnavailableError",
    "FLACDecodeError",
    "LibFLAC",
    "get_libflac",
    "decode_flac",
    "encode_flac",
    "FLAC_BIT_DEPTHS",
]


def decode_flac(payload: Any, max_samples: int | None = None) -> np.ndarray:
    """Decode a FLAC stream (bytes-like) to a writable ``int32`` numpy array of samples.

    Only the first channel is returned (G3 streams are mono).  Raises
    ``FLACDecodeError`` for a corrupt payload and ``FLACUnavailableError``
    when no libFLAC can be loaded.
    """
    return get_libflac().decode(payload, max_samples)


def encode_flac(samples: Any, level: int, bit_depth: int) -> bytes:
    """Encode ``int32`` samples as the reference does (FORMAT.md 10.4) and return the stream.

    ``level`` is the FLAC compression level (1-9 in G3), ``bit_depth`` 24 or 32.
    Samples must already fit in ``bit_depth`` bits.
    """
    return get_libflac().encode(samples, level, bit_depth)
