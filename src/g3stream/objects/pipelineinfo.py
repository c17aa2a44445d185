"""Pipeline provenance objects: G3PipelineInfo, G3ModuleConfig, G3ModuleArg (FORMAT.md 12).

A G3Pipeline records one G3ModuleConfig per top-level ``Add`` call (the
callable's name, the instance name and the keyword arguments) and stores them,
with software and host information, in a G3PipelineInfo in a PipelineInfo
frame.  Version 2 of G3PipelineInfo and G3ModuleConfig is written; versions 1
and 2 are read.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..cereal import G3FrameObject, register
from ..errors import ArgumentTooLongError
from ..frametype import G3FrameType
from .jsonvalue import object_from_json, object_to_json
from .vectors import same_value

if TYPE_CHECKING:
    from ..cereal import ArchiveReader, ArchiveWriter

__all__ = ["G3ModuleArg", "G3ModuleConfig", "G3PipelineInfo"]

#: The repr of a frame type, with or without a package path in front.
_FRAME_TYPE_REPR = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?G3FrameType\.(\w+)$")

#: The longest argument text that ``G3ModuleArg.value`` parses back (64 KiB).
#: Parsing costs far more than the text (a list of numbers: about 400 bytes of
#: memory and 2.5 us per character), so a longer text raises
#: ``ArgumentTooLongError`` instead; the text itself stays in ``repr``.
MAX_ARGUMENT_REPR = 1 << 16

#: First line of a pipeline written out as a script (``repr`` of G3PipelineInfo).
PIPELINE_REPR_HEADER = "pipe = core.G3Pipeline()"


def _byte_order(key: str) -> bytes:
    """Sort key giving std::map's order of string keys (raw UTF-8 bytes)."""
    return key.encode("utf-8", "surrogateescape")


def _value_json(obj: Any) -> Any:
    """The vectors' VALUE notation for a nested frame object (or ``None``)."""
    return object_to_json(obj)


def _value_from_json(value: Any) -> Any:
    """The frame object denoted by a VALUE of the vectors' JSON notation (shared pointers kept)."""
    if value is None:
        return None
    return object_from_json(value)


@register(version=1)
class G3ModuleArg(G3FrameObject):
    """One recorded keyword argument of a pipeline module.

    ``repr`` is the Python ``repr()`` of the argument; ``object`` is the
    argument itself when it is a frame object, else ``None``.
    """

    __slots__ = ("repr", "object")

    def __init__(self, repr: str = "", object: G3FrameObject | None = None) -> None:  # noqa: A002
        self.repr = repr
        self.object = object

    @property
    def value(self) -> Any:
        """The argument: the frame object if there is one, else the repr read back.

        Python literals and frame types (``G3FrameType.Scan``, also as
        ``spt3g.core.G3FrameType.Scan``) are rebuilt; any other repr is
        returned as the repr string.  Nothing is ever evaluated as code.
        A repr longer than ``MAX_ARGUMENT_REPR`` characters is not parsed:
        it raises ``ArgumentTooLongError`` (read ``repr`` for the text).
        """
        if self.object is not None:
            return self.object
        if len(self.repr) > MAX_ARGUMENT_REPR:
            raise ArgumentTooLongError(
                f"pipeline argument of {len(self.repr)} characters is longer than the "
                f"{MAX_ARGUMENT_REPR} that are parsed back; its text is in .repr"
            )
        try:
            return ast.literal_eval(self.repr)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            pass
        match = _FRAME_TYPE_REPR.match(self.repr)
        if match:
            found = G3FrameType.names.get(match.group(1))
            if found is not None:
                return found
        return self.repr

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, G3ModuleArg):
            return NotImplemented
        return self.repr == other.repr and _same_object(self.object, other.object)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if not self.repr and self.object is not None:
            return repr(self.object)
        return self.repr

    def Description(self) -> str:
        """``G3ModuleArg(<repr>)``."""
        inner = self.repr if self.repr else (self.object.Summary() if self.object else "")
        return f"G3ModuleArg({inner})"

    Summary = Description

    def __str__(self) -> str:
        return self.Description()

    # -- codec -------------------------------------------------------------
    @classmethod
    def _read_fields(cls, r: ArchiveReader) -> G3ModuleArg:
        arg = cls.__new__(cls)
        arg.repr = r.string()
        arg.object = r.pointer()
        return arg

    @classmethod
    def _read_by_value(cls, r: ArchiveReader) -> G3ModuleArg:
        r.begin(cls._g3_chain)
        return cls._read_fields(r)

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> G3ModuleArg:
        return cls._read_fields(r)

    def _g3_write(self, w: ArchiveWriter) -> None:
        w.string(self.repr)
        w.pointer(self.object)

    def _write_by_value(self, w: ArchiveWriter) -> None:
        w.begin(self._g3_chain, self._g3_write_versions)
        self._g3_write(w)

    def _json_payload(self) -> Any:
        return {"repr": self.repr, "object": _value_json(self.object)}

    @classmethod
    def _from_json_payload(cls, payload: Any) -> G3ModuleArg:
        return cls(payload["repr"], _value_from_json(payload["object"]))


