"""The PipelineInfo frame a pipeline adds to its stream, placed as spt3g places it.

Rules (each checked against spt3g 1.0.2):

* Observation, Wiring and Calibration frames that arrive before any other
  frame are held back and emitted, in order, just before the PipelineInfo
  frame.
* The PipelineInfo frame goes in front of the first other frame (including
  EndProcessing, so a pipeline that produces no data still records it).
* If that first other frame is itself a PipelineInfo frame, the new
  G3PipelineInfo is added to it (under the time key) instead of making a new
  frame, and later PipelineInfo frames whose key list equals that frame's
  original key list are dropped (they repeat it, e.g. one per input file).
  Key lists are compared in spt3g's hash-table order (the frame's entry
  order), so the same keys inserted in another order may not count.
* Each entry is keyed by the time of emission in G3Time text form.
"""

from __future__ import annotations

import getpass
import logging
import socket

from .._version import __version__
from ..frame import G3Frame, G3FrameType
from ..objects.pipelineinfo import G3PipelineInfo
from ..objects.time import G3Time
from .module import G3Module

__all__ = ["new_pipeline_info", "PipelineInfoInserter", "HELD_BACK_TYPES"]

log = logging.getLogger(__name__)

#: Frame types that may be held back to precede the PipelineInfo frame.
HELD_BACK_TYPES = frozenset({G3FrameType.Observation, G3FrameType.Wiring, G3FrameType.Calibration})


def _software_version() -> str:
    return __version__


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no password entry
        return ""


def new_pipeline_info() -> G3PipelineInfo:
    """A G3PipelineInfo describing this software, host and user, with no modules yet."""
    info = G3PipelineInfo()
    info.vcs_url = "UNKNOWN VCS"
    info.vcs_branch = "UNKNOWN VCS"
    info.vcs_revision = "UNKNOWN"
    info.vcs_localdiffs = False
    info.vcs_versionname = "g3stream"
    info.vcs_fullversion = "g3stream " + _software_version()
    info.vcs_githash = "UNKNOWN"
    info.hostname = socket.gethostname()
    info.user = _user()
    return info


class PipelineInfoInserter(G3Module):
    """Module that puts ``info`` into the stream once (see the module documentation)."""

    def __init__(self, info: G3PipelineInfo | None = None) -> None:
        self.pipelineinfo = info if info is not None else new_pipeline_info()
        self.emitted = False
        self.held: list[G3Frame] = []
        self.original_keys: list[str] | None = None

    def Process(self, frame: G3Frame | None) -> list[G3Frame] | bool | G3Frame | None:
        """Hold, annotate, drop or pass ``frame`` according to the placement rules."""
        if frame is None:
            return None
        if self.emitted:
            if (
                frame.type == G3FrameType.PipelineInfo
                and self.original_keys is not None
                and list(frame.entry_order()) == self.original_keys
            ):
                log.debug("dropping a PipelineInfo frame that repeats the first one")
                return False
            return frame
        if frame.type in HELD_BACK_TYPES:
            self.held.append(frame)
            return []
        self.emitted = True
        out, self.held = self.held, []
        key = str(G3Time.Now())
        if frame.type == G3FrameType.PipelineInfo:
            self.original_keys = list(frame.entry_order())
            frame[key] = self.pipelineinfo
            out.append(frame)
        else:
            info_frame = G3Frame(G3FrameType.PipelineInfo)
            info_frame[key] = self.pipelineinfo
            out += [info_frame, frame]
        return out
