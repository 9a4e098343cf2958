"""Connections the network reset while they sat in the pool: reads, and writes whose repeat
changes nothing, are run once more on a fresh connection; other writes are never repeated."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import msgspec
import pytest

from adapter.bootstrap.redis_clients import make_redis
from adapter.config.settings import Settings
from adapter.core.errors import StoreUnavailable
from adapter.core.values import ApiKey, TaskStatus
from adapter.stores.redis import RedisTaskStore
from adapter.stores.redis_keys import RedisKeyStore
from tests.redis_server import RedisServer, ResettingProxy, needs_redis_server
from tests.stores.records import NOW, queued, task_record

pytestmark = [pytest.mark.anyio, needs_redis_server]
KEY = ApiKey(id="key_1", name="ci", owner="ci", key_hash="h1", status="active", created_at=NOW)


@pytest.fixture
async def proxy(own_redis: RedisServer) -> AsyncIterator[ResettingProxy]:
    async with ResettingProxy(own_redis.port) as proxy:
        yield proxy


@pytest.fixture
async def stores(proxy: ResettingProxy) -> AsyncIterator[tuple[RedisTaskStore, RedisKeyStore]]:
    """The production client's stores, through the proxy, with a task and a key stored, and
    eight connections waiting in the pool."""
    client = make_redis(Settings(redis_url=proxy.url))
    tasks = RedisTaskStore(client, namespace="reset", task_ttl_s=3600)
    keys = RedisKeyStore(client, namespace="reset")
    await tasks.create_task(task_record("task_1"), queued())
    await keys.add_key(KEY)
    await asyncio.gather(*(tasks.get_task("task_1") for _ in range(8)))
    yield tasks, keys
    await client.aclose()


async def reset(proxy: ResettingProxy) -> None:
    proxy.reset()
    await asyncio.sleep(0.1)  # the resets reach the pooled connections


async def test_reads_after_a_reset_are_answered(
    proxy: ResettingProxy, stores: tuple[RedisTaskStore, RedisKeyStore]
) -> None:
    """Each read meets a dead connection first, and is answered from a fresh one."""
    tasks, keys = stores
    await reset(proxy)
    found = await asyncio.gather(
        tasks.get_task("task_1"),
        tasks.list_events("task_1"),
        tasks.list_tasks("alice", status=None, limit=10, cursor=None),
        keys.key_by_hash("h1"),
        keys.signing_secrets("key_1"),
        tasks.ping(),
    )
    assert found[0] == task_record("task_1")
    assert [event.status for event in found[1]] == [TaskStatus.QUEUED]
    assert [record.task_id for record in found[2].records] == ["task_1"]
    assert found[3] == KEY
    assert found[4] is None


async def test_an_idempotency_claim_after_a_reset_is_made_once(
    proxy: ResettingProxy, stores: tuple[RedisTaskStore, RedisKeyStore]
) -> None:
    """A claim is repeatable: the first request's claim succeeds through a dead connection."""
    tasks, _ = stores
    await reset(proxy)
    claim = await tasks.claim_idempotency("alice", "scope", "fp", "task_2", NOW, 60)
    assert claim.is_new and claim.task_id == "task_2"


async def test_a_claim_read_with_its_key_after_a_reset_is_made_once(
    proxy: ResettingProxy, stores: tuple[RedisTaskStore, RedisKeyStore]
) -> None:
    """The claim and the key's read, pipelined, go through a dead connection too: the claim
    is made once (its repeat by the same task id answers "new" again) and the key is read."""
    tasks, _ = stores
    await reset(proxy)
    claim, key = await tasks.claim_idempotency_and_key("h1", "ci", "scope", "fp", "task_3", NOW, 60)
    assert claim.is_new and claim.task_id == "task_3"
    assert key == KEY


async def test_a_compare_and_set_after_a_reset_is_not_repeated(
    proxy: ResettingProxy, stores: tuple[RedisTaskStore, RedisKeyStore]
) -> None:
    """A task update may have run before its connection broke; it is left failed, not sent
    again (where a repeat would answer "lost the race" for its own write)."""
    tasks, _ = stores
    await reset(proxy)
    moved = msgspec.structs.replace(task_record("task_1"), version=2, status=TaskStatus.PROCESSING)
    with pytest.raises(StoreUnavailable):
        await tasks.update_task(moved, None)