def _same_object(a: Any, b: Any) -> bool:
    """Whether two recorded argument objects are equal as wholes (never element-wise)."""
    if a is b:
        return True
    if a is None or b is None:
        return False
    try:
        return same_value(a, b)
    except (TypeError, ValueError):  # values whose truth is undefined are not equal
        return False


@register(version=2)
class G3ModuleConfig(G3FrameObject):
    """The recorded configuration of one pipeline module or segment.

    ``modname`` is ``"<python module>.<callable name>"``, ``instancename``
    the name given to ``Add`` (by default the modname), and the keyword
    arguments are accessed like a dictionary: ``config["n"]`` gives the
    frame object, or the argument rebuilt from its repr when it is a Python
    literal (else the repr string).
    """

    __slots__ = ("modname", "instancename", "config")

    def __init__(self, modname: str = "", instancename: str = "") -> None:
        self.modname = modname
        self.instancename = instancename
        self.config: dict[str, G3ModuleArg] = {}

    # -- mapping of arguments ----------------------------------------------
    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"argument names are strings, not {type(key).__name__}")
        if isinstance(value, G3ModuleArg):
            self.config[key] = value
        elif isinstance(value, G3FrameObject):
            self.config[key] = G3ModuleArg(repr(value), value)
        else:
            self.config[key] = G3ModuleArg(repr(value))

    def __getitem__(self, key: str) -> Any:
        return self.config[key].value

    def __delitem__(self, key: str) -> None:
        del self.config[key]

    def __contains__(self, key: object) -> bool:
        return key in self.config

    def __len__(self) -> int:
        return len(self.config)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def keys(self) -> list[str]:
        """Argument names, in stored (byte-sorted) order."""
        return sorted(self.config, key=_byte_order)

    def values(self) -> list[Any]:
        """Argument values (see ``__getitem__``), in key order."""
        return [self[k] for k in self.keys()]

    def items(self) -> list[tuple[str, Any]]:
        """``(name, value)`` pairs, in key order."""
        return [(k, self[k]) for k in self.keys()]

    def args(self) -> list[tuple[str, G3ModuleArg]]:
        """``(name, G3ModuleArg)`` pairs, in key order."""
        return [(k, self.config[k]) for k in self.keys()]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, G3ModuleConfig):
            return NotImplemented
        return (
            self.modname == other.modname
            and self.instancename == other.instancename
            and self.config == other.config
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        parts = [self.modname]
        parts += [f"{k}={arg!r}" for k, arg in self.args()]
        if self.instancename and self.instancename != self.modname:
            parts.append(f"name={self.instancename}")
        return "pipe.Add(" + ", ".join(parts) + ")"

    def Description(self) -> str:
        """``G3ModuleConfig(<modname>, <n> arguments)``."""
        return f"G3ModuleConfig({self.modname}, {len(self.config)} arguments)"

    Summary = Description

    def __str__(self) -> str:
        return self.Description()

    # -- codec -------------------------------------------------------------
    @classmethod
    def _read_fields(cls, r: ArchiveReader, version: int) -> G3ModuleConfig:
        mc = cls(r.string(), r.string())
        # each entry takes at least a key size, a flag or repr size and a pointer
        n = r.size(13)
        if version > 1:
            for _ in range(n):
                key = r.string()
                arg = G3ModuleArg._read_by_value(r)
                mc.config.setdefault(key, arg)
            return mc
        for _ in range(n):  # version 1: a flag says whether an object or a repr follows
            key = r.string()
            if r.bool():
                mc.config[key] = G3ModuleArg("", r.pointer())
            else:
                mc.config[key] = G3ModuleArg(r.string())
        return mc

    @classmethod
    def _read_by_value(cls, r: ArchiveReader) -> G3ModuleConfig:
        version = r.begin(cls._g3_chain)
        return cls._read_fields(r, version)

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> G3ModuleConfig:
        return cls._read_fields(r, version)

    def _g3_write(self, w: ArchiveWriter) -> None:
        w.string(self.modname)
        w.string(self.instancename)
        items = self.args()
        w.size(len(items))
        for key, arg in items:
            w.string(key)
            arg._write_by_value(w)

    def _write_by_value(self, w: ArchiveWriter) -> None:
        w.begin(self._g3_chain, self._g3_write_versions)
        self._g3_write(w)

    def _json_payload(self) -> Any:
        return {
            "modname": self.modname,
            "instancename": self.instancename,
            "config": [[k, arg._json_payload()] for k, arg in self.args()],
        }

    @classmethod
    def _from_json_payload(cls, payload: Any) -> G3ModuleConfig:
        mc = cls(payload["modname"], payload["instancename"])
        for key, arg in payload["config"]:
            mc.config[key] = G3ModuleArg._from_json_payload(arg)
        return mc


_VCS_FIELDS = (
    "vcs_url",
    "vcs_branch",
    "vcs_revision",
    "vcs_localdiffs",
    "vcs_versionname",
    "vcs_githash",
    "hostname",
    "user",
)


@register(version=2)
class G3PipelineInfo(G3FrameObject):
    """The provenance of a pipeline run: software version, host, user and modules.

    ``G3PipelineInfo()`` is empty, ``G3PipelineInfo(other)`` copies, and any
    field may be given as a keyword.  ``modules`` is the list of
    G3ModuleConfig, one per top-level ``Add``; ``repr()`` gives the pipeline
    as a script.
    """

    __slots__ = (*_VCS_FIELDS, "vcs_fullversion", "modules")

    def __init__(self, other: G3PipelineInfo | None = None, **fields: Any) -> None:
        self.vcs_url = ""
        self.vcs_branch = ""
        self.vcs_revision = ""
        self.vcs_localdiffs = False
        self.vcs_versionname = ""
        self.vcs_githash = ""
        self.hostname = ""
        self.user = ""
        self.vcs_fullversion = ""
        self.modules: list[G3ModuleConfig] = []
        if other is not None:  # copy
            for field in (*_VCS_FIELDS, "vcs_fullversion"):
                setattr(self, field, getattr(other, field))
            self.modules = list(other.modules)
        for field, value in fields.items():
            if field not in self.__slots__:
                raise TypeError(f"G3PipelineInfo has no field {field!r}")
            setattr(self, field, value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, G3PipelineInfo):
            return NotImplemented
        return all(
            getattr(self, f) == getattr(other, f)
            for f in (*_VCS_FIELDS, "vcs_fullversion", "modules")
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        lines = [PIPELINE_REPR_HEADER]
        lines += [repr(m) for m in self.modules]
        return "\n".join(lines)

    def Summary(self) -> str:
        """``<branch> branch, [no ]local diffs``, as spt3g 1.0.2 shows it in frame listings."""
        diffs = "" if self.vcs_localdiffs else "no "
        return f"{self.vcs_branch} branch, {diffs}local diffs"

    def Description(self) -> str:
        """Software version, user, host and number of modules, one item per line (as spt3g 1.0.2)."""
        diffs = "" if self.vcs_localdiffs else "no "
        lines = [
            f"Branch: {self.vcs_branch}, {diffs}local diffs",
            f"URL: {self.vcs_url}",
            f"Revision: {self.vcs_revision}",
        ]
        if self.vcs_versionname:
            lines.append(f"Version: {self.vcs_versionname}")
        if self.vcs_fullversion:
            lines.append(f"Full version: {self.vcs_fullversion}")
        lines.append(f"Run by: {self.user} on {self.hostname}")
        lines.append(f"{len(self.modules)} modules")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.Summary()

    # -- codec -------------------------------------------------------------
    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> G3PipelineInfo:
        pi = cls()
        pi.vcs_url = r.string()
        pi.vcs_branch = r.string()
        pi.vcs_revision = r.string()
        pi.vcs_localdiffs = r.bool()
        pi.vcs_versionname = r.string()
        pi.vcs_githash = r.string()
        pi.hostname = r.string()
        pi.user = r.string()
        n = r.size(24)  # each module holds at least three sizes
        pi.modules = [G3ModuleConfig._read_by_value(r) for _ in range(n)]
        if version > 1:
            pi.vcs_fullversion = r.string()
        return pi

    def _g3_write(self, w: ArchiveWriter) -> None:
        w.string(self.vcs_url)
        w.string(self.vcs_branch)
        w.string(self.vcs_revision)
        w.bool(self.vcs_localdiffs)
        w.string(self.vcs_versionname)
        w.string(self.vcs_githash)
        w.string(self.hostname)
        w.string(self.user)
        w.size(len(self.modules))
        for mc in self.modules:
            mc._write_by_value(w)
        w.string(self.vcs_fullversion)

    def _json_payload(self) -> Any:
        payload: dict[str, Any] = {f: getattr(self, f) for f in _VCS_FIELDS}
        payload["modules"] = [m._json_payload() for m in self.modules]
        payload["vcs_fullversion"] = self.vcs_fullversion
        return payload

    @classmethod
    def _from_json_payload(cls, payload: Any) -> G3PipelineInfo:
        pi = cls()
        for field in (*_VCS_FIELDS, "vcs_fullversion"):
            setattr(pi, field, payload[field])
        pi.modules = [G3ModuleConfig._from_json_payload(m) for m in payload["modules"]]
        return pi
