"""The only abstractions: what the service needs from storage, upstreams and media.

Adapters conform structurally (no inheritance); mypy checks the fit in ``adapter.bootstrap.parts``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

import msgspec

from adapter.core.values import (
    Admission,
    ApiKey,
    Circuit,
    Event,
    ImageInfo,
    Mode,
    ProviderCheck,
    SigningSecrets,
    TaskRecord,
    TaskStatus,
    UpstreamState,
    VideoInfo,
    VideoJob,
)

#: The store's two schedules (sets of ids by when each is next due): unfinished tasks for the
#: reconciler to refresh, and webhook deliveries to attempt.
Schedule = Literal["tasks", "webhooks"]

#: What the adapter asks an upstream: ``VideoProvider.submit``, ``query``, ``lookup``, ``cancel``,
#: and ``TaskLister.list_tasks`` (a page of a family's tasks).
Operation = Literal["submit", "query", "lookup", "cancel", "list"]

#: How an upstream call ended: ``ok``, or which ``ProviderError`` it raised (``unknown_outcome``
#: also for no answer in time), or ``error`` for anything else.
Outcome = Literal[
    "ok", "rejected", "unavailable", "rate_limited", "unknown_outcome", "not_found", "error"
]
#: What happened to a circuit, for ``/metrics``: it opened, or a submit skipped its provider.
CircuitEvent = Literal["opened", "skipped"]

#: How a webhook delivery attempt ended: a 2xx, a failure to retry, the last failure.
WebhookOutcome = Literal["delivered", "failed", "gave_up"]


class IdempotencyClaim(msgspec.Struct, frozen=True):
    """The result of claiming an idempotency key."""

    #: True when this call made the claim; False when one already existed.
    is_new: bool
    fingerprint: str
    task_id: str
    claimed_at: datetime


class TaskPage(msgspec.Struct, frozen=True):
    """One page of an owner's tasks, newest first."""

    records: list[TaskRecord]
    #: Opaque; pass it back for the next page. ``None`` on the last page.
    next_cursor: str | None


