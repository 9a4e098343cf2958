"""``Submitter``: a new task, or the one an earlier request with the same key made.

Submit order, so that nothing is charged twice and nothing is lost:

1. validate, fingerprint, and claim the Idempotency-Key (one atomic round trip, which also
   reads the API key when this process knows its owner; a claim made for a key then
   refused is given back); a retry finds the claim and waits until the task's
   ``submit_state`` leaves ``submitting``;
2. check media, price, and store the task as ``queued`` *before* calling the upstream;
3. submit with our task id as ``external_task_id``. A definite "no" deletes the task and
   releases the key; an unknown outcome keeps both, and recovery settles the task later.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple

import msgspec

from adapter.core.errors import (
    AdapterError,
    AllProvidersFailed,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    InvalidRequest,
    ProviderOutcomeUnknown,
    ProviderRejected,
    StoreUnavailable,
)
from adapter.core.shards import new_task_id
from adapter.core.values import (
    MAX_AMOUNT,
    Admission,
    ApiKey,
    Event,
    Mode,
    TaskRecord,
    TaskStatus,
    UpstreamState,
    VideoJob,
)
from adapter.ports import (
    IdempotencyClaim,
    IdempotencyClaims,
    MediaInspector,
    Metrics,
    TaskStore,
    WebhookSender,
)
from adapter.service import idempotency
from adapter.service.catalog import ModelSpec
from adapter.service.keys import Credential, KeyService
from adapter.service.media import check_media
from adapter.service.models import ModelDirectory
from adapter.service.refresh import Refresher
from adapter.service.routing import Router
from adapter.service.writer import TaskWriter

log = logging.getLogger(__name__)

#: Pauses between tries to record an accepted task's upstream id while the store is away
#: (3.4 s in all, inside the submit window's margin).
_ADOPT_PAUSES_S = (0.1, 0.3, 1.0, 2.0)


class _Hook(NamedTuple):
    """Where a task's terminal status is POSTed, whose secret signs it, the limits it is
    admitted under, and its mode."""

    url: str | None
    key_id: str | None
    admission: Admission | None
    mode: Mode


@contextmanager
def _naming_the_task(task_id: str, scope: str | None) -> Iterator[None]:
    """A store outage in the middle of a submit names the task it interrupted, which may
    exist (and may have reached the upstream), and says how to get it."""
    try:
        yield
    except StoreUnavailable as exc:
        if scope is not None:
            advice = (
                "retry with the same Idempotency-Key to get it: nothing is submitted or "
                "charged twice"
            )
        else:
            advice = (
                f"it may exist: GET /api/v1/tasks/{task_id} once the service is back (a "
                "retry without an Idempotency-Key could make a second task)"
            )
        raise StoreUnavailable(
            f"The task store became unavailable while task {task_id} was being submitted "
            f"({exc.message}); {advice}.",
            task_id=task_id,
        ) from exc


class Submission(msgspec.Struct, frozen=True):
    record: TaskRecord
    #: True when an Idempotency-Key matched an earlier request and its task is returned.
    replayed: bool


class Submitter:
    """Creates tasks: idempotency, media checks, pricing, the upstream call, the adoption."""

    def __init__(
        self,
        *,
        store: TaskStore,
        claims: IdempotencyClaims,
        models: ModelDirectory,
        router: Router,
        media: MediaInspector,
        test_media: MediaInspector | None = None,
        webhooks: WebhookSender,
        writer: TaskWriter,
        refresher: Refresher,
        probe: Literal["required", "best_effort"],
        clock: Callable[[], datetime],
        idempotency_ttl_s: int,
        idempotency_wait_s: float,
        submit_window_s: float,
        metrics: Metrics,
        new_id: Callable[[str], str] = new_task_id,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._claims = claims
        self._models = models
        self._router = router
        # Test tasks' media may come from the simulator (the seeds' example.com links).
        self._media: dict[Mode, MediaInspector] = {"live": media, "test": test_media or media}
        self._webhooks = webhooks
        self._writer = writer
        self._refresher = refresher
        self._probe: Literal["required", "best_effort"] = probe
        self._clock = clock
        self._idem_ttl_s = idempotency_ttl_s
        self._idem_wait_s = idempotency_wait_s
        self._submit_window = timedelta(seconds=submit_window_s)
        self._new_id = new_id
        self._sleep = sleep

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
        """Create a task, or return the one an earlier request with the same key made.

        ``webhook_url`` gets the task's terminal status, signed with ``key_id``'s secret. A
        new task is admitted under ``admission``'s limits (a replay is never limited). A
        ``test`` task goes to the simulator's providers only, and its Idempotency-Keys are
        apart from the owner's live ones.

        Raises:
            UnknownModel: no such model, or no provider serves it (``ModelNotServed``).
            InvalidRequest: the input breaks the model's schema or media rules.
            IdempotencyKeyReused: the key was used with a different request.
            IdempotencyInProgress: the first request with the key is still submitting.
            RateLimited, ConcurrencyLimitReached: ``admission``'s limits (nothing created).
            ProviderRejected: the upstream refused the task (nothing was created).
            AllProvidersFailed: no provider could take it (nothing was created).
        """
        spec, checked = await self._checked(model, values, webhook_url, mode)
        hook = _Hook(webhook_url, key_id, admission, mode)
        if idempotency_key is None:
            return await self._unclaimed(owner, spec, checked, hook)
        idempotency.check_key(idempotency_key)
        scope = idempotency.scope(owner, idempotency_key, mode)
        fingerprint = idempotency.fingerprint(model, checked, webhook_url)
        return await self._claimed(owner, spec, checked, scope, fingerprint, hook)

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
        """:meth:`submit` as the API key ``credential`` names: its owner's task, admitted
        under its limits, and signed with its secret.

        ``key`` is that key already read (``KeyService.for_submit``), or ``None`` when it is
        to be read with the Idempotency-Key's claim, in one round trip: this process knows
        the key's owner (``Credential.owner``), whose key it claims. The key is checked
        (``KeyService.confirm``) before anything is created or returned; a new claim made
        for a key then refused, or now another owner's, is given back. Any refusal of the
        key comes before any refusal of the request, as if the key had been read first.

        Raises:
            as ``KeyService.authenticate``, ``KeyService.allow_model`` and :meth:`submit`.
        """
        owner = credential.owner
        if key is not None or owner is None or idempotency_key is None:
            key = key or await keys.read(credential)
            return await self._submit_as(keys, key, model, values, idempotency_key, webhook_url)
        mode = credential.mode
        try:
            spec, checked = await self._checked(model, values, webhook_url, mode)
            idempotency.check_key(idempotency_key)
        except AdapterError:
            keys.allow_model(await keys.read(credential), model)
            raise
        scope = idempotency.scope(owner, idempotency_key, mode)
        fingerprint = idempotency.fingerprint(model, checked, webhook_url)
        task_id = self._new_id(owner)
        claim, found = await self._claims.claim_idempotency_and_key(
            credential.key_hash, owner, scope, fingerprint, task_id, self._clock(), self._idem_ttl_s
        )
        try:
            key = await keys.confirm(credential, found)
            keys.allow_model(key, model)
        except BaseException:
            await self._give_back(claim, owner, scope, task_id)
            raise
        if key.owner != owner or key.mode != mode:  # deleted, then issued anew to another
            await self._give_back(claim, owner, scope, task_id)
            return await self._submit_as(keys, key, model, values, idempotency_key, webhook_url)
        hook = _Hook(webhook_url, key.id, key.admission, mode)
        return await self._claimed(owner, spec, checked, scope, fingerprint, hook, (task_id, claim))

    async def _give_back(
        self, claim: IdempotencyClaim, owner: str, scope: str, task_id: str
    ) -> None:
        """Let go of ``claim``, made for ``task_id``, if it was new. If the store fails
        meanwhile, the reason the claim is given back (the key's refusal) is what the caller
        hears: the claim then lapses as one whose task was never stored."""
        if not claim.is_new:
            return
        try:
            await self._claims.release_idempotency(owner, scope, task_id)
        except StoreUnavailable:
            log.warning("task.claim_kept task_id=%s: the store failed as it was released", task_id)

    async def _submit_as(
        self,
        keys: KeyService,
        key: ApiKey,
        model: str,
        values: Any,
        idempotency_key: str | None,
        webhook_url: str | None,
    ) -> Submission:
        """:meth:`submit` as ``key``, read and admitted."""
        keys.allow_model(key, model)
        return await self.submit(
            owner=key.owner,
            model=model,
            values=values,
            idempotency_key=idempotency_key,
            webhook_url=webhook_url,
            key_id=key.id,
            admission=key.admission,
            mode=key.mode,
        )

    async def _checked(
        self, model: str, values: Any, webhook_url: str | None, mode: Mode
    ) -> tuple[ModelSpec, dict[str, Any]]:
        """The model's spec and ``values`` checked against it (defaults applied); the
        webhook URL checked."""
        spec = self._models.for_submit(model, mode)
        checked = spec.validate(values)
        if webhook_url is not None:
            await self._webhooks.check(webhook_url, param="webhook_url")
        return spec, checked

    async def _unclaimed(
        self, owner: str, spec: ModelSpec, checked: dict[str, Any], hook: _Hook
    ) -> Submission:
        """A new task, with no Idempotency-Key."""
        task_id = self._new_id(owner)
        with _naming_the_task(task_id, None):
            record = await self._create(owner, spec, checked, task_id, None, hook)
        return Submission(record=record, replayed=False)

    async def _claimed(
        self,
        owner: str,
        spec: ModelSpec,
        checked: dict[str, Any],
        scope: str,
        fingerprint: str,
        hook: _Hook,
        first: tuple[str, IdempotencyClaim] | None = None,
    ) -> Submission:
        """A new task under ``owner``'s Idempotency-Key ``scope``, or the one an earlier
        request with it made; ``first``: a claim already made for a task id."""
        deadline = time.monotonic() + self._idem_wait_s
        pause = 0.02
        while True:
            if first is not None:
                (task_id, claim), first = first, None
            else:
                task_id = self._new_id(owner)
                claim = await self._claims.claim_idempotency(
                    owner, scope, fingerprint, task_id, self._clock(), self._idem_ttl_s
                )
            if claim.is_new:
                with _naming_the_task(task_id, scope):
                    record = await self._create(owner, spec, checked, task_id, scope, hook)
                return Submission(record=record, replayed=False)
            if claim.fingerprint != fingerprint:
                raise IdempotencyKeyReused(
                    "This Idempotency-Key was already used with a different request; "
                    "use a new key for a new request."
                )
            # The task record says whether the first request's submit has been settled.
            original = await self._store.get_task(claim.task_id)
            is_stale = self._clock() - claim.claimed_at > self._submit_window
            if original is not None and (original.submit_state != "submitting" or is_stale):
                refreshed = await self._refresher.refreshed(original)
                return Submission(record=refreshed, replayed=True)
            if original is None and is_stale:
                # The claim outlived its task (a crash before the task was stored): drop it.
                await self._claims.release_idempotency(owner, scope, claim.task_id)
                continue
            if time.monotonic() >= deadline:
                raise IdempotencyInProgress(
                    "A request with this Idempotency-Key is still being submitted; "
                    "retry shortly to get its task.",
                    retry_after=1,
                )
            await self._sleep(pause)
            pause = min(pause * 2, 0.25)

    async def _create(
        self,
        owner: str,
        spec: ModelSpec,
        values: dict[str, Any],
        task_id: str,
        scope: str | None,
        hook: _Hook,
    ) -> TaskRecord:
        try:
            record = await self._store_new(owner, spec, values, task_id, hook)
        except BaseException:
            if scope is not None:
                await self._claims.release_idempotency(owner, scope, task_id)
            raise
        job = VideoJob(model=spec.slug, input=values, external_id=task_id)
        try:
            provider, state = await self._router.submit(job, hook.mode)
        except ProviderOutcomeUnknown as exc:
            log.warning("task.submit_unknown task_id=%s provider=%s", task_id, exc.provider)
            record = await self._writer.save(record, provider=exc.provider, submit_state="unknown")
        except (ProviderRejected, AllProvidersFailed):
            if not await self._store.delete_task(task_id, record.version):
                # A reconcile adopted the task meanwhile (this "no" was its duplicate): keep it.
                current = await self._store.get_task(task_id)
                if current is not None:
                    return current
            if scope is not None:
                await self._claims.release_idempotency(owner, scope, task_id)
            raise
        else:
            record = await self._adopt(record, state, provider.name)
        return record

    async def _adopt(self, record: TaskRecord, state: UpstreamState, provider: str) -> TaskRecord:
        """Record the upstream's answer. Only this process knows the upstream's id now, so a
        store outage is waited out for a few seconds before the request gives up (the write is
        compare-and-set: a retry after a lost reply changes nothing)."""
        pauses = iter(_ADOPT_PAUSES_S)
        while True:
            try:
                return await self._writer.apply(record, state, provider=provider)
            except StoreUnavailable:
                pause = next(pauses, None)
                if pause is None:
                    log.error(
                        "task.adoption_lost task_id=%s provider=%s upstream_id=%s: the store "
                        "stayed unavailable; the task is reconciled later by its id",
                        record.task_id,
                        provider,
                        state.upstream_id,
                    )
                    raise
                await self._sleep(pause)

    async def _store_new(
        self, owner: str, spec: ModelSpec, values: dict[str, Any], task_id: str, hook: _Hook
    ) -> TaskRecord:
        facts = await check_media(spec, values, self._media[hook.mode], self._probe)
        seconds = spec.price.input_seconds(values)
        if seconds is None:
            seconds = facts.video_seconds if facts.video_seconds is not None else 0.0
        cost = spec.price.cost(values, seconds)
        if cost > MAX_AMOUNT:
            source = spec.price.seconds
            raise InvalidRequest(
                f"This task would cost {cost}, more than the {MAX_AMOUNT} one task may.",
                source.replace("input:", "input.") if source.startswith("input:") else "input",
            )
        now = self._clock()
        record = TaskRecord(
            task_id=task_id,
            owner=owner,
            model=spec.slug,
            input=msgspec.Raw(idempotency.canonical_json(values)),
            status=TaskStatus.QUEUED,
            cost_estimate=cost,
            created_at=now,
            updated_at=now,
            version=1,
            notices=spec.notices(values) + facts.notices,
            webhook_url=hook.url,
            key_id=hook.key_id if hook.url is not None else None,
            admitted_by=hook.admission.key_id if hook.admission else None,
            mode=hook.mode,
        )
        await self._store.create_task(
            record, Event(type="status", status=TaskStatus.QUEUED, at=now), hook.admission
        )
        self._metrics.task_created(record.model)
        return record
