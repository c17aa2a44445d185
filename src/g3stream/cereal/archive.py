"""cereal "portable binary" archive primitives (FORMAT.md sections 7 and 8).

An archive starts with one endianness byte (1 little, 0 big) and then holds
scalars in that byte order.  Each archive keeps three tables of its own:
class versions already announced, class-name ids, and pointer ids.

Invariants:
* A reader never allocates more than the bytes it was given: every count is
  checked against the bytes that remain before anything is built from it.
  Anything that costs more (a copy, a decompressed payload) is charged to
  the reader's ``DecodeBudget`` first (see ``budget``).
* Frame objects nest at most ``budget.max_depth`` pointers deep (nested
  archives included): deeper data raise ``NestingTooDeepError`` long before
  Python's recursion limit.
* Arrays are returned as numpy views of the archive's buffer (read-only when
  the buffer is), so decoding large samples costs no copy.
* A writer produces little-endian archives as a list of buffers; large arrays
  are appended as memoryviews, never copied.
"""

from __future__ import annotations

import builtins
import struct
from collections.abc import Callable
from typing import Any, ClassVar, Protocol

import numpy as np

from .._types import Buffer
from ..errors import (
    InvalidEndianError,
    InvalidLengthError,
    NestingTooDeepError,
    TruncatedFrameError,
    UnknownClassError,
    UnknownTypeCodeError,
    UnsupportedVersionError,
)
from .budget import DecodeBudget
from .classes import lookup_class


class Serializable(Protocol):
    """The frame-object protocol that archives call (see ``frameobject.G3FrameObject``).

    ``_g3_read`` is called once the versions of ``_g3_chain`` were read and
    gets the most-derived class's version; ``_g3_write`` is called once the
    versions were written.  Each reads or writes the object's fields.
    """

    _g3_name: ClassVar[str]
    _g3_chain: ClassVar[tuple[tuple[str, int], ...]]
    _g3_write_versions: ClassVar[tuple[int, ...]]

    @classmethod
    def _g3_read(cls, r: ArchiveReader, version: int) -> Any: ...

    def _g3_write(self, w: ArchiveWriter) -> None: ...


_LE = {c: struct.Struct("<" + c) for c in "bBhHiIqQfd"}
_BE = {c: struct.Struct(">" + c) for c in "bBhHiIqQfd"}

#: Arrays at least this large are handed to the writer's output as views.
_INLINE_LIMIT = 4096

POINTER_DIRECT = 0x40000000
POINTER_NEW = 0x80000000


