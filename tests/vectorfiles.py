"""The reference-written test vectors, as tests across the suite read them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from g3stream.codec.decoder import FrameDecoder

#: Directory of the vectors (a copy of the shared corpus, with their JSON).
VECTORS = Path(__file__).resolve().parent / "vectors"


def vector_entries(name: str, qualified: bool = False) -> list[tuple[str, bytes, dict[str, Any]]]:
    """``(key, blob, expected ENTRY)`` for every entry of the vector ``name``.

    With ``qualified`` the key reads ``name/key``, for test ids across vectors.
    """
    meta = json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))
    dec = FrameDecoder()
    dec.feed((VECTORS / meta["file"]).read_bytes())
    out = []
    for fmeta, frame in zip(meta["frames"], dec.frames(), strict=True):
        for entry in fmeta["entries"]:
            blob = frame.blob(entry["key"])
            assert not isinstance(blob, list)
            key = f"{name}/{entry['key']}" if qualified else entry["key"]
            out.append((key, bytes(blob), entry))
    return out
