"""MindVideo's JSON shapes (and the adapter-defined ones), as msgspec Structs."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec

from adapter.model import Event, TaskRecord
from adapter.service.catalog import ModelSpec

#: Money renders as a JSON number with no float noise: 0.06426, never 0.06425999999.
encode = msgspec.json.Encoder(decimal_format="number").encode


def rfc3339(moment: datetime) -> str:
    """``2026-11-23T08:00:00.123Z``: UTC, to the millisecond."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class VideoBody(msgspec.Struct, omit_defaults=True):
    url: str
    duration: float | None = None


class OutputBody(msgspec.Struct):
    videos: list[VideoBody]


class ErrorInfo(msgspec.Struct):
    code: str
    message: str


class NoticeBody(msgspec.Struct):
    code: str
    message: str


class TaskBody(msgspec.Struct, omit_defaults=True):
    """The task object: the body of GET /api/v1/tasks/{id} and of a successful submit."""

    request_id: str
    task_id: str
    model: str
    status: str
    cost_estimate: Decimal
    cost_actual: Decimal | None
    output: OutputBody | None
    error: ErrorInfo | None
    created_at: str
    updated_at: str
    #: Adapter-defined: how the task was handled (e.g. an estimated video length).
    notices: list[NoticeBody] = []


class EventBody(msgspec.Struct, omit_defaults=True):
    id: str
    type: str
    at: str
    status: str | None = None
    message: str | None = None


class EventsBody(msgspec.Struct):
    task_id: str
    events: list[EventBody]


class ErrorDetail(msgspec.Struct, omit_defaults=True):
    code: str
    message: str
    param: str | None = None


class ErrorBody(msgspec.Struct):
    error: ErrorDetail
    request_id: str


def task_body(record: TaskRecord, request_id: str) -> TaskBody:
    output = None
    if record.videos is not None:
        output = OutputBody([VideoBody(v.url, v.duration) for v in record.videos])
    return TaskBody(
        request_id=request_id,
        task_id=record.task_id,
        model=record.model,
        status=record.status.value,
        cost_estimate=record.cost_estimate,
        cost_actual=record.cost_actual,
        output=output,
        error=None if record.error is None else ErrorInfo(record.error.code, record.error.message),
        created_at=rfc3339(record.created_at),
        updated_at=rfc3339(record.updated_at),
        notices=[NoticeBody(n.code, n.message) for n in record.notices],
    )


def events_body(task_id: str, events: list[Event]) -> EventsBody:
    return EventsBody(
        task_id=task_id,
        events=[
            EventBody(
                id=e.id,
                type=e.type,
                at=rfc3339(e.at),
                status=None if e.status is None else e.status.value,
                message=e.message,
            )
            for e in events
        ],
    )


class RateBody(msgspec.Struct):
    #: The input values that select this rate.
    when: dict[str, Any]
    per_second: Decimal


class PricingBody(msgspec.Struct):
    """Adapter-defined: cost = per_second x billed seconds, in ``currency``."""

    currency: str
    #: ``input.duration``, or ``reference_video`` (the probed length of the input video).
    billed_seconds: str
    #: ``ceil``: part of a second is billed as a whole one; ``exact``: as is.
    rounding: str
    rates: list[RateBody]


class ModelBody(msgspec.Struct):
    """Adapter-defined: one model, its input JSON Schema (as in ``schemas/``) and pricing."""

    model: str
    input_schema: dict[str, Any]
    pricing: PricingBody


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
    )
