"""Feeding a FrameDecoder through its own buffers, as a socket or file reader does."""

from __future__ import annotations

from g3stream import G3Frame
from g3stream.codec.decoder import FrameDecoder


def receive_in_views(dec: FrameDecoder, data: bytes, size: int = 65536) -> list[G3Frame]:
    """The frames ``dec`` gives for ``data`` written into ``get_buffer(size)`` views.

    Frames are asked for before each view, as a reader's loop does (that is
    how the decoder learns a frame's size and gives it a buffer of its own).
    """
    frames: list[G3Frame] = []
    pos = 0
    while pos < len(data):
        frames += dec.frames()
        view = dec.get_buffer(size)
        k = min(len(view), len(data) - pos)
        view[:k] = data[pos : pos + k]
        dec.buffer_updated(k)
        pos += k
    return frames + dec.frames()
