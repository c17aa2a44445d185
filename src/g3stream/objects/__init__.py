"""Frame-object classes, each registered under its spt3g class name.

One module per family: scalars, time, quaternions, vectors, maps, units,
timestreams (plain, maps, quaternion, so3g's super timestreams), timesample
maps and pipeline provenance.  Importing this package registers them all.
Each family module lists its public names in ``__all__``; this package and
``g3stream`` export exactly those, so a class added to a family (with its
name in that family's ``__all__``) is public without another edit.
"""

from __future__ import annotations

from ..cereal import G3FrameObject, OpaqueFrameObject
from . import (
    maps,
    pipelineinfo,
    quat,
    scalars,
    supertimestream,
    time,
    timesample,
    timestream,
    timestreammap,
    timestreamquat,
    units,
    vectors,
)
from .maps import *  # noqa: F403
from .pipelineinfo import *  # noqa: F403
from .quat import *  # noqa: F403
from .scalars import *  # noqa: F403
from .supertimestream import *  # noqa: F403
from .time import *  # noqa: F403
from .timesample import *  # noqa: F403
from .timestream import *  # noqa: F403
from .timestreammap import *  # noqa: F403
from .timestreamquat import *  # noqa: F403
from .units import *  # noqa: F403
from .vectors import *  # noqa: F403

__all__ = [
    "G3FrameObject",
    "OpaqueFrameObject",
    *scalars.__all__,
    *time.__all__,
    *quat.__all__,
    *vectors.__all__,
    *maps.__all__,
    *units.__all__,
    *timestream.__all__,
    *timestreammap.__all__,
    *timestreamquat.__all__,
    *timesample.__all__,
    *supertimestream.__all__,
    *pipelineinfo.__all__,
]
