"""Provider-neutral domain values shared by every layer.

Everything here is a frozen ``msgspec.Struct``; a change is a new value made with
``msgspec.structs.replace``. Nothing in this module does I/O.
"""

from __future__ import annotations

import enum
import ipaddress
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal, TypeAlias

import msgspec


class TaskStatus(enum.StrEnum):
    """The five statuses a MindVideo client can see."""

    QUEUED = "queued"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset({TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED})


class Video(msgspec.Struct, frozen=True, omit_defaults=True):
    """One generated video."""

    url: str
    #: Length in seconds, when the upstream reports it.
    duration: float | None = None


class TaskError(msgspec.Struct, frozen=True):
    """Why a task failed: a snake_case code and the upstream's reason."""

    code: str
    message: str


class Notice(msgspec.Struct, frozen=True):
    """Something the client should know about how its task was handled."""

    code: str
    message: str


class Event(msgspec.Struct, frozen=True, omit_defaults=True):
    """One entry in a task's event log.

    ``id`` is assigned by the store when the event is appended; it is opaque and ordered.
    """

    type: str
    at: datetime
    status: TaskStatus | None = None
    message: str | None = None
    #: Webhook attempts: which attempt, and the receiver's HTTP status when it answered.
    attempt: int | None = None
    response_status: int | None = None
    id: str = ""

    @property
    def is_final(self) -> bool:
        """A terminal status event: nothing follows it in a live stream."""
        return self.status is not None and self.status.is_terminal


SubmitState = Literal["submitting", "accepted", "unknown"]

#: Which world a task lives in: ``live`` tasks go to the configured upstreams, ``test`` tasks
#: (a ``mv_test_`` key's) to the built-in simulator only, as Stripe's test mode does.
Mode = Literal["live", "test"]


class TaskRecord(msgspec.Struct, frozen=True, omit_defaults=True):
    """A task as the adapter stores it: the public task plus what routing and refresh need."""

    task_id: str
    owner: str
    model: str
    #: The validated input with defaults applied, as canonical JSON.
    input: msgspec.Raw
    status: TaskStatus
    cost_estimate: Decimal
    created_at: datetime
    updated_at: datetime
    #: Bumped by every stored change; the store compares it before writing.
    version: int = 0
    cost_actual: Decimal | None = None
    videos: tuple[Video, ...] | None = None
    error: TaskError | None = None
    notices: tuple[Notice, ...] = ()
    #: The provider that accepted the task; every later query goes to it.
    provider: str | None = None
    upstream_id: str | None = None
    #: Provider-defined: which upstream family of paths created the task.
    upstream_route: str | None = None
    submit_state: SubmitState = "submitting"
    #: Adapter-defined: where the terminal status is POSTed, and which key's secret signs it.
    webhook_url: str | None = None
    key_id: str | None = None
    #: The API key whose limits admitted the task: it holds one of that key's slots until it
    #: ends. ``None`` for a task admitted under no key's limits.
    admitted_by: str | None = None
    #: Made by a test key: served by the simulator only, seen by the owner's test keys only.
    mode: Mode = "live"
    #: Adapter-defined, operators only: what the host that made it charges, from its price row
    #: (``[provider.prices]``) and the billed seconds; ``None`` without a row.
    upstream_cost: Decimal | None = None


