"""Errors raised by the pipeline machinery.

Both derive from ``RuntimeError``, the type spt3g raises for the same
conditions, so code written against spt3g keeps catching them.
"""

from __future__ import annotations

__all__ = ["G3PipelineError", "G3ModuleArgumentError", "G3FatalError"]


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
