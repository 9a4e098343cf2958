"""``Refresher``: ask the upstream about a task when it is due, at most once per interval,
anywhere; and end a task past its deadline.

The lease in the store makes a refresh single-flight across processes, and each process
remembers when it last went for it: a task it tried less than an interval ago is not due, and
costs no store round trip (a client polling faster than the interval reads the task, nothing
more). Polling errors (429,
5xx, timeouts) leave the task as it is, they never fail it. An accepted task is queried on
the provider and route that took it, and its answer recorded by the writer; a task whose
submit answer was lost goes to recovery. An upstream that says it no longer has an accepted
task ends it, once the submit window has passed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from adapter.core.errors import AllProvidersFailed, ProviderError, ProviderTaskNotFound
from adapter.core.values import TaskRecord, UpstreamState
from adapter.ports import ListPage, RefreshLeases
from adapter.service.recovery import Recovery
from adapter.service.routing import Router
from adapter.service.writer import TaskWriter

log = logging.getLogger(__name__)

#: Tasks whose last try this process remembers; beyond it the lapsed ones are forgotten.
_REMEMBERED = 10_000


class Refresher:
    """Brings stored tasks up to date with their upstream."""

    __slots__ = (
        "_interval_ms",
        "_leases",
        "_next_try",
        "_poll_timeout_s",
        "_recovery",
        "_router",
        "_writer",
    )

    def __init__(
        self,
        *,
        leases: RefreshLeases,
        writer: TaskWriter,
        recovery: Recovery,
        router: Router,
        interval_s: float,
        poll_timeout_s: float,
    ) -> None:
        self._leases = leases
        self._writer = writer
        self._recovery = recovery
        self._router = router
        self._interval_ms = int(interval_s * 1000)
        self._poll_timeout_s = poll_timeout_s
        #: Task id -> when this process may go for its lease again (monotonic seconds).
        self._next_try: dict[str, float] = {}

    async def refreshed(self, record: TaskRecord) -> TaskRecord:
        """``record``, advanced from the upstream if it is due and nobody else is on it."""
        if record.status.is_terminal:
            return record
        if record.submit_state == "submitting" and not self._recovery.is_past_submit_window(record):
            return record  # its submit is still in flight in some process
        if self._tried_lately(record.task_id):
            return record  # not due: this process went for it less than an interval ago
        return await self._leased(record, self._refresh)

    def _tried_lately(self, task_id: str) -> bool:
        """Whether this process went for the task's lease less than an interval ago; if not,
        it is going now."""
        now = time.monotonic()
        if self._next_try.get(task_id, 0.0) > now:
            return True
        if len(self._next_try) >= _REMEMBERED:
            lapsed = [key for key, at in self._next_try.items() if at <= now]
            for key in lapsed or list(self._next_try):
                del self._next_try[key]
        self._next_try[task_id] = now + self._interval_ms / 1000
        return False

    async def expire(self, record: TaskRecord, deadline_s: float) -> TaskRecord:
        """End a task that outlived its deadline, ``failed`` with code ``timeout``.

        Only after asking the upstream: if it has an outcome, that is applied instead; if it
        cannot be asked now, the task is left for the next round. A task whose submit answer
        was lost goes to recovery, which has its own limit.
        """
        if record.upstream_id is None:
            return await self.refreshed(record)
        return await self._leased(record, lambda current: self._expire(current, deadline_s))

    def lists(self, record: TaskRecord) -> bool:
        """Whether ``record``'s upstream lists its family's tasks (``list_page``)."""
        return self._router.lists(record)

    async def list_page(self, record: TaskRecord, page: int) -> ListPage | None:
        """Page ``page`` of the tasks of ``record``'s provider and family, newest first;
        ``None`` when the upstream cannot be asked now (logged, like a failed query)."""
        try:
            return await self._router.list_page(record, page, timeout_s=self._poll_timeout_s)
        except (ProviderError, TimeoutError) as exc:
            log.warning("task.list_failed provider=%s reason=%s", record.provider, exc)
            return None

    async def listed(self, record: TaskRecord, state: UpstreamState) -> TaskRecord:
        """Record what a list page says of ``record``, as a query's answer would be."""
        return await self._writer.apply(record, state, provider=record.provider)

    async def _leased(
        self, record: TaskRecord, work: Callable[[TaskRecord], Awaitable[TaskRecord]]
    ) -> TaskRecord:
        """Run ``work`` under the task's refresh lease (single-flight across processes);
        after it, the lease is kept for the minimum interval between two refreshes."""
        hold_ms = int(self._poll_timeout_s * 1000) + self._interval_ms
        if not await self._leases.acquire_refresh(record.task_id, hold_ms):
            return record
        try:
            return await work(record)
        finally:
            await self._leases.extend_refresh(record.task_id, self._interval_ms)

    async def _refresh(self, record: TaskRecord) -> TaskRecord:
        if record.upstream_id is not None:
            try:
                state = await self._query(record)
            except ProviderTaskNotFound as exc:
                return await self._gone(record, exc)
            if state is None:
                return record
            return await self._writer.apply(record, state, provider=record.provider)
        try:
            async with asyncio.timeout(self._poll_timeout_s):
                return await self._recovery.recover(record)
        except (ProviderError, AllProvidersFailed, TimeoutError) as exc:
            log.warning("task.refresh_failed task_id=%s reason=%s", record.task_id, exc)
            return record

    async def _expire(self, record: TaskRecord, deadline_s: float) -> TaskRecord:
        try:
            state = await self._query(record)
        except ProviderTaskNotFound as exc:
            return await self._gone(record, exc)
        if state is None:
            return record
        if state.status.is_terminal:
            return await self._writer.apply(record, state, provider=record.provider)
        expired = await self._writer.fail(
            record,
            "timeout",
            f"The task did not finish within {deadline_s:g} s; the upstream still had it "
            f"{state.status.value} when checked. Nothing is charged.",
        )
        if expired.error is not None and expired.error.code == "timeout":
            await self._writer.stop_upstream(expired)
        return expired

    async def _query(self, record: TaskRecord) -> UpstreamState | None:
        """What the upstream says of an accepted task now; None when it cannot be asked.

        Raises:
            ProviderTaskNotFound: the upstream says it has no such task.
        """
        try:
            return await self._router.query(record, timeout_s=self._poll_timeout_s)
        except ProviderTaskNotFound:
            raise
        except (ProviderError, TimeoutError) as exc:
            log.warning("task.refresh_failed task_id=%s reason=%s", record.task_id, exc)
            return None

    async def _gone(self, record: TaskRecord, exc: ProviderTaskNotFound) -> TaskRecord:
        """The upstream denies an accepted task: past the submit window, it ends ``failed``
        (nothing charged) rather than being polled until its deadline and beyond."""
        log.warning("task.upstream_denies task_id=%s reason=%s", record.task_id, exc.message)
        if not self._recovery.is_past_submit_window(record):
            return record
        return await self._writer.fail(
            record,
            "upstream_task_not_found",
            f"The upstream ({record.provider}) says it has no task {record.upstream_id} "
            f"({exc.message}); it cannot be followed. Nothing is charged.",
        )
