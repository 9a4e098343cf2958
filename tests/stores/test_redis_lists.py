"""Listing an owner's tasks: newest first, by cursor, per status, on fakeredis and a real Redis."""

from __future__ import annotations

import base64
from typing import Any

import msgspec
import pytest
import redis.asyncio as aioredis

from adapter.core.values import Event, TaskRecord, TaskStatus
from adapter.stores.redis import RedisTaskStore
from adapter.stores.redis_keyspace import KeySpace
from tests.stores.records import NOW, queued, task_record

pytestmark = pytest.mark.anyio


def record(task_id: str, *, ms: int = 0, **changes: Any) -> TaskRecord:
    """A queued task of alice's, created ``ms`` milliseconds after NOW."""
    return task_record(task_id, created_s=ms / 1000, **changes)


async def create(store: RedisTaskStore, *records: TaskRecord) -> None:
    for each in records:
        await store.create_task(each, queued())


async def moved(store: RedisTaskStore, task: TaskRecord, status: TaskStatus) -> TaskRecord:
    """Store ``task`` in ``status`` (one version on) with its status event."""
    new = msgspec.structs.replace(task, version=task.version + 1, status=status)
    assert await store.update_task(new, Event(type="status", status=status, at=NOW))
    return new


async def ids(
    store: RedisTaskStore, status: TaskStatus | None = None, owner: str = "alice"
) -> list[str]:
    page = await store.list_tasks(owner, status=status, limit=100, cursor=None)
    return [r.task_id for r in page.records]


async def every_page(store: RedisTaskStore, limit: int) -> list[list[str]]:
    """Follow ``next_cursor`` from the first page to the last."""
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        page = await store.list_tasks("alice", status=None, limit=limit, cursor=cursor)
        pages.append([r.task_id for r in page.records])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


async def test_tasks_are_listed_newest_first(store: RedisTaskStore) -> None:
    """The list is ordered by created_at, newest first, whatever the order of creation."""
    await create(store, record("mid", ms=5), record("old", ms=1), record("new", ms=9))
    assert await ids(store) == ["new", "mid", "old"]


async def test_pages_follow_the_cursor_to_the_end_without_gaps(store: RedisTaskStore) -> None:
    """25 tasks in pages of 10 read as 10, 10 and 5, newest first, the last without a cursor."""
    await create(store, *(record(f"t{i:02}", ms=i) for i in range(25)))
    pages = await every_page(store, limit=10)
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [i for page in pages for i in page] == [f"t{i:02}" for i in reversed(range(25))]


async def test_a_full_last_page_has_no_cursor(store: RedisTaskStore) -> None:
    """When the tasks fill the last page exactly, no empty page follows it."""
    await create(store, *(record(f"t{i:02}", ms=i) for i in range(20)))
    assert [len(p) for p in await every_page(store, limit=10)] == [10, 10]


async def test_tasks_of_the_same_millisecond_page_without_duplicates(
    store: RedisTaskStore,
) -> None:
    """Tasks sharing a created_at millisecond are each listed once across pages."""
    await create(store, *(record(f"t{i}") for i in range(7)), record("later", ms=1))
    pages = await every_page(store, limit=3)
    listed = [i for page in pages for i in page]
    assert [len(p) for p in pages] == [3, 3, 2]
    assert listed[0] == "later" and sorted(listed[1:]) == [f"t{i}" for i in range(7)]


async def test_a_task_created_after_page_one_does_not_shift_page_two(
    store: RedisTaskStore,
) -> None:
    """Page two continues after page one's last task, even though a newer task came first."""
    await create(store, *(record(f"t{i}", ms=i) for i in range(6)))
    first = await store.list_tasks("alice", status=None, limit=3, cursor=None)
    await create(store, record("newer", ms=100))
    second = await store.list_tasks("alice", status=None, limit=3, cursor=first.next_cursor)
    assert [r.task_id for r in first.records] == ["t5", "t4", "t3"]
    assert [r.task_id for r in second.records] == ["t2", "t1", "t0"]
    assert second.next_cursor is None


async def test_the_next_page_survives_the_deletion_of_its_cursor_task(
    store: RedisTaskStore,
) -> None:
    """When page one's last task leaves the index, page two still starts right after it,
    even among tasks of the same millisecond."""
    await create(store, *(record(f"t{i}") for i in range(5)))
    first = await store.list_tasks("alice", status=None, limit=2, cursor=None)
    assert await store.delete_task(first.records[-1].task_id, 1)
    rest = await store.list_tasks("alice", status=None, limit=10, cursor=first.next_cursor)
    seen = [r.task_id for r in first.records + rest.records]
    assert len(seen) == len(set(seen)) == 5


