"""The reconcilers' pacing in Redis: a query token bucket per provider, and the durations of
recent successes per provider and model; each operation on one key (Redis Cluster safe)."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from adapter.core.errors import StoreUnavailable
from adapter.stores.redis_client import RedisClient
from adapter.stores.redis_pacing import KEPT, RedisPacing

pytestmark = pytest.mark.anyio

T0 = 1_774_805_076_000


@pytest.fixture
def redis(redis_on_every_topology: RedisClient) -> RedisClient:
    """Every topology: on a Redis Cluster each operation's one key is in one slot."""
    return redis_on_every_topology


@pytest.fixture
def pacing(redis: RedisClient, namespace: str) -> RedisPacing:
    return RedisPacing(redis, namespace=namespace)


async def test_a_full_bucket_gives_its_burst_then_says_how_long_to_wait(
    pacing: RedisPacing,
) -> None:
    taken = [await pacing.take_query("kling", per_s=2, burst=2, now_ms=T0) for _ in range(3)]
    assert taken == [0, 0, 500]  # two tokens, then the next is due in half a second


async def test_tokens_come_back_at_the_rate_and_never_beyond_the_burst(
    pacing: RedisPacing,
) -> None:
    for _ in range(2):
        await pacing.take_query("kling", per_s=2, burst=2, now_ms=T0)
    assert await pacing.take_query("kling", per_s=2, burst=2, now_ms=T0 + 500) == 0
    assert await pacing.take_query("kling", per_s=2, burst=2, now_ms=T0 + 500) == 500
    # An hour idle refills two tokens, not 7,200.
    later = T0 + 3_600_000
    taken = [await pacing.take_query("kling", per_s=2, burst=2, now_ms=later) for _ in range(3)]
    assert taken == [0, 0, 500]


async def test_a_caller_whose_clock_is_behind_refills_nothing(pacing: RedisPacing) -> None:
    for _ in range(2):
        await pacing.take_query("kling", per_s=2, burst=2, now_ms=T0)
    assert await pacing.take_query("kling", per_s=2, burst=2, now_ms=T0 - 10_000) > 0


async def test_each_provider_has_its_own_bucket(pacing: RedisPacing) -> None:
    assert await pacing.take_query("kling", per_s=1, burst=1, now_ms=T0) == 0
    assert await pacing.take_query("kling", per_s=1, burst=1, now_ms=T0) == 1000
    assert await pacing.take_query("dashscope", per_s=1, burst=1, now_ms=T0) == 0


async def test_a_bucket_key_has_an_expiry_and_one_hash_tag(
    pacing: RedisPacing, redis: RedisClient
) -> None:
    await pacing.take_query("kling", per_s=1, burst=1, now_ms=T0)
    key = pacing.budget_key("kling")
    assert key.endswith(":pace:{kling}:budget")
    assert 0 < await redis.pttl(key) <= 61_000


async def test_a_budget_must_be_positive(pacing: RedisPacing) -> None:
    with pytest.raises(ValueError, match="per_s > 0"):
        await pacing.take_query("kling", per_s=0, burst=1, now_ms=T0)


async def test_completions_are_kept_newest_first_up_to_the_last_hundred(
    pacing: RedisPacing, redis: RedisClient
) -> None:
    for n in range(KEPT + 5):
        await pacing.add_completion("kling", "kling-v3", float(n))
    found = await pacing.completions("kling", "kling-v3")
    assert len(found) == KEPT
    assert found[0] == KEPT + 4 and found[-1] == 5
    assert await redis.ttl(pacing.durations_key("kling", "kling-v3")) > 0
    assert await pacing.completions("kling", "kling-v2-6") == []


async def test_completions_of_a_provider_and_model_share_one_key(pacing: RedisPacing) -> None:
    assert pacing.durations_key("kling", "kling-v3").endswith(":pace:{kling|kling-v3}:done")


async def test_an_unreachable_redis_is_store_unavailable() -> None:
    dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=None)
    try:
        with pytest.raises(StoreUnavailable):
            await RedisPacing(dead).take_query("kling", per_s=1, burst=1, now_ms=T0)
        with pytest.raises(StoreUnavailable):
            await RedisPacing(dead).completions("kling", "kling-v3")
    finally:
        await dead.aclose()
