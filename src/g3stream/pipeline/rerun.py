"""Running a recorded pipeline again: ``G3PipelineInfo.Run``.

The provenance object lives with the frame objects, which know nothing of
pipelines; this module, on the pipeline's floor, gives it its ``Run``
method (as spt3g's Python layer adds it to the C++ class).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from ..objects.pipelineinfo import G3PipelineInfo
from .pipeline import G3Pipeline


def run_pipeline_info(info: G3PipelineInfo) -> None:
    """Build the pipeline that ``info`` records again and run it.

    Each modname is resolved by importing its module (``__main__`` for
    scripts); arguments are the stored frame objects or the reprs read as
    Python literals.  Raises ``LookupError`` for a module that cannot be
    found; no recorded text is ever executed as code.
    """
    pipe = G3Pipeline()
    for mc in info.modules:
        target = resolve_modname(mc.modname)
        kwargs = {k: arg.value for k, arg in mc.args()}
        name = mc.instancename if mc.instancename != mc.modname else None
        pipe.Add(target, name=name, **kwargs)
    pipe.Run()


def resolve_modname(modname: str) -> Any:
    """The callable a recorded modname (``package.module.name`` or ``module.Class.method``) names."""
    parts = modname.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        modpath = ".".join(parts[:cut])
        module = sys.modules.get(modpath)
        if module is None:
            try:
                module = importlib.import_module(modpath)
            except ImportError:
                continue
        target: Any = module
        try:
            for attr in parts[cut:]:
                target = getattr(target, attr)
        except AttributeError:
            continue
        return target
    raise LookupError(f"cannot find the pipeline module {modname!r}")


G3PipelineInfo.Run = run_pipeline_info  # type: ignore[attr-defined]

__all__ = ["run_pipeline_info", "resolve_modname"]
