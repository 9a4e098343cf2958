"""Shared fixtures: the store on fakeredis always, and on the real Redis when REDIS_URL is set."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import fakeredis
import pytest
import redis.asyncio as aioredis

from adapter.bootstrap.redis_clients import make_redis
from adapter.config.settings import Settings
from adapter.stores.redis import RedisTaskStore
from adapter.stores.redis_client import RedisClient
from adapter.stores.redis_keys import RedisKeyStore
from tests.fakes import FakeClock, FakeMedia, ScriptedProvider
from tests.redis_server import RedisServer

if TYPE_CHECKING:
    from tests.redis_topologies import LocalCluster, LocalSentinel

#: The session's Redis Cluster and Sentinel setup (``redis_cluster``, ``redis_sentinel``).
pytest_plugins = ["tests.redis_topologies"]

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"

BACKENDS = ["fakeredis"] + (["redis"] if os.environ.get("REDIS_URL") else [])
#: The backends, and a local Redis Cluster and Sentinel-managed master of the session's own.
TOPOLOGIES = [*BACKENDS, "cluster", "sentinel"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=BACKENDS)
async def redis(request: pytest.FixtureRequest) -> AsyncIterator[aioredis.Redis]:
    """A Redis client: fakeredis, or the real server named by REDIS_URL (cleaned after)."""
    async with backend_client(request, request.param) as client:
        yield client


@pytest.fixture(params=TOPOLOGIES)
async def redis_on_every_topology(request: pytest.FixtureRequest) -> AsyncIterator[RedisClient]:
    """``redis``'s backends, and a Redis Cluster and a Sentinel-managed master (started once
    for the session), these two reached through the adapter's own client builder. A module
    whose stores run on a cluster overrides ``redis`` with it."""
    async with backend_client(request, request.param) as client:
        yield client


@contextlib.asynccontextmanager
async def backend_client(
    request: pytest.FixtureRequest, backend: str
) -> AsyncIterator[RedisClient]:
    """A client of ``backend``; the keys of the test's namespace are deleted after, on a real
    Redis (fakeredis is thrown away whole)."""
    client: RedisClient
    if backend == "fakeredis":
        client = fakeredis.FakeAsyncRedis()
        yield client
        await client.aclose()
        return
    if backend == "redis":
        client = aioredis.Redis.from_url(os.environ["REDIS_URL"])
    else:
        client = make_redis(topology_settings(request, backend))
    yield client
    namespace = request.node.stash.get(NAMESPACE, None)
    if namespace:
        async for key in client.scan_iter(match=f"{namespace}:*", count=500):
            await client.delete(key)
    await client.aclose()


def topology_settings(request: pytest.FixtureRequest, topology: str) -> Settings:
    """The settings that reach the session's ``cluster`` or ``sentinel`` setup."""
    if topology == "cluster":
        cluster: LocalCluster = request.getfixturevalue("redis_cluster")
        return Settings.from_env({"MVA_REDIS_MODE": "cluster", "REDIS_URL": cluster.url})
    setup: LocalSentinel = request.getfixturevalue("redis_sentinel")
    return Settings.from_env(
        {
            "MVA_REDIS_MODE": "sentinel",
            "REDIS_SENTINELS": ",".join(f"{host}:{port}" for host, port in setup.sentinels),
            "REDIS_SENTINEL_MASTER": setup.master_name,
        }
    )


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