class Carrier(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """How one upstream API makes one model: an ``[[upstream]]`` entry of its spec file.

    ``mapping`` names how the model's input fields become the upstream's body (a model whose
    input has a sibling's shape names the sibling's mapping: no code is needed for it).
    """

    #: ``kling`` (either Kling dialect) or ``dashscope``.
    api: str
    #: The field mapping, by name (``motion-control``, ``kling-v2-6``, ``kling-v3``, ``wan-i2v``).
    mapping: str
    #: The upstream's own name for the model (Kling's ``model_name``, DashScope's ``model``).
    model_name: str
    #: A fixed route (Kling: the path family), when the mapping's own choice does not apply.
    route: str | None = None
    #: Kling: the model's name on the omni-video family, where the mapping may go there.
    omni_model_name: str | None = None


class VideoJob(msgspec.Struct, frozen=True):
    """What a provider is asked to make."""

    #: The MindVideo model slug.
    model: str
    #: The input as its model's JSON Schema checked it, with the schema's defaults applied.
    input: dict[str, Any]
    #: Our task id, sent upstream as ``external_task_id`` so a lost answer can be reconciled.
    external_id: str
    callback_url: str | None = None


class UpstreamState(msgspec.Struct, frozen=True):
    """What an upstream said about one task, in our vocabulary."""

    upstream_id: str
    status: TaskStatus
    #: Provider-defined route the task was created on; queries must use the same one.
    route: str = ""
    videos: tuple[Video, ...] = ()
    #: The upstream's reason, on failure.
    message: str | None = None


class Strategy(msgspec.Struct, frozen=True):
    """How one model's providers are ordered for each submit (the providers file's
    ``[strategy]``): file order, cheapest first by the providers' price rows, or the first
    drawn by weight (percent) with the others after it in file order."""

    kind: Literal["order", "cheapest", "weighted"] = "order"
    #: ``weighted``: provider name -> percent (they add up to 100).
    weights: dict[str, int] = {}


class Circuit(msgspec.Struct, frozen=True):
    """One provider's health for one model, as every process shares it.

    Closed (``open_until_ms`` 0): every submit is tried; ``failures`` counts the unavailable
    answers in a row. Open: skipped until ``open_until_ms``; after it, half-open: one probe
    (held until ``probe_until_ms``) is tried, and its answer closes or reopens the circuit.
    """

    failures: int = 0
    open_until_ms: int = 0
    probe_until_ms: int = 0


class ProviderCheck(msgspec.Struct, frozen=True):
    """What one harmless question to an upstream showed (``mindvideo-adapter providers check``)."""

    reachable: bool
    #: True: accepted; False: refused; None: not learnt from the answer.
    credentials: bool | None
    #: Whether it answered as its dialect does (JSON of the right shape); None: not learnt.
    dialect: bool | None
    #: What it answered, in one line.
    detail: str
    #: Things that may go wrong later although the check passed (a route it seems to lack).
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.reachable and self.credentials is True and self.dialect is True


class ImageInfo(msgspec.Struct, frozen=True):
    """What was learnt about an input image."""

    #: ``"url"`` or ``"data"``.
    source: Literal["url", "data"]
    #: ``"jpg"``/``"png"`` when known (always for data URIs).
    format: str | None = None
    size_bytes: int | None = None


class VideoInfo(msgspec.Struct, frozen=True):
    """What was learnt about an input video by probing its container header."""

    source: Literal["url", "data"]
    #: ``"mp4"`` or ``"mov"``.
    format: str
    duration_s: float
    size_bytes: int | None = None


#: Budgets are kept in billionths of the currency: exact integers in Redis.
_NANOS = Decimal(10**9)
#: The largest amount (a budget, one task's estimate) kept exactly in billionths (< 2^53).
MAX_AMOUNT = Decimal(9_000_000)


def nanos(amount: Decimal) -> int:
    """``amount`` in billionths, rounded half up (prices have fewer decimals than that)."""
    return int((amount * _NANOS).to_integral_value(rounding=ROUND_HALF_UP))


def from_nanos(value: int) -> Decimal:
    return (Decimal(value) / _NANOS).normalize()


class Budget(msgspec.Struct, frozen=True):
    """A key's spending limit: ``amount`` a UTC ``day``, a UTC ``month``, or in ``total``."""

    amount: Decimal
    period: Literal["day", "month", "total"]

    def period_at(self, at: datetime) -> str:
        """The period ``at`` falls in: ``total``, ``d2026-11-23`` or ``m2026-11``."""
        if self.period == "total":
            return "total"
        utc = at.astimezone(UTC)
        return f"d{utc:%Y-%m-%d}" if self.period == "day" else f"m{utc:%Y-%m}"


class Admission(msgspec.Struct, frozen=True):
    """What a submit is admitted under: the key that makes it, and that key's limits."""

    key_id: str
    #: Accepted submits in any 60 s; ``None``: no limit.
    per_minute: int | None = None
    #: Unfinished tasks at once; ``None``: no limit.
    max_open: int | None = None
    #: What its tasks may cost in a period: each reserves its estimate; ``None``: no limit.
    budget: Budget | None = None


#: An address block (``10.0.0.0/8``; one address is a block of one).
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network


class ApiKey(msgspec.Struct, frozen=True):
    """An API key as stored: never the key itself, only its SHA-256."""

    id: str
    name: str
    owner: str
    key_hash: str
    status: Literal["active", "disabled"]
    created_at: datetime
    #: ``mv_live_`` or ``mv_test_`` and the first characters, for humans.
    prefix: str = ""
    #: The models it may submit; ``None``: every served model.
    models: tuple[str, ...] | None = None
    #: After this it is refused (``api_key_expired``); ``None``: never.
    expires_at: datetime | None = None
    #: The client addresses it may be used from (CIDRs); empty: any.
    allowed_ips: tuple[str, ...] = ()
    #: The operator's own labels, shown as given.
    metadata: dict[str, Any] = {}
    #: Accepted submits in any 60 s (``rate_limited`` over it); ``None``: no limit.
    rpm: int | None = None
    #: Unfinished tasks at once (``concurrency_limit_reached`` over it); ``None``: no limit.
    max_concurrent: int | None = None
    #: What its tasks may cost a period (``budget_exceeded`` over it); ``None``: no limit.
    budget: Budget | None = None

    @property
    def admission(self) -> Admission:
        """What its submits are admitted under."""
        return Admission(self.id, self.rpm, self.max_concurrent, self.budget)

    @property
    def mode(self) -> Mode:
        """``test`` for a ``mv_test_`` key, else ``live``."""
        return "test" if self.prefix.startswith("mv_test_") else "live"


class SigningSecrets(msgspec.Struct, frozen=True):
    """An API key's webhook signing secrets (``whsec_`` + base64, as Standard Webhooks has it)."""

    current: str
    #: The secret before the last rotation: deliveries are signed with both until ``until``.
    previous: str | None = None
    until: datetime | None = None
