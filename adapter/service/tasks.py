"""``TaskService``: what the API does with tasks: submit, get (refreshed when due), cancel,
events, list, and upstream hints. The parts it stands on are built by the composition root:
the submitter, the writer (every stored change), the refresher (asking the upstream)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from adapter.core.errors import InvalidRequest, TaskNotCancellable, TaskNotFound
from adapter.core.values import Admission, ApiKey, Event, Mode, TaskRecord, TaskStatus
from adapter.ports import Schedules, TaskPage, TaskStore
from adapter.service.keys import Credential, KeyService
from adapter.service.refresh import Refresher
from adapter.service.submission import Submission, Submitter
from adapter.service.writer import TaskWriter

log = logging.getLogger(__name__)

#: The most tasks one list page holds.
MAX_PAGE = 100
_STATUSES = tuple(status.value for status in TaskStatus)


class TaskService:
    """The task lifecycle as clients drive it. Knows ports, never httpx or redis."""

    __slots__ = ("_clock", "_refresher", "_schedules", "_store", "_submitter", "_writer")

    def __init__(
        self,
        *,
        store: TaskStore,
        schedules: Schedules,
        submitter: Submitter,
        writer: TaskWriter,
        refresher: Refresher,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._schedules = schedules
        self._submitter = submitter
        self._writer = writer
        self._refresher = refresher
        self._clock = clock

    async def submit(
        self,
        *,
        owner: str,
        model: str,
        values: Any,
        idempotency_key: str | None,
        webhook_url: str | None = None,
        key_id: str | None = None,
        admission: Admission | None = None,
        mode: Mode = "live",
    ) -> Submission:
        """Create a task, or return the one an earlier request with the same key made
        (``Submitter.submit``)."""
        return await self._submitter.submit(
            owner=owner,
            model=model,
            values=values,
            idempotency_key=idempotency_key,
            webhook_url=webhook_url,
            key_id=key_id,
            admission=admission,
            mode=mode,
        )

    async def get(self, *, owner: str, task_id: str, mode: Mode = "live") -> TaskRecord:
        """The caller's task, refreshed from the upstream when it is due."""
        return await self._refresher.refreshed(await self.owned(owner, task_id, mode))

    async def submit_as(
        self,
        keys: KeyService,
        credential: Credential,
        key: ApiKey | None,
        *,
        model: str,
        values: Any,
        idempotency_key: str | None,
        webhook_url: str | None = None,
    ) -> Submission:
        """:meth:`submit` as the API key ``credential`` names: ``key``, already read, or
        ``None`` to read it with the Idempotency-Key's claim (``Submitter.submit_as``)."""
        return await self._submitter.submit_as(
            keys,
            credential,
            key,
            model=model,
            values=values,
            idempotency_key=idempotency_key,
            webhook_url=webhook_url,
        )

    async def get_as(
        self, keys: KeyService, credential: Credential, task_id: str
    ) -> tuple[ApiKey, TaskRecord]:
        """The API key ``credential`` names (``KeyService.confirm``) and its task, as
        :meth:`get` answers it: the key and the task are read in one round trip."""
        stored, found = await self._store.get_task_and_key(task_id, credential.key_hash)
        key = await keys.confirm(credential, found)
        return key, await self._refresher.refreshed(_owned(stored, key.owner, task_id, key.mode))

    async def cancel(self, *, owner: str, task_id: str, mode: Mode = "live") -> TaskRecord:
        """Cancel the caller's unfinished task at once: ``cancelled``, nothing charged.

        The move is compare-and-set, so a late upstream result can never overwrite it (nor
        be overwritten by it). Then, if the upstream can cancel (DashScope, while pending), it
        is asked to; if it cannot (Kling), the task runs on there and its result is ignored.

        Raises:
            TaskNotCancellable: the task had already ended.
        """
        record = await self.owned(owner, task_id, mode)
        for _ in range(5):
            if record.status.is_terminal:
                raise TaskNotCancellable(task_id, record.status.value)
            cancelled = await self._writer.move(
                record,
                TaskStatus.CANCELLED,
                message="Cancelled by the client.",
                cost_actual=Decimal(0),
            )
            if cancelled is not None:
                await self._cancel_upstream(cancelled)
                return cancelled
            record = await self.owned(owner, task_id, mode)
        raise TaskNotCancellable(task_id, record.status.value)

    async def _cancel_upstream(self, record: TaskRecord) -> None:
        if record.provider is None or record.upstream_id is None:
            return  # not accepted yet (or its answer was lost): the adoption will stop it
        await self._writer.stop_upstream(record)

    async def events(self, *, owner: str, task_id: str, mode: Mode = "live") -> list[Event]:
        """The caller's task's events, oldest first."""
        await self.owned(owner, task_id, mode)
        return await self._store.list_events(task_id)

    async def list_tasks(
        self,
        *,
        owner: str,
        status: str | None,
        limit: int,
        cursor: str | None,
        mode: Mode = "live",
    ) -> TaskPage:
        """The caller's tasks of ``mode``, newest first, a page at a time (``limit`` 1-100).

        Raises:
            InvalidRequest: a bad ``status``, ``limit`` or ``cursor``.
        """
        wanted = _page_args(status, limit)
        with _our_cursor():
            return await self._store.list_tasks(
                owner, status=wanted, limit=limit, cursor=cursor, mode=mode
            )

    async def list_every_task(
        self,
        *,
        key_id: str | None,
        model: str | None,
        status: str | None,
        limit: int,
        cursor: str | None,
        since: str | None = None,
        until: str | None = None,
    ) -> TaskPage:
        """Every owner's tasks (the admin API), newest first, by the key that submitted them,
        model, status and creation time (``since`` and ``until``: RFC 3339, both included; a
        time without a zone is UTC); a page may be short and still have a ``next_cursor``.

        Raises:
            InvalidRequest: a bad ``status``, ``limit``, ``cursor``, ``since`` or ``until``.
        """
        wanted = _page_args(status, limit)
        start, end = _moment(since, "since"), _moment(until, "until")
        if start is not None and end is not None and start > end:
            raise InvalidRequest("since must not be after until.", "since")
        with _our_cursor():
            return await self._store.list_every_task(
                key_id=key_id,
                status=wanted,
                model=model,
                limit=limit,
                cursor=cursor,
                since=start,
                until=end,
            )

    async def hint(self, *, provider: str, task_id: str) -> TaskRecord:
        """An upstream says the task moved: re-query it (never trust the callback's body).

        The task is also made due for the reconciler, in case this refresh is skipped
        because another one is under way.

        Raises:
            TaskNotFound: no such task (or not this provider's).
        """
        record = await self._store.get_task(task_id)
        if record is None or (record.provider is not None and record.provider != provider):
            raise TaskNotFound(task_id)
        await self._schedules.reschedule("tasks", {task_id: self._clock()})
        return await self._refresher.refreshed(record)

    async def stored(self, task_id: str) -> TaskRecord:
        """Any owner's task as stored, in either mode (the operator's view; no refresh).

        Raises:
            TaskNotFound: no such task.
        """
        record = await self._store.get_task(task_id)
        if record is None:
            raise TaskNotFound(task_id)
        return record

    async def owned(self, owner: str, task_id: str, mode: Mode = "live") -> TaskRecord:
        """The caller's task as stored (no refresh): ``owner``'s, made in ``mode``.

        Raises:
            TaskNotFound: no such task, another owner's, or one of the owner's other mode.
        """
        return _owned(await self._store.get_task(task_id), owner, task_id, mode)


