"""Shared fixtures: the store on fakeredis always, and on the real Redis when REDIS_URL is set."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import fakeredis
import pytest
import redis.asyncio as aioredis

from adapter.stores.redis import RedisTaskStore
from adapter.stores.redis_keys import RedisKeyStore
from tests.fakes import FakeClock, FakeMedia, ScriptedProvider
from tests.redis_server import RedisServer

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"

BACKENDS = ["fakeredis"] + (["redis"] if os.environ.get("REDIS_URL") else [])


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=BACKENDS)
async def redis(request: pytest.FixtureRequest) -> AsyncIterator[aioredis.Redis]:
    """A Redis client: fakeredis, or the real server named by REDIS_URL (cleaned after)."""
    if request.param == "fakeredis":
        client: aioredis.Redis = fakeredis.FakeAsyncRedis()
        yield client
        await client.aclose()
        return
    client = aioredis.Redis.from_url(os.environ["REDIS_URL"])
    yield client
    namespace = request.node.stash.get(NAMESPACE, None)
    if namespace:
        async for key in client.scan_iter(match=f"{namespace}:*", count=500):
            await client.delete(key)
    await client.aclose()


NAMESPACE = pytest.StashKey[str]()


@pytest.fixture
def namespace(request: pytest.FixtureRequest) -> str:
    """A key prefix of this test's own, so runs on a shared Redis never collide."""
    value = f"mvatest{secrets.token_hex(6)}"
    request.node.stash[NAMESPACE] = value
    return value


@pytest.fixture
def store(redis: aioredis.Redis, namespace: str) -> RedisTaskStore:
    return RedisTaskStore(redis, namespace=namespace, task_ttl_s=3600)


@pytest.fixture
def key_store(redis: aioredis.Redis, namespace: str) -> RedisKeyStore:
    return RedisKeyStore(redis, namespace=namespace)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def provider() -> ScriptedProvider:
    """The scripted upstream the service and HTTP tests drive."""
    return ScriptedProvider()


@pytest.fixture
def media() -> FakeMedia:
    return FakeMedia()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own on a free port, which it may restart; stopped after."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()
