"""The query answers of new-api deployments, for contract tests of tolerant clients.

``reference/upstream-contracts.md`` section 2.3: shape B (``{"code": "success", "data":
TaskDto}``, the raw Kling body inside), shape C (the simple envelope) and shape D (an
OpenAI-video object), and new-api's middleware error body ``{"error": {...}}``.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from adapter.simulator.state import Progress, SimTask
from adapter.simulator.wire import KlingBody, ms


class TaskDto(msgspec.Struct):
    """new-api's stored task (``dto/task.go``); ``data`` is the last upstream poll body."""

    id: int
    created_at: int
    updated_at: int
    task_id: str
    platform: str
    user_id: int
    group: str
    channel_id: int
    quota: int
    action: str
    status: str
    fail_reason: str
    result_url: str
    submit_time: int
    start_time: int
    finish_time: int
    progress: str
    username: str
    data: KlingBody


class TaskDtoBody(msgspec.Struct):
    code: str
    message: str
    data: TaskDto


class SimpleData(msgspec.Struct):
    error: str | None
    format: str
    metadata: None
    status: str
    task_id: str
    url: str


class SimpleBody(msgspec.Struct):
    code: str
    message: str
    data: SimpleData


class OpenAIError(msgspec.Struct):
    message: str
    code: str


class OpenAIMetadata(msgspec.Struct):
    url: str


class OpenAIVideo(msgspec.Struct, omit_defaults=True):
    """new-api's ``ConvertToOpenAIVideo`` of a Kling task (timestamps copied in ms)."""

    id: str
    task_id: str
    object: str
    model: str
    status: str
    progress: int
    created_at: int
    completed_at: int | None = None
    seconds: str | None = None
    metadata: OpenAIMetadata | None = None
    error: OpenAIError | None = None


_TASKDTO_STATUS = {
    "submitted": "SUBMITTED",
    "processing": "IN_PROGRESS",
    "succeed": "SUCCESS",
    "failed": "FAILURE",
}
_SIMPLE_STATUS = {
    "submitted": "queued",
    "processing": "processing",
    "succeed": "succeeded",
    "failed": "failed",
}
_OPENAI_STATUS = {
    "submitted": "queued",
    "processing": "in_progress",
    "succeed": "completed",
    "failed": "failed",
}


def query_body(
    shape: Literal["taskdto", "simple", "openai"],
    task: SimTask,
    progress: Progress,
    url: str,
    kling: KlingBody,
) -> TaskDtoBody | SimpleBody | OpenAIVideo:
    """The answer to a query in ``shape``; ``kling`` is the Kling-native answer it wraps."""
    succeeded = progress.status == "succeed"
    failed = progress.status == "failed"
    if shape == "taskdto":
        result_url = url if succeeded else ""
        return TaskDtoBody("success", "", _task_dto(task, progress, result_url, kling))
    if shape == "simple":
        status = _SIMPLE_STATUS[progress.status]
        error = progress.status_msg if failed else None
        data = SimpleData(error, "mp4", None, status, task.task_id, url if succeeded else "")
        return SimpleBody("success", "", data)
    return OpenAIVideo(
        task.task_id,
        task.task_id,
        "video",
        task.model_name,
        _OPENAI_STATUS[progress.status],
        progress.percent,
        ms(task.created_at),
        completed_at=ms(progress.finished_at) if progress.finished_at is not None else None,
        seconds=task.duration if succeeded else None,
        metadata=OpenAIMetadata(url) if succeeded else None,
        error=OpenAIError(progress.status_msg, "task_failed") if failed else None,
    )


def _task_dto(task: SimTask, progress: Progress, result_url: str, kling: KlingBody) -> TaskDto:
    def seconds(at: float | None) -> int:
        return int(at) if at is not None else 0

    return TaskDto(
        id=task.seq,
        created_at=int(task.created_at),
        updated_at=int(progress.updated_at),
        task_id=task.task_id,
        platform="kling",
        user_id=1,
        group="default",
        channel_id=1,
        quota=0,
        action="generate",
        status=_TASKDTO_STATUS[progress.status],
        fail_reason=progress.status_msg if progress.status == "failed" else "",
        result_url=result_url,
        submit_time=int(task.created_at),
        start_time=seconds(progress.started_at),
        finish_time=seconds(progress.finished_at),
        progress=f"{progress.percent}%",
        username="sim",
        data=kling,
    )


class NewApiErrorDetail(msgspec.Struct):
    message: str
    type: str
    code: str


class NewApiError(msgspec.Struct):
    """new-api's middleware error body, which its deployments answer a 429 or 500 with."""

    error: NewApiErrorDetail


def error_body(status: int, message: str, request_id: str) -> NewApiError:
    """new-api's middleware error answer."""
    kind = "rate_limit_exceeded" if status == 429 else "internal_error"
    detail = NewApiErrorDetail(f"{message} (request id: {request_id})", "new_api_error", kind)
    return NewApiError(detail)
