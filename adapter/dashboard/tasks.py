"""The tasks pages: every owner's tasks, filtered and paged; one task with its input, cost,
upstream, events (live, over SSE) and video."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from adapter.core.errors import InvalidRequest, KeyNotFound
from adapter.core.task_body import encode
from adapter.core.values import TaskRecord, TaskStatus
from adapter.dashboard.access import ROOT, Operator, signed_in
from adapter.dashboard.guard import policy
from adapter.dashboard.pages import model_options, render
from adapter.http.responses import MsgspecResponse
from adapter.http.sse import sse_response

#: Tasks on one list page.
PAGE = 25
_FILTERS = ("key_id", "model", "status", "since", "until")
#: A string of the input longer than this is shown cut (a data URI can be a megabyte).
_LONGEST = 300


async def list_tasks(request: Request) -> Response:
    """Newest first, by the key that submitted them, model, status and creation time."""
    operator = signed_in(request)
    query = request.query_params
    filters = {name: query.get(name, "") for name in _FILTERS}
    keys = await operator.services.admin.all()
    records: list[TaskRecord] = []
    next_page = error = None
    try:
        page = await operator.services.tasks.list_every_task(
            **{name: value or None for name, value in filters.items()},
            limit=PAGE,
            cursor=query.get("cursor") or None,
        )
    except InvalidRequest as exc:
        error = exc
    else:
        records = page.records
        if page.next_cursor is not None:
            next_page = "?" + urlencode({**filters, "cursor": page.next_cursor})
    return render(
        "tasks.html",
        operator,
        status=200 if error is None else 422,
        page="tasks",
        title="Tasks",
        records=records,
        filters=filters,
        key_names={key.id: key.name for key in keys},
        submitter=_submitter,
        key_options=[(key.id, f"{key.name} ({key.id})") for key in keys],
        model_options=model_options(operator),
        status_options=[(status.value, status.value) for status in TaskStatus],
        next_page=next_page,
        first_page="?" + urlencode(filters) if query.get("cursor") else None,
        error=error,
    )


async def _task(operator: Operator, task_id: str) -> TaskRecord:
    """The task, whoever owns it, refreshed from its upstream when due."""
    record = await operator.services.tasks.stored(task_id)
    return await operator.services.tasks.get(owner=record.owner, task_id=task_id, mode=record.mode)


async def show_task(request: Request) -> Response:
    operator = signed_in(request)
    record = await _task(operator, request.path_params["task_id"])
    events = await operator.services.tasks.events(
        owner=record.owner, task_id=record.task_id, mode=record.mode
    )
    key_id, key_name = _submitter(record), None
    if key_id is not None:
        try:
            key_name = (await operator.services.admin.get(key_id)).name
        except KeyNotFound:
            key_name = None  # deleted since
    stream = None
    if not record.status.is_terminal:
        after = {"after": events[-1].id} if events else {}
        stream = f"{ROOT}/tasks/{record.task_id}/events?{urlencode(after)}"
    return render(
        "task.html",
        operator,
        # The video lives on its upstream's host, wherever that is: media may come from any.
        headers={"Content-Security-Policy": policy(media="'self' http: https:")},
        page="tasks",
        title=f"Task {record.task_id}",
        task=record,
        key_id=key_id,
        key_name=key_name,
        input=msgspec.json.format(
            encode(_shortened(msgspec.json.decode(record.input))), indent=2
        ).decode(),
        events=events,
        stream=stream,
    )


async def task_events(request: Request) -> Response:
    """The task's live events (SSE) for the task page: the API's stream, for any owner."""
    operator = signed_in(request)
    record = await operator.services.tasks.stored(request.path_params["task_id"])
    stream = await operator.services.events.open(
        owner=record.owner,
        task_id=record.task_id,
        after=request.headers.get("last-event-id") or request.query_params.get("after") or None,
        mode=record.mode,
    )
    return sse_response(stream)


class TaskFacts(msgspec.Struct):
    """What the task page's script shows once the task ends."""

    status: str
    cost_actual: Decimal | None
    provider: str | None
    upstream_id: str | None
    videos: list[str]
    error: str | None


async def task_facts(request: Request) -> Response:
    operator = signed_in(request)
    record = await _task(operator, request.path_params["task_id"])
    return MsgspecResponse(
        TaskFacts(
            status=record.status.value,
            cost_actual=record.cost_actual,
            provider=record.provider,
            upstream_id=record.upstream_id,
            videos=[video.url for video in record.videos or ()],
            error=None if record.error is None else f"{record.error.code}: {record.error.message}",
        ),
        headers={"Cache-Control": "no-store"},
    )


def _submitter(record: TaskRecord) -> str | None:
    """The key that submitted the task: the one whose limits admitted it."""
    return record.admitted_by or record.key_id


def _shortened(value: Any) -> Any:
    """``value`` with each over-long string cut, saying how long it was."""
    if isinstance(value, str) and len(value) > _LONGEST:
        return f"{value[:80]}… ({len(value)} characters)"
    if isinstance(value, dict):
        return {name: _shortened(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_shortened(item) for item in value]
    return value
