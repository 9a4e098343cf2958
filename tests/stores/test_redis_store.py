"""The store's contract, on fakeredis and (when REDIS_URL is set) on a real Redis."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import msgspec
import pytest
import redis.asyncio as aioredis

from adapter.core.errors import StoreUnavailable
from adapter.core.values import Admission, ApiKey, Budget, Event, TaskStatus
from adapter.stores.redis import RedisTaskStore
from adapter.stores.redis_keys import RedisKeyStore
from tests.stores.records import NOW, queued, task_record

pytestmark = pytest.mark.anyio
record = task_record


async def test_a_created_task_reads_back_with_its_first_event(store: RedisTaskStore) -> None:
    """Create stores the record and its first event together."""
    await store.create_task(record(), queued())
    got = await store.get_task("task_1")
    assert got is not None and got.cost_estimate == Decimal("0.06426")
    events = await store.list_events("task_1")
    assert [e.status for e in events] == [TaskStatus.QUEUED] and events[0].id


async def test_update_is_compare_and_set_on_the_version(store: RedisTaskStore) -> None:
    """Of two writers from the same version, one wins and only its event is appended."""
    await store.create_task(record(), queued())
    moved = msgspec.structs.replace(record(), version=2, status=TaskStatus.PROCESSING)
    event = Event(type="status", status=TaskStatus.PROCESSING, at=NOW)
    results = await asyncio.gather(*(store.update_task(moved, event) for _ in range(5)))
    assert results.count(True) == 1
    assert [e.status for e in await store.list_events("task_1")] == ["queued", "processing"]


async def test_every_task_key_has_a_ttl(
    store: RedisTaskStore, redis: aioredis.Redis, namespace: str
) -> None:
    """Tasks, events, indexes and schedules expire; nothing is kept forever."""
    await store.create_task(record(), queued())
    await store.acquire_refresh("task_1", 1000)
    await store.claim_idempotency("alice:abc", "fp", "task_1", NOW, 60)
    keys = sorted([k.decode() async for k in redis.scan_iter(match=f"{namespace}:*")])
    assert [k.removeprefix(namespace) for k in keys] == [
        ":due:tasks",
        ":idem:{alice:abc}",
        ":owner:{alice}:all",
        ":owner:{alice}:queued",
        ":tasks",
        ":{task_1}:events",
        ":{task_1}:refresh",
        ":{task_1}:task",
    ]
    for key in keys:
        assert await redis.pttl(key) > 0, key


async def test_a_keys_limits_are_kept_beside_it_and_its_task_lists_expire(
    store: RedisTaskStore, redis: aioredis.Redis, namespace: str
) -> None:
    """Admitted under a key: its open-task counter and budget sums live as long as the key
    (no TTL), its minute window 60 s, its task list and ledger day as long as they count."""
    budget = Budget(Decimal(1), "total")
    admission = Admission("key_1", per_minute=5, max_open=5, budget=budget)
    await store.create_task(record(admitted_by="key_1"), queued(), admission)
    keys = sorted([k.decode() async for k in redis.scan_iter(match=f"{namespace}:key:*")])
    ttls = {k.removeprefix(namespace): await redis.pttl(k) for k in keys}
    assert sorted(ttls) == [
        ":key:{key_1}:open",
        ":key:{key_1}:recent",
        ":key:{key_1}:spend",
        ":key:{key_1}:tasks",
        f":key:{{key_1}}:usage:{NOW:%Y-%m-%d}",
    ]
    assert ttls[":key:{key_1}:open"] == ttls[":key:{key_1}:spend"] == -1
    assert 0 < ttls[":key:{key_1}:recent"] <= 60_000
    assert ttls[":key:{key_1}:tasks"] > 0 and ttls[f":key:{{key_1}}:usage:{NOW:%Y-%m-%d}"] > 0


async def test_an_idempotency_claim_is_made_once(store: RedisTaskStore) -> None:
    """The first claim wins; later ones see its task id and fingerprint."""
    first = await store.claim_idempotency("s", "fp1", "task_a", NOW, 60)
    second = await store.claim_idempotency("s", "fp2", "task_b", NOW, 60)
    assert first.is_new and not second.is_new
    assert (second.task_id, second.fingerprint, second.claimed_at) == ("task_a", "fp1", NOW)


async def test_a_claim_run_again_by_its_own_task_is_still_its_own(store: RedisTaskStore) -> None:
    """The same claim twice (its answer was lost and it is repeated) is new both times, so the
    request goes on to create its task instead of waiting for itself."""
    first = await store.claim_idempotency("s", "fp", "task_a", NOW, 60)
    again = await store.claim_idempotency("s", "fp", "task_a", NOW, 60)
    assert first == again
    assert again.is_new and again.task_id == "task_a"
    assert not (await store.claim_idempotency("s", "fp", "task_b", NOW, 60)).is_new


async def test_only_the_claims_own_task_can_release_it(store: RedisTaskStore) -> None:
    """A stale releaser cannot drop a claim that now belongs to another task."""
    await store.claim_idempotency("s", "fp", "task_a", NOW, 60)
    await store.release_idempotency("s", "task_other")
    assert not (await store.claim_idempotency("s", "fp", "task_b", NOW, 60)).is_new
    await store.release_idempotency("s", "task_a")
    assert (await store.claim_idempotency("s", "fp", "task_b", NOW, 60)).is_new


async def test_the_refresh_lease_is_held_by_one(store: RedisTaskStore) -> None:
    """acquire_refresh succeeds once until the lease lapses."""
    assert await store.acquire_refresh("t", 5000)
    assert not await store.acquire_refresh("t", 5000)
    await store.extend_refresh("t", 1)
    await asyncio.sleep(0.01)
    assert await store.acquire_refresh("t", 5000)


async def test_delete_forgets_the_task_and_its_events(store: RedisTaskStore) -> None:
    """A task that was never accepted leaves nothing behind."""
    await store.create_task(record(), queued())
    assert await store.delete_task("task_1", 1)
    assert await store.get_task("task_1") is None
    assert await store.list_events("task_1") == []


async def test_delete_keeps_a_task_that_changed_since(store: RedisTaskStore) -> None:
    """A task adopted meanwhile (version 2) survives a delete meant for version 1."""
    await store.create_task(record(), queued())
    assert await store.update_task(msgspec.structs.replace(record(), version=2), None)
    assert not await store.delete_task("task_1", 1)
    assert await store.get_task("task_1") is not None


async def test_redis_errors_become_store_unavailable() -> None:
    """An unreachable Redis is a StoreUnavailable, not a redis-py exception."""
    dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=None)
    store = RedisTaskStore(dead, task_ttl_s=60)
    with pytest.raises(StoreUnavailable):
        await store.get_task("t")
    await dead.aclose()


async def test_keys_are_found_by_hash_listed_disabled_and_deleted(key_store: RedisKeyStore) -> None:
    """The key store's whole life cycle."""
    key = ApiKey(id="key_1", name="ci", owner="ci", key_hash="h1", status="active", created_at=NOW)
    await key_store.add_key(key)
    assert await key_store.key_by_hash("h1") == key
    assert [k.id for k in await key_store.list_keys()] == ["key_1"]
    disabled = msgspec.structs.replace(key, status="disabled", models=("kling-v3",))
    assert await key_store.replace_key(disabled)
    assert await key_store.key_by_hash("h1") == disabled
    assert await key_store.delete_key("key_1")
    assert await key_store.key_by_hash("h1") is None
    assert not await key_store.delete_key("key_1")
    assert not await key_store.replace_key(disabled)  # a deleted key is never revived


@pytest.mark.parametrize("after", ["abc", "1-2-3", "-1", "1-", f"{2**64}-0", "1-" + "9" * 21])
async def test_an_event_id_the_store_never_made_is_a_value_error(
    store: RedisTaskStore, after: str
) -> None:
    """The store owns its ids' syntax (Redis stream ids): a malformed one is named, never
    sent to Redis, where it would be an error reply (a 503)."""
    with pytest.raises(ValueError, match="not an event id"):
        await store.list_events("task_1", after=after)
