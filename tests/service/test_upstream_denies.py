"""An upstream that says it has no such task: the task ends, it is never polled for ever.

Stock new-api answers ``task_not_exist`` both for a lost submit looked up by our id (it
drops ``external_task_id`` and knows only its own ids) and for a task it no longer has.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from adapter.core.errors import ProviderOutcomeUnknown, ProviderTaskNotFound
from adapter.core.values import TaskRecord, TaskStatus
from adapter.service.tasks import Submission, TaskService
from tests.fakes import MODEL, FakeClock, ScriptedProvider, seed_input

pytestmark = pytest.mark.anyio

#: Past the service fixture's submit window (``submit_stale_s=60``).
AFTER_THE_WINDOW = 61


async def submit(service: TaskService) -> Submission:
    return await service.submit(
        owner="alice", model=MODEL, values=seed_input(), idempotency_key="k-1"
    )


async def read(service: TaskService, clock: FakeClock, task_id: str, seconds: float) -> TaskRecord:
    clock.advance(seconds)
    await asyncio.sleep(0.06)  # the refresh lease's interval
    return await service.get(owner="alice", task_id=task_id)


async def test_a_lost_submit_the_gateway_denies_ends_failed_once_the_window_passes(
    service: TaskService, provider: ScriptedProvider, clock: FakeClock
) -> None:
    """Not resubmitted (it may exist under the gateway's own id), not left for ten minutes:
    failed, nothing charged, with a code saying the upstream has no such task."""
    provider.submit_outcomes.append(ProviderOutcomeUnknown("kling", "read timeout"))
    provider.lookup_denies = True
    task_id = (await submit(service)).record.task_id
    provider.by_external.clear()
    early = await read(service, clock, task_id, 5)
    assert early.status is TaskStatus.QUEUED  # a slow gateway gets the submit window
    task = await read(service, clock, task_id, AFTER_THE_WINDOW)
    assert task.status is TaskStatus.FAILED
    assert task.cost_actual == Decimal(0)
    assert task.error is not None and task.error.code == "upstream_task_not_found"
    assert task_id in task.error.message and "own ids" in task.error.message
    assert len(provider.submits) == 1


async def test_an_accepted_task_the_upstream_no_longer_has_ends_failed(
    service: TaskService, provider: ScriptedProvider, clock: FakeClock
) -> None:
    """A query answered "no such task" past the submit window ends the task, cost 0."""
    record = (await submit(service)).record
    assert record.upstream_id is not None
    provider.states[record.upstream_id] = ProviderTaskNotFound("kling", "task_not_exist")
    early = await read(service, clock, record.task_id, 5)
    assert early.status is TaskStatus.QUEUED
    task = await read(service, clock, record.task_id, AFTER_THE_WINDOW)
    assert task.status is TaskStatus.FAILED and task.cost_actual == Decimal(0)
    assert task.error is not None and task.error.code == "upstream_task_not_found"
    assert record.upstream_id in task.error.message


async def test_a_task_the_upstream_denies_past_its_deadline_is_ended_by_the_sweep(
    make_parts,
    provider: ScriptedProvider,
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    """The deadline sweep asks the upstream first; "no such task" ends it then and there,
    where it used to be left to wait for an answer that never comes."""
    parts = make_parts(provider)
    record = (await submit(parts.tasks)).record
    assert record.upstream_id is not None
    provider.states[record.upstream_id] = ProviderTaskNotFound("kling", "task_not_exist")
    clock.advance(7_300)
    task = await parts.refresher.expire(record, 7_200)
    assert task.status is TaskStatus.FAILED
    assert task.error is not None and task.error.code == "upstream_task_not_found"
