"""A key's limits, admitted in the script that creates the task: unfinished tasks at once
(a slot taken at creation, given back exactly once when the task ends, is cancelled or is
refused upstream) and submits a minute; replays are never limited, and two processes on one
store never admit more than the limit between them."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from adapter.core.errors import (
    BudgetExceeded,
    ConcurrencyLimitReached,
    InvalidRequest,
    ProviderRejected,
    RateLimited,
    TaskNotCancellable,
)
from adapter.core.values import Admission, Budget, TaskStatus
from adapter.service.tasks import TaskService
from adapter.stores.redis import RedisTaskStore
from tests.fakes import FakeClock, ScriptedProvider

pytestmark = pytest.mark.anyio

KLING = "kling-v2-6"
INPUT = {"prompt": "a cat", "duration": 5}


@pytest.fixture
def upstream() -> ScriptedProvider:
    return ScriptedProvider("kling", (KLING,))


@pytest.fixture
def svc(make_service, upstream: ScriptedProvider) -> TaskService:  # type: ignore[no-untyped-def]
    return make_service(upstream)


async def submit(svc: TaskService, admission: Admission, key: str | None = None) -> Any:
    return await svc.submit(
        owner="alice",
        model=KLING,
        values=dict(INPUT),
        idempotency_key=key,
        key_id=admission.key_id,
        admission=admission,
    )


async def test_over_its_unfinished_tasks_a_key_is_refused_until_one_ends(
    svc: TaskService, upstream: ScriptedProvider
) -> None:
    limit = Admission("key_a", max_open=2)
    first = await submit(svc, limit)
    await submit(svc, limit)
    with pytest.raises(ConcurrencyLimitReached):
        await submit(svc, limit)
    upstream.set_state(first.record.upstream_id, TaskStatus.SUCCEEDED, seconds=5)
    assert (await svc.get(owner="alice", task_id=first.record.task_id)).status.is_terminal
    await submit(svc, limit)  # its slot came back
    with pytest.raises(ConcurrencyLimitReached):
        await submit(svc, limit)


async def test_a_cancel_gives_the_slot_back_once(svc: TaskService) -> None:
    limit = Admission("key_a", max_open=1)
    task = (await submit(svc, limit)).record
    await svc.cancel(owner="alice", task_id=task.task_id)
    with pytest.raises(TaskNotCancellable):  # a second cancel: the task has ended
        await svc.cancel(owner="alice", task_id=task.task_id)
    await submit(svc, limit)
    with pytest.raises(ConcurrencyLimitReached):  # one slot, not two: freed exactly once
        await submit(svc, limit)


async def test_a_task_refused_upstream_gives_its_slot_back(
    svc: TaskService, upstream: ScriptedProvider
) -> None:
    limit = Admission("key_a", max_open=1)
    upstream.submit_outcomes.append(ProviderRejected("kling", "duration must be 5 or 10"))
    with pytest.raises(ProviderRejected):
        await submit(svc, limit)
    await submit(svc, limit)


async def test_over_its_submits_a_minute_a_key_waits_for_the_window(
    svc: TaskService, clock: FakeClock
) -> None:
    limit = Admission("key_a", per_minute=2)
    await submit(svc, limit)
    clock.advance(20)
    await submit(svc, limit)
    with pytest.raises(RateLimited) as refused:
        await submit(svc, limit)
    assert refused.value.retry_after == 40 and refused.value.limit == 2
    clock.advance(41)  # the first has left the window
    await submit(svc, limit)


async def test_a_replay_is_never_limited(svc: TaskService) -> None:
    limit = Admission("key_a", per_minute=1, max_open=1)
    first = await submit(svc, limit, key="idem-1")
    again = await submit(svc, limit, key="idem-1")
    assert again.replayed and again.record.task_id == first.record.task_id


async def test_limits_are_per_key(svc: TaskService) -> None:
    await submit(svc, Admission("key_a", max_open=1))
    await submit(svc, Admission("key_b", max_open=1))


async def test_two_processes_never_admit_more_than_the_limit_between_them(
    make_service,
    upstream: ScriptedProvider,  # type: ignore[no-untyped-def]
) -> None:
    one, two = make_service(upstream), make_service(upstream)
    limit = Admission("key_a", max_open=5)
    results = await asyncio.gather(
        *(submit(svc, limit) for svc in (one, two) for _ in range(20)), return_exceptions=True
    )
    accepted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, ConcurrencyLimitReached)]
    assert (len(accepted), len(refused)) == (5, 35)


# --- budgets ----------------------------------------------------------------------------------

MOTION = "kling-v2-6-motion-control"
MOTION_INPUT = {
    "prompt": "wave",
    "character_orientation": "image",
    "mode": "std",
    "image_url": "https://example.com/me.png",
    "video_url": "https://example.com/ref-video-8s.mp4",
}


@pytest.fixture
def both() -> ScriptedProvider:
    return ScriptedProvider("kling", (KLING, MOTION))


async def motion(svc: TaskService, admission: Admission) -> Any:
    return await svc.submit(
        owner="alice",
        model=MOTION,
        values=dict(MOTION_INPUT),
        idempotency_key=None,
        key_id=admission.key_id,
        admission=admission,
    )


async def test_two_processes_never_spend_past_a_budget_between_them(
    make_service,
    both: ScriptedProvider,
    store: RedisTaskStore,  # type: ignore[no-untyped-def]
) -> None:
    """A budget that covers exactly 10 tasks: 10 of 80 concurrent submits are taken (as many
    as the test's connection pool takes at once)."""
    one, two = make_service(both), make_service(both)
    limit = Admission("key_a", budget=Budget(Decimal("0.414"), "total"))  # 10 x 0.0414
    results = await asyncio.gather(
        *(submit(svc, limit) for svc in (one, two) for _ in range(40)), return_exceptions=True
    )
    accepted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BudgetExceeded)]
    assert (len(accepted), len(refused)) == (10, 70)
    assert await store.key_spend("key_a", "total") == (Decimal("0.414"), Decimal(0))
    assert "0 of it remains" in refused[0].message and "0.0414" in refused[0].message


