"""``TaskWriter``: the one place a stored task changes.

Every change is compare-and-set on the task's version, with its event appended in the same
store step (so a status change is recorded exactly once, whichever path saw it first: a read,
a callback, the reconciler, a cancel), and only along the transition table
(``transitions.can_move``). What a move costs is decided here too: the actual cost at
success, nothing at failure or cancel; how long a success took is recorded for the reconciler's
``PollPlan``. A task stopped while the upstream still has it is
stopped there, where the upstream can.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from adapter.core.errors import ProviderError
from adapter.core.values import Event, TaskError, TaskRecord, TaskStatus, UpstreamState
from adapter.ports import Metrics, TaskStore
from adapter.service.catalog import Catalog
from adapter.service.poll_plan import PollPlan
from adapter.service.pricing import money
from adapter.service.routing import Router
from adapter.service.transitions import can_move

log = logging.getLogger(__name__)

_decode_values = msgspec.json.Decoder(dict[str, Any]).decode

#: How many times a move lost to another writer is tried again on the winner's version.
_RETRIES = 5


class TaskWriter:
    """Writes tasks: adoptions, status moves, and the charges that go with them."""

    __slots__ = ("_catalog", "_clock", "_metrics", "_plan", "_router", "_store")

    def __init__(
        self,
        *,
        store: TaskStore,
        catalog: Catalog,
        router: Router,
        clock: Callable[[], datetime],
        metrics: Metrics,
        plan: PollPlan | None = None,
    ) -> None:
        """``plan``: told how long each task that succeeds took (whichever path saw it: the
        reconciler, a read, a callback), to learn when to poll the next ones."""
        self._store = store
        self._plan = plan
        self._catalog = catalog
        self._router = router
        self._clock = clock
        self._metrics = metrics

    async def apply(
        self, record: TaskRecord, state: UpstreamState, *, provider: str | None
    ) -> TaskRecord:
        """Record what the upstream said: adopt its id, and move the status if allowed.

        A lost compare-and-set race is retried on the winner's version, so an adoption or a
        status move is never dropped, and never recorded twice.
        """
        for _ in range(_RETRIES):
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
            if await self._stored(record, new, event):
                if record.upstream_id is None and record.status is TaskStatus.CANCELLED:
                    await self.stop_upstream(new)  # cancelled while its submit was in flight
                return new
            current = await self._store.get_task(record.task_id)
            if current is None:
                return record
            record = current
        return record

    async def move(
        self, record: TaskRecord, status: TaskStatus, *, message: str, **changes: Any
    ) -> TaskRecord | None:
        """Move ``record`` to ``status`` with its event, if nobody changed it meanwhile.

        Returns:
            The stored record, or ``None`` when another writer got there first.
        """
        event = Event(type="status", status=status, at=self._clock(), message=message)
        new = self._changed(record, {"status": status, **changes})
        return new if await self._stored(record, new, event) else None

    async def fail(self, record: TaskRecord, code: str, message: str) -> TaskRecord:
        """End ``record`` ``failed`` with ``code``, nothing charged (the winner's, on a race)."""
        event = Event(type="status", status=TaskStatus.FAILED, at=self._clock(), message=message)
        return await self.save(
            record,
            event=event,
            status=TaskStatus.FAILED,
            cost_actual=Decimal(0),
            error=TaskError(code, message),
            submit_state="accepted",
        )

    async def save(
        self, record: TaskRecord, *, event: Event | None = None, **changes: Any
    ) -> TaskRecord:
        """Compare-and-set ``changes`` onto the stored task; on a lost race, return the winner's."""
        new = self._changed(record, changes)
        if await self._stored(record, new, event):
            return new
        current = await self._store.get_task(record.task_id)
        return current if current is not None else record

    async def stop_upstream(self, record: TaskRecord) -> None:
        """Ask the upstream to stop a task we no longer want; best effort, never raises."""
        try:
            await self._router.cancel(record)
        except ProviderError as exc:
            log.info("task.cancel_upstream_refused task_id=%s reason=%s", record.task_id, exc)

    async def _stored(self, record: TaskRecord, new: TaskRecord, event: Event | None) -> bool:
        """Compare-and-set ``new`` over ``record``; a task that ends here is counted (once:
        only the writer that wins the race ends it)."""
        if event is None and new.status is not record.status:
            raise ValueError(f"task {new.task_id}: a status moves only with its event")
        if not await self._store.update_task(new, event):
            return False
        if new.status.is_terminal and not record.status.is_terminal:
            self._metrics.task_ended(new.model, new.status)
            if self._plan is not None:
                await self._plan.succeeded(new)
        return True

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
                "upstream_cost": self._upstream_cost(record, state),
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
        seconds = self._billed_seconds(record, state)
        if seconds is None:
            # A requested duration is what is billed (a "5" s video may last 5.04 s).
            return record.cost_estimate
        return rule.cost(_decode_values(record.input), seconds)

    def _upstream_cost(self, record: TaskRecord, state: UpstreamState) -> Decimal | None:
        """The host's price row times the seconds billed (the input's, or the video's)."""
        price = self._router.price(record.provider or "", record.model)
        if price is None:
            return None
        rule = self._catalog.get(record.model).price
        seconds = self._billed_seconds(record, state)
        if seconds is None:
            seconds = rule.input_seconds(_decode_values(record.input))
        return None if seconds is None else money(price * rule.billed_seconds(seconds))

    def _billed_seconds(self, record: TaskRecord, state: UpstreamState) -> float | None:
        """The video's own length, where the price follows it and the upstream said it."""
        rule = self._catalog.get(record.model).price
        seconds = state.videos[0].duration
        if rule.is_billed_by_input or seconds is None or not math.isfinite(seconds) or seconds <= 0:
            return None
        return seconds

    def _changed(self, record: TaskRecord, changes: dict[str, Any]) -> TaskRecord:
        return msgspec.structs.replace(
            record, version=record.version + 1, updated_at=self._clock(), **changes
        )
