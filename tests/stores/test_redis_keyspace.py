"""``KeySpace`` spells every key exactly as data already stored under it was written."""

from __future__ import annotations

import msgspec
import pytest
import redis.asyncio as aioredis
from fakeredis import FakeAsyncRedis
from redis.crc import key_slot

from adapter.core.shards import new_key_id, new_task_id, owner_shard
from adapter.core.values import ApiKey, Event, SigningSecrets, TaskStatus
from adapter.stores.redis import RedisTaskStore
from adapter.stores.redis_keys import RedisKeyStore
from adapter.stores.redis_keyspace import KeySpace
from adapter.stores.redis_scripts import TaskScripts
from tests.stores.records import NOW, queued, task_record


def test_each_key_template_is_the_string_stored_data_is_found_by() -> None:
    """Pinned: a changed template would orphan every key written under the old one. ("task_1"
    was not minted in a shard: a hash of it places it, in shard 27; "alice" is in shard 7.)"""
    keys = KeySpace("mva")
    assert keys.task("task_1") == "mva:{27}:t:task_1"
    assert keys.refresh("task_1") == "mva:{27}:r:task_1"
    assert keys.idempotency("alice", "alice:abc") == "mva:{7}:i:9hq_Sa_idbGEI0VIFkQmkl"
    assert keys.owner_index("alice", None, "live") == "mva:{7}:o:alice:all"
    assert keys.owner_index("alice", TaskStatus.FAILED, "live") == "mva:{7}:o:alice:failed"
    assert keys.owner_index("alice", None, "test") == "mva:{7}:o:alice:test:all"
    assert keys.owner_indexes("alice", "test")[0] == "mva:{7}:o:alice:test:queued"
    assert keys.owner_indexes("alice", "live") == [
        "mva:{7}:o:alice:queued",
        "mva:{7}:o:alice:processing",
        "mva:{7}:o:alice:succeeded",
        "mva:{7}:o:alice:failed",
        "mva:{7}:o:alice:cancelled",
        "mva:{7}:o:alice:all",
    ]
    assert keys.due("tasks", 3) == "mva:{3}:due:tasks"
    assert keys.due("webhooks", 63) == "mva:{63}:due:webhooks"
    assert keys.every_task(5) == "mva:{5}:tasks"
    assert keys.channel(17) == "mva:{17}:events"
    assert keys.channels()[0] == "mva:{0}:events" and len(keys.channels()) == 64
    assert keys.layout == "mva:layout"
    assert keys.api_key("5e3c") == "mva:apikey:5e3c"
    assert keys.api_key_ids == "mva:apikeys"
    assert keys.signing_secrets("key_1") == "mva:whsec:key_1"
    assert keys.api_key_used == "mva:apikeys:used"
    assert keys.api_key_load("key_1") == [
        "mva:{14}:k:key_1:open",
        "mva:{14}:k:key_1:recent",
        "mva:{14}:k:key_1:spend",
    ]
    assert keys.usage("key_1", "2026-11-23") == "mva:{14}:k:key_1:usage:2026-11-23"
    assert keys.key_tasks("key_1") == "mva:{14}:k:key_1:tasks"
    assert keys.key_tasks(keys.no_key(9)) == "mva:{9}:k:-9:tasks"
    assert keys.query_budget("kling") == "mva:pace:{kling}:budget"
    assert keys.completions("kling", "kling-v3") == "mva:pace:{kling|kling-v3}:done"


@pytest.mark.parametrize("key_id", [None, "own key"])
def test_every_key_a_task_script_names_is_in_the_hash_slot_of_its_owner(
    key_id: str | None,
) -> None:
    """On Redis Cluster a script may name keys of one slot only: a task minted for an owner,
    the owner's indexes and claims, their key's counters and the shard's schedules share it."""
    keys = KeySpace("mva")
    owner = "a tenant with a long name"
    task_id = new_task_id(owner)
    scripts = TaskScripts(FakeAsyncRedis(), keys)
    named = scripts._task_keys(
        task_id, owner, "test", new_key_id(owner) if key_id else None, "2026-11-29"
    )
    named += [keys.refresh(task_id), keys.idempotency(owner, f"{owner}:abc")]
    assert len(named) == 17
    assert {key_slot(key.encode()) for key in named} == {
        key_slot(f"{{{owner_shard(owner)}}}".encode())
    }


@pytest.mark.anyio
async def test_the_task_store_announces_on_its_keyspace_channel(
    store: RedisTaskStore, namespace: str
) -> None:
    """The feed subscribes to ``RedisTaskStore.channels``: those the scripts publish on."""
    assert store.channels == KeySpace(namespace).channels()
    assert store.channels[27] == f"{namespace}:{{27}}:events"


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
    await store.claim_idempotency("alice", "alice:abc", "fp", "task_1", NOW, 60)
    key = ApiKey(id="key_1", name="ci", owner="ci", key_hash="h1", status="active", created_at=NOW)
    await key_store.add_key(key)
    await key_store.add_signing_secrets("key_1", SigningSecrets(current="whsec_Zmlyc3Q="))
    keys = sorted([k.decode() async for k in redis.scan_iter(match=f"{namespace}:*")])
    assert [k.removeprefix(namespace) for k in keys] == [
        ":apikey:h1",
        ":apikeys",
        ":whsec:key_1",
        ":{27}:due:webhooks",
        ":{27}:r:task_1",
        ":{27}:t:task_1",
        ":{27}:tasks",
        ":{7}:i:9hq_Sa_idbGEI0VIFkQmkl",
        ":{7}:o:alice:all",
        ":{7}:o:alice:succeeded",
    ]