async def test_an_ended_task_is_charged_its_actual_cost_and_frees_the_rest(
    make_service,
    both: ScriptedProvider,
    store: RedisTaskStore,  # type: ignore[no-untyped-def]
) -> None:
    """Motion control reserves the 8 s estimate (0.06426); a 5 s video costs 0.0401625."""
    svc = make_service(both)
    limit = Admission("key_a", budget=Budget(Decimal("0.11"), "total"))
    first = (await motion(svc, limit)).record
    with pytest.raises(BudgetExceeded):
        await motion(svc, limit)  # 2 x 0.06426 reserved would pass 0.11
    both.set_state(first.upstream_id or "", TaskStatus.SUCCEEDED, seconds=5)
    ended = await svc.get(owner="alice", task_id=first.task_id)
    assert ended.cost_actual == Decimal("0.0401625")
    assert await store.key_spend("key_a", "total") == (Decimal(0), Decimal("0.0401625"))
    await motion(svc, limit)  # 0.0401625 charged + 0.06426 reserved fits


async def test_a_failed_or_refused_task_gives_its_reservation_back(
    make_service,
    both: ScriptedProvider,
    store: RedisTaskStore,  # type: ignore[no-untyped-def]
) -> None:
    svc = make_service(both)
    limit = Admission("key_a", budget=Budget(Decimal("0.0414"), "total"))
    both.submit_outcomes.append(ProviderRejected("kling", "duration must be 5 or 10"))
    with pytest.raises(ProviderRejected):
        await submit(svc, limit)
    task = (await submit(svc, limit)).record
    both.set_state(task.upstream_id or "", TaskStatus.FAILED, message="content risk control")
    assert (await svc.get(owner="alice", task_id=task.task_id)).cost_actual == 0
    assert await store.key_spend("key_a", "total") == (Decimal(0), Decimal(0))
    await submit(svc, limit)


async def test_a_daily_budget_starts_again_each_utc_day(svc: TaskService, clock: FakeClock) -> None:
    limit = Admission("key_a", budget=Budget(Decimal("0.0414"), "day"))
    await submit(svc, limit)
    with pytest.raises(BudgetExceeded):
        await submit(svc, limit)
    clock.advance(16 * 3600)  # 08:00 -> 00:00 the next day
    await submit(svc, limit)