async def test_a_status_page_survives_its_cursor_task_changing_status(
    store: RedisTaskStore,
) -> None:
    """Paging the queued tasks goes on after page one's last task moved to processing,
    and finding its place does not leave it in the queued index."""
    await create(store, *(record(f"t{i}") for i in range(5)))
    first = await store.list_tasks("alice", status=TaskStatus.QUEUED, limit=2, cursor=None)
    await moved(store, first.records[-1], TaskStatus.PROCESSING)
    rest = await store.list_tasks(
        "alice", status=TaskStatus.QUEUED, limit=10, cursor=first.next_cursor
    )
    seen = [r.task_id for r in first.records + rest.records]
    assert len(seen) == len(set(seen)) == 5
    assert await ids(store, TaskStatus.PROCESSING) == [first.records[-1].task_id]
    assert first.records[-1].task_id not in await ids(store, TaskStatus.QUEUED)


async def test_the_status_filter_lists_only_tasks_in_that_status(store: RedisTaskStore) -> None:
    """Each status index holds the tasks currently in that status, newest first."""
    await create(store, record("a", ms=1), record("b", ms=2), record("c", ms=3))
    await moved(store, record("b", ms=2), TaskStatus.PROCESSING)
    assert await ids(store, TaskStatus.QUEUED) == ["c", "a"]
    assert await ids(store, TaskStatus.PROCESSING) == ["b"]
    assert await ids(store, TaskStatus.SUCCEEDED) == []
    assert await ids(store) == ["c", "b", "a"]


async def test_a_status_move_moves_the_task_between_status_indexes(
    store: RedisTaskStore,
) -> None:
    """queued, processing, succeeded: at each step the task is in exactly one status index."""
    task = record("t")
    await create(store, task)
    for status in (TaskStatus.PROCESSING, TaskStatus.SUCCEEDED):
        task = await moved(store, task, status)
        listed = {s: await ids(store, s) for s in TaskStatus}
        assert listed == {s: ["t"] if s is status else [] for s in TaskStatus}
        assert [
            r.status
            for r in (await store.list_tasks("alice", status=status, limit=1, cursor=None)).records
        ] == [status]


async def test_a_rejected_update_leaves_the_status_indexes_alone(store: RedisTaskStore) -> None:
    """A stale version writes nothing: the index move goes with the change or not at all."""
    await create(store, record("t"))
    stale = msgspec.structs.replace(record("t"), version=3, status=TaskStatus.SUCCEEDED)
    assert not await store.update_task(stale, None)
    assert await ids(store, TaskStatus.QUEUED) == ["t"]
    assert await ids(store, TaskStatus.SUCCEEDED) == []


async def test_another_owners_tasks_never_appear(store: RedisTaskStore) -> None:
    """Each owner lists only their own tasks, filtered or not."""
    await create(store, record("mine", ms=1), record("theirs", ms=2, owner="bob"))
    assert await ids(store) == ["mine"]
    assert await ids(store, TaskStatus.QUEUED) == ["mine"]
    assert await ids(store, owner="bob") == ["theirs"]
    assert await ids(store, owner="carol") == []


async def test_a_deleted_task_leaves_the_indexes(store: RedisTaskStore) -> None:
    """delete_task takes the task out of the list and its status index."""
    await create(store, record("kept", ms=1), record("gone", ms=2))
    assert await store.delete_task("gone", 1)
    assert await ids(store) == ["kept"]
    assert await ids(store, TaskStatus.QUEUED) == ["kept"]


async def test_a_task_whose_record_expired_is_skipped(
    store: RedisTaskStore, redis: aioredis.Redis, namespace: str
) -> None:
    """An index entry whose task is gone is dropped, and the page is filled from past it."""
    await create(store, *(record(f"t{i}", ms=i) for i in range(4)))
    await redis.delete(KeySpace(namespace).task("t2"))
    first = await store.list_tasks("alice", status=None, limit=2, cursor=None)
    rest = await store.list_tasks("alice", status=None, limit=2, cursor=first.next_cursor)
    assert [r.task_id for r in first.records] == ["t3", "t1"]
    assert [r.task_id for r in rest.records] == ["t0"] and rest.next_cursor is None
    index = KeySpace(namespace).owner_index("alice", None, "live")
    assert [m.decode() for m in await redis.zrevrange(index, 0, -1)] == ["t3", "t1", "t0"]


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        "a",
        b64(b"no-separator"),
        b64(b"123:"),
        b64(b"soon:t1"),
        b64(b"\xff\xfe:t1"),
    ],
)
async def test_a_cursor_the_store_did_not_make_is_refused(
    store: RedisTaskStore, cursor: str
) -> None:
    """A garbage cursor raises ValueError rather than listing from somewhere."""
    await create(store, record("t"))
    with pytest.raises(ValueError, match="not a cursor"):
        await store.list_tasks("alice", status=None, limit=10, cursor=cursor)


async def test_the_list_indexes_expire(
    store: RedisTaskStore, redis: aioredis.Redis, namespace: str
) -> None:
    """Every owner index a task has passed through carries a TTL."""
    task = record("t")
    await create(store, task)
    task = await moved(store, task, TaskStatus.PROCESSING)
    await moved(store, task, TaskStatus.FAILED)
    keys = [k.decode() async for k in redis.scan_iter(match=f"{namespace}:*:o:*")]
    assert sorted(k.rsplit(":", 1)[1] for k in keys) == ["all", "failed"]
    for key in keys:
        assert await redis.pttl(key) > 0, key
