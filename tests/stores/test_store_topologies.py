"""The task store's contract on every topology: fakeredis, the real Redis of REDIS_URL (when
set), a local Redis Cluster and a Sentinel-managed master.

Every id here is minted in its owner's shard (``new_task_id``, ``new_key_id``), as the service
mints them: a hand-made id is placed by a hash and would name keys of another slot than its
owner's on a cluster. Several owners are used where the store reads across shards (the admin
list, the schedules), so on a cluster those reads span its masters.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import fakeredis
import msgspec
import pytest
from redis.crc import key_slot

from adapter.core.errors import BudgetExceeded, ConcurrencyLimitReached, RateLimited
from adapter.core.shards import new_key_id, new_task_id, owner_shard
from adapter.core.values import (
    Admission,
    ApiKey,
    Budget,
    Event,
    Mode,
    TaskRecord,
    TaskStatus,
)
from adapter.service.keys import hash_key
from adapter.stores.redis import RedisTaskStore
from adapter.stores.redis_client import RedisClient
from adapter.stores.redis_feed import RedisEventFeed
from adapter.stores.redis_keys import RedisKeyStore
from tests.conftest import backend_client
from tests.stores.records import NOW, task_record

pytestmark = pytest.mark.anyio
HOOK = "https://client.example/hook"
#: Twelve owners in twelve shards; the first three's shards are in the slots of each of the
#: local cluster's three masters (``redis-cli --cluster create`` splits 16384 slots in thirds).
OWNERS = [f"owner-{n}" for n in (0, 6, 3, 13, 7, 1, 12, 2, 15, 4, 18, 5)]


@pytest.fixture
def redis(redis_on_every_topology: RedisClient) -> RedisClient:
    """This module runs on every topology: also a Redis Cluster and a Sentinel-managed master."""
    return redis_on_every_topology


@pytest.fixture
async def other_redis(
    request: pytest.FixtureRequest, redis: RedisClient
) -> AsyncIterator[RedisClient]:
    """A second client of the same Redis (or fakeredis server), as another process has."""
    topology: str = request.node.callspec.params["redis_on_every_topology"]
    if topology == "fakeredis":
        assert isinstance(redis, fakeredis.FakeAsyncRedis)
        given = redis.connection_pool.connection_kwargs
        client = fakeredis.FakeAsyncRedis(host=given["host"], port=given["port"])
        yield client
        await client.aclose()
        return
    async with backend_client(request, topology) as client:
        yield client


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def record(owner: str = "alice", *, created_s: float = 0, **changes: Any) -> TaskRecord:
    """A queued task of ``owner``'s with an id of their shard, created at NOW + ``created_s``."""
    return task_record(new_task_id(owner), owner=owner, created_s=created_s, **changes)


def status(value: TaskStatus, seconds: float = 0) -> Event:
    return Event(type="status", status=value, at=at(seconds))


async def created(store: RedisTaskStore, *records: TaskRecord) -> list[TaskRecord]:
    for each in records:
        await store.create_task(each, status(TaskStatus.QUEUED))
    return list(records)


async def moved(
    store: RedisTaskStore, task: TaskRecord, to: TaskStatus, **changes: Any
) -> TaskRecord:
    """Store ``task`` in ``to`` (one version on) with its status event."""
    new = msgspec.structs.replace(task, version=task.version + 1, status=to, **changes)
    assert await store.update_task(new, status(to))
    return new


def master_of(owner: str) -> int:
    """Which of the local cluster's three masters serves ``owner``'s shard (0, 1 or 2)."""
    slot = key_slot(f"{{{owner_shard(owner)}}}".encode())
    return 0 if slot <= 5460 else 1 if slot <= 10922 else 2


def test_the_owners_are_in_shards_of_their_own_over_every_master() -> None:
    """What the scenarios below rely on: reads across shards reach every node."""
    assert len({owner_shard(owner) for owner in OWNERS}) == len(OWNERS)
    assert [master_of(owner) for owner in OWNERS[:3]] == [0, 1, 2]


async def test_a_task_reads_back_with_its_events_numbered_from_one(store: RedisTaskStore) -> None:
    """Create, update and a webhook attempt append events 1, 2 and 3; a read after an id gets
    those after it."""
    (task,) = await created(store, record(webhook_url=HOOK))
    done = await moved(store, task, TaskStatus.SUCCEEDED)
    attempt = Event(type="webhook", at=NOW, attempt=1, response_status=200)
    await store.record_attempt(task.task_id, attempt, None)
    assert await store.get_task(task.task_id) == done
    events = await store.list_events(task.task_id)
    assert [(e.id, e.type, e.status) for e in events] == [
        ("1", "status", TaskStatus.QUEUED),
        ("2", "status", TaskStatus.SUCCEEDED),
        ("3", "webhook", None),
    ]
    assert [e.id for e in await store.list_events(task.task_id, after="1")] == ["2", "3"]
    assert await store.list_events(task.task_id, after="3") == []


