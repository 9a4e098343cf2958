"""MindVideo's JSON shapes (and the adapter-defined ones), as msgspec Structs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from adapter.core.task_body import TaskBody, rfc3339, task_body
from adapter.core.values import ApiKey, Event, SigningSecrets, TaskRecord
from adapter.service.admin import KeySpend
from adapter.service.catalog import ModelSpec
from adapter.service.usage import UsageRow


class EventBody(msgspec.Struct, omit_defaults=True):
    id: str
    type: str
    at: str
    status: str | None = None
    message: str | None = None
    #: ``webhook`` events: the attempt's number and the receiver's HTTP status, if any.
    attempt: int | None = None
    response_status: int | None = None


class EventsBody(msgspec.Struct):
    task_id: str
    events: list[EventBody]


class ErrorDetail(msgspec.Struct, omit_defaults=True):
    code: str
    message: str
    param: str | None = None


class ErrorBody(msgspec.Struct, omit_defaults=True):
    error: ErrorDetail
    request_id: str
    #: A submit interrupted by a store outage: the task it had made, which may exist.
    task_id: str | None = None


def event_body(event: Event) -> EventBody:
    return EventBody(
        id=event.id,
        type=event.type,
        at=rfc3339(event.at),
        status=None if event.status is None else event.status.value,
        message=event.message,
        attempt=event.attempt,
        response_status=event.response_status,
    )


def events_body(task_id: str, events: list[Event]) -> EventsBody:
    return EventsBody(task_id=task_id, events=[event_body(e) for e in events])


class TaskListBody(msgspec.Struct):
    """Adapter-defined: one page of the caller's tasks, newest first."""

    data: list[TaskBody]
    next_cursor: str | None


def task_list_body(
    records: list[TaskRecord], next_cursor: str | None, request_id: str
) -> TaskListBody:
    return TaskListBody([task_body(r, request_id) for r in records], next_cursor)


class RateBody(msgspec.Struct):
    #: The input values that select this rate.
    when: dict[str, Any]
    per_second: Decimal


class PricingBody(msgspec.Struct):
    """Adapter-defined: cost = per_second x billed seconds, in ``currency``."""

    currency: str
    #: ``input.duration``, ``reference_video`` (the probed length of the input video), or
    #: ``task``: a flat price, ``per_second`` being the task's price whatever its length.
    billed_seconds: str
    #: ``ceil``: part of a second is billed as a whole one; ``exact``: as is.
    rounding: str
    rates: list[RateBody]


class ModelBody(msgspec.Struct):
    """Adapter-defined: one model, its input JSON Schema (as in ``schemas/``) and pricing."""

    model: str
    input_schema: dict[str, Any]
    pricing: PricingBody
    #: ``page`` (the model page's whole schema, verbatim), ``partial`` (as far as the stored
    #: copy of the page reaches) or ``derived`` (from a sibling's; ``schema_from`` says whose).
    schema_source: str
    #: Where the schema (and the example price) came from.
    schema_from: str


class ModelsBody(msgspec.Struct):
    data: list[ModelBody]


def model_body(spec: ModelSpec) -> ModelBody:
    rule = spec.price
    billed = rule.seconds.replace("input:", "input.", 1)
    return ModelBody(
        model=spec.slug,
        input_schema=spec.schema,
        pricing=PricingBody(
            currency="USD",
            billed_seconds=billed,
            rounding=rule.rounding,
            rates=[RateBody(when, rate) for when, rate in rule.table(spec.schema)],
        ),
        schema_source=spec.schema_source,
        schema_from=spec.source,
    )


class SecretsBody(msgspec.Struct, omit_defaults=True):
    """Adapter-defined: the calling key's webhook signing secret (Standard Webhooks)."""

    secret: str
    #: After a rotation: the old secret, which still signs deliveries until ``previous_until``.
    previous_secret: str | None = None
    previous_until: str | None = None


def secrets_body(secrets: SigningSecrets) -> SecretsBody:
    return SecretsBody(
        secret=secrets.current,
        previous_secret=secrets.previous,
        previous_until=None if secrets.until is None else rfc3339(secrets.until),
    )


class BudgetBody(msgspec.Struct):
    """Adapter-defined: a key's budget as it stands in its current period."""

    amount: Decimal
    period: str
    #: ``total``, or the UTC day (``2026-11-23``) or month (``2026-11``) it stands in.
    current: str
    #: Held by unfinished tasks (their estimates).
    reserved: Decimal
    #: Charged for ended tasks (their ``cost_actual``).
    spent: Decimal
    remaining: Decimal


def budget_body(spend: KeySpend | None) -> BudgetBody | None:
    if spend is None:
        return None
    return BudgetBody(
        amount=spend.budget.amount,
        period=spend.budget.period,
        current=spend.period.lstrip("dm") if spend.period != "total" else "total",
        reserved=spend.reserved,
        spent=spend.charged,
        remaining=spend.remaining,
    )


class UsageBody(msgspec.Struct):
    """Adapter-defined: ``GET /api/v1/usage``, the calling key's scope, limits and budget."""

    key_id: str
    mode: str
    models: list[str] | None
    expires_at: str | None
    rpm: int | None
    max_concurrent: int | None
    budget: BudgetBody | None
    #: Its usage by day and model (``from``/``to``, the last 30 UTC days by default).
    data: list[UsageRow]


class UsageRowsBody(msgspec.Struct):
    """Adapter-defined: ``GET /admin/v1/usage``."""

    data: list[UsageRow]


def usage_body(key: ApiKey, spend: KeySpend | None, rows: list[UsageRow]) -> UsageBody:
    return UsageBody(
        key_id=key.id,
        mode=key.mode,
        models=list(key.models) if key.models is not None else None,
        expires_at=rfc3339(key.expires_at) if key.expires_at else None,
        rpm=key.rpm,
        max_concurrent=key.max_concurrent,
        budget=budget_body(spend),
        data=rows,
    )


class KeyBody(msgspec.Struct):
    """Adapter-defined (admin API): an API key, never its secret or its hash."""

    id: str
    name: str
    owner: str
    mode: str
    status: str
    #: The secret's first characters, to tell keys apart.
    prefix: str
    #: The models it may submit; ``null``: every served model.
    models: list[str] | None
    expires_at: str | None
    allowed_ips: list[str]
    metadata: dict[str, Any]
    created_at: str
    #: To the minute; ``null`` if it was never used.
    last_used_at: str | None
    #: Accepted submits in any 60 s; ``null``: no limit.
    rpm: int | None
    #: Unfinished tasks at once; ``null``: no limit.
    max_concurrent: int | None
    budget: BudgetBody | None


class KeyCreatedBody(msgspec.Struct):
    key: KeyBody
    #: The key itself, shown in this answer only.
    secret: str


class KeyListBody(msgspec.Struct):
    data: list[KeyBody]
    next_cursor: str | None


def key_body(
    key: ApiKey, last_used: datetime | None = None, spend: KeySpend | None = None
) -> KeyBody:
    return KeyBody(
        id=key.id,
        name=key.name,
        owner=key.owner,
        mode=key.mode,
        status=key.status,
        prefix=key.prefix,
        models=list(key.models) if key.models is not None else None,
        expires_at=rfc3339(key.expires_at) if key.expires_at else None,
        allowed_ips=list(key.allowed_ips),
        metadata=key.metadata,
        created_at=rfc3339(key.created_at),
        last_used_at=rfc3339(last_used) if last_used else None,
        rpm=key.rpm,
        max_concurrent=key.max_concurrent,
        budget=budget_body(spend),
    )