async def test_a_submit_killed_midway_keeps_its_reservation_until_the_task_is_settled_once(
    make_service,
    both: ScriptedProvider,
    store: RedisTaskStore,
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    """The process dies after the task (and its reservation) was stored, before the upstream
    answered: recovery sends it again under the same id, and its end settles it once."""
    svc = make_service(both)
    limit = Admission("key_a", budget=Budget(Decimal("0.0414"), "total"))
    both.submit_outcomes.append(asyncio.CancelledError())  # the request dies mid-submit
    with pytest.raises(asyncio.CancelledError):
        await submit(svc, limit)
    [task_id] = [job.external_id for job in both.submits]
    assert await store.key_spend("key_a", "total") == (Decimal("0.0414"), Decimal(0))
    with pytest.raises(BudgetExceeded):
        await submit(svc, limit)  # the dead request's task still holds the budget
    clock.advance(61)  # past the submit window: recovery may settle it
    task = await svc.get(owner="alice", task_id=task_id)
    assert task.upstream_id is not None and len(both.submits) == 2
    both.set_state(task.upstream_id, TaskStatus.SUCCEEDED, seconds=5)
    await asyncio.sleep(0.06)  # past the refresh interval
    ended = await svc.get(owner="alice", task_id=task_id)
    assert (ended.status, ended.cost_actual) == (TaskStatus.SUCCEEDED, Decimal("0.0414"))
    await asyncio.sleep(0.06)
    await svc.get(owner="alice", task_id=task_id)  # a second read settles nothing again
    assert await store.key_spend("key_a", "total") == (Decimal(0), Decimal("0.0414"))


# --- the usage ledger -------------------------------------------------------------------------


async def test_the_ledger_is_the_sum_over_the_keys_tasks_whichever_way_they_end(
    make_parts,
    both: ScriptedProvider,  # type: ignore[no-untyped-def]
) -> None:
    parts = make_parts(both)
    svc, limit = parts.tasks, Admission("key_a")
    done, failed, cancelled, running = [(await submit(svc, limit)).record for _ in range(4)]
    both.submit_outcomes.append(ProviderRejected("kling", "duration must be 5 or 10"))
    with pytest.raises(ProviderRejected):
        await submit(svc, limit)  # refused upstream: no task, so not in the ledger
    await motion(svc, limit)  # another model, unfinished
    both.set_state(done.upstream_id or "", TaskStatus.SUCCEEDED, seconds=5.04)
    both.set_state(failed.upstream_id or "", TaskStatus.FAILED, message="content risk control")
    await svc.get(owner="alice", task_id=done.task_id)
    await svc.get(owner="alice", task_id=failed.task_id)
    await svc.cancel(owner="alice", task_id=cancelled.task_id)
    rows = await parts.admin.usage(["key_a"], group_by="day,model")
    assert [(r.day, r.model) for r in rows] == [
        ("2026-11-23", KLING),
        ("2026-11-23", MOTION),
    ]
    kling, motion_row = rows
    assert (kling.tasks, kling.succeeded, kling.failed, kling.cancelled) == (4, 1, 1, 1)
    assert kling.seconds == Decimal("5.04")
    assert (kling.cost_reserved, kling.cost_charged) == (Decimal("0.0414"), Decimal("0.0414"))
    assert (motion_row.tasks, motion_row.cost_reserved) == (1, Decimal("0.06426"))
    [total] = await parts.admin.usage(["key_a"], group_by="key")
    assert (total.key_id, total.tasks, total.day, total.model) == ("key_a", 5, None, None)
    assert running.task_id  # still unfinished: its estimate is the one reserved


async def wan(svc: TaskService, duration: int, admission: Admission) -> Any:
    return await svc.submit(
        owner="alice",
        model="wan2-5-preview",
        values={"prompt": "x", "duration": duration},
        idempotency_key=None,
        admission=admission,
    )


async def test_a_task_costing_more_than_is_kept_exactly_is_refused(
    make_service,  # type: ignore[no-untyped-def]
) -> None:
    """A partial schema may bound no duration: 10^12 s of Wan is no task to take."""
    svc = make_service(ScriptedProvider("dashscope", ("wan2-5-preview",)))
    with pytest.raises(InvalidRequest) as refused:
        await wan(svc, 10**12, Admission("key_a"))
    assert refused.value.param == "input.duration"


async def test_amounts_beyond_what_lua_prints_plainly_are_kept_exactly(
    make_service,
    store: RedisTaskStore,  # type: ignore[no-untyped-def]
) -> None:
    """2,000,000 s of Wan at 0.0747 is 149400: 1.494 x 10^14 billionths, which Lua would
    write as 1.494e+14, and Redis refuse as no integer."""
    svc = make_service(ScriptedProvider("dashscope", ("wan2-5-preview",)))
    budget = Budget(Decimal(9_000_000), "total")
    await wan(svc, 2_000_000, Admission("key_a", budget=budget))
    assert await store.key_spend("key_a", "total") == (Decimal(149400), Decimal(0))