class ArchiveReader:
    """Reads one archive from ``buf`` starting at ``pos`` (its endianness byte).

    ``base_offset`` is added to positions in error messages so that they name
    absolute stream offsets.  ``budget`` is the account that copies and
    expansions are charged to (a fresh one with the default limits when not
    given); ``depth`` is the nesting depth of the object that holds this
    archive (for archives nested in others).
    """

    __slots__ = (
        "buf",
        "pos",
        "end",
        "little",
        "base_offset",
        "_versions",
        "_names",
        "_pointers",
        "_u32",
        "_i32",
        "_u64",
        "_i64",
        "_f64",
        "_fmt",
        "budget",
        "depth",
    )

    def __init__(
        self,
        buf: Buffer,
        pos: int = 0,
        end: int | None = None,
        base_offset: int = 0,
        budget: DecodeBudget | None = None,
        depth: int = 0,
    ):
        self.budget = budget if budget is not None else DecodeBudget()
        self.depth = depth
        self.buf = buf if isinstance(buf, memoryview) else memoryview(buf)
        self.end = len(self.buf) if end is None else end
        self.base_offset = base_offset
        if pos >= self.end:
            raise TruncatedFrameError("empty archive", base_offset + pos)
        flag = self.buf[pos]
        if flag == 1:
            self.little = True
            fmt = _LE
        elif flag == 0:
            self.little = False
            fmt = _BE
        else:
            raise InvalidEndianError(
                f"archive endianness flag is {flag}, expected 0 or 1", base_offset + pos
            )
        self.pos = pos + 1
        self._fmt = fmt
        self._u32 = fmt["I"].unpack_from
        self._i32 = fmt["i"].unpack_from
        self._u64 = fmt["Q"].unpack_from
        self._i64 = fmt["q"].unpack_from
        self._f64 = fmt["d"].unpack_from
        self._versions: dict[str, int] = {}
        self._names: dict[int, str] = {}
        self._pointers: dict[int, Any] = {}

    # -- errors -----------------------------------------------------------
    def offset(self) -> int:
        """Absolute offset of the read position."""
        return self.base_offset + self.pos

    def charge(self, nbytes: int, what: str = "decoded data", offset: int | None = None) -> None:
        """Charge ``nbytes`` about to be allocated to the budget (``offset`` defaults to here).

        Raises ``DecodedSizeError`` when the frame's decoded-size limit would be exceeded.
        """
        self.budget.charge(nbytes, self.base_offset + self.pos if offset is None else offset, what)

    def _need(self, n: int) -> int:
        p = self.pos
        if p + n > self.end:
            raise TruncatedFrameError(
                f"object data needs {n} more bytes, {self.end - p} left", self.base_offset + p
            )
        self.pos = p + n
        return p

    # -- scalars ----------------------------------------------------------
    def _scalar(self, code: str, size: int) -> Any:
        p = self._need(size)
        return self._fmt[code].unpack_from(self.buf, p)[0]

    def u8(self) -> int:
        """One unsigned byte."""
        p = self._need(1)
        return self.buf[p]

    def i8(self) -> int:
        """One signed byte."""
        return self._scalar("b", 1)

    def bool(self) -> builtins.bool:
        """One byte, non-zero meaning true."""
        p = self._need(1)
        return self.buf[p] != 0

    def u16(self) -> int:
        """Unsigned 16-bit integer."""
        return self._scalar("H", 2)

    def i16(self) -> int:
        """Signed 16-bit integer."""
        return self._scalar("h", 2)

    def u32(self) -> int:
        """Unsigned 32-bit integer."""
        p = self._need(4)
        return self._u32(self.buf, p)[0]

    def i32(self) -> int:
        """Signed 32-bit integer."""
        p = self._need(4)
        return self._i32(self.buf, p)[0]

    def u64(self) -> int:
        """Unsigned 64-bit integer."""
        p = self._need(8)
        return self._u64(self.buf, p)[0]

    def i64(self) -> int:
        """Signed 64-bit integer."""
        p = self._need(8)
        return self._i64(self.buf, p)[0]

    def f32(self) -> float:
        """IEEE binary32."""
        return self._scalar("f", 4)

    def f64(self) -> float:
        """IEEE binary64."""
        p = self._need(8)
        return self._f64(self.buf, p)[0]

    def size(self, item_size: int = 1) -> int:
        """A cereal size tag, checked against the bytes that remain.

        ``item_size`` is the minimum number of bytes each counted element
        occupies, so a hostile count is rejected before any allocation.
        """
        p = self._need(8)
        n = self._u64(self.buf, p)[0]
        if n * item_size > self.end - self.pos:
            raise InvalidLengthError(
                f"count {n} needs at least {n * item_size} bytes, only {self.end - self.pos} left",
                self.base_offset + p,
            )
        return n

    def count32(self, item_size: int = 1) -> int:
        """A u32 element count (used by some map classes), checked like ``size``."""
        p = self._need(4)
        n = self._u32(self.buf, p)[0]
        if n * item_size > self.end - self.pos:
            raise InvalidLengthError(
                f"count {n} needs at least {n * item_size} bytes, only {self.end - self.pos} left",
                self.base_offset + p,
            )
        return n

    def raw(self, n: int) -> memoryview:
        """``n`` raw bytes as a view (never byte-swapped)."""
        p = self._need(n)
        return self.buf[p : p + n]

    def string_bytes(self) -> bytes:
        """A cereal string, as raw bytes."""
        n = self.size()
        p = self.pos
        self.pos = p + n
        return bytes(self.buf[p : p + n])

    def string(self) -> str:
        """A cereal string, decoded as UTF-8 (undecodable bytes kept as surrogates)."""
        n = self.size()
        p = self.pos
        self.pos = p + n
        return str(self.buf[p : p + n], "utf-8", "surrogateescape")

    def array(self, dtype: str, n: int | None = None) -> np.ndarray:
        """``n`` elements of ``dtype`` (a numpy code such as ``'f8'``), or a size tag then elements.

        Little-endian data come back as a zero-copy view; big-endian data are
        converted to native order.
        """
        dt = np.dtype(dtype)
        if n is None:
            n = self.size(dt.itemsize)
        nbytes = n * dt.itemsize
        p = self._need(nbytes)
        if self.little or dt.itemsize == 1:
            return np.frombuffer(self.buf, dtype=dt.newbyteorder("<"), count=n, offset=p)
        self.budget.charge(nbytes, self.base_offset + p, "a byte-swapped array")
        arr = np.frombuffer(self.buf, dtype=dt.newbyteorder(">"), count=n, offset=p)
        return arr.astype(dt.newbyteorder("="))

    # -- versions and pointers -----------------------------------------
    def version(self, name: str, max_version: int) -> int:
        """The class version of ``name``: read on its first occurrence, remembered after."""
        v = self._versions.get(name)
        if v is None:
            p = self.pos
            v = self.u32()
            if v > max_version:
                raise UnsupportedVersionError(
                    f"{name} version {v} is newer than the supported {max_version}",
                    self.base_offset + p,
                )
            self._versions[name] = v
        return v

    def begin(self, chain: tuple[tuple[str, int], ...]) -> int:
        """Read the versions of a class chain (most-derived first); return the first."""
        first = -1
        for name, max_version in chain:
            v = self.version(name, max_version)
            if first < 0:
                first = v
        return first

    def pointer(self, declared: Any = None) -> Any:
        """Read a polymorphic pointer to a frame object (``None`` for a null pointer)."""
        p = self.pos
        ident = self.u32()
        cls: Any
        if ident == POINTER_DIRECT:
            # the declared type; G3FrameObject unless the caller says otherwise
            cls = declared if declared is not None else lookup_class("G3FrameObject")
        elif ident == 0:
            return None
        else:
            if ident & POINTER_NEW:
                name = self.string()
                self._names[ident & 0x7FFFFFFF] = name
            else:
                name = self._names.get(ident)  # type: ignore[assignment]
                if name is None:
                    raise UnknownTypeCodeError(
                        f"class-name id {ident} was never defined", self.base_offset + p
                    )
            cls = lookup_class(name)
            if cls is None:
                raise UnknownClassError(
                    f"unknown frame-object class {name!r}", self.base_offset + p
                )
        p = self.pos
        pid = self.u32()
        if pid & POINTER_NEW:
            depth = self.depth + 1
            if depth > self.budget.max_depth:
                raise NestingTooDeepError(
                    f"frame objects nested more than {self.budget.max_depth} deep",
                    self.base_offset + p,
                )
            version = self.begin(cls._g3_chain)
            self.depth = depth
            obj = cls._g3_read(self, version)
            self.depth = depth - 1
            self._pointers[pid & 0x7FFFFFFF] = obj
            return obj
        try:
            return self._pointers[pid]
        except KeyError:
            raise UnknownTypeCodeError(
                f"pointer id {pid} refers to no earlier object", self.base_offset + p
            ) from None


