"""The simulated DashScope upstream's tasks, request bodies and answers (contracts section 4).

A submit body is validated as DashScope validates it: anything wrong answers HTTP 400
``{"request_id", "code": "InvalidParameter", "message"}``, the message naming the field.

- ``model``: ``wan2.6-i2v-flash``;
- ``input.img_url`` (required): an ``http(s)`` URL or a ``data:image/...;base64,...`` URI;
  ``input.prompt``, ``input.negative_prompt`` (at most 500 characters), ``input.audio_url``
  (an ``http(s)`` URL), ``input.template`` are optional;
- ``parameters`` (optional): ``resolution`` ``720P`` | ``1080P`` (default ``1080P``),
  ``duration`` an integer 2..15 (default 5), ``prompt_extend`` / ``audio`` / ``watermark``
  booleans, ``shot_type`` ``single`` | ``multi``, ``seed`` 0..2147483647.

Unknown fields are ignored. Times are written as DashScope writes them,
``"2025-09-29 14:18:52.331"``, in Beijing time (UTC+8), from the injected clock.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Annotated, Final, Literal

import msgspec

from adapter.simulator.script import DEFAULT_FAIL_REASON, Script
from adapter.simulator.state import Progress
from adapter.simulator.wire import NonEmpty

#: The models the simulated DashScope accepts.
MODELS: Final = frozenset({"wan2.6-i2v-flash"})
DEFAULT_RESOLUTION: Final = "1080P"
DEFAULT_DURATION: Final = 5
#: DashScope's Beijing region writes its times in China Standard Time.
_CST: Final = timezone(timedelta(hours=8))
_DATA_IMAGE: Final = re.compile(r"data:image/[\w.+-]+;base64,[A-Za-z0-9+/\s]+={0,2}\s*")

Status = Literal["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN"]
_STATUS: Final[dict[str, Status]] = {
    "submitted": "PENDING",
    "processing": "RUNNING",
    "succeed": "SUCCEEDED",
    "failed": "FAILED",
}


class Rejection(Exception):
    """A DashScope error answer: HTTP ``status``, DashScope ``code``, ``message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def invalid(message: str) -> Rejection:
    """HTTP 400, ``InvalidParameter``."""
    return Rejection(400, "InvalidParameter", message)


class SynthesisInput(msgspec.Struct, kw_only=True):
    img_url: NonEmpty
    prompt: str | None = None
    negative_prompt: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    audio_url: str | None = None
    template: str | None = None


class SynthesisParameters(msgspec.Struct, kw_only=True):
    resolution: Literal["720P", "1080P"] | None = None
    duration: Annotated[int, msgspec.Meta(ge=2, le=15)] | None = None
    prompt_extend: bool | None = None
    shot_type: Literal["single", "multi"] | None = None
    audio: bool | None = None
    watermark: bool | None = None
    seed: Annotated[int, msgspec.Meta(ge=0, le=2_147_483_647)] | None = None


class SynthesisRequest(msgspec.Struct, kw_only=True):
    """``POST /api/v1/services/aigc/video-generation/video-synthesis``."""

    model: str
    input: SynthesisInput
    parameters: SynthesisParameters | None = None


_decode_synthesis = msgspec.json.Decoder(SynthesisRequest).decode


def decode_synthesis(body: bytes) -> SynthesisRequest:
    """The submit ``body``, validated as DashScope validates it.

    Raises:
        Rejection: 400 ``InvalidParameter`` naming what is wrong.
    """
    try:
        request = _decode_synthesis(body)
    except msgspec.ValidationError as exc:
        raise invalid(str(exc)) from None
    except msgspec.DecodeError:
        raise invalid("request body is not valid JSON") from None
    if request.model not in MODELS:
        raise invalid(f"Model not exist: {request.model!r} (the simulator has wan2.6-i2v-flash)")
    img_url = request.input.img_url
    if not (img_url.startswith(("http://", "https://")) or _DATA_IMAGE.fullmatch(img_url)):
        raise invalid("input.img_url must be an http(s) URL or a data:image/...;base64,... URI")
    audio_url = request.input.audio_url
    if audio_url is not None and not audio_url.startswith(("http://", "https://")):
        raise invalid("input.audio_url must be an http(s) URL")
    return request


class DashTask(msgspec.Struct, frozen=True, kw_only=True):
    """One accepted DashScope task, as submitted (and, once cancelled, when)."""

    task_id: str
    owner: str
    created_at: float
    model: str
    #: ``input.prompt`` as given (``orig_prompt``), markers included.
    prompt: str | None
    resolution: str
    #: The output video's duration, in seconds.
    duration: int
    script: Script
    canceled_at: float | None = None
    #: DashScope has no client task ids; the task table's protocol asks for one.
    external_task_id: str = ""


class SubmitOutput(msgspec.Struct):
    task_id: str
    task_status: Status


class SubmitBody(msgspec.Struct):
    request_id: str
    output: SubmitOutput


class TaskOutput(msgspec.Struct, omit_defaults=True):
    task_id: str
    task_status: Status
    submit_time: str | None = None
    scheduled_time: str | None = None
    end_time: str | None = None
    orig_prompt: str | None = None
    video_url: str | None = None
    code: str | None = None
    message: str | None = None


class Usage(msgspec.Struct):
    duration: int
    video_count: int
    SR: int


class QueryBody(msgspec.Struct, omit_defaults=True):
    request_id: str
    output: TaskOutput
    usage: Usage | None = None


class RequestOnly(msgspec.Struct):
    """The answer to an accepted cancel."""

    request_id: str


class ErrorBody(msgspec.Struct):
    request_id: str
    code: str
    message: str


def timestamp(seconds: float) -> str:
    """Clock seconds as DashScope writes a time: ``"2025-09-29 14:18:52.331"``."""
    at = datetime.fromtimestamp(seconds, tz=_CST)
    return f"{at:%Y-%m-%d %H:%M:%S}.{at.microsecond // 1000:03d}"


def failure_code(reason: str) -> str:
    """The ``output.code`` of a scripted failure: moderation for the default reason."""
    return "DataInspectionFailed" if reason == DEFAULT_FAIL_REASON else "InternalError"


def status_of(task: DashTask, progress: Progress) -> Status:
    """The task's DashScope status, given where its lifecycle stands."""
    return "CANCELED" if task.canceled_at is not None else _STATUS[progress.status]


def query_body(task: DashTask, progress: Progress, url: str, request_id: str) -> QueryBody:
    """The answer to a query of a known task."""
    status = status_of(task, progress)
    output = TaskOutput(
        task.task_id,
        status,
        submit_time=timestamp(task.created_at),
        orig_prompt=task.prompt,
    )
    if status == "CANCELED":
        output.end_time = timestamp(task.canceled_at or task.created_at)
        return QueryBody(request_id, output)
    if progress.started_at is not None:
        output.scheduled_time = timestamp(progress.started_at)
    if progress.finished_at is not None:
        output.end_time = timestamp(progress.finished_at)
    if status == "FAILED":
        output.code = failure_code(progress.status_msg)
        output.message = progress.status_msg
    if status != "SUCCEEDED":
        return QueryBody(request_id, output)
    output.video_url = url
    sr = 720 if task.resolution == "720P" else 1080
    return QueryBody(request_id, output, Usage(task.duration, 1, sr))
