"""``Recovery``: a task whose submit answer was lost, found or settled, never paid for twice.

The submit reached the upstream, or may have, and its answer never came (a timeout, a reset, a
process that died mid-submit). The task is looked up by our id (Kling's ``external_task_id``):
found, it is adopted. Only when every upstream asked can say for sure that it never got it
(the official API can) is it submitted again, under the same id, to the same provider, once
the submit window has passed. A gateway that has none under our id but knows tasks only by its
own (stock new-api) ends it ``failed`` with ``upstream_task_not_found``; one that cannot be
asked at all leaves it waiting, and after ``give_up_after_s`` it ends ``failed`` with
``upstream_outcome_unknown``. Never submitted twice on a guess.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

import msgspec

from adapter.core.errors import (
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderTaskNotFound,
    ProviderUnavailable,
)
from adapter.core.values import TaskRecord, UpstreamState, VideoJob
from adapter.service.routing import Router
from adapter.service.writer import TaskWriter

log = logging.getLogger(__name__)

_decode_values = msgspec.json.Decoder(dict[str, Any]).decode

#: What the providers said of a task whose submit answer was lost: ``absent`` (each is sure it
#: never got it: a resubmit is safe), ``denied`` (each says it has none under our id, but one
#: knows tasks only by its own ids: end it, never resubmit), ``unknown`` (one could not tell).
Verdict = Literal["absent", "denied", "unknown"]


class Recovery:
    """Settles tasks whose submit answer was lost."""

    __slots__ = ("_clock", "_give_up", "_router", "_submit_window", "_writer")

    def __init__(
        self,
        *,
        writer: TaskWriter,
        router: Router,
        clock: Callable[[], datetime],
        submit_window_s: float,
        give_up_after_s: float,
    ) -> None:
        self._writer = writer
        self._router = router
        self._clock = clock
        self._submit_window = timedelta(seconds=submit_window_s)
        self._give_up = timedelta(seconds=give_up_after_s)

    def is_past_submit_window(self, record: TaskRecord) -> bool:
        """Whether any submit of ``record`` has surely ended (landed, or never will)."""
        return self._clock() - record.created_at > self._submit_window

    async def recover(self, record: TaskRecord) -> TaskRecord:
        """Find the task upstream; send it again only if surely absent; or settle it."""
        job = VideoJob(
            model=record.model, input=_decode_values(record.input), external_id=record.task_id
        )
        found, verdict = await self._look_up(record, job)
        if found is not None:
            return await self._writer.apply(record, found[1], provider=found[0])
        if not self.is_past_submit_window(record):
            return record  # give a slow upstream time to register it
        if verdict == "denied":
            return await self._writer.fail(
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
                return await self._writer.fail(
                    record,
                    "upstream_outcome_unknown",
                    f"The upstream ({record.provider or 'unknown provider'}) never confirmed "
                    "this task and cannot be asked about it by our id; look in that account "
                    f"for a task submitted at {record.created_at:%Y-%m-%d %H:%M:%S} UTC (Kling "
                    f"also shows external_task_id {record.task_id}) before submitting it again.",
                )
            return record
        return await self._resubmit(record, job)

    async def _resubmit(self, record: TaskRecord, job: VideoJob) -> TaskRecord:
        # Only to the provider that was asked (or the first that denied it), never falling
        # through: another provider could not tell us later whether it made the task too.
        name = record.provider or self._first_candidate(record)
        provider = self._router.pinned(name, record.mode)
        try:
            state = await self._router.submit_to(provider, job)
        except ProviderOutcomeUnknown:
            log.warning("task.resubmit_unknown task_id=%s provider=%s", record.task_id, name)
            return await self._writer.save(record, provider=name, submit_state="unknown")
        except ProviderRejected as exc:
            # A duplicate external_task_id means the first submit landed after all.
            found, _ = await self._look_up(msgspec.structs.replace(record, provider=name), job)
            if found is not None:
                return await self._writer.apply(record, found[1], provider=found[0])
            return await self._writer.fail(record, "upstream_rejected", exc.message)
        log.info("task.resubmitted task_id=%s provider=%s", record.task_id, name)
        return await self._writer.apply(record, state, provider=name)

    def _first_candidate(self, record: TaskRecord) -> str:
        for provider in self._router.candidates(record.model, record.mode):
            return provider.name
        raise ProviderUnavailable(
            "-", f"no provider serves {record.model!r} to {record.mode} tasks any more"
        )

    async def _look_up(
        self, record: TaskRecord, job: VideoJob
    ) -> tuple[tuple[str, UpstreamState] | None, Verdict]:
        """The provider and state holding ``job``, or what the providers asked said of it."""
        names = (
            [record.provider]
            if record.provider
            else [p.name for p in self._router.candidates(record.model, record.mode)]
        )
        said: set[Verdict] = set()
        for name in names:
            provider = self._router.pinned(name, record.mode)
            if not provider.serves(record.model):
                said.add("unknown")  # reconfigured since: it cannot be asked any more
                continue
            try:
                state = await self._router.lookup(provider, job)
            except ProviderOutcomeUnknown:
                said.add("unknown")
                continue
            except ProviderTaskNotFound as exc:
                log.info("task.denied task_id=%s provider=%s", record.task_id, exc.provider)
                said.add("denied")
                continue
            if state is not None:
                log.info("task.recovered task_id=%s provider=%s", record.task_id, name)
                return (name, state), "unknown"
            said.add("absent")
        if "unknown" in said:
            return None, "unknown"
        return None, "denied" if "denied" in said else "absent"