async def test_of_five_concurrent_writers_from_one_version_one_wins(store: RedisTaskStore) -> None:
    """Compare-and-set on the version: one update is stored, with its one event."""
    (task,) = await created(store, record())
    new = msgspec.structs.replace(task, version=2, status=TaskStatus.PROCESSING)
    results = await asyncio.gather(
        *(store.update_task(new, status(TaskStatus.PROCESSING)) for _ in range(5))
    )
    assert results.count(True) == 1
    assert [e.status for e in await store.list_events(task.task_id)] == ["queued", "processing"]
    stale = msgspec.structs.replace(task, version=2, status=TaskStatus.FAILED)
    assert not await store.update_task(stale, status(TaskStatus.FAILED))
    got = await store.get_task(task.task_id)
    assert got is not None and got.status is TaskStatus.PROCESSING


async def pages(
    store: RedisTaskStore, owner: str, state: TaskStatus | None, mode: Mode, limit: int
) -> list[list[str]]:
    found: list[list[str]] = []
    cursor: str | None = None
    for _ in range(20):
        page = await store.list_tasks(owner, status=state, limit=limit, cursor=cursor, mode=mode)
        found.append([r.task_id for r in page.records])
        cursor = page.next_cursor
        if cursor is None:
            return found
    raise AssertionError("the cursor never ended")


async def test_an_owners_list_pages_by_cursor_per_status_and_mode(store: RedisTaskStore) -> None:
    """Seven live tasks and three test ones: the live list pages newest first without the
    test ones, each status lists its own, and the test list is apart."""
    live = await created(store, *(record(created_s=i) for i in range(7)))
    tests = await created(store, *(record(created_s=10 + i, mode="test") for i in range(3)))
    await created(store, record("bob", created_s=20))
    for task in live[1::2]:
        await moved(store, task, TaskStatus.PROCESSING)
    newest_first = [t.task_id for t in reversed(live)]
    assert await pages(store, "alice", None, "live", 3) == [
        newest_first[:3],
        newest_first[3:6],
        newest_first[6:],
    ]
    processing = [t.task_id for t in reversed(live[1::2])]
    assert await pages(store, "alice", TaskStatus.PROCESSING, "live", 2) == [
        processing[:2],
        processing[2:],
    ]
    queued = [t.task_id for t in reversed(live[0::2])]
    assert [i for p in await pages(store, "alice", TaskStatus.QUEUED, "live", 3) for i in p] == (
        queued
    )
    assert await pages(store, "alice", None, "test", 2) == [
        [tests[2].task_id, tests[1].task_id],
        [tests[0].task_id],
    ]


async def test_the_admin_list_merges_every_owners_shard_newest_first(
    store: RedisTaskStore,
) -> None:
    """Twelve owners' tasks (twelve shards) are listed as one, newest first, in pages by
    cursor; a status filter keeps only the tasks in that status."""
    tasks = await created(
        store, *(record(owner, created_s=n) for n, owner in enumerate(reversed(OWNERS)))
    )
    for task in tasks[:4]:
        await moved(store, task, TaskStatus.SUCCEEDED)
    listed: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        page = await store.list_every_task(
            key_id=None, status=None, model=None, limit=5, cursor=cursor
        )
        listed += [r.task_id for r in page.records]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert listed == [t.task_id for t in reversed(tasks)]
    done = await store.list_every_task(
        key_id=None, status=TaskStatus.SUCCEEDED, model=None, limit=10, cursor=None
    )
    assert [r.task_id for r in done.records] == [t.task_id for t in reversed(tasks[:4])]


