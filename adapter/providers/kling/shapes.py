"""Reading a Kling-style answer, in whichever of the four shapes it came, into one view.

The shapes and their status words are in upstream-contracts.md section 2.3 (and 1.5 for how
new-api maps Kling's words). Clients never see an upstream's own words: everything becomes
``adapter.core.values.TaskStatus`` here. A status word a shape does not list reads as
``processing`` (poll again), as vercel/ai does for Kling.
"""

from __future__ import annotations

import math

import msgspec

from adapter.core.values import TaskStatus, Video
from adapter.providers.kling import wire as kling_wire
from adapter.providers.kling.wire import ErrorInfo, TaskBody, TaskData

_Q, _P, _S, _F = (TaskStatus.QUEUED, TaskStatus.PROCESSING, TaskStatus.SUCCEEDED, TaskStatus.FAILED)

#: A. Kling ``task_status`` (note ``succeed``, not "succeeded").
KLING_STATUS = {"submitted": _Q, "processing": _P, "succeed": _S, "failed": _F}
#: B. new-api ``TaskDto.status``; ``UNKNOWN`` is a transient state there: poll again.
TASKDTO_STATUS = {
    "NOT_START": _Q,
    "SUBMITTED": _Q,
    "QUEUED": _Q,
    "IN_PROGRESS": _P,
    "SUCCESS": _S,
    "FAILURE": _F,
    "UNKNOWN": _P,
}
#: C. The simple envelope already speaks MindVideo's words.
SIMPLE_STATUS = {"queued": _Q, "processing": _P, "succeeded": _S, "failed": _F}
#: D. OpenAI-video ``status``.
OPENAI_STATUS = {"queued": _Q, "in_progress": _P, "completed": _S, "failed": _F}

# Above this an epoch timestamp must be in milliseconds (1e12 s is the year 33658).
_MS_THRESHOLD = 1e12


class TaskView(msgspec.Struct, frozen=True):
    """One task as read from any shape."""

    upstream_id: str | None
    status: TaskStatus
    #: Only on success.
    videos: tuple[Video, ...] = ()
    #: The upstream's reason, only on failure.
    message: str | None = None
    #: Creation time in epoch seconds, whatever unit the upstream used.
    created_at_s: float | None = None


def task_id_of(body: TaskBody) -> str | None:
    """The first non-empty of ``data.task_id``, ``task_id`` and ``id``."""
    candidates = (body.data.task_id if body.data else None, body.task_id, body.id)
    for value in candidates:
        if value is not None and str(value):
            return str(value)
    return None


def is_openai_video(body: TaskBody) -> bool:
    return body.object == "video" or body.status in OPENAI_STATUS


def read_task(body: TaskBody) -> TaskView | None:
    """The task ``body`` describes, or ``None`` when it matches none of the four shapes."""
    data = body.data
    if data is not None and data.task_status:
        return _read_kling(body, data)
    if data is not None and data.status in TASKDTO_STATUS:
        return _read_taskdto(body, data)
    if data is not None and data.status in SIMPLE_STATUS:
        status = SIMPLE_STATUS[data.status]
        duration = seconds(data.metadata.duration) if data.metadata else None
        return _view(body, status, data.url, duration, error_message(data.error))
    if is_openai_video(body):
        status = OPENAI_STATUS.get(body.status or "", _P)
        url = body.metadata.url if body.metadata else None
        created = epoch_seconds(body.created_at)
        return _view(body, status, url, seconds(body.seconds), error_message(body.error), created)
    return None


def _read_kling(body: TaskBody, data: TaskData) -> TaskView:
    status = KLING_STATUS.get((data.task_status or "").lower(), _P)
    videos = _kling_videos(data) if status is _S else ()
    message = (data.task_status_msg or None) if status is _F else None
    return TaskView(task_id_of(body), status, videos, message, epoch_seconds(data.created_at))


def _read_taskdto(body: TaskBody, data: TaskData) -> TaskView:
    status = TASKDTO_STATUS[data.status or ""]
    nested = _decode_nested(data.data)
    kling = _kling_videos(nested.data) if nested and nested.data else ()
    dashscope_url = nested.output.video_url if nested and nested.output else None
    url = data.result_url or (kling[0].url if kling else None) or dashscope_url
    duration = kling[0].duration if kling else None
    reason = data.fail_reason or (nested.data.task_status_msg if nested and nested.data else None)
    return _view(body, status, url, duration, reason, epoch_seconds(data.created_at))


def _view(
    body: TaskBody,
    status: TaskStatus,
    url: str | None,
    duration: float | None,
    reason: str | None,
    created_at_s: float | None = None,
) -> TaskView:
    videos = (Video(url=url, duration=duration),) if url and status is _S else ()
    message = (reason or None) if status is _F else None
    return TaskView(task_id_of(body), status, videos, message, created_at_s)


def _kling_videos(data: TaskData) -> tuple[Video, ...]:
    found = data.task_result.videos if data.task_result else []
    return tuple(Video(url=v.url, duration=seconds(v.duration)) for v in found if v.url)


def _decode_nested(raw: msgspec.Raw) -> TaskBody | None:
    if not raw:
        return None
    try:
        return kling_wire.decode_task(raw)
    except msgspec.DecodeError:
        return None  # the raw upstream body is a bonus; a shape we cannot read is no error


def error_message(error: ErrorInfo | str | None) -> str | None:
    if isinstance(error, ErrorInfo):
        return error.message or None
    return error or None


def seconds(value: float | str | None) -> float | None:
    """A duration sent as ``"5"`` or ``5`` (or ``"5.04"``), in seconds."""
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    elif value is None:
        return None
    else:
        number = float(value)
    # "NaN", "inf" or a negative length is no length: the caller falls back to its estimate.
    return number if math.isfinite(number) and number > 0 else None


def epoch_seconds(value: float | str | None) -> float | None:
    """An epoch timestamp in seconds, whether sent in seconds or milliseconds."""
    number = seconds(value)
    if number is None or number <= 0:
        return None
    return number / 1000 if number > _MS_THRESHOLD else number
