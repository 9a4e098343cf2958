"""The reconciler: advances tasks nobody polls, not before they can be done, then on a backoff,
within limits, to a deadline."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from adapter.bootstrap.parts import Parts
from adapter.core.errors import ProviderUnavailable
from adapter.core.values import TaskStatus, UpstreamState
from adapter.service.cpu_share import CpuShare
from adapter.service.reconciler import Reconciler
from adapter.stores.redis import RedisTaskStore
from adapter.stores.redis_keys import RedisKeyStore
from tests.fakes import (
    DEADLINE_S,
    FIRST_S,
    MAX_S,
    MIN_S,
    MODEL,
    FakeClock,
    ScriptedProvider,
    fixed_plan,
    seed_input,
    webhooks_in_memory,
)
from tests.waiting import until

pytestmark = pytest.mark.anyio


class GatedProvider(ScriptedProvider):
    """A ScriptedProvider whose queries wait for ``query_gate``, counting how many run at once."""

    def __init__(self) -> None:
        super().__init__()
        self.query_gate = asyncio.Event()
        #: Every query as it starts (``queries`` records them as they end).
        self.started: list[str] = []
        self.running = 0
        self.most_running = 0

    async def query(self, route: str, upstream_id: str) -> UpstreamState:
        self.started.append(upstream_id)
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            await self.query_gate.wait()
            return await super().query(route, upstream_id)
        finally:
            self.running -= 1


class Process:
    """What one adapter process runs: its parts (by the composition root) and a Reconciler
    with this test's timings, on the shared store."""

    def __init__(
        self,
        parts: Parts,
        store: RedisTaskStore,
        key_store: RedisKeyStore,
        clock: FakeClock,
        *,
        per_provider: int = 8,
        batch: int = 64,
        max_batch: int = 1024,
        hold_s: float = 40,
        share: CpuShare | None = None,
    ) -> None:
        self.service = parts.tasks
        self.reconciler = Reconciler(
            store=store,
            schedules=store,
            refresher=parts.refresher,
            webhooks=webhooks_in_memory(store, key_store, clock, parts.metrics),
            clock=clock,
            metrics=parts.metrics,
            min_interval_s=MIN_S,
            max_interval_s=MAX_S,
            deadline_s=DEADLINE_S,
            hold_s=hold_s,
            per_provider=per_provider,
            batch=batch,
            max_batch=max_batch,
            plan=fixed_plan(clock),
            share=share,
        )

    async def submit(self) -> str:
        result = await self.service.submit(
            owner="alice", model=MODEL, values=seed_input(), idempotency_key=None
        )
        return result.record.task_id


@pytest.fixture
def make_process(
    make_parts,
    store: RedisTaskStore,
    key_store: RedisKeyStore,
    clock: FakeClock,
    provider: ScriptedProvider,
):  # type: ignore[no-untyped-def]
    def make(upstream: ScriptedProvider | None = None, **options: float) -> Process:
        # Short enough that one round's lease never skips the next round's refresh.
        parts = make_parts(upstream or provider, refresh_interval_s=0.001)
        return Process(parts, store, key_store, clock, **options)

    return make


@pytest.fixture
def process(make_process) -> Process:  # type: ignore[no-untyped-def]
    return make_process()


async def lease_lapses() -> None:
    """Let the refresh lease (1 ms, in the store's real time) lapse before the next round."""
    await asyncio.sleep(0.01)


async def is_due(store: RedisTaskStore, task_id: str, at: datetime) -> bool:
    """Whether the task's reconcile is due by ``at`` (claimed with no hold: left due)."""
    return task_id in await store.claim_due("tasks", now=at, limit=100, hold_s=0)


async def test_a_new_task_is_not_queried_before_it_can_plausibly_be_done(
    process: Process, provider: ScriptedProvider, store: RedisTaskStore, clock: FakeClock
) -> None:
    """Due at once on the schedule, it is only moved to its expected end: no query."""
    task_id = await process.submit()
    assert await process.reconciler.round() == 1
    assert provider.queries == []
    almost = clock.now + timedelta(seconds=FIRST_S) - timedelta(milliseconds=1)
    assert not await is_due(store, task_id, almost)
    assert await is_due(store, task_id, clock.now + timedelta(seconds=FIRST_S))


