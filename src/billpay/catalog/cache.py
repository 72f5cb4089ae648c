"""A small in-process TTL cache with single-flight loading, for catalog reads.

The lifetime is ``ttl_seconds`` — seconds, in the name — because the seed's "1 day" plan cache
was handed seconds by code expecting milliseconds and lasted 86 s. The clock is injectable so
tests can prove a day really is a day.

Meant for small key sets (plan slugs, biller lists): expired entries are replaced, not swept.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True)
class _Entry(Generic[V]):
    value: V
    expires_at: float  # on the cache's clock, in seconds


class TTLCache(Generic[K, V]):
    """``get_or_load`` returns a fresh cached value, or runs the loader once per key.

    Concurrent callers for a key that is loading share that one load (single flight): a cold
    cache under load asks the database once, not once per request. A failed load is not cached;
    every waiter sees the error and the next call tries again. A caller that gives up (is
    cancelled) does not cancel the load the others are waiting for.
    """

    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds!r}")
        self._ttl_seconds = ttl_seconds
        self._clock = clock  # seconds; monotonic so wall-clock jumps don't expire everything
        self._entries: dict[K, _Entry[V]] = {}
        self._loads: dict[K, asyncio.Task[V]] = {}

    async def get_or_load(self, key: K, loader: Callable[[], Awaitable[V]]) -> V:
        entry = self._entries.get(key)
        if entry is not None and self._clock() < entry.expires_at:
            return entry.value
        load = self._loads.get(key)
        if load is None:
            load = asyncio.create_task(self._load(key, loader))
            self._loads[key] = load
        return await asyncio.shield(load)

    async def _load(self, key: K, loader: Callable[[], Awaitable[V]]) -> V:
        this_load = asyncio.current_task()
        try:
            value = await loader()
            # Invalidated while loading: the value may predate the change, so don't keep it.
            if self._loads.get(key) is this_load:
                self._entries[key] = _Entry(value, self._clock() + self._ttl_seconds)
            return value
        finally:
            if self._loads.get(key) is this_load:
                del self._loads[key]

    def invalidate(self, key: K) -> None:
        """Forget ``key`` (e.g. after a catalog sync); a load in flight will not be stored."""
        self._entries.pop(key, None)
        self._loads.pop(key, None)

    def clear(self) -> None:
        """Forget everything; loads in flight will not be stored."""
        self._entries.clear()
        self._loads.clear()
