"""``Reconciler``: moves tasks nobody polls, and sends webhook deliveries that are due.

Each round takes the tasks and deliveries that are due from the store's schedules, each held
from other processes for a while (a hold that lapses by itself if this process dies). When
each task is asked about is the ``PollPlan``'s: not before it can plausibly be done, then
less and less often. A task taken earlier than that (a new one, which the store makes due at
once) is only scheduled for then. Where its upstream lists a family's tasks (the official
Kling API), the due tasks of one provider and family are refreshed together from list pages
(``Sweep``); the others are queried one by one, at most ``per_provider`` requests at once per
provider. A provider with a query budget (``QueryBudget``) gets no more queries a second from
all processes together. While the process is busy (``CpuShare``), new items and upstream
requests wait: requests come first. A task past ``deadline_s`` is checked with its upstream
and, if still unfinished there, failed with code ``timeout``. It runs in every ``serve``
process by default, or alone as ``mindvideo-adapter worker``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from adapter.core.errors import StoreUnavailable
from adapter.core.values import TaskRecord
from adapter.ports import Metrics, Schedules, TaskStore
from adapter.service.cpu_share import CpuShare
from adapter.service.poll_plan import PollPlan
from adapter.service.query_budget import QueryBudget
from adapter.service.refresh import Refresher
from adapter.service.sweep import Sweep
from adapter.service.webhooks import WebhookDispatcher

log = logging.getLogger(__name__)


class Reconciler:
    def __init__(
        self,
        *,
        store: TaskStore,
        schedules: Schedules,
        refresher: Refresher,
        webhooks: WebhookDispatcher,
        clock: Callable[[], datetime],
        metrics: Metrics,
        min_interval_s: float,
        max_interval_s: float = 30.0,
        deadline_s: float,
        hold_s: float,
        per_provider: int = 8,
        batch: int = 64,
        max_batch: int = 1024,
        jitter: Callable[[], float] = random.random,
        plan: PollPlan | None = None,
        budget: QueryBudget | None = None,
        share: CpuShare | None = None,
    ) -> None:
        """``plan``: when tasks are due (by default, one that learns nothing, from
        ``min_interval_s``, ``max_interval_s`` and ``jitter``); ``budget``: each provider's
        queries a second (``None``: unpaced); ``share``: hold new items, and each upstream
        request, back while the process is busy (``None``: never).

        A round takes ``batch`` items at first. Through a backlog it takes more (twice as
        many after a full round that took under an eighth of ``hold_s``, up to
        ``max_batch``), and fewer again after one that took over a quarter of it: so a
        backlog costs few rounds, each far inside its hold, however slow the upstream.
        """
        self._store = store
        self._schedules = schedules
        self._refresher = refresher
        self._webhooks = webhooks
        self._clock = clock
        self._metrics = metrics
        self._min_s = min_interval_s
        self._deadline_s = deadline_s
        self._hold_s = hold_s
        self._per_provider = per_provider
        self._batch = batch
        self._max_batch = max(batch, max_batch)
        #: How many items the next round takes.
        self._size = batch
        #: Whether the last round took all it could: the next starts at once.
        self._full = False
        self._plan = plan or PollPlan(
            None,
            clock=clock,
            min_interval_s=min_interval_s,
            max_interval_s=max_interval_s,
            deadline_s=deadline_s,
            jitter=jitter,
        )
        self._budget = budget
        self._share = share
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._sweep = Sweep(
            store=store,
            schedules=schedules,
            refresher=refresher,
            plan=self._plan,
            clock=clock,
            send=self._send,
            advance=self._advance,
            paging_s=hold_s / 4,
        )
        self._stopping = False
        #: When the lag was last read: at most once a second (a read of every shard's
        #: schedules), however often rounds run through a backlog.
        self._lag_read_at: datetime | None = None

    async def run(self, *, tick_s: float | None = None) -> None:
        """Work rounds until :meth:`stop` or a cancel; a store outage pauses, it never stops
        the loop."""
        pause = tick_s if tick_s is not None else min(self._min_s, 1.0)
        while not self._stopping:
            self._full = False
            try:
                await self.round()
            except StoreUnavailable as exc:
                log.warning("reconciler.store_unavailable reason=%s", exc.message)
            except Exception:
                log.exception("reconciler.round_failed")
            if not self._full and not self._stopping:
                await asyncio.sleep(pause)
            else:
                await asyncio.sleep(0)  # a full round: let requests in before the next

    def stop(self) -> None:
        """End :meth:`run` once its current step is done, for good: even if a cancel sent
        with this is lost (on Python 3.11, one that lands as redis-py sends a command is)."""
        self._stopping = True

    async def round(self) -> int:
        """One pass over what is due now; returns how many tasks and deliveries it took.

        First, at most once a second, it sets the reconciler's lag: how long the oldest due
        entry of each schedule has waited (zero when nothing is overdue).
        """
        now = self._clock()
        if self._lag_read_at is None or (now - self._lag_read_at).total_seconds() >= 1:
            self._lag_read_at = now
            for schedule, due_at in (await self._schedules.oldest_due()).items():
                waited = 0.0 if due_at is None else (now - due_at).total_seconds()
                self._metrics.schedule_lag(schedule, max(0.0, waited))
        started = time.monotonic()
        size = self._size
        tasks = await self._schedules.claim_due("tasks", now=now, limit=size, hold_s=self._hold_s)
        # Deliveries never take more than the first size: the webhook client's pool is sized
        # for it, and a delivery queued past the pool's wait would count as a failed attempt.
        hooks = await self._schedules.claim_due(
            "webhooks", now=now, limit=self._batch, hold_s=self._hold_s
        )
        records: list[TaskRecord] = []
        try:
            records = await self._due(tasks)
        except StoreUnavailable as exc:  # the tasks wait for their hold; deliveries go on
            log.warning("reconciler.store_unavailable reason=%s", exc.message)
        except Exception:
            log.exception("reconciler.read_failed")
        singles, groups = self._sweep.grouped(records, is_late=self._is_late)
        results = await asyncio.gather(
            *(self._bounded(self._advance(record)) for record in singles),
            *(self._bounded(self._sweep.refresh(group)) for group in groups),
            *(self._bounded(self._webhooks.deliver(task_id)) for task_id in hooks),
            return_exceptions=True,
        )
        self._log_failures(results)
        self._full = len(tasks) >= size or len(hooks) >= self._batch
        self._resize(full=len(tasks) >= size, took_s=time.monotonic() - started)
        return len(tasks) + len(hooks)

    def _resize(self, *, full: bool, took_s: float) -> None:
        """The next round's size, from how this one went (see ``__init__``)."""
        if full and took_s < self._hold_s / 8:
            self._size = min(self._size * 2, self._max_batch)
        elif took_s > self._hold_s / 4:
            self._size = max(self._size // 2, self._batch)

    def _log_failures(self, results: list[object]) -> None:
        for result in results:
            if isinstance(result, TimeoutError):
                log.warning("reconciler.item_timed_out hold_s=%s", self._hold_s)
            elif isinstance(result, BaseException) and not isinstance(result, StoreUnavailable):
                log.error("reconciler.item_failed", exc_info=result)

    async def _bounded(self, work: Awaitable[object]) -> object:
        """Cut one item (a query, a sweep or a delivery) off well inside its hold: a slow
        upstream or webhook receiver never stalls the round, and its item never comes due
        elsewhere while still in hand. (Reading the round's tasks, one round trip, is not an
        item.)"""
        async with asyncio.timeout(self._hold_s / 2):
            if self._share is not None:
                await self._share.turn()
            return await work

    async def _due(self, task_ids: list[str]) -> list[TaskRecord]:
        """The claimed tasks (read in one round trip) that are to be asked about now. Those
        taken before they can plausibly be done are only scheduled for then (in one more
        round trip); those that ended leave the schedule (rare: ending takes a task off it)."""
        early: dict[str, datetime] = {}
        ended = []
        asking = []
        for task_id, record in zip(task_ids, await self._store.get_tasks(task_ids), strict=True):
            if record is None or record.status.is_terminal:
                ended.append(task_id)
            elif not self._is_late(record) and await self._plan.is_early(record):
                early[task_id] = await self._plan.next_check(record)
            else:
                asking.append(record)
        if early:
            await self._schedules.reschedule("tasks", early)
        await asyncio.gather(*(self._schedules.unschedule("tasks", task_id) for task_id in ended))
        return asking

    def _is_late(self, record: TaskRecord) -> bool:
        return (self._clock() - record.created_at).total_seconds() > self._deadline_s

    async def _advance(self, record: TaskRecord) -> None:
        """Ask the upstream about one task (within its provider's budget), then schedule it
        again unless it ended."""
        async with self._send(record.provider or "") as allowed:
            if allowed:
                if self._is_late(record):
                    record = await self._refresher.expire(record, self._deadline_s)
                else:
                    record = await self._refresher.refreshed(record)
        if not record.status.is_terminal:
            await self._schedules.reschedule(
                "tasks", {record.task_id: await self._plan.next_check(record)}
            )

    def _send(self, provider: str) -> _Sending:
        """A slot to send one request to ``provider``: at most ``per_provider`` at once, and
        within its budget (waiting for a token up to a quarter of the hold)."""
        limit = self._limits.get(provider)
        if limit is None:
            limit = self._limits[provider] = asyncio.Semaphore(self._per_provider)
        return _Sending(limit, self._budget, self._share, provider, self._hold_s / 4)


class _Sending:
    """``async with`` one provider's request slot, taken once the process is not busy (its
    CPU share); binds whether a token of the provider's budget came in time."""

    __slots__ = ("_budget", "_limit", "_provider", "_share", "_within_s")

    def __init__(
        self,
        limit: asyncio.Semaphore,
        budget: QueryBudget | None,
        share: CpuShare | None,
        provider: str,
        within_s: float,
    ) -> None:
        self._limit = limit
        self._budget = budget
        self._share = share
        self._provider = provider
        self._within_s = within_s

    async def __aenter__(self) -> bool:
        await self._limit.acquire()
        try:
            if self._share is not None:
                await self._share.turn()
            if self._budget is None:
                return True
            return await self._budget.take(self._provider, within_s=self._within_s)
        except BaseException:
            self._limit.release()
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._limit.release()
