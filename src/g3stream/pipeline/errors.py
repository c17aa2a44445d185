"""Errors raised by the pipeline machinery (defined in :mod:`g3stream.errors`).

They derive from ``RuntimeError``, the type spt3g raises for the same
conditions, so code written against spt3g keeps catching them.
"""

from __future__ import annotations

from ..errors import G3FatalError, G3ModuleArgumentError, G3PipelineError

__all__ = ["G3PipelineError", "G3ModuleArgumentError", "G3FatalError"]
