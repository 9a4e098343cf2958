"""The store going away in the middle of a submit: the task keeps its upstream id if the store
comes back within seconds, and otherwise the 503 names the task a retry will find."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from adapter.core.errors import StoreUnavailable
from adapter.core.values import TaskRecord, TaskStatus
from adapter.service.tasks import TaskService
from tests.fakes import (
    MODEL,
    FlakyStore,
    ScriptedProvider,
    seed_input,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def flaky(redis: aioredis.Redis, namespace: str) -> FlakyStore:
    return FlakyStore(redis, namespace=namespace, task_ttl_s=3600)


@pytest.fixture
def pauses() -> list[float]:
    return []


@pytest.fixture
def service(make_service, flaky: FlakyStore, provider: ScriptedProvider, pauses: list[float]):  # type: ignore[no-untyped-def]
    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        await asyncio.sleep(0)

    return make_service(provider, store=flaky, wait_s=0.2, hooks={"sleep": sleep})


async def submit(service: TaskService, key: str | None = "k-1") -> TaskRecord:
    done = await service.submit(
        owner="alice", model=MODEL, values=seed_input(), idempotency_key=key
    )
    return done.record


async def test_a_store_blip_after_the_upstream_accepted_is_waited_out(
    service: TaskService, flaky: FlakyStore, provider: ScriptedProvider, pauses: list[float]
) -> None:
    """Only this process knows the upstream id: the adoption is retried, not dropped."""
    flaky.fail_updates = 2
    record = await submit(service)
    assert record.upstream_id == "up_1" and record.submit_state == "accepted"
    assert pauses == [0.1, 0.3]
    assert len(provider.submits) == 1


async def test_an_outage_past_the_retries_answers_with_the_task_a_retry_will_find(
    service: TaskService, flaky: FlakyStore, provider: ScriptedProvider, pauses: list[float]
) -> None:
    """The 503 names the task, which exists and is reconciled later: never submitted twice."""
    flaky.fail_updates = 100
    with pytest.raises(StoreUnavailable) as caught:
        await submit(service)
    task_id = caught.value.task_id
    assert task_id is not None and task_id in caught.value.message
    assert "same Idempotency-Key" in caught.value.message
    assert sum(pauses) == pytest.approx(3.4)
    stored = await flaky.get_task(task_id)
    assert stored is not None and stored.status is TaskStatus.QUEUED
    flaky.fail_updates = 0
    provider.by_external[task_id] = provider.states["up_1"]  # type: ignore[assignment]
    with pytest.raises(Exception, match="still being submitted"):
        await submit(service)  # within the submit window the first request may still land
    assert len(provider.submits) == 1


async def test_without_an_idempotency_key_the_503_says_how_to_find_the_task(
    service: TaskService, flaky: FlakyStore
) -> None:
    flaky.fail_updates = 100
    with pytest.raises(StoreUnavailable) as caught:
        await submit(service, key=None)
    assert f"GET /api/v1/tasks/{caught.value.task_id}" in caught.value.message
