"""Entry order of the reference writer (FORMAT.md section 6).

The reference stores a frame's entries in a libstdc++
``std::unordered_map<std::string, ...>`` and writes them in its iteration
order, which is a deterministic function of the sequence of key insertions
and deletions.  Reproducing it is only needed for byte-identical output.

Cost: linear in the number of operations (a doubly linked list plus a
first-node-per-bucket table), and results for plain insertion sequences are
memoised, since frames of one stream usually share their keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

_M = 0xC6A4A7935BD1E995
_MASK = 0xFFFFFFFFFFFFFFFF
_SEED = 0xC70F6907
_FAST_BUCKETS = (2, 2, 2, 3, 5, 5, 7, 7, 11, 11, 11, 11, 13, 13)
# The part of libstdc++'s prime table that successive doublings reach.  Values
# from 42043 on are taken from libstdc++ and were not checked against files.
_PRIMES = (13, 29, 59, 127, 257, 541, 1109, 2357, 5087, 10273, 20753, 42043, 85229, 172933)


def _shift_mix(v: int) -> int:
    return v ^ (v >> 47)


@lru_cache(maxsize=65536)
def key_hash(key: bytes) -> int:
    """libstdc++'s ``_Hash_bytes`` of ``key`` with the std::string seed."""
    n = len(key)
    h = (_SEED ^ ((n * _M) & _MASK)) & _MASK
    end = n - (n % 8)
    for i in range(0, end, 8):
        c = int.from_bytes(key[i : i + 8], "little")
        h = (h ^ ((_shift_mix((c * _M) & _MASK) * _M) & _MASK)) & _MASK
        h = (h * _M) & _MASK
    if n % 8:
        t = int.from_bytes(key[end:], "little")
        h = ((h ^ t) * _M) & _MASK
    h = (_shift_mix(h) * _M) & _MASK
    return _shift_mix(h)


def _is_prime(x: int) -> bool:
    if x < 2:
        return False
    i = 2
    while i * i <= x:
        if x % i == 0:
            return False
        i += 1
    return True


def _next_bucket_count(x: int) -> int:
    if x < len(_FAST_BUCKETS):
        return _FAST_BUCKETS[x]
    for p in _PRIMES:
        if p >= x:
            return p
    while not _is_prime(x):  # beyond the known table: best effort
        x += 1
    return x


class KeyOrder:
    """Simulates the reference's hash table over a history of insertions and deletions."""

    __slots__ = ("buckets", "threshold", "_head", "_next", "_prev", "_bucket_of", "_first")

    def __init__(self) -> None:
        self.buckets = 1
        self.threshold = 0
        self._head: bytes | None = None
        self._next: dict[bytes, bytes | None] = {}
        self._prev: dict[bytes, bytes | None] = {}
        self._bucket_of: dict[bytes, int] = {}
        self._first: dict[int, bytes] = {}

    def __len__(self) -> int:
        return len(self._next)

    def _link(self, key: bytes) -> None:
        b = key_hash(key) % self.buckets
        self._bucket_of[key] = b
        first = self._first.get(b)
        if first is None:
            nxt = self._head
            prv = None
            self._head = key
        else:
            nxt = first
            prv = self._prev[first]
            if prv is None:
                self._head = key
            else:
                self._next[prv] = key
        self._next[key] = nxt
        self._prev[key] = prv
        if nxt is not None:
            self._prev[nxt] = key
        self._first[b] = key

    def _rehash(self) -> None:
        old = list(self)
        self._head = None
        self._next.clear()
        self._prev.clear()
        self._first.clear()
        for k in old:
            self._link(k)

    def insert(self, key: bytes) -> None:
        """Insert ``key`` (no effect if present)."""
        if key in self._next:
            return
        n = len(self._next)
        if n + 1 > self.threshold:
            need = max(n + 1, 11 if self.threshold == 0 else 0)
            if need >= self.buckets:
                self.buckets = _next_bucket_count(max(need + 1, 2 * self.buckets))
                self.threshold = self.buckets
                self._rehash()
            else:
                self.threshold = self.buckets
        self._link(key)

    def delete(self, key: bytes) -> None:
        """Remove ``key`` (no effect if absent); bucket count and threshold stay."""
        if key not in self._next:
            return
        nxt = self._next.pop(key)
        prv = self._prev.pop(key)
        b = self._bucket_of.pop(key)
        if prv is None:
            self._head = nxt
        else:
            self._next[prv] = nxt
        if nxt is not None:
            self._prev[nxt] = prv
        if self._first.get(b) == key:
            if nxt is not None and self._bucket_of[nxt] == b:
                self._first[b] = nxt
            else:
                del self._first[b]

    def __iter__(self):  # type: ignore[no-untyped-def]
        k = self._head
        nxt = self._next
        while k is not None:
            yield k
            k = nxt[k]


def _encode(key: str) -> bytes:
    return key.encode("utf-8", "surrogateescape")


_ORDER_CACHE: dict[tuple[str, ...], tuple[str, ...]] = {}
_ORDER_CACHE_LIMIT = 4096


def insertion_order_to_disk_order(keys: Sequence[str]) -> tuple[str, ...]:
    """The on-disk entry order of a frame whose keys were inserted in ``keys`` order."""
    t = tuple(keys)
    hit = _ORDER_CACHE.get(t)
    if hit is not None:
        return hit
    table = KeyOrder()
    back: dict[bytes, str] = {}
    for k in t:
        b = _encode(k)
        back[b] = k
        table.insert(b)
    order = tuple(back[b] for b in table)
    if len(_ORDER_CACHE) >= _ORDER_CACHE_LIMIT:
        _ORDER_CACHE.clear()
    _ORDER_CACHE[t] = order
    return order


def history_to_disk_order(history: Iterable[tuple[bool, str]]) -> tuple[str, ...]:
    """The on-disk entry order after a history of ``(inserted, key)`` operations."""
    table = KeyOrder()
    back: dict[bytes, str] = {}
    for inserted, k in history:
        b = _encode(k)
        back[b] = k
        if inserted:
            table.insert(b)
        else:
            table.delete(b)
    return tuple(back[b] for b in table)
