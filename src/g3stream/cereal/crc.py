"""The frame CRC: CRC-32C with initial register 0 and no final inversion.

A standard CRC-32C inverts the register on entry and exit; the G3 variant
does neither.  The compiled accelerator, when present, computes the G3
value directly; otherwise the hardware-accelerated ``crc32c`` package does
the work (chaining a standard routine from ``~0`` and inverting once at the
end gives the G3 value), imported only then.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import Executor

from .._accel import accel
from .._types import byte_length

#: A stretch at least this long is checksummed in two halves at once when a
#: helper thread is offered (below that, handing half over costs more than it saves).
SPLIT_CRC = 2 << 20

_MASK = 0xFFFFFFFF
#: The CRC-32C polynomial, bit-reversed: bit 31 holds the coefficient of x**0.
_POLY = 0x82F63B78

if accel is not None:
    _accel_crc = accel.crc

    def g3_crc(chunks: Iterable[bytes | bytearray | memoryview], crc: int = 0) -> int:
        """Return the G3 CRC of ``chunks`` fed in order, continuing from ``crc``."""
        for chunk in chunks:
            crc = _accel_crc(chunk, crc)
        return crc

    def g3_crc_of(data: bytes | bytearray | memoryview) -> int:
        """Return the G3 CRC of one buffer (the cheapest call for small frames)."""
        return _accel_crc(data)  # type: ignore[no-any-return]

else:
    from crc32c import crc32c as _crc32c

    def g3_crc(chunks: Iterable[bytes | bytearray | memoryview], crc: int = 0) -> int:
        """Return the G3 CRC of ``chunks`` fed in order, continuing from ``crc``."""
        value = crc ^ _MASK
        for chunk in chunks:
            value = _crc32c(chunk, value)
        return value ^ _MASK

    def g3_crc_of(data: bytes | bytearray | memoryview) -> int:
        """Return the G3 CRC of one buffer (the cheapest call for small frames)."""
        return _crc32c(data, _MASK) ^ _MASK


def _mul_mod(a: int, b: int) -> int:
    """The product of two polynomials modulo the CRC polynomial (bit-reversed forms)."""
    product = 0
    bit = 1 << 31  # x**0, then x**1, ...: b is multiplied by x at each step
    while a:
        if a & bit:
            product ^= b
            a ^= bit
        bit >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1
    return product


def _powers_of_x() -> list[int]:
    """x**(8 * 2**k) modulo the polynomial, for k = 0..63."""
    table = [1 << 23]  # x**8
    for _ in range(63):
        table.append(_mul_mod(table[-1], table[-1]))
    return table


_X8_POWERS = _powers_of_x()
_SHIFTS: dict[int, int] = {}


def _shift_operator(n: int) -> int:
    """x**(8n) modulo the polynomial: what appending n zero bytes multiplies a CRC by."""
    op = _SHIFTS.get(n)
    if op is None:
        op = 1 << 31  # x**0
        k = 0
        while n >> k:
            if (n >> k) & 1:
                op = _mul_mod(op, _X8_POWERS[k])
            k += 1
        if len(_SHIFTS) >= 256:  # frame layouts repeat: a few lengths cover a stream
            _SHIFTS.clear()
        _SHIFTS[n] = op
    return op


def g3_crc_combine(crc_a: int, crc_b: int, length_b: int) -> int:
    """The G3 CRC of ``a + b`` from that of ``a``, that of ``b`` alone, and ``len(b)``.

    Lets two parts of one buffer be checksummed at once, by two threads.
    """
    return _mul_mod(_shift_operator(length_b), crc_a) ^ crc_b


def g3_crc_in_halves(chunks: Sequence[bytes | bytearray | memoryview], helper: Executor) -> int:
    """The G3 CRC of ``chunks`` in order, the second half of the bytes checksummed by ``helper``.

    Returns only once no thread reads the chunks any more. A helper busy
    elsewhere (its task not started) is not waited for: this thread then
    checksums the second half too.
    """
    total = byte_length(chunks)
    half = total // 2
    seen = 0
    first: list[bytes | bytearray | memoryview] = []
    second: list[bytes | bytearray | memoryview] = []
    for i, chunk in enumerate(chunks):
        n = byte_length(chunk)
        if seen + n > half:
            view = memoryview(chunk).cast("B")
            cut = half - seen
            first.extend(chunks[:i])
            if cut:
                first.append(view[:cut])
            second.append(view[cut:])
            second.extend(chunks[i + 1 :])
            break
        seen += n
    if not second:
        return g3_crc(chunks)
    # the views go in a box the task empties: an executor may keep a finished
    # task's arguments for a while, and views held there would keep the
    # caller's buffers exported (numpy arrays then cannot be made read-only)
    box = [second]
    task = helper.submit(_crc_of_boxed, box)
    try:
        crc = g3_crc(first)
    finally:
        tail = g3_crc(box.pop()) if task.cancel() else task.result()
    return g3_crc_combine(crc, tail, total - half)


def _crc_of_boxed(box: list[list[bytes | bytearray | memoryview]]) -> int:
    return g3_crc(box.pop())
