"""Cancel: at once, nothing charged, once; the upstream is asked to stop where it can."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from adapter.core.errors import ProviderOutcomeUnknown, ProviderRejected, TaskNotCancellable
from adapter.core.values import TaskStatus
from adapter.service.tasks import TaskService
from adapter.stores.redis import RedisTaskStore
from tests.fakes import MODEL, ScriptedProvider, seed_input

pytestmark = pytest.mark.anyio


async def submit(service: TaskService) -> str:
    result = await service.submit(
        owner="alice", model=MODEL, values=seed_input(), idempotency_key=None
    )
    return result.record.task_id


async def statuses(store: RedisTaskStore, task_id: str) -> list[str]:
    return [e.status.value for e in await store.list_events(task_id) if e.status]


async def test_a_queued_task_is_cancelled_at_once_and_costs_nothing(
    service: TaskService, store: RedisTaskStore
) -> None:
    task_id = await submit(service)
    task = await service.cancel(owner="alice", task_id=task_id)
    assert task.status is TaskStatus.CANCELLED and task.cost_actual == Decimal(0)
    assert await statuses(store, task_id) == ["queued", "cancelled"]
    [*_, event] = await store.list_events(task_id)
    assert event.message == "Cancelled by the client."


async def test_the_upstream_is_asked_to_stop_the_task(
    service: TaskService, provider: ScriptedProvider
) -> None:
    """DashScope cancels a pending task; the provider is called with the upstream id."""
    task_id = await submit(service)
    await service.cancel(owner="alice", task_id=task_id)
    assert provider.cancels == ["up_1"]


@pytest.mark.parametrize(
    "outcome", [False, ProviderRejected("kling", "UnsupportedOperation: task is RUNNING")]
)
async def test_a_cancel_the_upstream_cannot_do_still_cancels_the_task(
    service: TaskService, provider: ScriptedProvider, outcome: bool | Exception
) -> None:
    """Kling has no cancel, DashScope refuses a running task: ours is cancelled all the same."""
    provider.cancel_outcome = outcome
    task_id = await submit(service)
    task = await service.cancel(owner="alice", task_id=task_id)
    assert task.status is TaskStatus.CANCELLED


async def test_a_late_success_after_a_cancel_is_ignored(
    service: TaskService, provider: ScriptedProvider, store: RedisTaskStore
) -> None:
    task_id = await submit(service)
    await service.cancel(owner="alice", task_id=task_id)
    provider.set_state("up_1", TaskStatus.SUCCEEDED, seconds=8)
    await asyncio.sleep(0.06)
    task = await service.get(owner="alice", task_id=task_id)
    assert task.status is TaskStatus.CANCELLED and task.cost_actual == Decimal(0)
    assert task.videos is None
    assert await statuses(store, task_id) == ["queued", "cancelled"]


async def test_a_cancel_racing_a_success_records_exactly_one_end(
    service: TaskService, provider: ScriptedProvider, store: RedisTaskStore
) -> None:
    """Whichever wins the compare-and-set, the other leaves no trace."""
    for _ in range(10):
        task_id = await submit(service)
        upstream_id = (await store.get_task(task_id)).upstream_id  # type: ignore[union-attr]
        provider.set_state(upstream_id or "", TaskStatus.SUCCEEDED, seconds=8)
        cancel, _read = await asyncio.gather(
            service.cancel(owner="alice", task_id=task_id),
            service.get(owner="alice", task_id=task_id),
            return_exceptions=True,
        )
        final = await store.get_task(task_id)
        assert final is not None
        ends = [s for s in await statuses(store, task_id) if s != "queued"]
        assert ends == [final.status.value]
        if final.status is TaskStatus.SUCCEEDED:
            assert isinstance(cancel, TaskNotCancellable)
        else:
            assert final.cost_actual == Decimal(0) and not isinstance(cancel, Exception)


@pytest.mark.parametrize("status", [TaskStatus.SUCCEEDED, TaskStatus.FAILED])
async def test_an_ended_task_is_not_cancellable(
    service: TaskService, provider: ScriptedProvider, status: TaskStatus
) -> None:
    task_id = await submit(service)
    provider.set_state("up_1", status, seconds=8, message="boom")
    await service.get(owner="alice", task_id=task_id)
    with pytest.raises(TaskNotCancellable, match=f"already {status.value}"):
        await service.cancel(owner="alice", task_id=task_id)


async def test_cancelling_twice_is_not_allowed(service: TaskService) -> None:
    task_id = await submit(service)
    await service.cancel(owner="alice", task_id=task_id)
    with pytest.raises(TaskNotCancellable, match="already cancelled"):
        await service.cancel(owner="alice", task_id=task_id)


async def test_a_task_whose_submit_answer_was_lost_is_cancelled_and_never_resubmitted(
    service: TaskService, provider: ScriptedProvider
) -> None:
    """No upstream id to stop; and once cancelled, no reconcile sends it again."""
    provider.submit_outcomes.append(ProviderOutcomeUnknown("kling", "reset"))
    task_id = await submit(service)
    provider.by_external.clear()
    task = await service.cancel(owner="alice", task_id=task_id)
    assert task.status is TaskStatus.CANCELLED and provider.cancels == []
    await service.get(owner="alice", task_id=task_id)
    assert len(provider.submits) == 1 and provider.lookups == []


async def test_another_owners_task_cannot_be_cancelled(service: TaskService) -> None:
    from adapter.core.errors import TaskNotFound

    task_id = await submit(service)
    with pytest.raises(TaskNotFound):
        await service.cancel(owner="mallory", task_id=task_id)


async def test_a_task_cancelled_while_its_submit_is_in_flight_is_stopped_when_adopted(
    service: TaskService, provider: ScriptedProvider, store: RedisTaskStore
) -> None:
    """The submit answers after the cancel: the upstream id is kept and the upstream told."""
    provider.gate = asyncio.Event()
    submitting = asyncio.create_task(submit(service))
    for _ in range(500):  # until the submit is at the upstream (bounded)
        if provider.submits:
            break
        await asyncio.sleep(0.01)
    [task] = [t for t in await _tasks(store, provider) if t is not None]
    await service.cancel(owner="alice", task_id=task.task_id)
    assert provider.cancels == []  # no upstream id yet
    provider.gate.set()
    await submitting
    final = await store.get_task(task.task_id)
    assert final is not None and final.status is TaskStatus.CANCELLED
    assert final.upstream_id == "up_1" and provider.cancels == ["up_1"]
    assert await statuses(store, task.task_id) == ["queued", "cancelled"]


async def _tasks(store: RedisTaskStore, provider: ScriptedProvider):  # type: ignore[no-untyped-def]
    return [await store.get_task(job.external_id) for job in provider.submits]
