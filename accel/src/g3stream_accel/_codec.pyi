from collections.abc import Callable, Sequence
from typing import Any

Buffer = bytes | bytearray | memoryview

API: int

def decode_run(
    buf: Buffer,
    pos: int,
    end: int,
    offset: int,
    max_frame_size: int,
    verify: bool,
    limit: int,
    small: int,
    make_frame: Callable[[int, bytes, list[slice], int, Any], Any],
    extra: Any,
    out: list[Any],
    /,
) -> tuple[int, int]: ...
def scan(
    buf: Buffer, pos: int, end: int, max_frame_size: int, /
) -> tuple[int, int, list[slice], int, bool] | None: ...
def crc(data: Buffer, crc: int = 0, /) -> int: ...
def crc_of_parts(parts: Sequence[Buffer], /) -> int: ...
def crc_kind() -> str: ...
def encode_small(
    type_code: int,
    order: tuple[str, ...],
    heads: dict[str, tuple[bytes, bytes]],
    blobs: dict[str, tuple[Any, int]],
    objs: dict[str, Any],
    max_size: int,
    /,
) -> bytes | None: ...
def pack_timestreams(
    items: list[tuple[str, Any]],
    start: int,
    cls: type,
    pointers: dict[int, int],
    keep: list[object],
    inline_limit: int,
    /,
) -> tuple[int, list[Buffer]]: ...
