"""The simulated Kling upstream's request and Kling-native response bodies.

They follow the official docs and seed 004: ``code: 0``, ms timestamps, ``duration`` as a
string. ``newapi.py`` holds the other shapes a query can answer in.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from adapter.simulator.state import Progress, SimTask

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


class Rejection(Exception):
    """A Kling-native error answer: HTTP ``status``, Kling ``code``, ``message``."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class SubmitRequest(msgspec.Struct, kw_only=True):
    """A motion-control submit; unknown fields (``element_list``, ...) are ignored."""

    image_url: NonEmpty
    video_url: NonEmpty
    character_orientation: Literal["image", "video"]
    mode: Literal["std", "pro"]
    prompt: Annotated[str, msgspec.Meta(max_length=2500)] | None = None
    keep_original_sound: Literal["yes", "no"] | None = None
    model_name: str | None = None
    model: str | None = None
    callback_url: str | None = None
    external_task_id: str | None = None


_decode_submit = msgspec.json.Decoder(SubmitRequest).decode


def decode_submit(body: bytes) -> SubmitRequest:
    """The submit ``body``, validated as Kling validates it.

    Raises:
        Rejection: 400, code 1200 for a body that is not JSON, 1201 for a bad or missing field.
    """
    try:
        return _decode_submit(body)
    except msgspec.ValidationError as exc:
        raise Rejection(400, 1201, str(exc)) from None
    except msgspec.DecodeError:
        raise Rejection(400, 1200, "request body is not valid JSON") from None


class Video(msgspec.Struct):
    id: str
    url: str
    duration: str


class TaskResult(msgspec.Struct):
    videos: list[Video]


class TaskInfo(msgspec.Struct):
    external_task_id: str


class TaskData(msgspec.Struct, omit_defaults=True):
    task_id: str
    task_status: str
    task_info: TaskInfo
    created_at: int
    updated_at: int
    task_status_msg: str | None = None
    task_result: TaskResult | None = None


class KlingBody(msgspec.Struct):
    code: int
    message: str
    request_id: str
    data: TaskData


class KlingList(msgspec.Struct):
    """The official list of a family's tasks."""

    code: int
    message: str
    request_id: str
    data: list[TaskData]


class KlingError(msgspec.Struct):
    code: int
    message: str
    request_id: str


_encode = msgspec.json.Encoder().encode


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(_encode(payload), status_code=status, media_type="application/json")


def ms(seconds: float) -> int:
    return int(seconds * 1000)


def submit_body(task: SimTask, request_id: str) -> KlingBody:
    """The Kling-native answer to an accepted submit."""
    created = ms(task.created_at)
    info = TaskInfo(task.external_task_id)
    data = TaskData(task.task_id, "submitted", info, created, created)
    return KlingBody(0, "SUCCEED", request_id, data)


def media_base(public_url: str, request: Request) -> str:
    """The base of output links: the configured public URL, else the request's own."""
    return public_url.rstrip("/") or str(request.base_url).rstrip("/")


def video_url(base: str, task_id: str, duration: str) -> str:
    """The output video's link, served by the simulator's own media route.

    The media route reads the duration from the name: ``.../<task_id>-8s.mp4`` lasts 8 s.
    """
    return f"{base}/media/out/{task_id}-{duration}s.mp4"


def task_data(task: SimTask, progress: Progress, url: str) -> TaskData:
    """The task as a query's ``data`` (and a ``callback_url`` POST) shows it."""
    result = None
    if progress.status == "succeed":
        result = TaskResult([Video(f"{task.task_id}-0", url, task.duration)])
    return TaskData(
        task.task_id,
        progress.status,
        TaskInfo(task.external_task_id),
        ms(task.created_at),
        ms(progress.updated_at),
        task_status_msg=progress.status_msg,
        task_result=result,
    )


def kling_query_body(task: SimTask, progress: Progress, url: str, request_id: str) -> KlingBody:
    """The Kling-native answer to a query (shape A)."""
    return KlingBody(0, "SUCCEED", request_id, task_data(task, progress, url))
