"""The store's contract, on fakeredis and (when REDIS_URL is set) on a real Redis."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import msgspec
import pytest
import redis.asyncio as aioredis

from adapter.core.errors import StoreUnavailable
from adapter.core.values import Admission, ApiKey, Budget, Event, TaskStatus
from adapter.stores.redis import RedisTaskStore, UnusableStore
from adapter.stores.redis_keys import RedisKeyStore
from adapter.stores.redis_keyspace import KeySpace
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
    await store.claim_idempotency("alice", "alice:abc", "fp", "task_1", NOW, 60)
    keys = sorted([k.decode() async for k in redis.scan_iter(match=f"{namespace}:*")])
    assert [k.removeprefix(namespace) for k in keys] == [
        ":{27}:due:tasks",
        ":{27}:r:task_1",
        ":{27}:t:task_1",
        ":{27}:tasks",
        ":{7}:i:9hq_Sa_idbGEI0VIFkQmkl",
        ":{7}:o:alice:all",
        ":{7}:o:alice:queued",
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
    keys = sorted([k.decode() async for k in redis.scan_iter(match=f"{namespace}:{{14}}:k:*")])
    ttls = {k.removeprefix(namespace): await redis.pttl(k) for k in keys}
    assert sorted(ttls) == [
        ":{14}:k:key_1:open",
        ":{14}:k:key_1:recent",
        ":{14}:k:key_1:spend",
        ":{14}:k:key_1:tasks",
        f":{{14}}:k:key_1:usage:{NOW:%Y-%m-%d}",
    ]
    assert ttls[":{14}:k:key_1:open"] == ttls[":{14}:k:key_1:spend"] == -1
    assert 0 < ttls[":{14}:k:key_1:recent"] <= 60_000
    assert ttls[":{14}:k:key_1:tasks"] > 0 and ttls[f":{{14}}:k:key_1:usage:{NOW:%Y-%m-%d}"] > 0


async def test_an_idempotency_claim_is_made_once(store: RedisTaskStore) -> None:
    """The first claim wins; later ones see its task id and fingerprint."""
    first = await store.claim_idempotency("alice", "s", "fp1", "task_a", NOW, 60)
    second = await store.claim_idempotency("alice", "s", "fp2", "task_b", NOW, 60)
    assert first.is_new and not second.is_new
    assert (second.task_id, second.fingerprint, second.claimed_at) == ("task_a", "fp1", NOW)


async def test_a_claim_run_again_by_its_own_task_is_still_its_own(store: RedisTaskStore) -> None:
    """The same claim twice (its answer was lost and it is repeated) is new both times, so the
    request goes on to create its task instead of waiting for itself."""
    first = await store.claim_idempotency("alice", "s", "fp", "task_a", NOW, 60)
    again = await store.claim_idempotency("alice", "s", "fp", "task_a", NOW, 60)
    assert first == again
    assert again.is_new and again.task_id == "task_a"
    assert not (await store.claim_idempotency("alice", "s", "fp", "task_b", NOW, 60)).is_new


async def test_only_the_claims_own_task_can_release_it(store: RedisTaskStore) -> None:
    """A stale releaser cannot drop a claim that now belongs to another task."""
    await store.claim_idempotency("alice", "s", "fp", "task_a", NOW, 60)
    await store.release_idempotency("alice", "s", "task_other")
    assert not (await store.claim_idempotency("alice", "s", "fp", "task_b", NOW, 60)).is_new
    await store.release_idempotency("alice", "s", "task_a")
    assert (await store.claim_idempotency("alice", "s", "fp", "task_b", NOW, 60)).is_new


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


@pytest.mark.parametrize("after", ["abc", "1-2", "-1", "0", "01", "1.0", "9" * 10, ""])
async def test_an_event_id_the_store_never_made_is_a_value_error(
    store: RedisTaskStore, after: str
) -> None:
    """The store owns its ids' syntax (an event's place among its task's events, from 1): a
    malformed one is named, never read as some other event."""
    with pytest.raises(ValueError, match="not an event id"):
        await store.list_events("task_1", after=after)


async def test_an_event_id_is_its_place_and_a_read_after_it_gets_the_rest(
    store: RedisTaskStore,
) -> None:
    """Ids are 1, 2, 3... in the order the events were appended; webhook attempts count too."""
    await store.create_task(record(), queued())
    moved = msgspec.structs.replace(record(), version=2, status=TaskStatus.SUCCEEDED)
    assert await store.update_task(moved, Event(type="status", status=moved.status, at=NOW))
    attempt = Event(type="webhook", at=NOW, attempt=1, response_status=500, message="x" * 3000)
    await store.record_attempt("task_1", attempt, None)
    events = await store.list_events("task_1")
    assert [(e.id, e.type) for e in events] == [("1", "status"), ("2", "status"), ("3", "webhook")]
    assert events[2] == msgspec.structs.replace(attempt, id="3")
    assert [e.id for e in await store.list_events("task_1", after="1")] == ["2", "3"]
    assert await store.list_events("task_1", after="3") == []
    assert await store.list_events("task_unknown") == []


async def test_a_webhook_attempt_on_a_task_that_expired_records_nothing(
    store: RedisTaskStore,
) -> None:
    """The attempt's event has no task to join: no task is made up for it."""
    attempt = Event(type="webhook", at=NOW, attempt=1, response_status=200)
    await store.record_attempt("task_gone", attempt, None)
    assert await store.get_task("task_gone") is None
    assert await store.list_events("task_gone") == []


async def test_a_finished_task_and_its_events_are_kept_in_a_few_hundred_bytes(
    store: RedisTaskStore, redis: aioredis.Redis, namespace: str
) -> None:
    """One string per task, its record and events compressed with the shared dictionary."""
    await store.create_task(record(), queued())
    done = msgspec.structs.replace(record(), version=2, status=TaskStatus.SUCCEEDED)
    assert await store.update_task(done, Event(type="status", status=done.status, at=NOW))
    stored = await redis.get(KeySpace(namespace).task("task_1"))
    assert stored is not None and len(stored) < 400
    assert await store.get_task("task_1") == done


async def test_a_namespace_of_the_earlier_layout_is_refused_and_a_new_one_is_marked(
    store: RedisTaskStore, redis: aioredis.Redis, namespace: str
) -> None:
    """Its tasks are not lost to a silent upgrade: the start says what to do."""
    await store.prepare()
    assert await redis.get(f"{namespace}:layout") == b"2"
    await redis.zadd(f"{namespace}:due:tasks", {"task_old": 1})
    with pytest.raises(UnusableStore, match="MVA_REDIS_NAMESPACE"):
        await store.prepare()


async def test_a_redis_older_than_7_is_refused_at_start(
    store: RedisTaskStore, redis: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scripts publish with SPUBLISH (Redis 7): an older server is named, not half-used."""

    async def redis_6(section: str) -> dict[str, str]:
        return {"redis_version": "6.2.14"}

    old = RedisTaskStore(redis, task_ttl_s=60)
    monkeypatch.setattr(redis, "info", redis_6)
    with pytest.raises(UnusableStore, match=r"Redis 6\.2 is too old: .* Redis 7\.0 or later"):
        await old.prepare()