def _owned(record: TaskRecord | None, owner: str, task_id: str, mode: Mode) -> TaskRecord:
    """``record`` if it is ``owner``'s, made in ``mode``; else ``TaskNotFound``."""
    # Another owner's task is "not found", never "forbidden": ids leak nothing. Test and
    # live tasks are apart, as in Stripe: a live key never sees a simulated video.
    if record is None or record.owner != owner or record.mode != mode:
        raise TaskNotFound(task_id)
    return record


def _moment(value: str | None, param: str) -> datetime | None:
    """``value`` as a moment (RFC 3339, ``2026-11-29`` or ``2026-11-29T08:00``; UTC unless it
    says otherwise), or ``InvalidRequest`` naming ``param``."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(
            f"{param} must be a time as RFC 3339 (2026-11-29T08:00:00Z) or a date.", param
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _page_args(status: str | None, limit: int) -> TaskStatus | None:
    """The status asked for; ``InvalidRequest`` for a bad one or a bad ``limit``."""
    if status is not None and status not in _STATUSES:
        raise InvalidRequest(f"status must be one of {', '.join(_STATUSES)}.", "status")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}.", "limit")
    return None if status is None else TaskStatus(status)


@contextmanager
def _our_cursor() -> Iterator[None]:
    """A cursor the store never made is the caller's mistake: 422 on ``cursor``."""
    try:
        yield
    except ValueError:
        raise InvalidRequest(
            "cursor is not one this service gave out; pass next_cursor as it came.", "cursor"
        ) from None