async def test_due_tasks_are_claimed_across_shards_earliest_first_held_and_rescheduled(
    store: RedisTaskStore,
) -> None:
    """Twelve owners' tasks, due at their creation: a claim takes the earliest of all shards
    first and holds them; once held they are not claimed again until the hold ends; a
    rescheduled one is due at its new time."""
    tasks = await created(store, *(record(owner, created_s=n) for n, owner in enumerate(OWNERS)))
    ids = [t.task_id for t in tasks]

    async def claim(now_s: float, limit: int = 20, hold_s: float = 30) -> list[str]:
        return await store.claim_due("tasks", now=at(now_s), limit=limit, hold_s=hold_s)

    assert await claim(100, limit=5) == ids[:5]  # held until 130
    assert await claim(110) == ids[5:]  # held until 140
    assert await claim(129) == []
    await store.reschedule("tasks", {ids[0]: at(200)})
    # The held ones come due again together (one due time: in no set order among them).
    assert sorted(await claim(130, hold_s=900)) == sorted(ids[1:5])  # until 1030
    assert sorted(await claim(140, hold_s=900)) == sorted(ids[5:])  # until 1040
    assert await claim(199) == []
    assert await claim(200, hold_s=900) == [ids[0]]  # until 1100
    for task_id in ids[1:5]:
        await store.unschedule("tasks", task_id)
    oldest = await store.oldest_due()
    assert oldest["tasks"] == at(1040) and oldest["webhooks"] is None


async def test_tasks_are_read_together_across_shards_in_the_order_asked(
    store: RedisTaskStore,
) -> None:
    """Twelve owners' tasks read in one call come back in the order of the ids asked for,
    with ``None`` for an id never stored, and as ``get_task`` reads each."""
    tasks = await created(store, *(record(owner) for owner in OWNERS))
    asked = [t.task_id for t in reversed(tasks)]
    asked.insert(3, new_task_id(OWNERS[0]))
    found = await store.get_tasks(asked)
    assert found[3] is None
    assert [r.task_id for r in found if r is not None] == [t.task_id for t in reversed(tasks)]
    assert found[0] == await store.get_task(asked[0])
    assert await store.get_tasks([]) == []


async def stored_key(
    store: RedisTaskStore, redis: RedisClient, owner: str
) -> tuple[RedisKeyStore, ApiKey]:
    """An active API key of ``owner``'s, stored beside ``store`` (the caller deletes it)."""
    keys = RedisKeyStore(redis, namespace=store.namespace)
    key = ApiKey(
        id=new_key_id(owner),
        name="n",
        owner=owner,
        key_hash=hash_key(owner),
        status="active",
        created_at=NOW,
    )
    await keys.add_key(key)
    return keys, key


async def test_a_task_and_an_api_key_are_read_together(
    store: RedisTaskStore, redis: RedisClient
) -> None:
    """A request's task and key, in other slots on a cluster, come back from one read; either
    may be missing."""
    keys, key = await stored_key(store, redis, OWNERS[2])
    (task,) = await created(store, record(OWNERS[2]))
    assert await store.get_task_and_key(task.task_id, key.key_hash) == (task, key)
    assert await store.get_task_and_key(task.task_id, "x" * 64) == (task, None)
    missing = new_task_id(OWNERS[2])
    assert await store.get_task_and_key(missing, key.key_hash) == (None, key)
    await keys.delete_key(key.id)


async def test_an_idempotency_claim_and_an_api_key_are_made_and_read_together(
    store: RedisTaskStore, redis: RedisClient
) -> None:
    """A submit's claim and its key, in other slots on a cluster, in one round trip: a claim
    repeated by its task id is new again, another task id learns the holder; a server that
    does not know the script still claims, and loads it."""
    keys, key = await stored_key(store, redis, OWNERS[1])
    first, second = new_task_id(OWNERS[1]), new_task_id(OWNERS[1])

    async def claim(task_id: str, key_hash: str = key.key_hash) -> tuple[Any, ApiKey | None]:
        return await store.claim_idempotency_and_key(
            key_hash, OWNERS[1], "scope-1", "fp", task_id, NOW, 60
        )

    made, found = await claim(first)
    assert (made.is_new, made.task_id, made.fingerprint, found) == (True, first, "fp", key)
    assert (await claim(first))[0].is_new
    made, found = await claim(second, "x" * 64)
    assert (made.is_new, made.task_id, found) == (False, first, None)
    await store.release_idempotency(OWNERS[1], "scope-1", first)
    # A server that does not know the script (as after a restart): its hash is one no server
    # knows, rather than a SCRIPT FLUSH of a server other tests share.
    script = store._scripts._claim_idempotency
    known, script.sha = script.sha, "0" * 40
    made, found = await claim(second)
    assert (made.is_new, made.task_id, found) == (True, second, key)
    assert script.sha == known  # loaded again: the next claim is one round trip
    assert (await claim(first))[0].task_id == second
    await store.release_idempotency(OWNERS[1], "scope-1", second)
    await keys.delete_key(key.id)


