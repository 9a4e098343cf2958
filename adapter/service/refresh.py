"""Refresh on read: advance a task from its upstream, at most once per interval, anywhere.

The lease in the store makes a refresh single-flight across processes; polling errors
(429, 5xx, timeouts) leave the task as it is, they never fail it. A task whose submit
answer was lost is reconciled by its ``external_task_id``: found upstream, it is adopted.
Only when the upstream can say for sure that it never got the task (the official API can,
a gateway may not) is it submitted again, under the same id, once the submit window has
passed. Otherwise it waits, and after ``give_up_after_s`` ends ``failed`` with code
``upstream_outcome_unknown``: never submitted twice on a guess.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import msgspec

from adapter.errors import (
    AllProvidersFailed,
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderTaskNotFound,
)
from adapter.model import Event, TaskError, TaskRecord, TaskStatus, UpstreamState, VideoJob
from adapter.ports import TaskStore
from adapter.service.catalog import Catalog
from adapter.service.routing import Router
from adapter.service.transitions import can_move

log = logging.getLogger(__name__)

_decode_values = msgspec.json.Decoder(dict[str, Any]).decode

#: What the providers said of a task whose submit answer was lost: ``absent`` (each is sure it
#: never got it: a resubmit is safe), ``denied`` (each says it has none under our id, but one
#: knows tasks only by its own ids: end it, never resubmit), ``unknown`` (one could not tell).
Verdict = Literal["absent", "denied", "unknown"]


class Refresher:
    """Brings stored tasks up to date with their upstream."""

    def __init__(
        self,
        *,
        store: TaskStore,
        catalog: Catalog,
        router: Router,
        clock: Callable[[], datetime],
        interval_s: float,
        poll_timeout_s: float,
        submit_stale_s: float,
        give_up_after_s: float,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._router = router
        self._clock = clock
        self._interval_ms = int(interval_s * 1000)
        self._poll_timeout_s = poll_timeout_s
        self._submit_stale = timedelta(seconds=submit_stale_s)
        self._give_up = timedelta(seconds=give_up_after_s)

    async def refreshed(self, record: TaskRecord) -> TaskRecord:
        """``record``, advanced from the upstream if it is due and nobody else is on it."""
        if record.status.is_terminal:
            return record
        if record.submit_state == "submitting" and not self._is_stale(record):
            return record  # its submit is still in flight in some process
        return await self._leased(record, self._refresh)

    async def expire(self, record: TaskRecord, deadline_s: float) -> TaskRecord:
        """End a task that outlived its deadline, ``failed`` with code ``timeout``.

        Only after asking the upstream: if it has an outcome, that is applied instead; if it
        cannot be asked now, the task is left for the next sweep. A task whose submit answer
        was lost goes the reconcile way, which has its own limit.
        """
        if record.upstream_id is None:
            return await self.refreshed(record)
        return await self._leased(record, lambda current: self._expire(current, deadline_s))

    async def _leased(
        self, record: TaskRecord, work: Callable[[TaskRecord], Awaitable[TaskRecord]]
    ) -> TaskRecord:
        """Run ``work`` under the task's refresh lease (single-flight across processes);
        after it, the lease is kept for the minimum interval between two refreshes."""
        hold_ms = int(self._poll_timeout_s * 1000) + self._interval_ms
        if not await self._store.acquire_refresh(record.task_id, hold_ms):
            return record
        try:
            return await work(record)
        finally:
            await self._store.extend_refresh(record.task_id, self._interval_ms)

    async def _expire(self, record: TaskRecord, deadline_s: float) -> TaskRecord:
        try:
            state = await self._query(record)
        except ProviderTaskNotFound as exc:
            return await self._gone(record, exc)
        if state is None:
            return record
        if state.status.is_terminal:
            return await self.apply(record, state, provider=record.provider)
        expired = await self._fail(
            record,
            "timeout",
            f"The task did not finish within {deadline_s:g} s; the upstream still had it "
            f"{state.status.value} when checked. Nothing is charged.",
        )
        if expired.error is not None and expired.error.code == "timeout":
            await self.stop_upstream(expired)
        return expired

    def _is_stale(self, record: TaskRecord) -> bool:
        return self._clock() - record.created_at > self._submit_stale

    async def _refresh(self, record: TaskRecord) -> TaskRecord:
        if record.upstream_id is not None:
            try:
                state = await self._query(record)
            except ProviderTaskNotFound as exc:
                return await self._gone(record, exc)
            if state is None:
                return record
            return await self.apply(record, state, provider=record.provider)
        try:
            async with asyncio.timeout(self._poll_timeout_s):
                return await self._reconcile(record)
        except (ProviderError, AllProvidersFailed, TimeoutError) as exc:
            log.warning("task.refresh_failed task_id=%s reason=%s", record.task_id, exc)
            return record

    async def _query(self, record: TaskRecord) -> UpstreamState | None:
        """What the upstream says of an accepted task now; None when it cannot be asked.

        Raises:
            ProviderTaskNotFound: the upstream says it has no such task.
        """
        try:
            async with asyncio.timeout(self._poll_timeout_s):
                # An adopted upstream id always comes with its provider and route.
                provider = self._router.pinned(record.provider or "")
                return await provider.query(record.upstream_route or "", record.upstream_id or "")
        except ProviderTaskNotFound:
            raise
        except (ProviderError, TimeoutError) as exc:
            log.warning("task.refresh_failed task_id=%s reason=%s", record.task_id, exc)
            return None

    async def _gone(self, record: TaskRecord, exc: ProviderTaskNotFound) -> TaskRecord:
        """The upstream denies an accepted task: past the submit window, it ends ``failed``
        (nothing charged) rather than being polled until its deadline and beyond."""
        log.warning("task.upstream_denies task_id=%s reason=%s", record.task_id, exc.message)
        if not self._is_stale(record):
            return record
        return await self._fail(
            record,
            "upstream_task_not_found",
            f"The upstream ({record.provider}) says it has no task {record.upstream_id} "
            f"({exc.message}); it cannot be followed. Nothing is charged.",
        )

    async def _reconcile(self, record: TaskRecord) -> TaskRecord:
        """Find a task whose submit answer was lost; send it again only if surely absent."""
        job = VideoJob(
            model=record.model,
            input=_decode_values(record.input),
            external_id=record.task_id,
        )
        found, verdict = await self._look_up(record, job)
        if found is not None:
            return await self.apply(record, found[1], provider=found[0])
        if not self._is_stale(record):
            return record  # give a slow upstream time to register it
        if verdict == "denied":
            return await self._fail(
                record,
                "upstream_task_not_found",
                f"The upstream ({record.provider or 'unknown provider'}) has no task with our "
                f"id {record.task_id}: the answer to its submit was lost, and it knows tasks "
                "only by its own ids, so it cannot tell whether it made one. Nothing is "
                "charged here; before submitting again, look in that account for a task "
                f"submitted at {record.created_at:%Y-%m-%d %H:%M:%S} UTC.",
            )
        if verdict == "unknown":
            if self._clock() - record.created_at > self._give_up:
                return await self._fail(
                    record,
                    "upstream_outcome_unknown",
                    f"The upstream ({record.provider or 'unknown provider'}) never confirmed "
                    "this task and cannot be asked about it by our id; look in that account "
                    f"for a task submitted at {record.created_at:%Y-%m-%d %H:%M:%S} UTC (Kling "
                    f"also shows external_task_id {record.task_id}) before submitting it again.",
                )
            return record
        # Only to the provider that was asked (or the first that denied it), never falling
        # through: another provider could not tell us later whether it made the task too.
        name = record.provider or self._router.candidates(record.model)[0].name
        provider = self._router.pinned(name)
        try:
            state = await self._router.submit_to(provider, job)
        except ProviderOutcomeUnknown:
            log.warning("task.resubmit_unknown task_id=%s provider=%s", record.task_id, name)
            return await self.save(record, provider=name, submit_state="unknown")
        except ProviderRejected as exc:
            # A duplicate external_task_id means the first submit landed after all.
            found, _ = await self._look_up(msgspec.structs.replace(record, provider=name), job)
            if found is not None:
                return await self.apply(record, found[1], provider=found[0])
            return await self._fail(record, "upstream_rejected", exc.message)
        log.info("task.resubmitted task_id=%s provider=%s", record.task_id, name)
        return await self.apply(record, state, provider=name)

    async def _look_up(
        self, record: TaskRecord, job: VideoJob
    ) -> tuple[tuple[str, UpstreamState] | None, Verdict]:
        """The provider and state holding ``job``, or what the providers asked said of it."""
        names = (
            [record.provider]
            if record.provider
            else [p.name for p in self._router.candidates(record.model)]
        )
        said: set[Verdict] = set()
        for name in names:
            provider = self._router.pinned(name)
            if not provider.serves(record.model):
                said.add("unknown")  # reconfigured since: it cannot be asked any more
                continue
            try:
                state = await provider.lookup(job)
            except ProviderOutcomeUnknown:
                said.add("unknown")
                continue
            except ProviderTaskNotFound as exc:
                log.info("task.denied task_id=%s provider=%s", record.task_id, exc.provider)
                said.add("denied")
                continue
            if state is not None:
                log.info("task.reconciled task_id=%s provider=%s", record.task_id, name)
                return (name, state), "unknown"
            said.add("absent")
        if "unknown" in said:
            return None, "unknown"
        return None, "denied" if "denied" in said else "absent"

    async def apply(
        self, record: TaskRecord, state: UpstreamState, *, provider: str | None
    ) -> TaskRecord:
        """Record what the upstream said: adopt its id, and move the status if allowed.

        A lost compare-and-set race is retried on the winner's version, so an adoption or a
        status move is never dropped, and never recorded twice.
        """
        for _ in range(5):
            changes: dict[str, Any] = {}
            if record.upstream_id is None:
                changes.update(
                    provider=provider,
                    upstream_id=state.upstream_id,
                    upstream_route=state.route,
                    submit_state="accepted",
                )
            event = None
            if state.status != record.status and can_move(record.status, state.status):
                changes.update(self._outcome(record, state))
                error: TaskError | None = changes.get("error")
                event = Event(
                    type="status",
                    status=changes["status"],
                    at=self._clock(),
                    message=None if error is None else error.message,
                )
            if not changes:
                return record
            new = self._changed(record, changes)
            if await self._store.update_task(new, event):
                if record.upstream_id is None and record.status is TaskStatus.CANCELLED:
                    await self.stop_upstream(new)  # cancelled while its submit was in flight
                return new
            current = await self._store.get_task(record.task_id)
            if current is None:
                return record
            record = current
        return record

    async def stop_upstream(self, record: TaskRecord) -> None:
        """Ask the upstream to stop a task we no longer want; best effort, never raises."""
        try:
            provider = self._router.pinned(record.provider or "")
            await provider.cancel(record.upstream_route or "", record.upstream_id or "")
        except ProviderError as exc:
            log.info("task.cancel_upstream_refused task_id=%s reason=%s", record.task_id, exc)

    def _outcome(self, record: TaskRecord, state: UpstreamState) -> dict[str, Any]:
        if state.status is TaskStatus.SUCCEEDED:
            if not state.videos:
                return {
                    "status": TaskStatus.FAILED,
                    "cost_actual": Decimal(0),
                    "error": TaskError(
                        "upstream_no_output", "The upstream reported success but sent no video."
                    ),
                }
            return {
                "status": state.status,
                "videos": state.videos,
                "cost_actual": self._actual_cost(record, state),
            }
        if state.status is TaskStatus.FAILED:
            reason = state.message or "The upstream failed the task without a reason."
            return {
                "status": state.status,
                "cost_actual": Decimal(0),
                "error": TaskError("generation_failed", reason),
            }
        if state.status is TaskStatus.CANCELLED:
            return {"status": state.status, "cost_actual": Decimal(0)}
        return {"status": state.status}

    def _actual_cost(self, record: TaskRecord, state: UpstreamState) -> Decimal:
        rule = self._catalog.get(record.model).price
        seconds = state.videos[0].duration
        if rule.is_billed_by_input or seconds is None or not math.isfinite(seconds) or seconds <= 0:
            # A requested duration is what is billed (a "5" s video may last 5.04 s).
            return record.cost_estimate
        return rule.cost(_decode_values(record.input), seconds)

    async def _fail(self, record: TaskRecord, code: str, message: str) -> TaskRecord:
        event = Event(type="status", status=TaskStatus.FAILED, at=self._clock(), message=message)
        return await self.save(
            record,
            event=event,
            status=TaskStatus.FAILED,
            cost_actual=Decimal(0),
            error=TaskError(code, message),
            submit_state="accepted",
        )

    async def save_move(
        self, record: TaskRecord, status: TaskStatus, *, message: str, **changes: Any
    ) -> TaskRecord | None:
        """Move ``record`` to ``status`` with its event, if nobody changed it meanwhile.

        Returns:
            The stored record, or ``None`` when another writer got there first.
        """
        event = Event(type="status", status=status, at=self._clock(), message=message)
        new = self._changed(record, {"status": status, **changes})
        return new if await self._store.update_task(new, event) else None

    async def save(
        self, record: TaskRecord, *, event: Event | None = None, **changes: Any
    ) -> TaskRecord:
        """Compare-and-set ``changes`` onto the stored task; on a lost race, return the winner's."""
        new = self._changed(record, changes)
        if await self._store.update_task(new, event):
            return new
        current = await self._store.get_task(record.task_id)
        return current if current is not None else record

    def _changed(self, record: TaskRecord, changes: dict[str, Any]) -> TaskRecord:
        return msgspec.structs.replace(
            record, version=record.version + 1, updated_at=self._clock(), **changes
        )
