"""Frame-object classes, each registered under its spt3g class name.

One module per family: scalars, time, quaternions, vectors, maps, units,
timestreams (plain, maps, quaternion, so3g's super timestreams), timesample
maps and pipeline provenance.  Importing this package registers them all.
"""

from __future__ import annotations

from ..cereal import G3FrameObject, OpaqueFrameObject
from ..errors import G3TimesampleError, G3TimestreamError
from .maps import (
    G3MapDouble,
    G3MapFrameObject,
    G3MapInt,
    G3MapMapDouble,
    G3MapQuat,
    G3MapString,
    G3MapTime,
    G3MapVectorBool,
    G3MapVectorComplexDouble,
    G3MapVectorDouble,
    G3MapVectorInt,
    G3MapVectorQuat,
    G3MapVectorString,
    G3MapVectorTime,
    G3MapVectorVectorString,
)
from .pipelineinfo import G3ModuleArg, G3ModuleConfig, G3PipelineInfo
from .quat import G3Quat, Quat
from .scalars import G3Bool, G3Double, G3Int, G3String
from .supertimestream import G3SuperTimestream
from .time import G3Time
from .timesample import G3TimesampleMap
from .timestream import G3Timestream, G3TimestreamUnits
from .timestreammap import G3TimestreamMap, concatenate_timestreams
from .timestreamquat import G3TimestreamQuat
from .units import G3Units
from .vectors import (
    G3VectorBool,
    G3VectorComplexDouble,
    G3VectorDouble,
    G3VectorFrameObject,
    G3VectorInt,
    G3VectorQuat,
    G3VectorString,
    G3VectorTime,
    G3VectorUnsignedChar,
    G3VectorVectorString,
)

__all__ = [
    "G3FrameObject",
    "OpaqueFrameObject",
    "G3Bool",
    "G3Int",
    "G3Double",
    "G3String",
    "G3Time",
    "G3Quat",
    "Quat",
    "G3VectorDouble",
    "G3VectorInt",
    "G3VectorBool",
    "G3VectorComplexDouble",
    "G3VectorUnsignedChar",
    "G3VectorTime",
    "G3VectorQuat",
    "G3VectorString",
    "G3VectorVectorString",
    "G3VectorFrameObject",
    "G3MapDouble",
    "G3MapInt",
    "G3MapString",
    "G3MapVectorDouble",
    "G3MapVectorInt",
    "G3MapVectorBool",
    "G3MapVectorString",
    "G3MapVectorComplexDouble",
    "G3MapMapDouble",
    "G3MapTime",
    "G3MapVectorTime",
    "G3MapVectorVectorString",
    "G3MapQuat",
    "G3MapVectorQuat",
    "G3MapFrameObject",
    "G3Units",
    "G3Timestream",
    "G3TimestreamUnits",
    "G3TimestreamError",
    "G3TimestreamMap",
    "concatenate_timestreams",
    "G3TimestreamQuat",
    "G3TimesampleMap",
    "G3TimesampleError",
    "G3SuperTimestream",
    "G3ModuleArg",
    "G3ModuleConfig",
    "G3PipelineInfo",
]
