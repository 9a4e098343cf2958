"""The production Redis client waits for a free connection instead of failing (needs REDIS_URL)."""

from __future__ import annotations

import asyncio
import os

import pytest

from adapter.components import REDIS_CONNECTIONS, make_redis
from adapter.settings import Settings
from adapter.stores.redis import RedisTaskStore

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL"),
]


async def test_more_concurrent_commands_than_connections_all_succeed() -> None:
    """Twice the pool's size in flight at once (e.g. that many open event streams reading)."""
    redis = make_redis(Settings(redis_url=os.environ["REDIS_URL"]))
    store = RedisTaskStore(redis, namespace="mvatestpool", task_ttl_s=3600)
    try:
        found = await asyncio.gather(
            *(store.list_events(f"task_{i}") for i in range(2 * REDIS_CONNECTIONS))
        )
    finally:
        await redis.aclose()
    assert found == [[]] * (2 * REDIS_CONNECTIONS)