async def test_an_update_without_an_event_replaces_the_record_alone(
    store: RedisTaskStore,
) -> None:
    """An adoption (no event): the record and its version change, compare-and-set; its
    events, its place in the owner's index and its schedule stay as they were."""
    (task,) = await created(store, record(OWNERS[3]))
    adopted = msgspec.structs.replace(task, version=2, upstream_id="up_1")
    assert await store.update_task(adopted, None)
    assert not await store.update_task(adopted, None)  # version 2 is taken
    assert await store.get_task(task.task_id) == adopted
    assert [e.status for e in await store.list_events(task.task_id)] == [TaskStatus.QUEUED]
    queued = await store.list_tasks(OWNERS[3], status=TaskStatus.QUEUED, limit=5, cursor=None)
    assert [r.task_id for r in queued.records] == [task.task_id]
    assert await store.claim_due("tasks", now=at(0), limit=5, hold_s=30) == [task.task_id]


async def test_many_tasks_are_rescheduled_at_once_across_shards_and_only_if_scheduled(
    store: RedisTaskStore,
) -> None:
    """One reschedule moves tasks of twelve shards, each to its own time; an id that is not
    on the schedule (never stored, or taken off) is not put on it."""
    tasks = await created(store, *(record(owner) for owner in OWNERS))
    ids = [t.task_id for t in tasks]
    await store.unschedule("tasks", ids[0])
    stranger = new_task_id(OWNERS[1])
    await store.reschedule("tasks", {task_id: at(100 + n) for n, task_id in enumerate(ids)})
    await store.reschedule("tasks", {stranger: at(50)})
    assert await store.claim_due("tasks", now=at(99), limit=20, hold_s=30) == []
    claimed = await store.claim_due("tasks", now=at(200), limit=20, hold_s=30)
    assert claimed == ids[1:]


async def test_webhook_attempts_are_events_and_move_the_delivery(store: RedisTaskStore) -> None:
    """A finished task with a webhook is due for delivery; a failed attempt is an event and
    puts the delivery later; the last one takes it off the schedule."""
    tasks = await created(store, *(record(owner, webhook_url=HOOK) for owner in OWNERS[:3]))
    for n, task in enumerate(tasks):
        await moved(store, task, TaskStatus.SUCCEEDED)
        assert [e.id for e in await store.list_events(task.task_id)] == ["1", "2"], n
    ids = [t.task_id for t in tasks]
    claimed = await store.claim_due("webhooks", now=at(0), limit=10, hold_s=1000)
    assert sorted(claimed) == sorted(ids)
    failed = Event(type="webhook", at=NOW, attempt=1, response_status=503)
    await store.record_attempt(ids[0], failed, at(60))
    await store.record_attempt(ids[1], msgspec.structs.replace(failed, response_status=200), None)
    events = await store.list_events(ids[0])
    assert [(e.id, e.type, e.response_status) for e in events][-1] == ("3", "webhook", 503)
    assert await store.claim_due("webhooks", now=at(59), limit=10, hold_s=1000) == []
    assert await store.claim_due("webhooks", now=at(60), limit=10, hold_s=1000) == [ids[0]]
    # ids[2] is due again as its hold ends; ids[1]'s delivery is over, ids[0] is held.
    assert await store.claim_due("webhooks", now=at(1000), limit=10, hold_s=1000) == [ids[2]]


async def test_a_deleted_task_is_gone_from_reads_and_lists_unless_it_changed(
    store: RedisTaskStore,
) -> None:
    gone, kept = await created(store, record(created_s=1), record(created_s=2))
    assert await store.delete_task(gone.task_id, 1)
    assert await store.get_task(gone.task_id) is None
    assert await store.list_events(gone.task_id) == []
    page = await store.list_tasks("alice", status=None, limit=10, cursor=None)
    assert [r.task_id for r in page.records] == [kept.task_id]
    assert await store.claim_due("tasks", now=at(10), limit=10, hold_s=30) == [kept.task_id]
    await moved(store, kept, TaskStatus.PROCESSING)
    assert not await store.delete_task(kept.task_id, 1)
    assert await store.get_task(kept.task_id) is not None