async def test_a_task_nobody_polls_is_advanced_and_leaves_the_schedule(
    process: Process, provider: ScriptedProvider, store: RedisTaskStore, clock: FakeClock
) -> None:
    """round() queries the upstream; a finished task is stored as such and never due again."""
    task_id = await process.submit()
    provider.set_state("up_1", TaskStatus.SUCCEEDED, seconds=8)
    clock.advance(FIRST_S)
    assert await process.reconciler.round() == 1
    task = await store.get_task(task_id)
    assert task is not None and task.status is TaskStatus.SUCCEEDED and task.videos
    assert provider.queries == ["up_1"]
    assert not await is_due(store, task_id, clock.now + timedelta(days=1))


async def test_an_unfinished_task_at_its_expected_end_is_checked_again_a_quarter_later(
    process: Process, provider: ScriptedProvider, store: RedisTaskStore, clock: FakeClock
) -> None:
    """Still processing upstream: moved to processing, due again in a quarter of FIRST_S."""
    task_id = await process.submit()
    provider.set_state("up_1", TaskStatus.PROCESSING)
    clock.advance(FIRST_S)
    await process.reconciler.round()
    assert (await store.get_task(task_id)).status is TaskStatus.PROCESSING  # type: ignore[union-attr]
    almost = clock.now + timedelta(seconds=FIRST_S / 4) - timedelta(milliseconds=1)
    assert not await is_due(store, task_id, almost)
    assert await is_due(store, task_id, clock.now + timedelta(seconds=FIRST_S / 4))


@pytest.mark.parametrize(
    ("age_s", "wait_s"), [(FIRST_S, 2.5), (20, 12.5), (35, 27.5), (1000, MAX_S)]
)
async def test_an_older_task_is_checked_less_often_up_to_the_maximum_interval(
    process: Process,
    provider: ScriptedProvider,
    store: RedisTaskStore,
    clock: FakeClock,
    age_s: float,
    wait_s: float,
) -> None:
    """The time since its expected end plus a quarter of it (so the waits double), at most
    max_interval_s."""
    task_id = await process.submit()
    provider.set_state("up_1", TaskStatus.PROCESSING)
    clock.advance(age_s)
    await process.reconciler.round()
    almost = clock.now + timedelta(seconds=wait_s) - timedelta(milliseconds=1)
    assert not await is_due(store, task_id, almost)
    assert await is_due(store, task_id, clock.now + timedelta(seconds=wait_s))


async def test_a_claimed_task_is_not_taken_again_within_its_hold(
    process: Process, provider: ScriptedProvider, clock: FakeClock
) -> None:
    """A second round right after the first finds nothing due (the first rescheduled it)."""
    await process.submit()
    provider.set_state("up_1", TaskStatus.PROCESSING)
    clock.advance(FIRST_S)
    assert await process.reconciler.round() == 1
    assert await process.reconciler.round() == 0
    clock.advance(FIRST_S / 4)
    await lease_lapses()
    assert await process.reconciler.round() == 1
    assert provider.queries == ["up_1", "up_1"]


