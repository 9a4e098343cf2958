"""The reconcile and webhook schedules: claims with holds, reschedules, and what updates do."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec
import pytest

from adapter.core.shards import new_task_id
from adapter.core.values import Event, TaskRecord, TaskStatus
from adapter.ports import Schedule
from adapter.stores.redis import RedisTaskStore
from tests.stores.records import NOW, task_record

pytestmark = pytest.mark.anyio
HOOK = "https://client.example/hook"


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def record(task_id: str = "t", *, created_s: float = 0, **changes: Any) -> TaskRecord:
    return task_record(task_id, created_s=created_s, **changes)


def status(value: TaskStatus, seconds: float = 0) -> Event:
    return Event(type="status", status=value, at=at(seconds))


def attempt(number: int, response_status: int) -> Event:
    return Event(type="webhook", at=NOW, attempt=number, response_status=response_status)


async def claim(
    store: RedisTaskStore, queue: Schedule, seconds: float, hold_s: float = 30
) -> list[str]:
    return await store.claim_due(queue, now=at(seconds), limit=10, hold_s=hold_s)


async def finish(store: RedisTaskStore, task: TaskRecord, seconds: float = 0) -> TaskRecord:
    """Store ``task`` as succeeded (one version on) with its final event at NOW + ``seconds``."""
    done = msgspec.structs.replace(task, version=task.version + 1, status=TaskStatus.SUCCEEDED)
    assert await store.update_task(done, status(TaskStatus.SUCCEEDED, seconds))
    return done


async def test_a_created_task_is_due_for_reconcile_at_its_creation(store: RedisTaskStore) -> None:
    """create_task schedules the task on "tasks", due at its created_at."""
    await store.create_task(record(created_s=10), status(TaskStatus.QUEUED))
    assert await claim(store, "tasks", 9.999) == []
    assert await claim(store, "tasks", 10) == ["t"]


async def test_a_claim_takes_only_due_ids_up_to_the_limit(store: RedisTaskStore) -> None:
    """Entries not yet due stay; at most ``limit`` due ones are taken, earliest first."""
    for i in range(4):
        await store.create_task(record(f"t{i}", created_s=i), status(TaskStatus.QUEUED))
    assert await store.claim_due("tasks", now=at(2), limit=2, hold_s=30) == ["t0", "t1"]
    assert await claim(store, "tasks", 2) == ["t2"]


async def test_a_claim_holds_its_ids_until_the_hold_ends(store: RedisTaskStore) -> None:
    """A second claim finds nothing while the hold lasts; afterwards the ids come due again."""
    await store.create_task(record(), status(TaskStatus.QUEUED))
    assert await claim(store, "tasks", 0, hold_s=30) == ["t"]
    assert await claim(store, "tasks", 0) == []
    assert await claim(store, "tasks", 29.999) == []
    assert await claim(store, "tasks", 30) == ["t"]


async def test_reschedule_moves_the_due_time(store: RedisTaskStore) -> None:
    """A rescheduled task is due at its new time, not before."""
    await store.create_task(record(), status(TaskStatus.QUEUED))
    await store.reschedule("tasks", {"t": at(60)})
    assert await claim(store, "tasks", 59) == []
    assert await claim(store, "tasks", 60) == ["t"]


async def test_reschedule_does_not_bring_back_an_unscheduled_task(store: RedisTaskStore) -> None:
    """Rescheduling only moves existing entries; an unscheduled task stays off the schedule."""
    await store.create_task(record(), status(TaskStatus.QUEUED))
    await store.unschedule("tasks", "t")
    await store.reschedule("tasks", {"t": at(60)})
    await store.reschedule("webhooks", {"t": at(60)})
    assert await claim(store, "tasks", 3600) == []
    assert await claim(store, "webhooks", 3600) == []


async def test_a_terminal_update_takes_the_task_off_the_reconcile_schedule(
    store: RedisTaskStore,
) -> None:
    """A move to processing keeps the task scheduled; a move to succeeded removes it."""
    task = record()
    await store.create_task(task, status(TaskStatus.QUEUED))
    task = msgspec.structs.replace(task, version=2, status=TaskStatus.PROCESSING)
    assert await store.update_task(task, status(TaskStatus.PROCESSING))
    assert await claim(store, "tasks", 0, hold_s=0) == ["t"]
    await finish(store, task)
    assert await claim(store, "tasks", 3600) == []


async def test_a_finished_task_with_a_webhook_url_is_scheduled_for_delivery_once(
    store: RedisTaskStore,
) -> None:
    """The final status event puts the delivery on "webhooks" at the event's time; a later
    update of the finished task (adopting its upstream id, no event) does not put it back."""
    task = record(webhook_url=HOOK)
    await store.create_task(task, status(TaskStatus.QUEUED))
    done = await finish(store, task, seconds=5)
    assert await claim(store, "webhooks", 4.999) == []
    assert await claim(store, "webhooks", 5) == ["t"]
    await store.unschedule("webhooks", "t")
    adopted = msgspec.structs.replace(done, version=done.version + 1, upstream_id="up_1")
    assert await store.update_task(adopted, None)
    assert await claim(store, "webhooks", 3600) == []


async def test_a_finished_task_without_a_webhook_url_schedules_no_delivery(
    store: RedisTaskStore,
) -> None:
    """Without webhook_url, the final status update leaves "webhooks" empty."""
    task = record()
    await store.create_task(task, status(TaskStatus.QUEUED))
    await finish(store, task)
    assert await claim(store, "webhooks", 3600) == []


async def test_a_non_final_event_schedules_no_delivery(store: RedisTaskStore) -> None:
    """A move to processing is not delivered, even with a webhook_url."""
    task = record(webhook_url=HOOK)
    await store.create_task(task, status(TaskStatus.QUEUED))
    task = msgspec.structs.replace(task, version=2, status=TaskStatus.PROCESSING)
    assert await store.update_task(task, status(TaskStatus.PROCESSING))
    assert await claim(store, "webhooks", 3600) == []


async def test_an_attempt_is_recorded_as_an_event(store: RedisTaskStore) -> None:
    """record_attempt appends its event, readable by id like any other."""
    task = record(webhook_url=HOOK)
    await store.create_task(task, status(TaskStatus.QUEUED))
    await finish(store, task)
    await store.record_attempt("t", attempt(1, 500), at(60))
    events = await store.list_events("t")
    assert [(e.type, e.attempt, e.response_status) for e in events][-1] == ("webhook", 1, 500)
    assert await store.list_events("t", after=events[-2].id) == [events[-1]]


async def test_a_failed_attempt_reschedules_the_delivery(store: RedisTaskStore) -> None:
    """With next_at, the delivery is due again then, not before."""
    task = record(webhook_url=HOOK)
    await store.create_task(task, status(TaskStatus.QUEUED))
    await finish(store, task)
    assert await claim(store, "webhooks", 0) == ["t"]
    await store.record_attempt("t", attempt(1, 503), at(60))
    assert await claim(store, "webhooks", 59) == []
    assert await claim(store, "webhooks", 60) == ["t"]


async def test_a_last_attempt_ends_the_delivery(store: RedisTaskStore) -> None:
    """With next_at None, the task leaves "webhooks" for good."""
    task = record(webhook_url=HOOK)
    await store.create_task(task, status(TaskStatus.QUEUED))
    await finish(store, task)
    await store.record_attempt("t", attempt(1, 200), None)
    assert await claim(store, "webhooks", 3600) == []
    await store.record_attempt("t", attempt(2, 200), at(60))
    assert await claim(store, "webhooks", 3600) == []


async def test_a_backlog_in_one_shard_and_a_few_in_others_are_claimed_earliest_first(
    store: RedisTaskStore,
) -> None:
    """One large owner's backlog (one shard) beside two other owners' tasks: each claim takes
    its share of the limit from each shard and answers the earliest of all it read."""
    big = [new_task_id("big") for _ in range(12)]
    for second, task_id in enumerate(big):
        await store.create_task(
            record(task_id, created_s=second, owner="big"), status(TaskStatus.QUEUED)
        )
    small = [new_task_id(owner) for owner in ("ann", "bo")]
    for task_id, owner in zip(small, ("ann", "bo"), strict=True):
        await store.create_task(
            record(task_id, created_s=0.5, owner=owner), status(TaskStatus.QUEUED)
        )
    first = await store.claim_due("tasks", now=at(20), limit=4, hold_s=30)
    assert first[0] == big[0] and set(first) <= {*big[:4], *small} and len(first) == 4
    rest: list[str] = []
    while claimed := await store.claim_due("tasks", now=at(20), limit=4, hold_s=30):
        rest += claimed
    assert sorted(first + rest) == sorted(big + small)
