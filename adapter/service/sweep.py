"""``Sweep``: refresh the due tasks of one provider and family from its list pages.

Where the upstream lists a family's tasks, newest first (the official Kling API, 500 a page),
one request answers for hundreds of tasks. A sweep pages from the newest until it has seen
every task it was given, or until the pages still needed to reach the oldest of them (judged
by how much time a page has spanned so far) would cost as many requests as querying the rest
one by one: then the rest are queried one by one. Each page's answer for a task is recorded
as a query's would be. A task of ours on a page that the upstream says has ended, though this
sweep was not given it, is recorded too (once per process): it ends without its own query;
one still running is scheduled as if just checked, so that a family's tasks come due together
and later sweeps cover them in few pages.
A page the upstream cannot answer postpones the tasks still unseen, as a failed query does.
"""

from __future__ import annotations

import asyncio
import functools
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime

from adapter.core.values import TaskRecord
from adapter.ports import ListedTask, Schedules, TaskStore
from adapter.service.poll_plan import PollPlan
from adapter.service.refresh import Refresher

#: Upstream ids of ended tasks this process has already looked at (and ids of running ones it
#: scheduled from a page), at most.
_REMEMBERED = 20_000
#: The last page number the official Kling API takes.
_MAX_PAGE = 1000
#: How many of a page's tasks are looked at before requests get the loop back.
_STEP = 50

Send = Callable[[str], AbstractAsyncContextManager[bool]]


