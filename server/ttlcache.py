"""A small in-memory cache whose entries expire a fixed time after they were stored.

Pure: the clock is passed in, so it is tested without an event loop or sleeping.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Entries live ``ttl_s`` seconds; expired ones are swept at most once per ``ttl_s``, so
    keys never asked for again do not pile up."""

    def __init__(self, ttl_s: float, clock: Callable[[], float]) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}
        self._next_sweep = clock() + ttl_s

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        """The live value of ``key``, or None (absent or expired)."""
        entry = self._entries.get(key)
        if entry is None or entry[0] <= self._clock():
            return None
        return entry[1]

    def put(self, key: K, value: V) -> None:
        """Store ``value`` for ``ttl_s`` seconds (a zero ttl stores nothing)."""
        if self._ttl_s <= 0:
            return
        now = self._clock()
        self._entries[key] = (now + self._ttl_s, value)
        if now >= self._next_sweep:
            self._sweep(now)

    def forget(self, matches: Callable[[V], bool]) -> int:
        """Drop every entry whose value ``matches``; how many were dropped."""
        stale = [k for k, (_, v) in self._entries.items() if matches(v)]
        for key in stale:
            del self._entries[key]
        return len(stale)

    def _sweep(self, now: float) -> None:
        self._entries = {k: e for k, e in self._entries.items() if e[0] > now}
        self._next_sweep = now + self._ttl_s