class TaskStore(Protocol):
    """Where tasks and their events live.

    Every write sets an expiry. Status changes are compare-and-set on ``TaskRecord.version``
    and append their event in the same atomic step, so an event is never written twice; the
    same step moves the task in its owner's list index, takes a finished task off the
    ``tasks`` schedule and, when it has a ``webhook_url``, puts its delivery on the
    ``webhooks`` schedule. Raises ``StoreUnavailable`` when the backend cannot be reached.
    """

    async def create_task(
        self, record: TaskRecord, event: Event, admission: Admission | None = None
    ) -> None:
        """Store a new task (``version`` 1) and its first event; schedule it for refresh.

        With ``admission``, atomically and only within its key's limits: the task then holds
        one of the key's slots until it ends or is deleted (``admitted_by``).

        Raises:
            RateLimited: the key's submits a minute are used up.
            ConcurrencyLimitReached: the key has its most unfinished tasks already.
        """

    async def get_task(self, task_id: str) -> TaskRecord | None:
        """Return the stored task, or ``None``."""

    async def get_task_and_key(
        self, task_id: str, key_hash: str
    ) -> tuple[TaskRecord | None, ApiKey | None]:
        """The stored task and the API key stored under ``key_hash`` (``None`` for either
        not stored), in one round trip: a request's read and its authentication together."""

    async def get_tasks(self, task_ids: Sequence[str]) -> list[TaskRecord | None]:
        """The stored tasks in the order of ``task_ids`` (``None`` for one not stored), in one
        round trip."""

    async def key_usage(
        self, key_ids: Sequence[str], days: Sequence[str]
    ) -> dict[tuple[str, str], dict[str, int]]:
        """The usage ledgers of ``key_ids`` on ``days`` (``2026-11-23``): (key id, day) ->
        ``<model>|<counter>`` -> value (money in billionths, lengths in ms); empty ones left
        out."""

    async def key_spend(self, key_id: str, period: str) -> tuple[Decimal, Decimal]:
        """What ``key_id``'s tasks have reserved (unfinished) and been charged (ended) in its
        budget's ``period`` (``Budget.period_at``)."""

    async def update_task(self, record: TaskRecord, event: Event | None) -> bool:
        """Store ``record`` if the stored version is ``record.version - 1``; append ``event``.

        A status moves only with its ``event``: without one, the record alone changes (its
        indexes, schedules and key counters stay as they are).

        Returns:
            False when another writer got there first (nothing was written).
        """

    async def delete_task(self, task_id: str, version: int) -> bool:
        """Forget a task that was never accepted (and its events), if still at ``version``.

        Returns:
            False when the task changed meanwhile (e.g. recovery adopted it): kept.
        """

    async def list_events(self, task_id: str, after: str | None = None) -> list[Event]:
        """Return the task's events, oldest first, each with its ``id``; only those after
        the event with id ``after`` when it is given.

        Raises:
            ValueError: ``after`` is not an event id this store makes.
        """

    async def list_tasks(
        self,
        owner: str,
        *,
        status: TaskStatus | None,
        limit: int,
        cursor: str | None,
        mode: Mode = "live",
    ) -> TaskPage:
        """A page of ``owner``'s tasks of ``mode``, newest first, in O(log n).

        Raises:
            ValueError: ``cursor`` is not one this store made.
        """

    async def list_every_task(
        self,
        *,
        key_id: str | None,
        status: TaskStatus | None,
        model: str | None,
        limit: int,
        cursor: str | None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> TaskPage:
        """A page of every owner's tasks (those ``key_id`` submitted, when given), newest
        first, keeping those of ``status`` and ``model`` created from ``since`` to ``until``
        (both included; each is a bound of the index read, not a filter); a page may be short
        with a cursor when many are passed over.

        Raises:
            ValueError: ``cursor`` is not one this store made.
        """

    async def ping(self) -> None:
        """Raise ``StoreUnavailable`` unless the backend answers."""


class IdempotencyClaims(Protocol):
    """Idempotency-Key claims, each an atomic first-come claim with an expiry."""

    async def claim_idempotency(
        self, owner: str, scope: str, fingerprint: str, task_id: str, now: datetime, ttl_s: int
    ) -> IdempotencyClaim:
        """Atomically claim ``owner``'s ``scope`` for ``task_id``, or return the existing
        claim."""

    async def claim_idempotency_and_key(
        self,
        key_hash: str,
        owner: str,
        scope: str,
        fingerprint: str,
        task_id: str,
        now: datetime,
        ttl_s: int,
    ) -> tuple[IdempotencyClaim, ApiKey | None]:
        """:meth:`claim_idempotency`, and the API key stored under ``key_hash`` (``None``
        when not stored), in one round trip: a submit's claim and its authentication
        together. The caller gives the claim back if the key turns out refused."""

    async def release_idempotency(self, owner: str, scope: str, task_id: str) -> None:
        """Drop the claim, but only if it still belongs to ``task_id``."""


class Schedules(Protocol):
    """The ``tasks`` and ``webhooks`` schedules: what is due when, and who holds it now."""

    async def claim_due(
        self, schedule: Schedule, *, now: datetime, limit: int, hold_s: float
    ) -> list[str]:
        """Take up to ``limit`` task ids due by ``now``, each held from others for ``hold_s``.

        A holder that dies lets go by itself: the entries come due again when the hold ends.
        """

    async def reschedule(self, schedule: Schedule, due: Mapping[str, datetime]) -> None:
        """Make each scheduled task of ``due`` (task id -> when) due then, in one round trip;
        nothing for one no longer scheduled."""

    async def unschedule(self, schedule: Schedule, task_id: str) -> None:
        """Take a task off ``schedule``."""

    async def record_attempt(self, task_id: str, event: Event, next_at: datetime | None) -> None:
        """Append a webhook attempt's event; due again at ``next_at``, or finished if None."""

    async def oldest_due(self) -> dict[Schedule, datetime | None]:
        """When the earliest entry of each schedule is due (held ones count from their hold's
        end), in one round trip; ``None`` for an empty schedule."""


class RefreshLeases(Protocol):
    """One lease per task, so that one process at a time asks its upstream about it."""

    async def acquire_refresh(self, task_id: str, hold_ms: int) -> bool:
        """Take the task's refresh lease for ``hold_ms``, across processes; False if held."""

    async def extend_refresh(self, task_id: str, hold_ms: int) -> None:
        """Keep the lease for ``hold_ms`` more (the minimum interval between refreshes)."""


class CircuitStore(Protocol):
    """Every provider's circuit per model, shared by all processes (``Circuit``)."""

    async def circuits(self) -> dict[tuple[str, str], Circuit]:
        """Every circuit that is not plainly closed, by (provider, model)."""

    async def failed(
        self, provider: str, model: str, *, now_ms: int, threshold: int, cooldown_ms: int
    ) -> Circuit:
        """Count one more unavailable answer in a row: the circuit opens for ``cooldown_ms``
        at ``threshold`` of them, and an open one (a failed probe) opens again."""

    async def claim_probe(self, provider: str, model: str, *, now_ms: int, hold_ms: int) -> bool:
        """Whether a submit may go: the circuit is closed, or its cool-down is over and this
        caller is the one probe (held ``hold_ms`` from the others)."""

    async def close(self, provider: str, model: str) -> None:
        """An accepted submit: the circuit is closed and its count forgotten."""


class KeyStore(Protocol):
    """Where API keys live, by the SHA-256 of the key. Keys have no expiry."""

    async def add_key(self, key: ApiKey) -> None: ...

    async def key_by_hash(self, key_hash: str) -> ApiKey | None: ...

    async def key_by_id(self, key_id: str) -> ApiKey | None: ...

    async def list_keys(self) -> list[ApiKey]: ...

    async def mark_used(self, key_id: str, at: datetime) -> None:
        """Record that the key was used at ``at``."""

    async def last_used(self, key_ids: Sequence[str]) -> dict[str, datetime]:
        """When each of these keys was last used (keys never used are left out)."""

    async def replace_key(self, key: ApiKey) -> bool:
        """Store ``key`` over the one with its id; False when there is none."""

    async def delete_key(self, key_id: str) -> bool: ...

    async def signing_secrets(self, key_id: str) -> SigningSecrets | None: ...

    async def add_signing_secrets(self, key_id: str, secrets: SigningSecrets) -> SigningSecrets:
        """Store the key's first secrets unless it has some; returns those that stand."""

    async def rotate_signing_secrets(
        self, key_id: str, current: str, until: datetime
    ) -> SigningSecrets:
        """Make ``current`` the key's secret, and the one it replaces ``previous`` until
        ``until``, atomically: of two rotations at once, the later replaces the earlier's
        secret. With no secrets yet, ``current`` is the first. Returns what was stored."""


class WebhookSender(Protocol):
    """Checks and POSTs to clients' webhook URLs, held to the same address rules as media."""

    async def check(self, url: str, *, param: str) -> None:
        """Raise ``InvalidRequest`` (naming ``param``) unless ``url`` may receive webhooks."""

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        """POST ``body``; return the receiver's HTTP status.

        Raises:
            WebhookUndeliverable: no answer (refused address, connection error, timeout).
        """


class Watch(Protocol):
    async def wait(self, within: float) -> bool:
        """True once the task's events may have grown; False after ``within`` seconds.

        Raises:
            StoreUnavailable: the feed was closed (the process is stopping).
        """


class EventFeed(Protocol):
    """Wakes live readers when a task's events grow, whichever process appended them."""

    def watch(self, task_id: str) -> AbstractAsyncContextManager[Watch]:
        """Watch ``task_id``; anything appended after entering is signalled.

        Raises:
            StoreUnavailable: the feed could not start listening.
        """


class VideoProvider(Protocol):
    """One upstream: maps jobs, responses and errors of its dialect, and nothing else.

    Errors are raised as the ``ProviderError`` family (``adapter.core.errors``).
    """

    @property
    def name(self) -> str: ...

    def serves(self, model: str) -> bool:
        """Whether this provider can make ``model``."""

    async def submit(self, job: VideoJob) -> UpstreamState:
        """Create the upstream task; the returned state carries the upstream id and route."""

    async def query(self, route: str, upstream_id: str) -> UpstreamState:
        """Fetch an accepted task's state (``route`` as returned by ``submit``).

        Raises:
            ProviderTaskNotFound: the upstream says it has no such task.
        """

    async def lookup(self, job: VideoJob) -> UpstreamState | None:
        """Find a task by ``job.external_id`` after a lost submit answer.

        Returns ``None`` only when the upstream says for sure the task is absent (a resubmit
        is safe); raises ``ProviderTaskNotFound`` when it has none under our id but cannot
        rule out one under its own ids, and ``ProviderOutcomeUnknown`` when it cannot tell.
        """

    async def cancel(self, route: str, upstream_id: str) -> bool:
        """Ask the upstream to stop an accepted task.

        Returns:
            False when the upstream has no cancel at all (Kling): nothing was sent.
        """

    async def check(self) -> ProviderCheck:
        """Ask something harmless (the status of a task that cannot exist) and say what the
        answer shows: reachable, credentials accepted, the dialect spoken. Never raises a
        ``ProviderError``."""


class ListedTask(msgspec.Struct, frozen=True):
    """One task of an upstream's list page."""

    state: UpstreamState
    #: The id the task was submitted under (ours: the task id), ``""`` when none was given.
    external_id: str
    #: When the upstream made it, in seconds since the epoch; ``None`` when it did not say.
    created_at_s: float | None


class ListPage(msgspec.Struct, frozen=True):
    """One page of an upstream's tasks of one family, newest first."""

    tasks: list[ListedTask]
    #: Whether more may follow (the page was full).
    full: bool


@runtime_checkable
class TaskLister(Protocol):
    """A provider whose API lists a family's tasks, so one request refreshes many."""

    def lists(self, route: str) -> bool:
        """Whether tasks made on ``route`` can be listed (the official Kling API: yes)."""

    async def list_tasks(self, route: str, page: int) -> ListPage:
        """Page ``page`` (from 1) of the tasks made on ``route``, newest first."""


#: The image formats Kling takes; a model's media rules may allow more.
IMAGE_FORMATS = frozenset({"jpg", "png"})


class MediaInspector(Protocol):
    """Checks input media against the upstream's limits.

    Raises ``InvalidRequest`` (naming ``param``) for media that breaks a rule, and
    ``MediaUnreachable`` when a URL could not be read.
    """

    async def inspect_image(
        self, value: str, *, param: str, formats: frozenset[str] = IMAGE_FORMATS
    ) -> ImageInfo:
        """Check an image; a data URI must be one of ``formats`` (``jpg``, ``png``, ...)."""

    async def inspect_video(self, value: str, *, param: str) -> VideoInfo: ...

    async def check_url(self, value: str, *, param: str) -> None:
        """Check a URL the upstream fetches itself, where no data URI is taken (audio)."""


class Metrics(Protocol):
    """What the adapter counts and times, for ``/metrics`` (``adapter.telemetry``).

    Each call is cheap and does no I/O: it may run on every request.
    """

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        """One HTTP request served, by its route template (``/api/v1/tasks/{task_id}``)."""

    def upstream_call(
        self, provider: str, operation: Operation, model: str, outcome: Outcome, seconds: float
    ) -> None: ...

    def task_created(self, model: str) -> None: ...

    def task_ended(self, model: str, status: TaskStatus) -> None: ...

    def webhook_attempt(self, outcome: WebhookOutcome) -> None: ...

    def schedule_lag(self, schedule: Schedule, seconds: float) -> None:
        """How long the oldest due entry of ``schedule`` has waited, as of now."""

    def store_unavailable(self, operation: str) -> None:
        """A store operation raised ``StoreUnavailable``."""

    def circuit_event(self, provider: str, model: str, event: CircuitEvent) -> None:
        """This process opened ``provider``'s circuit for ``model``, or skipped it (open)."""

    def exposition(self) -> tuple[bytes, str]:
        """The metrics of every process of this server, and their content type."""


class ProviderStatsStore(Protocol):
    """Per-minute counters of upstream calls, shared by every process (``ProviderStats``)."""

    async def add_provider_stats(self, counts: Mapping[int, Mapping[str, int]]) -> None:
        """Add ``counts`` (minute since the epoch -> field -> increment) in one round trip;
        a minute's counters expire a little over an hour after it."""

    async def provider_stats(self, minutes: Sequence[int]) -> list[dict[str, int]]:
        """The counters of each of ``minutes``, in order (empty for a minute with none)."""


class CompletionLog(Protocol):
    """How long recent tasks of each provider and model took, shared by every process."""

    async def add_completion(self, provider: str, model: str, seconds: float) -> None:
        """Record one task of ``model`` that ``provider`` finished ``seconds`` after its
        submit; only the most recent ones are kept."""

    async def completions(self, provider: str, model: str) -> list[float]:
        """The recorded durations of ``provider``'s ``model``, newest first."""


class QueryTokens(Protocol):
    """A token bucket per provider, shared by every process: the reconcilers' query budget."""

    async def take_query(self, provider: str, *, per_s: float, burst: float, now_ms: int) -> int:
        """Take one of ``provider``'s tokens (refilled at ``per_s``, at most ``burst`` kept).

        Returns:
            0 when one was taken; else the milliseconds until one is due (none was taken).
        """