class ArchiveWriter:
    """Builds one archive as a list of buffers: little-endian unless ``little`` is false.

    The reference only writes little-endian archives; big-endian output exists
    to reproduce foreign-order blobs byte for byte.
    """

    __slots__ = ("_parts", "_cur", "_versions", "_names", "_pointers", "_keep", "little", "_fmt")

    def __init__(self, little: builtins.bool = True) -> None:
        self.little = little
        self._fmt = _LE if little else _BE
        self._cur = bytearray(b"\x01" if little else b"\x00")
        self._parts: list[Buffer] = [self._cur]
        self._versions: set[str] = set()
        self._names: dict[str, int] = {}
        self._pointers: dict[int, int] = {}
        self._keep: list[object] = []  # objects whose id() is in _pointers

    def buffers(self) -> list[Buffer]:
        """The archive so far, as buffers to be written in order."""
        return [p for p in self._parts if len(p)]

    def getvalue(self) -> bytes:
        """The archive so far, as one bytes object."""
        return b"".join(self._parts)

    def nbytes(self) -> int:
        """Total size of the archive so far."""
        return sum(len(p) if not isinstance(p, memoryview) else p.nbytes for p in self._parts)

    # -- scalars ----------------------------------------------------------
    def u8(self, v: int) -> None:
        """One unsigned byte."""
        self._cur.append(v)

    def i8(self, v: int) -> None:
        """One signed byte."""
        self._cur += self._fmt["b"].pack(v)

    def bool(self, v: builtins.bool) -> None:
        """One byte, 0 or 1."""
        self._cur.append(1 if v else 0)

    def u16(self, v: int) -> None:
        """Unsigned 16-bit integer."""
        self._cur += self._fmt["H"].pack(v)

    def i16(self, v: int) -> None:
        """Signed 16-bit integer."""
        self._cur += self._fmt["h"].pack(v)

    def u32(self, v: int) -> None:
        """Unsigned 32-bit integer."""
        self._cur += self._fmt["I"].pack(v)

    def i32(self, v: int) -> None:
        """Signed 32-bit integer."""
        self._cur += self._fmt["i"].pack(v)

    def u64(self, v: int) -> None:
        """Unsigned 64-bit integer."""
        self._cur += self._fmt["Q"].pack(v)

    def i64(self, v: int) -> None:
        """Signed 64-bit integer."""
        self._cur += self._fmt["q"].pack(v)

    def f32(self, v: float) -> None:
        """IEEE binary32."""
        self._cur += self._fmt["f"].pack(v)

    def f64(self, v: float) -> None:
        """IEEE binary64."""
        self._cur += self._fmt["d"].pack(v)

    def size(self, n: int) -> None:
        """A cereal size tag."""
        self._cur += self._fmt["Q"].pack(n)

    def raw(self, data: Buffer) -> None:
        """Raw bytes, as they are."""
        if len(data) >= _INLINE_LIMIT:
            self._parts.append(data)
            self._cur = bytearray()
            self._parts.append(self._cur)
        else:
            self._cur += data

    def string(self, s: str | bytes) -> None:
        """A cereal string (size tag + UTF-8 bytes)."""
        b = s.encode("utf-8", "surrogateescape") if isinstance(s, str) else s
        self._cur += self._fmt["Q"].pack(len(b))
        self._cur += b

    def array(self, arr: np.ndarray, dtype: str, with_size: builtins.bool = True) -> None:
        """An array of ``dtype`` elements (little-endian), preceded by a size tag unless told not to."""
        dt = np.dtype(dtype).newbyteorder("<" if self.little else ">")
        a = np.ascontiguousarray(arr, dtype=dt)
        if with_size:
            self._cur += self._fmt["Q"].pack(a.shape[0] if a.ndim else a.size)
        self._contiguous(a)

    def head_and_array(self, head: Buffer, arr: np.ndarray) -> None:
        """``head``'s bytes, then the bytes of ``arr`` as they are (a view if large).

        For callers that have packed an element's fixed fields themselves and
        checked that ``arr`` is 1-D, C-contiguous and already in the
        archive's byte order; the result is that of :meth:`raw` and
        :meth:`array` called in turn.
        """
        self._cur += head
        self._contiguous(arr)

    def pack_with(self, pack: Callable[[dict[int, int], list[object], int], list[Buffer]]) -> None:
        """Append the buffers ``pack(pointers, keep, inline_limit)`` returns, in order.

        For a compiled packer of several objects at once: it claims each new
        object's pointer id in ``pointers`` (``id(obj)`` to id, as
        :meth:`claim_direct`), appends to ``keep`` every object the buffers
        view, and copies arrays under ``inline_limit`` bytes.
        """
        found = pack(self._pointers, self._keep, _INLINE_LIMIT)
        if found:
            self._parts.extend(found)
            self._cur = bytearray()
            self._parts.append(self._cur)

    def _contiguous(self, arr: np.ndarray) -> None:
        """The bytes of the C-contiguous ``arr``: copied if small, else kept as a view."""
        data = memoryview(arr).cast("B")  # type: ignore[arg-type]
        if len(data) >= _INLINE_LIMIT:
            self._keep.append(arr)
            self._parts.append(data)
            self._cur = bytearray()
            self._parts.append(self._cur)
        else:
            self._cur += data

    # -- versions and pointers -----------------------------------------
    def announced(self, chain: tuple[tuple[str, int], ...]) -> builtins.bool:
        """Whether every class of ``chain`` already had its version written."""
        return all(name in self._versions for name, _ in chain)

    def claim_direct(self, obj: object) -> bytes | None:
        """The bytes that open a direct pointer to ``obj`` written for the first time.

        ``None`` if ``obj`` was written before: the caller then writes the
        pointer with :meth:`pointer`.  Otherwise ``obj`` now has its id, and
        the caller writes these bytes followed by the object's data (its
        classes' versions already announced, see :meth:`announced`).
        """
        pid = self._claim(obj)
        if pid is None:
            return None
        return self._fmt["I"].pack(POINTER_DIRECT) + self._fmt["I"].pack(pid | POINTER_NEW)

    def _claim(self, obj: object) -> int | None:
        """The new pointer id of ``obj``, kept alive with the archive; ``None`` if it has one."""
        key = id(obj)
        if key in self._pointers:
            return None
        pid = len(self._pointers) + 1
        self._pointers[key] = pid
        self._keep.append(obj)
        return pid

    def version(self, name: str, version: int) -> None:
        """Announce the class version of ``name`` if this archive has not yet."""
        if name not in self._versions:
            self._versions.add(name)
            self._cur += self._fmt["I"].pack(version)

    def begin(self, chain: tuple[tuple[str, int], ...], versions: tuple[int, ...]) -> None:
        """Announce the versions of a class chain (most-derived first)."""
        for (name, _), v in zip(chain, versions, strict=False):
            if name not in self._versions:
                self._versions.add(name)
                self._cur += self._fmt["I"].pack(v)

    def pointer(self, obj: Serializable | None, direct: builtins.bool = False) -> None:
        """Write a polymorphic pointer to ``obj`` (its data only the first time)."""
        if obj is None:
            self._cur += b"\x00\x00\x00\x00"
            return
        if direct or obj._g3_name == "G3FrameObject":
            # the direct form: the object's class is the pointer's declared class
            self._cur += self._fmt["I"].pack(POINTER_DIRECT)
        else:
            name = obj._g3_name
            nid = self._names.get(name)
            if nid is None:
                nid = len(self._names) + 1
                self._names[name] = nid
                self._cur += self._fmt["I"].pack(nid | POINTER_NEW)
                self.string(name)
            else:
                self._cur += self._fmt["I"].pack(nid)
        pid = self._claim(obj)
        if pid is None:  # written before: only its id
            self._cur += self._fmt["I"].pack(self._pointers[id(obj)])
            return
        self._cur += self._fmt["I"].pack(pid | POINTER_NEW)
        self.begin(obj._g3_chain, obj._g3_write_versions)
        obj._g3_write(self)
