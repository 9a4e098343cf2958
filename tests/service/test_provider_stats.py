"""Provider stats: every process's upstream calls, added up per provider and model over the
last five minutes or hour, from per-minute counters in the store (fakeredis and Redis)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
import redis.asyncio as aioredis

from adapter.core.errors import StoreUnavailable
from adapter.service.provider_stats import LATENCY_BOUNDS_MS, ProviderStats, percentile_ms
from adapter.stores.redis_client import RedisClient
from adapter.stores.redis_provider_stats import BUCKET_TTL_S, RedisProviderStats
from tests.fakes import MODEL, FakeClock

pytestmark = pytest.mark.anyio


@pytest.fixture
def redis(redis_on_every_topology: RedisClient) -> RedisClient:
    """This store runs on every topology: also a Redis Cluster and a Sentinel-managed master."""
    return redis_on_every_topology


@pytest.fixture
def backend(redis: aioredis.Redis, namespace: str) -> RedisProviderStats:
    return RedisProviderStats(redis, namespace=namespace)


async def test_two_processes_calls_add_up_with_errors_by_outcome(
    backend: RedisProviderStats, clock: FakeClock
) -> None:
    here, there = ProviderStats(backend, clock=clock), ProviderStats(backend, clock=clock)
    for _ in range(3):
        here.record("kling", "submit", MODEL, "ok", 0.2)
    here.record("kling", "query", MODEL, "rate_limited", 0.05)
    there.record("kling", "query", MODEL, "ok", 0.1)
    there.record("kling", "query", MODEL, "unavailable", 0.05)
    there.record("dashscope", "submit", "wan2-6-i2v-flash", "rejected", 0.3)
    await here.flush()
    await there.flush()
    rows = {(r.provider, r.model): r for r in await here.window(300)}
    kling = rows["kling", MODEL]
    assert kling.requests == 6
    assert kling.errors == {"rate_limited": 1, "unavailable": 1}
    dashscope = rows["dashscope", "wan2-6-i2v-flash"]
    assert (dashscope.requests, dashscope.errors) == (1, {"rejected": 1})
    assert await there.window(300) == await here.window(300)


async def test_percentiles_are_estimated_within_a_bucket(
    backend: RedisProviderStats, clock: FakeClock
) -> None:
    """90 calls of 100 ms and 10 of 2 s: p50 near 100 ms, p95 near 2 s, each within its
    bucket (a factor of 1.5)."""
    stats = ProviderStats(backend, clock=clock)
    for _ in range(90):
        stats.record("kling", "query", MODEL, "ok", 0.1)
    for _ in range(10):
        stats.record("kling", "query", MODEL, "ok", 2.0)
    await stats.flush()
    [row] = await stats.window(300)
    assert row.p50_ms is not None and 100 / 1.5 <= row.p50_ms <= 100 * 1.5
    assert row.p95_ms is not None and 2000 / 1.5 <= row.p95_ms <= 2000 * 1.5
    assert row.errors == {}


def test_a_percentile_of_nothing_is_none_and_of_the_slowest_the_last_bound() -> None:
    empty = [0] * (len(LATENCY_BOUNDS_MS) + 1)
    assert percentile_ms(empty, 0.5) is None
    slowest = [*empty[:-1], 4]
    assert percentile_ms(slowest, 0.95) == LATENCY_BOUNDS_MS[-1]


async def test_the_window_keeps_only_its_last_minutes(
    backend: RedisProviderStats, clock: FakeClock
) -> None:
    stats = ProviderStats(backend, clock=clock)
    stats.record("kling", "submit", MODEL, "ok", 0.2)  # 10 minutes before the reading
    clock.advance(600)
    stats.record("kling", "submit", MODEL, "ok", 0.2)
    stats.record("kling", "submit", MODEL, "error", 0.2)
    await stats.flush()
    [recent] = await stats.window(300)
    assert (recent.requests, recent.errors) == (2, {"error": 1})
    [hour] = await stats.window(3600)
    assert hour.requests == 3


async def test_a_flush_sends_only_what_is_new_and_every_bucket_expires(
    backend: RedisProviderStats, clock: FakeClock, redis: aioredis.Redis, namespace: str
) -> None:
    stats = ProviderStats(backend, clock=clock)
    stats.record("kling", "submit", MODEL, "ok", 0.2)
    await stats.flush()
    await stats.flush()  # nothing new: nothing added
    [row] = await stats.window(300)
    assert row.requests == 1
    [key] = [k async for k in redis.scan_iter(match=f"{namespace}:pstats:*")]
    assert 0 < await redis.ttl(key) <= BUCKET_TTL_S


class Outage:
    """The Redis backend, down while ``down`` is set (as a store is: ``StoreUnavailable``)."""

    def __init__(self, backend: RedisProviderStats) -> None:
        self.backend = backend
        self.down = True

    async def add_provider_stats(self, counts: Mapping[int, Mapping[str, int]]) -> None:
        if self.down:
            raise StoreUnavailable("The task store is unavailable: ConnectionError.")
        await self.backend.add_provider_stats(counts)

    async def provider_stats(self, minutes: Sequence[int]) -> list[dict[str, int]]:
        return await self.backend.provider_stats(minutes)


async def test_counts_a_failed_flush_could_not_write_are_kept_for_the_next(
    backend: RedisProviderStats, clock: FakeClock
) -> None:
    outage = Outage(backend)
    stats = ProviderStats(outage, clock=clock)
    stats.record("kling", "submit", MODEL, "ok", 0.2)
    with pytest.raises(StoreUnavailable):
        await stats.flush()
    outage.down = False
    stats.record("kling", "submit", MODEL, "ok", 0.2)
    await stats.flush()
    [row] = await stats.window(300)
    assert row.requests == 2