async def test_an_idempotency_claim_is_the_first_claimers_until_it_releases_it(
    store: RedisTaskStore,
) -> None:
    """Per owner and scope: the first claim is new, later ones see it; only its own task's
    release frees it; another owner's claim is theirs."""
    first, second = new_task_id("alice"), new_task_id("alice")
    won = await store.claim_idempotency("alice", "alice:order-1", "fp1", first, NOW, 60)
    lost = await store.claim_idempotency("alice", "alice:order-1", "fp2", second, NOW, 60)
    assert won.is_new and not lost.is_new
    assert (lost.task_id, lost.fingerprint, lost.claimed_at) == (first, "fp1", NOW)
    again = await store.claim_idempotency("alice", "alice:order-1", "fp1", first, NOW, 60)
    assert again.is_new  # its own claim, repeated
    theirs = new_task_id("bob")
    assert (await store.claim_idempotency("bob", "bob:order-1", "fp", theirs, NOW, 60)).is_new
    await store.release_idempotency("alice", "alice:order-1", second)
    assert not (
        await store.claim_idempotency("alice", "alice:order-1", "f", second, NOW, 60)
    ).is_new
    await store.release_idempotency("alice", "alice:order-1", first)
    assert (await store.claim_idempotency("alice", "alice:order-1", "fp2", second, NOW, 60)).is_new


async def admit(store: RedisTaskStore, admission: Admission, created_s: float = 0) -> TaskRecord:
    task = record(created_s=created_s, admitted_by=admission.key_id)
    await store.create_task(task, status(TaskStatus.QUEUED), admission)
    return task


async def test_a_keys_limits_hold_and_a_terminal_update_settles_them(
    store: RedisTaskStore,
) -> None:
    """Submits a minute, unfinished tasks and the budget are each checked in the create; an
    ended task gives its slot back and its reservation becomes its charge."""
    rpm = Admission(new_key_id("alice"), per_minute=2)
    await admit(store, rpm)
    await admit(store, rpm, created_s=1)
    with pytest.raises(RateLimited):
        await admit(store, rpm, created_s=2)
    await admit(store, rpm, created_s=61)  # the first left the minute

    limited = Admission(new_key_id("alice"), max_open=2)
    first = await admit(store, limited)
    await admit(store, limited)
    with pytest.raises(ConcurrencyLimitReached):
        await admit(store, limited)
    await moved(store, first, TaskStatus.SUCCEEDED)
    await admit(store, limited)
    with pytest.raises(ConcurrencyLimitReached):
        await admit(store, limited)

    budget = Admission(new_key_id("alice"), budget=Budget(Decimal("0.1"), "total"))
    spent = await admit(store, budget)  # reserves 0.06426
    with pytest.raises(BudgetExceeded):
        await admit(store, budget)
    assert await store.key_spend(budget.key_id, "total") == (Decimal("0.06426"), Decimal(0))
    await moved(store, spent, TaskStatus.SUCCEEDED, cost_actual=Decimal("0.02"))
    assert await store.key_spend(budget.key_id, "total") == (Decimal(0), Decimal("0.02"))
    await admit(store, budget)  # 0.02 charged + 0.06426 reserved fits in 0.1


async def test_a_refresh_lease_is_held_by_one_until_it_lapses(store: RedisTaskStore) -> None:
    task_id = new_task_id("alice")
    assert await store.acquire_refresh(task_id, 5000)
    assert not await store.acquire_refresh(task_id, 5000)
    await store.extend_refresh(task_id, 1)
    await asyncio.sleep(0.05)
    assert await store.acquire_refresh(task_id, 5000)


async def test_a_watcher_wakes_for_updates_made_through_another_client(
    store: RedisTaskStore, other_redis: RedisClient, namespace: str
) -> None:
    """The feed of one client (one process) wakes the watcher of a task of each of three
    owners, in three masters' slots on a cluster, when another client's store appends to its
    events. As a stream does, each reader reads the task's events before it watches."""
    feed = RedisEventFeed(store.redis, store.channels, subscribe_timeout_s=3)
    there = RedisTaskStore(other_redis, namespace=namespace, task_ttl_s=3600)
    tasks = await created(there, *(record(owner) for owner in OWNERS[:3]))
    try:
        for task in tasks:
            assert [e.id for e in await store.list_events(task.task_id)] == ["1"]
            async with feed.watch(task.task_id) as watch:
                await watch.wait(0)  # a fresh subscription wakes every watcher once
                assert not await watch.wait(0.05)
                await moved(there, task, TaskStatus.PROCESSING)
                assert await watch.wait(3), task.owner
    finally:
        await feed.aclose()
    assert [e.id for e in await store.list_events(tasks[2].task_id)] == ["1", "2"]


async def test_a_feed_subscribes_on_a_client_that_has_sent_no_command_yet(
    store: RedisTaskStore,
) -> None:
    """A process's first use of its Redis client may be the feed's subscription: it works
    then too (a cluster client learns where the slots are before subscribing at their
    nodes)."""
    feed = RedisEventFeed(store.redis, store.channels, subscribe_timeout_s=3)
    try:
        async with feed.watch(new_task_id("alice")) as watch:
            assert await watch.wait(0)
    finally:
        await feed.aclose()
