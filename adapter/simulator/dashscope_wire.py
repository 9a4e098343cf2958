"""The simulated DashScope upstream's tasks, request bodies and answers (contracts section 4).

A submit body is validated as DashScope validates it, per model: anything wrong answers HTTP
400 ``{"request_id", "code": "InvalidParameter", "message"}``, the message naming the field.
Unknown fields are ignored, anywhere. ``input.negative_prompt`` is at most 500 characters and
``input.audio_url`` an ``http(s)`` URL for every model; ``seed`` is 0..2147483647 and
``prompt_extend`` / ``audio`` / ``watermark`` are booleans wherever a model has them.

- ``wan2.6-i2v-flash`` (image to video): ``input.img_url`` (required) an ``http(s)`` URL or a
  ``data:image/...;base64,...`` URI; ``input.prompt``, ``input.template`` optional;
  ``parameters.resolution`` ``720P`` | ``1080P`` (default ``1080P``), ``duration`` 2..15
  (default 5), ``shot_type`` ``single`` | ``multi``;
- ``wan2.5-t2v-preview`` (text to video): ``input.prompt`` (required, not empty);
  ``parameters.size`` one of :data:`T2V_SIZES` (``W*H``, default ``1280*720``), ``duration``
  5 or 10 (default 5);
- ``wan2.7-r2v`` (reference to video): ``input.media`` (required) 1..5 items ``{type, url}``,
  type ``reference_image`` | ``reference_video``, url ``http(s)`` or a ``data:image`` URI;
  ``input.prompt`` optional; ``parameters.resolution`` (default ``1080P``), ``ratio`` one of
  :data:`RATIOS` (optional), ``duration`` 2..15 (default 5);
- ``wan2.7-videoedit`` (edit a video): ``input.media`` exactly one ``video`` item (an
  ``http(s)`` URL) and 0..3 ``reference_image`` items; ``parameters.resolution``, ``ratio``,
  ``duration`` 2..15 optional (absent: the output follows the source video, which the
  simulator takes as 5 s);
- ``happyhorse-1.0-t2v`` (text to video): ``input.prompt`` (required, not empty);
  ``parameters.resolution`` (default ``1080P``), ``ratio`` (any: its values are not known
  here), ``duration`` 1..15 (default 5).

A finished task's ``usage.SR`` comes from its resolution: 720 for ``720P``, the smaller side
of a ``W*H`` size, else 1080. Times are written as DashScope writes them,
``"2025-09-29 14:18:52.331"``, in Beijing time (UTC+8), from the injected clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Annotated, Final, Literal, get_args

import msgspec

from adapter.simulator.script import DEFAULT_FAIL_REASON, Script
from adapter.simulator.state import Progress
from adapter.simulator.wire import NonEmpty

DEFAULT_RESOLUTION: Final = "1080P"
DEFAULT_DURATION: Final = 5
DEFAULT_SIZE: Final = "1280*720"
#: DashScope's Beijing region writes its times in China Standard Time.
_CST: Final = timezone(timedelta(hours=8))
_DATA_IMAGE: Final = re.compile(r"data:image/[\w.+-]+;base64,[A-Za-z0-9+/\s]+={0,2}\s*")
_HTTP: Final = ("http://", "https://")

Status = Literal["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN"]
_STATUS: Final[dict[str, Status]] = {
    "submitted": "PENDING",
    "processing": "RUNNING",
    "succeed": "SUCCEEDED",
    "failed": "FAILED",
}
#: ``parameters.size`` of text to video (``wan2.5-t2v-preview``), ``W*H`` in pixels.
Size = Literal[
    "832*480",
    "480*832",
    "624*624",
    "1280*720",
    "720*1280",
    "960*960",
    "1088*832",
    "832*1088",
    "1920*1080",
    "1080*1920",
    "1440*1440",
    "1632*1248",
    "1248*1632",
]
#: ``parameters.ratio`` of the Wan 2.7 models (HappyHorse's are not known here: any is taken).
Ratio = Literal["16:9", "9:16", "1:1", "4:3", "3:4"]
T2V_SIZES: Final = get_args(Size)
RATIOS: Final = get_args(Ratio)


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


class MediaItem(msgspec.Struct, kw_only=True):
    """One item of ``input.media`` (Wan 2.7): an image or video, by URL."""

    type: str
    url: NonEmpty


class SynthesisInput(msgspec.Struct, kw_only=True):
    """``input``, every model's fields: which are required and which apply is per model."""

    prompt: str | None = None
    negative_prompt: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    img_url: str | None = None
    audio_url: str | None = None
    template: str | None = None
    media: list[MediaItem] | None = None


class SynthesisParameters(msgspec.Struct, kw_only=True):
    """``parameters``, every model's fields; the per-model ranges are checked after."""

    resolution: Literal["720P", "1080P"] | None = None
    size: Size | None = None
    ratio: str | None = None
    duration: Annotated[int, msgspec.Meta(ge=1, le=15)] | None = None
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
    """The submit ``body``, validated as DashScope validates it for its ``model``.

    Raises:
        Rejection: 400 ``InvalidParameter`` naming what is wrong.
    """
    try:
        request = _decode_synthesis(body)
    except msgspec.ValidationError as exc:
        raise invalid(str(exc)) from None
    except msgspec.DecodeError:
        raise invalid("request body is not valid JSON") from None
    check = _CHECKS.get(request.model)
    if check is None:
        raise invalid(f"Model not exist: {request.model!r} (the simulator has {', '.join(MODELS)})")
    audio_url = request.input.audio_url
    if audio_url is not None and not audio_url.startswith(_HTTP):
        raise invalid("input.audio_url must be an http(s) URL")
    check(request.input, request.parameters or SynthesisParameters())
    return request


