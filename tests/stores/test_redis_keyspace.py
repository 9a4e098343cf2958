"""``KeySpace`` spells every key exactly as data already stored under it was written."""

from __future__ import annotations

import msgspec
import pytest
import redis.asyncio as aioredis

from adapter.core.values import ApiKey, Event, SigningSecrets, TaskStatus
from adapter.stores.redis import RedisTaskStore
from adapter.stores.redis_keys import RedisKeyStore
from adapter.stores.redis_keyspace import KeySpace
from tests.stores.records import NOW, queued, task_record


def test_each_key_template_is_the_string_stored_data_is_found_by() -> None:
    """Pinned: a changed template would orphan every key written under the old one."""
    keys = KeySpace("mva")
    assert keys.task("task_1") == "mva:{task_1}:task"
    assert keys.events("task_1") == "mva:{task_1}:events"
    assert keys.refresh("task_1") == "mva:{task_1}:refresh"
    assert keys.idempotency("alice:abc") == "mva:idem:{alice:abc}"
    assert keys.owner_index("alice", None, "live") == "mva:owner:{alice}:all"
    assert keys.owner_index("alice", TaskStatus.FAILED, "live") == "mva:owner:{alice}:failed"
    assert keys.owner_index("alice", None, "test") == "mva:owner:{alice}:test:all"
    assert keys.owner_indexes("alice", "test")[0] == "mva:owner:{alice}:test:queued"
    assert keys.owner_indexes("alice", "live") == [
        "mva:owner:{alice}:queued",
        "mva:owner:{alice}:processing",
        "mva:owner:{alice}:succeeded",
        "mva:owner:{alice}:failed",
        "mva:owner:{alice}:cancelled",
        "mva:owner:{alice}:all",
    ]
    assert keys.due("tasks") == "mva:due:tasks"
    assert keys.due("webhooks") == "mva:due:webhooks"
    assert keys.channel == "mva:events"
    assert keys.api_key("5e3c") == "mva:apikey:5e3c"
    assert keys.api_key_ids == "mva:apikeys"
    assert keys.signing_secrets("key_1") == "mva:whsec:key_1"
    assert keys.api_key_used == "mva:apikeys:used"
    assert keys.api_key_load("key_1") == [
        "mva:key:{key_1}:open",
        "mva:key:{key_1}:recent",
        "mva:key:{key_1}:spend",
    ]
    assert keys.usage("key_1", "2026-11-23") == "mva:key:{key_1}:usage:2026-11-23"
    assert keys.key_tasks("key_1") == "mva:key:{key_1}:tasks"
    assert keys.every_task == "mva:tasks"


@pytest.mark.anyio
async def test_the_task_store_announces_on_its_keyspace_channel(
    store: RedisTaskStore, namespace: str
) -> None:
    """The feed subscribes to ``RedisTaskStore.channel``: the channel the scripts publish on."""
    assert store.channel == KeySpace(namespace).channel == f"{namespace}:events"


@pytest.mark.anyio
async def test_the_stores_write_under_the_pinned_keys(
    store: RedisTaskStore, key_store: RedisKeyStore, redis: aioredis.Redis, namespace: str
) -> None:
    """What the two stores write, they write under exactly these keys and no others."""
    record = task_record(webhook_url="https://example.com/hook")
    await store.create_task(record, queued())
    done = msgspec.structs.replace(record, version=2, status=TaskStatus.SUCCEEDED)
    assert await store.update_task(done, Event(type="status", status=done.status, at=NOW))
    await store.acquire_refresh("task_1", 60_000)  # held past the scan on a busy machine
    await store.claim_idempotency("alice:abc", "fp", "task_1", NOW, 60)
    key = ApiKey(id="key_1", name="ci", owner="ci", key_hash="h1", status="active", created_at=NOW)
    await key_store.add_key(key)
    await key_store.add_signing_secrets("key_1", SigningSecrets(current="whsec_Zmlyc3Q="))
    keys = sorted([k.decode() async for k in redis.scan_iter(match=f"{namespace}:*")])
    assert [k.removeprefix(namespace) for k in keys] == [
        ":apikey:h1",
        ":apikeys",
        ":due:webhooks",
        ":idem:{alice:abc}",
        ":owner:{alice}:all",
        ":owner:{alice}:succeeded",
        ":tasks",
        ":whsec:key_1",
        ":{task_1}:events",
        ":{task_1}:refresh",
        ":{task_1}:task",
    ]
