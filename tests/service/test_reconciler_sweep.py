"""The reconciler where the upstream lists a family's tasks: one page refreshes many; and where
a provider has a query budget, it is never exceeded."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from adapter.core.errors import ProviderUnavailable
from adapter.core.values import TaskStatus, UpstreamState, VideoJob
from adapter.ports import ListedTask, ListPage
from adapter.service.query_budget import QueryBudget
from adapter.service.reconciler import Reconciler
from adapter.stores.redis import RedisTaskStore
from adapter.stores.redis_keys import RedisKeyStore
from adapter.stores.redis_pacing import RedisPacing
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

pytestmark = pytest.mark.anyio


class ListingProvider(ScriptedProvider):
    """A ScriptedProvider that also lists its tasks, newest first, ``page_size`` a page."""

    def __init__(self, clock: FakeClock, page_size: int = 10) -> None:
        super().__init__()
        self.clock = clock
        self.page_size = page_size
        self.pages: list[int] = []
        self.list_error: Exception | None = None
        #: (upstream id, external id, created at s), oldest first.
        self.made: list[tuple[str, str, float]] = []

    async def submit(self, job: VideoJob) -> UpstreamState:
        state = await super().submit(job)
        self.made.append((state.upstream_id, job.external_id, self.clock.now.timestamp()))
        return state

    def lists(self, route: str) -> bool:
        return True

    async def list_tasks(self, route: str, page: int) -> ListPage:
        self.pages.append(page)
        if self.list_error is not None:
            raise self.list_error
        newest = self.made[::-1][(page - 1) * self.page_size : page * self.page_size]
        tasks = []
        for upstream_id, external_id, created_s in newest:
            state = self.states[upstream_id]
            assert isinstance(state, UpstreamState)
            tasks.append(ListedTask(state, external_id, created_s))
        return ListPage(tasks, full=len(tasks) == self.page_size)


class CountingStore:
    """The store, counting the calls made to it by name (a round trip or a pipeline each)."""

    def __init__(self, store: RedisTaskStore) -> None:
        self.store = store
        self.calls: collections.Counter[str] = collections.Counter()

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self.store, name)

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return await method(*args, **kwargs)

        return counted


class Process:
    def __init__(
        self,
        make_parts,  # type: ignore[no-untyped-def]
        upstream: ScriptedProvider,
        store: RedisTaskStore,
        key_store: RedisKeyStore,
        clock: FakeClock,
        *,
        rates: dict[str, float] | None = None,
        hold_s: float = 40,
    ) -> None:
        parts = make_parts(upstream, refresh_interval_s=0.001)
        #: What the reconciler asks of the store.
        self.counted = CountingStore(store)
        self.service = parts.tasks
        self.pacing = RedisPacing(store.redis, namespace=store.namespace)
        self.reconciler = Reconciler(
            store=self.counted,  # type: ignore[arg-type]
            schedules=self.counted,  # type: ignore[arg-type]
            refresher=parts.refresher,
            webhooks=webhooks_in_memory(store, key_store, clock, parts.metrics),
            clock=clock,
            metrics=parts.metrics,
            min_interval_s=MIN_S,
            deadline_s=DEADLINE_S,
            hold_s=hold_s,
            plan=fixed_plan(clock),
            budget=QueryBudget(self.pacing, rates or {}, clock=clock),
        )

    async def submit(self) -> str:
        result = await self.service.submit(
            owner="alice", model=MODEL, values=seed_input(), idempotency_key=None
        )
        return result.record.task_id


@pytest.fixture
def listing(clock: FakeClock) -> ListingProvider:
    return ListingProvider(clock)


@pytest.fixture
def make_process(make_parts, store: RedisTaskStore, key_store: RedisKeyStore, clock: FakeClock):  # type: ignore[no-untyped-def]
    def make(upstream: ScriptedProvider, **options: object) -> Process:
        return Process(make_parts, upstream, store, key_store, clock, **options)  # type: ignore[arg-type]

    return make


async def is_due(store: RedisTaskStore, task_id: str, clock: FakeClock, after_s: float) -> bool:
    at = clock.now + timedelta(seconds=after_s)
    return task_id in await store.claim_due("tasks", now=at, limit=100, hold_s=0)


async def submit_many(process: Process, clock: FakeClock, n: int) -> list[str]:
    """``n`` tasks, one a second (so a page's times say how far back it reaches)."""
    made = []
    for _ in range(n):
        made.append(await process.submit())
        clock.advance(1)
    return made


async def status_of(store: RedisTaskStore, task_id: str) -> TaskStatus:
    record = await store.get_task(task_id)
    assert record is not None
    return record.status


async def test_the_due_tasks_of_one_family_are_refreshed_from_one_list_page(
    make_process, listing: ListingProvider, store: RedisTaskStore, clock: FakeClock
) -> None:  # type: ignore[no-untyped-def]
    process = make_process(listing)
    first, second, third = await submit_many(process, clock, 3)
    listing.set_state("up_1", TaskStatus.SUCCEEDED, seconds=8)
    for upstream_id in ("up_2", "up_3"):
        listing.set_state(upstream_id, TaskStatus.PROCESSING)
    clock.advance(FIRST_S)
    assert await process.reconciler.round() == 3
    assert listing.pages == [1] and listing.queries == []
    assert await status_of(store, first) is TaskStatus.SUCCEEDED
    assert await status_of(store, second) is TaskStatus.PROCESSING
    assert await is_due(store, third, clock, MAX_S)
    assert not await is_due(store, first, clock, 1e6)


async def test_pages_follow_while_no_dearer_than_single_queries(
    make_process, clock: FakeClock, store: RedisTaskStore
) -> None:  # type: ignore[no-untyped-def]
    """Five due tasks, two a page: three pages, no single query."""
    listing = ListingProvider(clock, page_size=2)
    process = make_process(listing)
    made = await submit_many(process, clock, 5)
    for n in range(1, 6):
        listing.set_state(f"up_{n}", TaskStatus.SUCCEEDED, seconds=8)
    clock.advance(FIRST_S)
    await process.reconciler.round()
    assert listing.pages == [1, 2, 3] and listing.queries == []
    for task_id in made:
        assert await status_of(store, task_id) is TaskStatus.SUCCEEDED


class SlowListing(ListingProvider):
    """A ListingProvider whose pages take ``page_s`` each."""

    page_s = 0.48

    async def list_tasks(self, route: str, page: int) -> ListPage:
        await asyncio.sleep(self.page_s)
        return await super().list_tasks(route, page)


async def test_a_sweep_out_of_time_queries_the_tasks_it_has_not_seen_one_by_one(
    make_process, clock: FakeClock, store: RedisTaskStore
) -> None:  # type: ignore[no-untyped-def]
    """Five due tasks, two a page, pages slower than the sweep's time (a quarter of the
    hold): one page, whose two are recorded from it; the three unseen are queried, not left
    held until the round is cut off (half the hold)."""
    listing = SlowListing(clock, page_size=2)
    # A 1.6 s hold: paging stops after 0.4 s (a quarter), the round is cut off at 0.8 s.
    process = make_process(listing, hold_s=1.6)
    made = await submit_many(process, clock, 5)
    for n in range(1, 6):
        listing.set_state(f"up_{n}", TaskStatus.SUCCEEDED, seconds=8)
    clock.advance(FIRST_S)
    await process.reconciler.round()
    assert listing.pages == [1]
    assert sorted(listing.queries) == ["up_1", "up_2", "up_3"]
    for task_id in made:
        assert await status_of(store, task_id) is TaskStatus.SUCCEEDED


async def test_due_tasks_far_down_the_list_are_queried_one_by_one(
    make_process, clock: FakeClock, store: RedisTaskStore
) -> None:  # type: ignore[no-untyped-def]
    """Two due tasks under six newer ones, two a page: the first page shows the rest would
    take three more pages, so the two are queried instead."""
    listing = ListingProvider(clock, page_size=2)
    process = make_process(listing)
    due = await submit_many(process, clock, 2)
    clock.advance(3)
    await submit_many(process, clock, 6)
    for n in range(1, 9):
        listing.set_state(f"up_{n}", TaskStatus.PROCESSING)
    await process.reconciler.round()
    assert listing.pages == [1]
    assert sorted(listing.queries) == ["up_1", "up_2"]
    for task_id in due:
        assert await status_of(store, task_id) is TaskStatus.PROCESSING


async def test_a_round_reads_its_tasks_together_and_each_page_schedules_its_tasks_together(
    make_process, clock: FakeClock, store: RedisTaskStore
) -> None:  # type: ignore[no-untyped-def]
    """Thirty running tasks, ten a page: the round reads the thirty in one call, and each of
    the three pages schedules its ten in one call; no task is read or scheduled alone."""
    listing = ListingProvider(clock, page_size=10)
    process = make_process(listing)
    made = await submit_many(process, clock, 30)
    for n in range(1, 31):
        listing.set_state(f"up_{n}", TaskStatus.PROCESSING)
    clock.advance(FIRST_S)
    assert await process.reconciler.round() == 30
    assert listing.pages == [1, 2, 3] and listing.queries == []
    calls = process.counted.calls
    assert calls["get_tasks"] == 1 and calls["get_task"] == 0
    assert calls["reschedule"] == 3
    for task_id in made:
        assert await status_of(store, task_id) is TaskStatus.PROCESSING
        assert not await is_due(store, task_id, clock, 0)
        assert await is_due(store, task_id, clock, MAX_S)


async def test_a_task_of_ours_that_ended_is_recorded_from_a_page_without_its_own_query(
    make_process, listing: ListingProvider, store: RedisTaskStore, clock: FakeClock
) -> None:  # type: ignore[no-untyped-def]
    process = make_process(listing)
    await submit_many(process, clock, 2)
    clock.advance(FIRST_S / 2)
    young = await process.submit()  # not due when the others are
    for n in (1, 2):
        listing.set_state(f"up_{n}", TaskStatus.PROCESSING)
    listing.set_state("up_3", TaskStatus.SUCCEEDED, seconds=8)
    clock.advance(FIRST_S / 2)
    await process.reconciler.round()
    assert listing.pages == [1] and listing.queries == []
    assert await status_of(store, young) is TaskStatus.SUCCEEDED
    assert not await is_due(store, young, clock, 1e6)


async def test_a_running_task_of_ours_on_a_page_is_scheduled_as_if_just_checked(
    make_process, listing: ListingProvider, store: RedisTaskStore, clock: FakeClock
) -> None:  # type: ignore[no-untyped-def]
    """So that a family's tasks come due together: its next check counts from this page."""
    process = make_process(listing)
    *_, other = await submit_many(process, clock, 3)  # made at 0, 1 and 2 s
    for n in (1, 2, 3):
        listing.set_state(f"up_{n}", TaskStatus.PROCESSING)
    clock.advance(FIRST_S)  # 13 s: all three, from one page, due again by 18.5 s
    await process.reconciler.round()
    await store.reschedule("tasks", {other: clock.now + timedelta(seconds=100)})
    clock.advance(6)  # 19 s: the first two; the page shows the third, 17 s old
    await process.reconciler.round()
    assert listing.pages == [1, 1] and listing.queries == []
    wait_s = (17 - FIRST_S) + FIRST_S / 4
    assert not await is_due(store, other, clock, wait_s - 0.01)
    assert await is_due(store, other, clock, wait_s)


async def test_a_running_task_seen_again_before_its_next_check_is_left_as_scheduled(
    make_process, listing: ListingProvider, store: RedisTaskStore, clock: FakeClock
) -> None:  # type: ignore[no-untyped-def]
    """One write per task and wait, not one per page that shows it."""
    process = make_process(listing)
    first, second, other = await submit_many(process, clock, 3)  # made at 0, 1 and 2 s
    for n in (1, 2, 3):
        listing.set_state(f"up_{n}", TaskStatus.PROCESSING)
    clock.advance(FIRST_S)
    await process.reconciler.round()
    await store.reschedule("tasks", {other: clock.now + timedelta(seconds=100)})
    clock.advance(6)  # 19 s: a sweep of the first two schedules the third for 28.5 s
    await process.reconciler.round()
    await store.reschedule("tasks", {other: clock.now + timedelta(seconds=100)})
    for task_id in (first, second):
        await store.reschedule("tasks", {task_id: clock.now + timedelta(seconds=5)})
    clock.advance(5)  # 24 s: the first two again; the third is scheduled past now already
    await process.reconciler.round()
    assert listing.pages == [1, 1, 1]
    assert not await is_due(store, other, clock, 94.9)  # still at 19 + 100 s
    assert await is_due(store, other, clock, 95)


async def test_a_page_the_upstream_cannot_answer_postpones_the_tasks_like_a_failed_query(
    make_process, listing: ListingProvider, store: RedisTaskStore, clock: FakeClock
) -> None:  # type: ignore[no-untyped-def]
    process = make_process(listing)
    made = await submit_many(process, clock, 3)
    listing.list_error = ProviderUnavailable("kling", "503")
    clock.advance(FIRST_S)
    await process.reconciler.round()
    assert listing.pages == [1] and listing.queries == []
    for task_id in made:
        assert await status_of(store, task_id) is TaskStatus.QUEUED
        assert not await is_due(store, task_id, clock, 1.0)
        assert await is_due(store, task_id, clock, MAX_S)


async def test_a_lone_due_task_is_queried_rather_than_listed(
    make_process, listing: ListingProvider, clock: FakeClock
) -> None:  # type: ignore[no-untyped-def]
    process = make_process(listing)
    await process.submit()
    listing.set_state("up_1", TaskStatus.PROCESSING)
    clock.advance(FIRST_S)
    await process.reconciler.round()
    assert listing.pages == [] and listing.queries == ["up_1"]


async def test_a_provider_gets_no_more_queries_than_its_budget_and_the_rest_wait(
    make_process, provider: ScriptedProvider, store: RedisTaskStore, clock: FakeClock
) -> None:  # type: ignore[no-untyped-def]
    """One query a second, and a hold too short to wait for a second token: one query, the
    other tasks due again at their next check."""
    process = make_process(provider, rates={"kling": 1.0}, hold_s=0.4)
    made = await submit_many(process, clock, 4)
    for n in range(1, 5):
        provider.set_state(f"up_{n}", TaskStatus.PROCESSING)
    clock.advance(FIRST_S)
    await process.reconciler.round()
    assert len(provider.queries) == 1
    for task_id in made:
        assert await status_of(store, task_id) in (TaskStatus.QUEUED, TaskStatus.PROCESSING)
        assert await is_due(store, task_id, clock, MAX_S)
    clock.advance(MAX_S)
    await process.reconciler.round()
    assert len(provider.queries) == 2  # a token a second, and the burst is one


async def test_a_success_seen_by_the_reconciler_or_a_read_is_recorded_with_its_duration(
    make_process, provider: ScriptedProvider, clock: FakeClock
) -> None:  # type: ignore[no-untyped-def]
    process = make_process(provider)
    polled, read = await process.submit(), await process.submit()
    provider.set_state("up_1", TaskStatus.SUCCEEDED, seconds=8)
    provider.set_state("up_2", TaskStatus.SUCCEEDED, seconds=8)
    clock.advance(12.5)
    await process.service.get(owner="alice", task_id=read)
    await process.reconciler.round()
    assert sorted(await process.pacing.completions("kling", MODEL)) == [12.5, 12.5]
    assert polled != read