class Sweep:
    __slots__ = (
        "_advance",
        "_clock",
        "_ended",
        "_paging_s",
        "_plan",
        "_pushed",
        "_refresher",
        "_schedules",
        "_send",
        "_store",
    )

    def __init__(
        self,
        *,
        store: TaskStore,
        schedules: Schedules,
        refresher: Refresher,
        plan: PollPlan,
        clock: Callable[[], datetime],
        send: Send,
        advance: Callable[[TaskRecord], Awaitable[None]],
        paging_s: float = 10.0,
    ) -> None:
        """``send(provider)``: a request slot, ``True`` if it may be used (its budget);
        ``advance(record)``: query one task and schedule it again; ``paging_s``: how long a
        sweep may page (the tasks it has not seen by then are queried one by one, within
        the rest of the round's time)."""
        self._store = store
        self._schedules = schedules
        self._refresher = refresher
        self._plan = plan
        self._send = send
        self._advance = advance
        self._paging_s = paging_s
        self._clock = clock
        self._ended: OrderedDict[str, None] = OrderedDict()
        #: Task id -> when this process last scheduled it from a page (a wait's end).
        self._pushed: OrderedDict[str, datetime] = OrderedDict()

    def grouped(
        self, records: list[TaskRecord], *, is_late: Callable[[TaskRecord], bool]
    ) -> tuple[list[TaskRecord], list[list[TaskRecord]]]:
        """``records`` split into those to query one by one, and groups of one provider and
        family to sweep (two tasks or more, that its upstream lists, not past the deadline)."""
        groups: dict[tuple[str, str, str], list[TaskRecord]] = {}
        singles = []
        for record in records:
            if is_late(record) or not self._refresher.lists(record):
                singles.append(record)
                continue
            key = (record.provider or "", record.mode, record.upstream_route or "")
            groups.setdefault(key, []).append(record)
        swept = []
        for group in groups.values():
            if len(group) > 1:
                swept.append(group)
            else:
                singles.extend(group)
        return singles, swept

    async def refresh(self, group: list[TaskRecord]) -> None:
        """Refresh ``group`` (one provider and family) from its list pages."""
        sample = group[0]
        wanted: dict[str, TaskRecord | None] = {r.upstream_id or "": r for r in group}
        oldest_s = min(record.created_at.timestamp() for record in group)
        ends: list[ListedTask] = []  # the first task listed, and the last so far
        page = 1
        until = time.monotonic() + self._paging_s
        while wanted:
            async with self._send(sample.provider or "") as allowed:
                listing = await self._refresher.list_page(sample, page) if allowed else None
            if listing is None:  # the tasks left are postponed, as after a failed query
                await self._put_off(wanted)
                return
            await self._page(sample, listing.tasks, wanted)
            if listing.tasks:
                ends = [(ends or listing.tasks)[0], listing.tasks[-1]]
            if (
                not listing.full
                or page >= _MAX_PAGE
                or not _worth_paging(ends, len(listing.tasks), page, len(wanted), oldest_s)
            ):
                break
            if time.monotonic() >= until:  # out of time for pages: query the rest
                break
            page += 1
        await _all(self._advance(left) for left in wanted.values() if left is not None)

    async def _page(
        self, sample: TaskRecord, items: list[ListedTask], wanted: dict[str, TaskRecord | None]
    ) -> None:
        """Record what one page says (of its tasks, together), then schedule the running
        ones it showed (in one round trip)."""
        running: list[TaskRecord] = []
        pushed: dict[str, datetime] = {}
        work: list[Callable[[], Awaitable[None]]] = []
        for item in items:
            record = wanted.pop(item.state.upstream_id, None)
            if record is not None:
                work.append(functools.partial(self._listed, record, item, running))
            elif item.external_id and item.state.status.is_terminal:
                work.append(functools.partial(self._ended_elsewhere, sample, item))
            elif item.external_id:
                work.append(functools.partial(self._postpone, sample, item, pushed))
        try:
            for start in range(0, len(work), _STEP):
                # Most of a page is decided without a round trip: a step at a time, so that
                # requests are answered between steps.
                await _all(step() for step in work[start : start + _STEP])
                await asyncio.sleep(0)
        finally:
            pushed.update(await self._next_checks(running))
            if pushed:
                await self._schedules.reschedule("tasks", pushed)

    async def _listed(
        self, record: TaskRecord, item: ListedTask, running: list[TaskRecord]
    ) -> None:
        record = await self._refresher.listed(record, item.state)
        if not record.status.is_terminal:
            running.append(record)

    async def _ended_elsewhere(self, sample: TaskRecord, item: ListedTask) -> None:
        """A task the sweep was not given that the page shows ended: recorded if it is ours
        (once per process), without a query of its own."""
        upstream_id = item.state.upstream_id
        if upstream_id in self._ended:
            return
        self._ended[upstream_id] = None
        if len(self._ended) > _REMEMBERED:
            self._ended.popitem(last=False)
        record = await self._store.get_task(item.external_id)
        if (
            record is None
            or record.status.is_terminal
            or record.upstream_id != upstream_id
            or record.provider != sample.provider
            or record.mode != sample.mode
        ):
            return
        await self._refresher.listed(record, item.state)

    async def _postpone(
        self, sample: TaskRecord, item: ListedTask, pushed: dict[str, datetime]
    ) -> None:
        """Schedule a running task the page showed, that the sweep was not given, as if it
        had just been checked (a no-op for one not on the schedule: not ours, or ended),
        timed as ``sample``'s model: into ``pushed``. So the tasks of a family come due
        together, and the next sweep's pages cover them all; a status it moved to meanwhile
        is recorded when it next comes due. One still before its first query is left."""
        if item.created_at_s is None:
            return
        now = self._clock()
        done = self._pushed.get(item.external_id)
        if done is not None and done > now:
            return  # this process scheduled it already, for later than now
        created = datetime.fromtimestamp(item.created_at_s, UTC)
        provider = sample.provider or ""
        if await self._plan.is_young(created, provider, sample.model):
            return  # already scheduled for its first query
        due = await self._plan.due_at(created, provider, sample.model)
        pushed[item.external_id] = due
        self._pushed[item.external_id] = due
        self._pushed.move_to_end(item.external_id)
        if len(self._pushed) > _REMEMBERED:
            self._pushed.popitem(last=False)

    async def _put_off(self, wanted: dict[str, TaskRecord | None]) -> None:
        """Schedule the given tasks not seen yet for their next check, in one round trip."""
        left = [record for record in wanted.values() if record is not None]
        await self._schedules.reschedule("tasks", await self._next_checks(left))

    async def _next_checks(self, records: list[TaskRecord]) -> dict[str, datetime]:
        return {record.task_id: await self._plan.next_check(record) for record in records}


async def _all(work: Iterable[Awaitable[object]]) -> None:
    """Run ``work`` together, each to its end; then raise the first failure, if any."""
    results = await asyncio.gather(*work, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


def _worth_paging(
    ends: list[ListedTask], page_size: int, pages: int, left: int, oldest_s: float
) -> bool:
    """Whether the pages still needed to reach the oldest task ``left`` (judged by the time
    a task took on the pages so far: ``ends`` are the first task listed and the last) cost no
    more requests than querying the ``left`` tasks one by one."""
    if not left or len(ends) < 2:
        return False
    newest_s, last_s = ends[0].created_at_s, ends[-1].created_at_s
    if newest_s is None or last_s is None:
        return pages < left  # the upstream gave no times: page while it is no dearer
    if last_s <= oldest_s:
        return False  # past the oldest left: the rest are not listed
    per_task_s = max(newest_s - last_s, 1e-3) / max(1, pages * page_size - 1)
    return math.ceil((last_s - oldest_s) / per_task_s / page_size) <= left
