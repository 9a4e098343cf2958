"""What the service counts for ``/metrics``: each upstream call once, by provider, operation,
model and outcome; tasks created and ended; webhook attempts; the reconciler's lag; store
errors by operation."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
import redis.asyncio as aioredis

from adapter.bootstrap.parts import Parts, build
from adapter.config.settings import Settings
from adapter.core.errors import (
    ProviderOutcomeUnknown,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
    StoreUnavailable,
)
from adapter.core.values import TaskStatus
from adapter.stores.redis import RedisTaskStore
from tests.conftest import SCHEMAS
from tests.fakes import MODEL, FakeClock, FakeMedia, FakeWebhooks, ScriptedProvider, seed_input
from tests.metrics import sample

pytestmark = pytest.mark.anyio


def upstream(parts: Parts, provider: str, operation: str, outcome: str) -> float:
    return sample(
        parts.metrics,
        "mva_upstream_requests_total",
        provider=provider,
        operation=operation,
        model=MODEL,
        outcome=outcome,
    )


async def submit(parts: Parts, **options: Any) -> str:
    result = await parts.tasks.submit(
        owner="alice", model=MODEL, values=seed_input(), idempotency_key=None, **options
    )
    return result.record.task_id


async def test_a_task_s_life_is_counted_once_per_call_and_once_per_end(
    make_parts: Any, provider: ScriptedProvider
) -> None:
    parts: Parts = make_parts(provider)
    task_id = await submit(parts)
    await asyncio.sleep(0.06)
    await parts.tasks.get(owner="alice", task_id=task_id)  # still queued: one query
    provider.set_state("up_1", TaskStatus.SUCCEEDED, seconds=8)
    await asyncio.sleep(0.06)
    assert (await parts.tasks.get(owner="alice", task_id=task_id)).status is TaskStatus.SUCCEEDED
    await parts.tasks.get(owner="alice", task_id=task_id)  # ended: no more queries

    assert sample(parts.metrics, "mva_tasks_created_total", model=MODEL) == 1
    assert sample(parts.metrics, "mva_tasks_ended_total", model=MODEL, status="succeeded") == 1
    assert upstream(parts, "kling", "submit", "ok") == 1
    assert upstream(parts, "kling", "query", "ok") == len(provider.queries) == 2
    latency = sample(
        parts.metrics,
        "mva_upstream_request_duration_seconds_count",
        provider="kling",
        operation="query",
        model=MODEL,
    )
    assert latency == 2


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (ProviderRejected("kling", "bad prompt", status=400), "rejected"),
        (ProviderRateLimited("kling", "slow down", retry_after=3), "rate_limited"),
        (ProviderUnavailable("kling", "502"), "unavailable"),
        (ProviderOutcomeUnknown("kling", "reset"), "unknown_outcome"),
        (RuntimeError("a bug"), "error"),
    ],
)
async def test_a_failed_submit_is_counted_by_its_outcome(
    make_parts: Any, provider: ScriptedProvider, error: BaseException, outcome: str
) -> None:
    """Whatever the client is answered (an error, or a queued task for an unknown outcome)."""
    parts: Parts = make_parts(provider)
    provider.submit_outcomes.append(error)
    with contextlib.suppress(Exception):
        await submit(parts)
    assert upstream(parts, "kling", "submit", outcome) == 1
    assert upstream(parts, "kling", "submit", "ok") == 0


async def test_a_fallback_counts_each_provider_asked(make_parts: Any) -> None:
    first, second = ScriptedProvider("first"), ScriptedProvider("second")
    first.submit_outcomes.append(ProviderUnavailable("first", "503"))
    parts: Parts = make_parts(first, second)
    await submit(parts)
    assert upstream(parts, "first", "submit", "unavailable") == 1
    assert upstream(parts, "second", "submit", "ok") == 1


async def test_a_cancel_is_counted_only_when_the_upstream_was_asked(
    make_parts: Any, provider: ScriptedProvider
) -> None:
    """DashScope is asked to cancel; Kling has no cancel, so nothing is sent or counted."""
    parts: Parts = make_parts(provider)
    await parts.tasks.cancel(owner="alice", task_id=await submit(parts))
    provider.cancel_outcome = False
    await parts.tasks.cancel(owner="alice", task_id=await submit(parts))
    assert upstream(parts, "kling", "cancel", "ok") == 1
    assert sample(parts.metrics, "mva_tasks_ended_total", model=MODEL, status="cancelled") == 2


async def test_a_lookup_after_a_lost_submit_answer_is_counted(
    make_parts: Any, provider: ScriptedProvider, clock: FakeClock
) -> None:
    parts: Parts = make_parts(provider)
    provider.submit_outcomes.append(ProviderOutcomeUnknown("kling", "reset"))
    task_id = await submit(parts)
    clock.advance(120)
    await parts.tasks.get(owner="alice", task_id=task_id)
    assert provider.lookups == [task_id]
    assert upstream(parts, "kling", "lookup", "ok") == 1


async def test_the_reconciler_lag_is_the_age_of_the_oldest_due_entry(
    make_parts: Any, provider: ScriptedProvider, clock: FakeClock, store: RedisTaskStore
) -> None:
    parts: Parts = make_parts(provider)
    await parts.reconciler.round()
    assert sample(parts.metrics, "mva_reconciler_lag_seconds", schedule="tasks") == 0
    task_id = await submit(parts)
    await store.reschedule("tasks", {task_id: clock()})
    clock.advance(42)
    await parts.reconciler.round()
    assert sample(parts.metrics, "mva_reconciler_lag_seconds", schedule="tasks") == 42
    assert sample(parts.metrics, "mva_reconciler_lag_seconds", schedule="webhooks") == 0


async def test_a_store_outage_is_counted_by_the_operation_that_met_it(
    provider: ScriptedProvider, media: FakeMedia, clock: FakeClock
) -> None:
    """Built as the composition root builds it, on a Redis nobody listens on."""
    dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=None)
    try:
        parts = build(
            Settings(schemas_dir=SCHEMAS),
            redis=dead,
            providers=[provider],
            media=media,
            webhooks=FakeWebhooks(),
            clock=clock,
        )
        with pytest.raises(StoreUnavailable):
            await parts.tasks.owned("alice", "task_nope")
        with pytest.raises(StoreUnavailable):
            await parts.keys.authenticate("Bearer mv_live_nope")
    finally:
        await dead.aclose()
    assert sample(parts.metrics, "mva_store_errors_total", operation="get_task") == 1
    assert sample(parts.metrics, "mva_store_errors_total", operation="key_by_hash") == 1
