"""The task object as clients see it: the API's responses and webhook payloads share it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import msgspec

from adapter.core.values import TaskRecord

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
    #: Adapter-defined: ``test`` for a task a test key made (the simulator served it).
    mode: str
    #: Adapter-defined: how the task was handled (e.g. an estimated video length).
    notices: list[NoticeBody] = []


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
        mode=record.mode,
        notices=[NoticeBody(n.code, n.message) for n in record.notices],
    )