async def test_at_most_per_provider_queries_run_at_once(make_process, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    """Six due tasks, per_provider=2: two queries at a time, all six in the end."""
    upstream = GatedProvider()
    process = make_process(upstream, per_provider=2)
    for _ in range(6):
        await process.submit()
    clock.advance(FIRST_S)
    round_ = asyncio.create_task(process.reconciler.round())
    await until(lambda: upstream.running == 2)  # the first two are at the upstream
    for _ in range(10):
        await asyncio.sleep(0)  # give any others the chance to (wrongly) start
    assert upstream.running == 2
    upstream.query_gate.set()
    assert await round_ == 6
    assert upstream.most_running == 2
    assert sorted(upstream.queries) == sorted(f"up_{i}" for i in range(1, 7))


async def test_a_task_past_its_deadline_still_processing_upstream_fails_as_timeout(
    process: Process, provider: ScriptedProvider, store: RedisTaskStore, clock: FakeClock
) -> None:
    """Checked with the upstream first; still unfinished there: failed, nothing charged."""
    task_id = await process.submit()
    provider.set_state("up_1", TaskStatus.PROCESSING)
    clock.advance(DEADLINE_S + 1)
    await process.reconciler.round()
    task = await store.get_task(task_id)
    assert task is not None and task.status is TaskStatus.FAILED
    assert task.error is not None and task.error.code == "timeout"
    assert task.cost_actual == Decimal(0)
    assert provider.queries == ["up_1"] and provider.cancels == ["up_1"]
    [*_, event] = await store.list_events(task_id)
    assert event.status is TaskStatus.FAILED and "did not finish within 3600 s" in (
        event.message or ""
    )
    assert not await is_due(store, task_id, clock.now + timedelta(days=1))


async def test_a_task_past_its_deadline_that_just_succeeded_is_succeeded(
    process: Process, provider: ScriptedProvider, store: RedisTaskStore, clock: FakeClock
) -> None:
    """The upstream's outcome wins over the timeout."""
    task_id = await process.submit()
    provider.set_state("up_1", TaskStatus.SUCCEEDED, seconds=8)
    clock.advance(DEADLINE_S + 1)
    await process.reconciler.round()
    task = await store.get_task(task_id)
    assert task is not None and task.status is TaskStatus.SUCCEEDED and task.error is None
    assert task.cost_actual is not None and task.cost_actual > 0
    assert provider.cancels == []


async def test_a_task_past_its_deadline_is_left_alone_while_the_upstream_cannot_say(
    process: Process, provider: ScriptedProvider, store: RedisTaskStore, clock: FakeClock
) -> None:
    """ProviderUnavailable: unchanged, and due again for the next sweep."""
    task_id = await process.submit()
    before = await store.get_task(task_id)
    provider.states["up_1"] = ProviderUnavailable("kling", "503")
    clock.advance(DEADLINE_S + 1)
    await process.reconciler.round()
    assert await store.get_task(task_id) == before
    assert provider.cancels == []
    assert await is_due(store, task_id, clock.now + timedelta(seconds=MAX_S))
    provider.set_state("up_1", TaskStatus.PROCESSING)
    clock.advance(MAX_S)
    await lease_lapses()
    await process.reconciler.round()
    task = await store.get_task(task_id)
    assert task is not None and task.error is not None and task.error.code == "timeout"


async def test_two_processes_never_refresh_the_same_task_in_one_go(
    make_process, provider: ScriptedProvider, clock: FakeClock
) -> None:  # type: ignore[no-untyped-def]
    """Concurrent rounds on one store split the due tasks between them: one query each."""
    first, second = make_process(batch=5), make_process(batch=5)
    for _ in range(8):
        await first.submit()
        provider.set_state(f"up_{len(provider.submits)}", TaskStatus.PROCESSING)
    clock.advance(FIRST_S)
    taken = await asyncio.gather(first.reconciler.round(), second.reconciler.round())
    assert sum(taken) == 8
    assert sorted(provider.queries) == sorted(f"up_{i}" for i in range(1, 9))


async def test_a_task_whose_hold_lapsed_mid_refresh_is_not_refreshed_twice(
    make_process, clock: FakeClock
) -> None:  # type: ignore[no-untyped-def]
    """Another process may claim it again, but the refresh lease keeps its query single."""
    upstream = GatedProvider()
    first, second = make_process(upstream), make_process(upstream)
    await first.submit()
    upstream.set_state("up_1", TaskStatus.PROCESSING)
    clock.advance(FIRST_S)
    round_ = asyncio.create_task(first.reconciler.round())
    await until(lambda: upstream.running > 0)  # the first query is at the upstream
    clock.advance(41)  # past hold_s: the schedule lets the task go
    assert await second.reconciler.round() == 1
    upstream.query_gate.set()
    await round_
    assert upstream.started == ["up_1"]


async def test_a_round_survives_one_tasks_error_and_handles_the_others(
    process: Process, provider: ScriptedProvider, store: RedisTaskStore, clock: FakeClock
) -> None:
    """An unexpected error is logged; that task comes due again when its hold lapses."""
    broken, fine = await process.submit(), await process.submit()
    provider.states["up_1"] = RuntimeError("upstream client bug")
    provider.set_state("up_2", TaskStatus.SUCCEEDED, seconds=8)
    clock.advance(FIRST_S)
    assert await process.reconciler.round() == 2
    assert (await store.get_task(fine)).status is TaskStatus.SUCCEEDED  # type: ignore[union-attr]
    assert (await store.get_task(broken)).status is TaskStatus.QUEUED  # type: ignore[union-attr]
    assert await is_due(store, broken, clock.now + timedelta(seconds=40))


async def test_a_provider_error_only_postpones_that_task(
    process: Process, provider: ScriptedProvider, store: RedisTaskStore, clock: FakeClock
) -> None:
    """ProviderUnavailable never fails a task; it is rescheduled like an unfinished one."""
    flaky, fine = await process.submit(), await process.submit()
    provider.states["up_1"] = ProviderUnavailable("kling", "503")
    provider.set_state("up_2", TaskStatus.SUCCEEDED, seconds=8)
    clock.advance(FIRST_S)
    await process.reconciler.round()
    assert (await store.get_task(fine)).status is TaskStatus.SUCCEEDED  # type: ignore[union-attr]
    assert (await store.get_task(flaky)).status is TaskStatus.QUEUED  # type: ignore[union-attr]
    assert await is_due(store, flaky, clock.now + timedelta(seconds=FIRST_S / 4))


async def test_a_hung_upstream_is_cut_off_inside_its_hold_and_the_round_goes_on(
    make_process, store: RedisTaskStore, clock: FakeClock
) -> None:  # type: ignore[no-untyped-def]
    """A query that never answers ends at half the hold; the task is due again after the hold."""
    upstream = GatedProvider()  # its gate is never opened
    process = make_process(upstream, hold_s=0.2)
    task_id = await process.submit()
    clock.advance(FIRST_S)
    async with asyncio.timeout(2):
        assert await process.reconciler.round() == 1
    assert upstream.started == ["up_1"] and upstream.queries == []
    stored = await store.get_task(task_id)
    assert stored is not None and stored.status is TaskStatus.QUEUED
    assert await is_due(store, task_id, clock.now + timedelta(seconds=1))


async def test_stop_ends_run_after_its_round_with_no_cancel_needed(process: Process) -> None:
    """The loop reads a flag: a stop holds even if every cancel sent with it were lost."""
    running = asyncio.create_task(process.reconciler.run(tick_s=0.01))
    await asyncio.sleep(0.05)
    process.reconciler.stop()
    done, _ = await asyncio.wait({running}, timeout=2)
    assert done and not running.cancelled() and running.exception() is None


class SlowProvider(ScriptedProvider):
    """A ScriptedProvider whose queries take ``query_s`` (0 at first)."""

    query_s = 0.0

    async def query(self, route: str, upstream_id: str) -> UpstreamState:
        await asyncio.sleep(self.query_s)
        return await super().query(route, upstream_id)


async def test_rounds_take_more_through_a_backlog_and_fewer_when_they_run_slow(
    make_process, clock: FakeClock
) -> None:  # type: ignore[no-untyped-def]
    """Forty due tasks, rounds of 2 at first and at most 8: each quick full round takes
    twice as many as the last; a round that takes over a quarter of the hold halves it."""
    upstream = SlowProvider()
    # A 1.6 s hold: a quick round is one under 0.2 s (an eighth), a slow one over 0.4 s (a
    # quarter); the round is cut off at 0.8 s (half). Wide, for a loaded machine.
    process = make_process(upstream, batch=2, max_batch=8, hold_s=1.6)
    for _ in range(40):
        await process.submit()
        upstream.set_state(f"up_{len(upstream.submits)}", TaskStatus.PROCESSING)
    clock.advance(FIRST_S)
    assert [await process.reconciler.round() for _ in range(4)] == [2, 4, 8, 8]
    upstream.query_s = 0.6  # over a quarter of the hold, under half: slow, not cut off
    assert await process.reconciler.round() == 8
    upstream.query_s = 0.0
    assert [await process.reconciler.round() for _ in range(3)] == [4, 6, 0]
    assert sorted(upstream.queries) == sorted(f"up_{n}" for n in range(1, 41))


class SwitchedShare(CpuShare):
    """A process's CPU share that reads busy while ``busy_now`` is set."""

    def __init__(self) -> None:
        super().__init__(0.5, sleep=lambda _: asyncio.sleep(0.001))
        self.busy_now = False

    def busy(self) -> bool:
        return self.busy_now


async def test_no_upstream_request_starts_while_the_process_is_busy(
    make_process, clock: FakeClock
) -> None:  # type: ignore[no-untyped-def]
    """One request at a time: the round's three items start while the process is idle, the
    first query goes out, then the process turns busy. The other two are not sent when the
    slot frees, only once the load falls."""
    upstream, share = GatedProvider(), SwitchedShare()
    process = make_process(upstream, share=share, per_provider=1)
    for _ in range(3):
        await process.submit()
        upstream.set_state(f"up_{len(upstream.submits)}", TaskStatus.PROCESSING)
    clock.advance(FIRST_S)
    round_ = asyncio.create_task(process.reconciler.round())
    try:
        # The first query goes out however slow the machine (bounded: 5 s).
        for _ in range(500):
            if upstream.started:
                break
            await asyncio.sleep(0.01)
        assert len(upstream.started) == 1
        share.busy_now = True
        upstream.query_gate.set()
        await asyncio.sleep(0.05)
        assert len(upstream.started) == 1 and not round_.done()
        share.busy_now = False
        assert await round_ == 3
    finally:
        round_.cancel()  # a failed check leaves no round running into the next test
    assert sorted(upstream.queries) == ["up_1", "up_2", "up_3"]
