"""The production Redis client, on each topology: it queues for a free connection instead of
failing, and never sends a command on a pooled connection the server has closed. (Who is
served when: tests/stores/test_waiting_pool.py.)"""

from __future__ import annotations

import asyncio
import os

import pytest
import redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from adapter.bootstrap.redis_clients import REDIS_CONNECTIONS, make_redis
from adapter.bootstrap.redis_pool import WaitingRedisCluster
from adapter.config.settings import Settings
from adapter.stores.redis import RedisTaskStore
from tests.conftest import topology_settings
from tests.redis_server import RedisServer, needs_redis_server
from tests.redis_topologies import LocalCluster

pytestmark = pytest.mark.anyio
#: How long a queued command may wait for its connection where it must get one, and the bound
#: for it to be served: generous, since the wait ends as soon as it is (CI's machine is shared).
SERVED_S = 5.0

TOPOLOGIES = [
    pytest.param(
        "redis",
        marks=pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL"),
    ),
    "cluster",
    "sentinel",
]


@pytest.mark.parametrize("topology", TOPOLOGIES)
async def test_more_concurrent_commands_and_pipelines_than_connections_all_succeed(
    request: pytest.FixtureRequest, topology: str
) -> None:
    """Four times the pool's size in flight at once, to one node (e.g. that many open event
    streams reading), commands and pipelines (a cluster's multi-key read) alike: they queue,
    where redis-py's cluster client refused each one past the 256th (MaxConnectionsError)."""
    if topology == "redis":
        settings = Settings(redis_url=os.environ["REDIS_URL"])
    else:
        settings = topology_settings(request, topology)
    client = make_redis(settings)  # the service's own client (nothing is written)
    store = RedisTaskStore(client, namespace="mvatestpool", task_ttl_s=3600)
    try:
        await store.list_events("task_0")  # the client knows its nodes
        burst = 4 * REDIS_CONNECTIONS
        events, tasks = await asyncio.gather(
            asyncio.gather(*(store.list_events(f"task_{i}") for i in range(burst))),
            asyncio.gather(*(store.get_tasks([f"task_{i}", "task_x"]) for i in range(burst))),
        )
    finally:
        await client.aclose()
    assert events == [[]] * burst
    assert tasks == [[None, None]] * burst


async def test_a_cluster_clients_pipelines_wait_for_a_place_like_its_commands(
    request: pytest.FixtureRequest,
) -> None:
    """Four places, 64 pipelines and 64 commands at once, and no retry: none is refused.
    (redis-py's cluster pipeline, refused a connection, closes every connection of its client
    and tries again after 0.25 s; without retries, the refusal shows.)"""
    cluster: LocalCluster = request.getfixturevalue("redis_cluster")
    client = WaitingRedisCluster.from_url(
        cluster.url,
        places=4,
        max_connections=4,
        wait_s=SERVED_S,
        retry=Retry(NoBackoff(), 0),
    )

    async def pipelined(n: int) -> list[bytes | None]:
        async with client.pipeline(transaction=False) as pipe:
            pipe.get(f"mvatestroom:{n}")
            pipe.get("mvatestroom:x")
            return list(await pipe.execute())

    try:
        await client.get("mvatestroom:x")  # the client knows its nodes
        found = await asyncio.gather(
            *(pipelined(n) for n in range(64)), *(client.get(f"mvatestroom:{n}") for n in range(64))
        )
    finally:
        await client.aclose()
    assert found == [[None, None]] * 64 + [None] * 64


@needs_redis_server
async def test_a_pooled_connection_the_server_closed_is_reopened_before_a_write(
    own_redis: RedisServer,
) -> None:
    """Redis closes an idle pooled connection (a restart, its idle timeout, CLIENT KILL): the
    next command, a write that must not be sent twice, goes out on a new connection."""
    client = make_redis(Settings(redis_url=own_redis.url))
    try:
        closed = await client.client_id()  # the pool's one connection, idle after this
        with redis.Redis(port=own_redis.port) as admin:
            assert admin.client_kill_filter(_id=closed) == 1
        await asyncio.sleep(0.1)  # the server's close reaches the idle connection
        assert await client.set("written", "once")
        assert await client.client_id() != closed
    finally:
        await client.aclose()


@needs_redis_server
async def test_a_command_queues_for_a_connection_longer_than_a_burst_lasts(
    own_redis: RedisServer,
) -> None:
    """Every connection is busy for 6 s (a burst, not a broken Redis): the next command waits
    its turn and is answered, where a 5 s wait for a connection had made it a 503."""
    client = make_redis(Settings(redis_url=own_redis.url))
    pool = client.connection_pool
    busy = [await pool.get_connection() for _ in range(REDIS_CONNECTIONS)]
    try:
        waiting = asyncio.create_task(client.set("queued", "1"))
        await asyncio.sleep(6)
        assert not waiting.done()
        await pool.release(busy.pop())
        assert await asyncio.wait_for(waiting, SERVED_S)
    finally:
        for connection in busy:
            await pool.release(connection)
        await client.aclose()
