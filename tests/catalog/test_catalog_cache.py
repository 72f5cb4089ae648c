"""TTLCache: lifetimes in seconds (the seed's "1 day" cache lasted 86 s), single-flight loads."""

from __future__ import annotations

import asyncio

import pytest

from billpay.catalog.cache import TTLCache

DAY_SECONDS = 24 * 60 * 60


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class CountingLoader:
    """Returns ``value-<n>`` on its n-th call; optionally waits for ``release`` first."""

    def __init__(self, release: asyncio.Event | None = None) -> None:
        self.calls = 0
        self.release = release

    async def __call__(self) -> str:
        self.calls += 1
        call = self.calls
        if self.release is not None:
            await self.release.wait()
        return f"value-{call}"


async def test_a_one_day_ttl_lasts_a_day_not_86_seconds() -> None:
    clock = FakeClock()
    cache: TTLCache[str, str] = TTLCache(ttl_seconds=DAY_SECONDS, clock=clock)
    load = CountingLoader()
    assert await cache.get_or_load("plans", load) == "value-1"
    clock.now += 87  # where the seed's millisecond mix-up had already expired it
    assert await cache.get_or_load("plans", load) == "value-1"
    clock.now += DAY_SECONDS - 87 - 1
    assert await cache.get_or_load("plans", load) == "value-1"
    clock.now += 1  # exactly one day after loading
    assert await cache.get_or_load("plans", load) == "value-2"
    assert load.calls == 2


async def test_lifetime_counts_from_when_the_load_finished() -> None:
    clock = FakeClock()
    cache: TTLCache[str, str] = TTLCache(ttl_seconds=10, clock=clock)
    release = asyncio.Event()
    load = CountingLoader(release)
    pending = asyncio.create_task(cache.get_or_load("k", load))
    await asyncio.sleep(0)
    clock.now += 8  # a slow load
    release.set()
    assert await pending == "value-1"
    clock.now += 9
    assert await cache.get_or_load("k", load) == "value-1"
    clock.now += 1
    assert await cache.get_or_load("k", load) == "value-2"


@pytest.mark.parametrize("ttl_seconds", [0, -1, -0.5])
def test_ttl_must_be_positive(ttl_seconds: float) -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        TTLCache[str, str](ttl_seconds=ttl_seconds)


async def test_keys_are_cached_separately() -> None:
    cache: TTLCache[str, str] = TTLCache(ttl_seconds=60, clock=FakeClock())

    async def load_a() -> str:
        return "a"

    async def load_b() -> str:
        return "b"

    assert await cache.get_or_load("a", load_a) == "a"
    assert await cache.get_or_load("b", load_b) == "b"
    assert await cache.get_or_load("a", load_b) == "a"  # cached: the loader is not called


async def test_concurrent_callers_share_one_load() -> None:
    cache: TTLCache[str, str] = TTLCache(ttl_seconds=60, clock=FakeClock())
    release = asyncio.Event()
    load = CountingLoader(release)
    callers = [asyncio.create_task(cache.get_or_load("k", load)) for _ in range(20)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*callers) == ["value-1"] * 20
    assert load.calls == 1


async def test_different_keys_load_concurrently() -> None:
    cache: TTLCache[str, str] = TTLCache(ttl_seconds=60, clock=FakeClock())
    release = asyncio.Event()
    started: list[str] = []

    def loader_for(key: str) -> CountingLoader:
        class Loader(CountingLoader):
            async def __call__(self) -> str:
                started.append(key)
                return await super().__call__()

        return Loader(release)

    tasks = [asyncio.create_task(cache.get_or_load(key, loader_for(key))) for key in "abc"]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert sorted(started) == ["a", "b", "c"]  # none waits for another key's load
    release.set()
    await asyncio.gather(*tasks)


async def test_a_failed_load_is_shared_and_not_cached() -> None:
    cache: TTLCache[str, str] = TTLCache(ttl_seconds=60, clock=FakeClock())
    release = asyncio.Event()
    calls = 0

    async def failing() -> str:
        nonlocal calls
        calls += 1
        await release.wait()
        raise RuntimeError("catalog unavailable")

    callers = [asyncio.create_task(cache.get_or_load("k", failing)) for _ in range(3)]
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert calls == 1
    assert await cache.get_or_load("k", CountingLoader()) == "value-1"  # tried again


async def test_a_cancelled_caller_does_not_cancel_the_shared_load() -> None:
    cache: TTLCache[str, str] = TTLCache(ttl_seconds=60, clock=FakeClock())
    release = asyncio.Event()
    load = CountingLoader(release)
    impatient = asyncio.create_task(cache.get_or_load("k", load))
    patient = asyncio.create_task(cache.get_or_load("k", load))
    await asyncio.sleep(0)
    impatient.cancel()
    release.set()
    assert await patient == "value-1"
    assert impatient.cancelled()
    assert load.calls == 1
    assert await cache.get_or_load("k", load) == "value-1"


async def test_invalidate_forgets_a_key() -> None:
    cache: TTLCache[str, str] = TTLCache(ttl_seconds=60, clock=FakeClock())
    load = CountingLoader()
    await cache.get_or_load("k", load)
    await cache.get_or_load("other", load)
    cache.invalidate("k")
    cache.invalidate("never-loaded")
    assert await cache.get_or_load("k", load) == "value-3"
    assert await cache.get_or_load("other", load) == "value-2"


async def test_clear_forgets_everything() -> None:
    cache: TTLCache[str, str] = TTLCache(ttl_seconds=60, clock=FakeClock())
    load = CountingLoader()
    await cache.get_or_load("a", load)
    await cache.get_or_load("b", load)
    cache.clear()
    assert await cache.get_or_load("a", load) == "value-3"
    assert await cache.get_or_load("b", load) == "value-4"


@pytest.mark.parametrize("forget", ["invalidate", "clear"])
async def test_a_load_in_flight_when_invalidated_is_returned_but_not_kept(forget: str) -> None:
    """A catalog sync that lands mid-load must not leave the pre-sync value cached for a day."""
    cache: TTLCache[str, str] = TTLCache(ttl_seconds=DAY_SECONDS, clock=FakeClock())
    release = asyncio.Event()

    async def load_before_sync() -> str:
        await release.wait()
        return "stale"

    async def load_after_sync() -> str:
        return "fresh"

    waiting = asyncio.create_task(cache.get_or_load("k", load_before_sync))
    await asyncio.sleep(0)
    if forget == "invalidate":
        cache.invalidate("k")
    else:
        cache.clear()
    assert await cache.get_or_load("k", load_after_sync) == "fresh"  # not joined to the old load
    release.set()
    assert await waiting == "stale"  # its caller still gets an answer...
    assert await cache.get_or_load("k", load_before_sync) == "fresh"  # ...but it is not kept


async def test_a_load_in_flight_when_invalidated_does_not_replace_a_later_load() -> None:
    cache: TTLCache[str, str] = TTLCache(ttl_seconds=DAY_SECONDS, clock=FakeClock())
    release = asyncio.Event()

    async def load_before_sync() -> str:
        await release.wait()
        return "stale"

    waiting = asyncio.create_task(cache.get_or_load("k", load_before_sync))
    await asyncio.sleep(0)
    cache.invalidate("k")
    release.set()
    assert await waiting == "stale"
    assert await cache.get_or_load("k", CountingLoader()) == "value-1"