def resolution_of(request: SynthesisRequest) -> str:
    """The output's resolution: ``parameters.size`` (``W*H``) for text to video, else
    ``parameters.resolution``, each with its default."""
    parameters = request.parameters or SynthesisParameters()
    if request.model == "wan2.5-t2v-preview":
        return parameters.size or DEFAULT_SIZE
    return parameters.resolution or DEFAULT_RESOLUTION


def duration_of(request: SynthesisRequest) -> int:
    """The output's length in seconds: ``parameters.duration``, else 5 (for
    ``wan2.7-videoedit``, the source video's length, which the simulator takes as 5 s)."""
    parameters = request.parameters or SynthesisParameters()
    return parameters.duration or DEFAULT_DURATION


def _image_to_video(given: SynthesisInput, parameters: SynthesisParameters) -> None:
    _wan_bounds(parameters, "wan2.6-i2v-flash")
    if not given.img_url:
        raise invalid("input.img_url is required by wan2.6-i2v-flash")
    if not _image_ref(given.img_url):
        raise invalid("input.img_url must be an http(s) URL or a data:image/...;base64,... URI")


def _wan_text_to_video(given: SynthesisInput, parameters: SynthesisParameters) -> None:
    _require_prompt(given, "wan2.5-t2v-preview")
    if parameters.duration not in (None, 5, 10):
        raise invalid("parameters.duration must be 5 or 10 for wan2.5-t2v-preview")


def _reference_to_video(given: SynthesisInput, parameters: SynthesisParameters) -> None:
    _wan_bounds(parameters, "wan2.7-r2v")
    media = given.media or []
    if not 1 <= len(media) <= 5:
        raise invalid(f"input.media must have 1 to 5 items for wan2.7-r2v, not {len(media)}")
    for index, item in enumerate(media):
        if item.type not in ("reference_image", "reference_video"):
            raise invalid(f"input.media[{index}].type must be reference_image or reference_video")
        if not _image_ref(item.url):
            raise invalid(
                f"input.media[{index}].url must be an http(s) URL or a data:image/...;base64,"
                "... URI"
            )


def _video_edit(given: SynthesisInput, parameters: SynthesisParameters) -> None:
    _wan_bounds(parameters, "wan2.7-videoedit")
    media = given.media or []
    for index, item in enumerate(media):
        if item.type not in ("video", "reference_image"):
            raise invalid(f"input.media[{index}].type must be video or reference_image")
        if item.type == "video" and not item.url.startswith(_HTTP):
            raise invalid(f"input.media[{index}].url must be an http(s) URL (a video)")
        if item.type == "reference_image" and not _image_ref(item.url):
            raise invalid(
                f"input.media[{index}].url must be an http(s) URL or a data:image/...;base64,"
                "... URI"
            )
    videos = sum(item.type == "video" for item in media)
    if videos != 1:
        raise invalid(f"input.media must have exactly one video item, not {videos}")
    if len(media) - videos > 3:
        raise invalid("input.media may have at most 3 reference_image items")


def _happyhorse_text_to_video(given: SynthesisInput, parameters: SynthesisParameters) -> None:
    _require_prompt(given, "happyhorse-1.0-t2v")


def _wan_bounds(parameters: SynthesisParameters, model: str) -> None:
    """Wan's own ranges: 2..15 s, and (2.7) a ratio of :data:`RATIOS`."""
    if parameters.duration is not None and parameters.duration < 2:
        raise invalid(f"parameters.duration must be 2..15 for {model}")
    if parameters.ratio is not None and parameters.ratio not in RATIOS:
        raise invalid(f"parameters.ratio must be one of {', '.join(RATIOS)} for {model}")


def _require_prompt(given: SynthesisInput, model: str) -> None:
    if not (given.prompt or "").strip():
        raise invalid(f"input.prompt is required by {model}")


def _image_ref(url: str) -> bool:
    return url.startswith(_HTTP) or _DATA_IMAGE.fullmatch(url) is not None


#: The per-model checks, after the types and ranges every model shares.
_CHECKS: Final[Mapping[str, Callable[[SynthesisInput, SynthesisParameters], None]]] = {
    "wan2.6-i2v-flash": _image_to_video,
    "wan2.5-t2v-preview": _wan_text_to_video,
    "wan2.7-r2v": _reference_to_video,
    "wan2.7-videoedit": _video_edit,
    "happyhorse-1.0-t2v": _happyhorse_text_to_video,
}
#: The models the simulated DashScope accepts.
MODELS: Final = tuple(_CHECKS)


class DashTask(msgspec.Struct, frozen=True, kw_only=True):
    """One accepted DashScope task, as submitted (and, once cancelled, when)."""

    task_id: str
    owner: str
    created_at: float
    model: str
    #: ``input.prompt`` as given (``orig_prompt``), markers included.
    prompt: str | None
    #: ``parameters.resolution`` (``1080P``), or ``parameters.size`` (``1280*720``).
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
    return QueryBody(request_id, output, Usage(task.duration, 1, sr_of(task.resolution)))


def sr_of(resolution: str) -> int:
    """``usage.SR``: 720 for ``720P``, the smaller side of a ``W*H`` size, else 1080."""
    if resolution == "720P":
        return 720
    width, star, height = resolution.partition("*")
    return min(int(width), int(height)) if star else 1080
