"""``Reconciler``: moves tasks nobody polls, and sends webhook deliveries that are due.

Each round takes the tasks and deliveries that are due from the store's schedules, each held
from other processes for a while (a hold that lapses by itself if this process dies). A task
is refreshed from its upstream, at most ``per_provider`` at once per provider, and scheduled
again: soon while it is young, less often as it ages (a tenth of its age, between
``min_interval_s`` and ``max_interval_s``), with jitter so that tasks made together spread
out. A task past ``deadline_s`` is checked with its upstream and, if still unfinished there,
failed with code ``timeout``. It runs in every ``serve`` process by default, or alone as
``mindvideo-adapter worker``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from adapter.core.errors import StoreUnavailable
from adapter.ports import Metrics, Schedules, TaskStore
from adapter.service.refresh import Refresher
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
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._store = store
        self._schedules = schedules
        self._refresher = refresher
        self._webhooks = webhooks
        self._clock = clock
        self._metrics = metrics
        self._min_s = min_interval_s
        self._max_s = max(max_interval_s, min_interval_s)
        self._deadline_s = deadline_s
        self._hold_s = hold_s
        self._per_provider = per_provider
        self._batch = batch
        self._jitter = jitter
        self._limits: dict[str, asyncio.Semaphore] = {}
        self._stopping = False

    async def run(self, *, tick_s: float | None = None) -> None:
        """Work rounds until :meth:`stop` or a cancel; a store outage pauses, it never stops
        the loop."""
        pause = tick_s if tick_s is not None else min(self._min_s, 1.0)
        while not self._stopping:
            try:
                busy = await self.round()
            except StoreUnavailable as exc:
                log.warning("reconciler.store_unavailable reason=%s", exc.message)
                busy = 0
            except Exception:
                log.exception("reconciler.round_failed")
                busy = 0
            if busy < self._batch and not self._stopping:
                await asyncio.sleep(pause)

    def stop(self) -> None:
        """End :meth:`run` once its current step is done, for good: even if a cancel sent
        with this is lost (on Python 3.11, one that lands as redis-py sends a command is)."""
        self._stopping = True

    async def round(self) -> int:
        """One pass over what is due now; returns how many tasks and deliveries it took.

        First it sets the reconciler's lag: how long the oldest due entry of each schedule
        has waited (zero when nothing is overdue).
        """
        now = self._clock()
        for schedule, due_at in (await self._schedules.oldest_due()).items():
            waited = 0.0 if due_at is None else (now - due_at).total_seconds()
            self._metrics.schedule_lag(schedule, max(0.0, waited))
        tasks = await self._schedules.claim_due(
            "tasks", now=now, limit=self._batch, hold_s=self._hold_s
        )
        hooks = await self._schedules.claim_due(
            "webhooks", now=now, limit=self._batch, hold_s=self._hold_s
        )
        results = await asyncio.gather(
            *(self._bounded(self._advance(task_id)) for task_id in tasks),
            *(self._bounded(self._webhooks.deliver(task_id)) for task_id in hooks),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, TimeoutError):
                log.warning("reconciler.item_timed_out hold_s=%s", self._hold_s)
            elif isinstance(result, BaseException) and not isinstance(result, StoreUnavailable):
                log.error("reconciler.item_failed", exc_info=result)
        return len(tasks) + len(hooks)

    async def _bounded(self, work: Awaitable[None]) -> None:
        """Cut one item off well inside its hold: a slow upstream or webhook receiver never
        stalls the round, and its item never comes due elsewhere while still in hand."""
        async with asyncio.timeout(self._hold_s / 2):
            await work

    async def _advance(self, task_id: str) -> None:
        record = await self._store.get_task(task_id)
        if record is None or record.status.is_terminal:
            await self._schedules.unschedule("tasks", task_id)
            return
        async with self._limit(record.provider or ""):
            age_s = (self._clock() - record.created_at).total_seconds()
            if age_s > self._deadline_s:
                record = await self._refresher.expire(record, self._deadline_s)
            else:
                record = await self._refresher.refreshed(record)
        if not record.status.is_terminal:
            await self._schedules.reschedule("tasks", task_id, self._next_check(record.created_at))

    def _next_check(self, created_at: datetime) -> datetime:
        now = self._clock()
        age_s = (now - created_at).total_seconds()
        wait = min(self._max_s, max(self._min_s, age_s / 10))
        return now + timedelta(seconds=wait * (0.8 + 0.4 * self._jitter()))

    def _limit(self, provider: str) -> asyncio.Semaphore:
        limit = self._limits.get(provider)
        if limit is None:
            limit = self._limits[provider] = asyncio.Semaphore(self._per_provider)
        return limit
