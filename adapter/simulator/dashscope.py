"""The simulated DashScope upstream (Alibaba Model Studio video synthesis; async only).

The models are Wan image-to-video, text-to-video, reference-to-video and video editing, and
HappyHorse text-to-video (``dashscope_wire.MODELS``), each body validated per model as in
``dashscope_wire.py``:

- ``POST /api/v1/services/aigc/video-generation/video-synthesis``: submit, with
  ``Authorization: Bearer <dashscope_api_key>`` and ``X-DashScope-Async: enable`` (without it,
  HTTP 403 ``AccessDenied``, "current user api does not support synchronous calls"); the
  answer is
  ``{"request_id", "output": {"task_id", "task_status": "PENDING"}}``;
- ``GET /api/v1/tasks/{task_id}``: ``output.task_status`` ``PENDING`` for ``queue_s``,
  ``RUNNING`` for ``process_s``, then ``SUCCEEDED`` (``output.video_url``, a media-route
  video lasting ``parameters.duration`` or 5 s, and ``usage``) or ``FAILED``
  (``output.code`` and ``output.message``); ``CANCELED`` once cancelled. An unknown or
  forgotten id answers 200 with ``task_status`` ``UNKNOWN``, as DashScope does for expired
  tasks;
- ``POST /api/v1/tasks/{task_id}/cancel``: cancels a ``PENDING`` task (``{"request_id"}``);
  a task in any other state, or unknown, answers 400 ``UnsupportedOperation``.

Errors are ``{"request_id", "code", "message"}``: 401 ``InvalidApiKey`` for a missing or wrong
key (only ``dashscope_api_key`` is accepted here, and only when ``require_auth``), 400
``InvalidParameter`` for a bad body. DashScope tasks live in their own table (uuid task ids,
no client ids), apart from Kling's.

The markers of ``input.prompt`` (see :data:`DASHSCOPE_MARKERS`) script the outcome, as on
Kling, with DashScope's codes. ``[sim:shape=...]`` and ``[sim:callback-dup]`` have no meaning
here (one answer shape, no ``callback_url``): they answer 400 ``InvalidParameter`` naming the
marker, as an unknown or malformed marker does.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Callable, Mapping
from typing import Final

import anyio
import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapter.simulator import dashscope_wire as dw
from adapter.simulator.config import SimulatorConfig
from adapter.simulator.script import (
    DEFAULT_FAIL_REASON,
    InvalidMarker,
    Script,
    ScriptQueue,
    script_on,
)
from adapter.simulator.state import TaskTable, progress_of
from adapter.simulator.wire import json_response, media_base, video_url

SUBMIT_PATH: Final = "/api/v1/services/aigc/video-generation/video-synthesis"
#: The owner of every DashScope task: the simulator has one DashScope key.
OWNER: Final = "dashscope"

#: What each marker does on the DashScope dialect, keyed as ``script.MARKERS``.
DASHSCOPE_MARKERS: Final[Mapping[str, str]] = {
    "[sim:fail]": (
        f'the task ends FAILED, output.code DataInspectionFailed, message "{DEFAULT_FAIL_REASON}"'
    ),
    "[sim:fail=<reason>]": "the task ends FAILED, output.code InternalError, message `<reason>`",
    "[sim:stay-queued]": "the task stays PENDING forever (it can still be cancelled)",
    "[sim:429]": "submit answers HTTP 429 Throttling.RateQuota; no task is recorded",
    "[sim:500]": "submit answers HTTP 500 InternalError; no task is recorded",
    "[sim:slow=<seconds>]": "submit records the task, then waits <seconds> before answering",
    "[sim:poll-429]": "queries answer HTTP 429 Throttling.RateQuota; the task still progresses",
    "[sim:poll-500]": "queries answer HTTP 500 InternalError; the task still progresses",
    "[sim:shape=taskdto]": "refused: submit answers HTTP 400 InvalidParameter naming the marker",
    "[sim:shape=simple]": "refused: submit answers HTTP 400 InvalidParameter naming the marker",
    "[sim:shape=openai]": "refused: submit answers HTTP 400 InvalidParameter naming the marker",
    "[sim:callback-dup]": (
        "refused (DashScope has no callbacks): submit answers HTTP 400 InvalidParameter"
    ),
}

_THROTTLED: Final = "Requests rate limit exceeded, please try again later."
_INTERNAL: Final = "An internal error has occurred, please try again later."
_SCRIPTED_SUBMIT_ERRORS: Final = {
    429: ("Throttling.RateQuota", f"{_THROTTLED} (scripted by [sim:429])"),
    500: ("InternalError", f"{_INTERNAL} (scripted by [sim:500])"),
}
_SCRIPTED_POLL_ERRORS: Final = {
    429: ("Throttling.RateQuota", f"{_THROTTLED} (scripted by [sim:poll-429])"),
    500: ("InternalError", f"{_INTERNAL} (scripted by [sim:poll-500])"),
}


class DashScopeSimulator:
    """The DashScope endpoints, with their own task table; the clock is shared with Kling's."""

    def __init__(
        self,
        config: SimulatorConfig,
        clock: Callable[[], float],
        scripted: ScriptQueue,
    ) -> None:
        self._config = config
        self._clock = clock
        self._scripted = scripted
        self._tasks: TaskTable[dw.DashTask] = TaskTable(capacity=config.max_tasks, id_base=0)

    def routes(self) -> list[Route]:
        return [
            Route(SUBMIT_PATH, self.submit, methods=["POST"]),
            Route("/api/v1/tasks/{task_id}", self.query, methods=["GET"]),
            Route("/api/v1/tasks/{task_id}/cancel", self.cancel, methods=["POST"]),
        ]

    async def submit(self, request: Request) -> Response:
        """Accept an async video-synthesis task, or answer DashScope's error."""
        try:
            owner = self._authorize(request)
            if request.headers.get("x-dashscope-async", "").strip().lower() != "enable":
                raise dw.Rejection(
                    403, "AccessDenied", "current user api does not support synchronous calls"
                )
            synthesis = dw.decode_synthesis(await request.body())
            script = _script(self._scripted, synthesis.input.prompt)
            if script.submit_status is not None:
                raise dw.Rejection(
                    script.submit_status, *_SCRIPTED_SUBMIT_ERRORS[script.submit_status]
                )
        except dw.Rejection as exc:
            return _reject(exc)
        task = dw.DashTask(
            task_id=str(uuid.uuid4()),
            owner=owner,
            created_at=self._clock(),
            model=synthesis.model,
            prompt=synthesis.input.prompt,
            resolution=dw.resolution_of(synthesis),
            duration=dw.duration_of(synthesis),
            script=script,
        )
        self._tasks.add(task)
        if script.slow_s > 0:
            # Recorded first: the task exists even if the client gives up waiting.
            await anyio.sleep(script.slow_s)
        output = dw.SubmitOutput(task.task_id, "PENDING")
        return json_response(dw.SubmitBody(_request_id(), output))

    async def query(self, request: Request) -> Response:
        """Where a task stands; ``UNKNOWN`` for an id the simulator does not hold."""
        task_id = request.path_params["task_id"]
        try:
            task = self._tasks.find(self._authorize(request), task_id)
        except dw.Rejection as exc:
            return _reject(exc)
        if task is None:
            unknown = dw.TaskOutput(task_id, "UNKNOWN")
            return json_response(dw.QueryBody(_request_id(), unknown))
        if task.script.poll_status is not None:
            code, message = _SCRIPTED_POLL_ERRORS[task.script.poll_status]
            return _reject(dw.Rejection(task.script.poll_status, code, message))
        progress = progress_of(
            task, self._clock(), queue_s=self._config.queue_s, process_s=self._config.process_s
        )
        base = media_base(self._config.public_url, request)
        url = video_url(base, task.task_id, str(task.duration))
        return json_response(dw.query_body(task, progress, url, _request_id()))

    async def cancel(self, request: Request) -> Response:
        """Cancel a ``PENDING`` task; any other state answers 400 ``UnsupportedOperation``."""
        task_id = request.path_params["task_id"]
        now = self._clock()
        try:
            task = self._tasks.find(self._authorize(request), task_id)
            status: dw.Status = "UNKNOWN"
            if task is not None:
                progress = progress_of(
                    task, now, queue_s=self._config.queue_s, process_s=self._config.process_s
                )
                status = dw.status_of(task, progress)
            if task is None or status != "PENDING":
                raise dw.Rejection(
                    400,
                    "UnsupportedOperation",
                    f"task {task_id} is {status}: only PENDING tasks can be canceled",
                )
        except dw.Rejection as exc:
            return _reject(exc)
        self._tasks.replace(msgspec.structs.replace(task, canceled_at=now))
        return json_response(dw.RequestOnly(_request_id()))

    def _authorize(self, request: Request) -> str:
        if self._config.require_auth:
            header = request.headers.get("authorization")
            if not header:
                raise dw.Rejection(401, "InvalidApiKey", "No API-key provided.")
            scheme, _, token = header.partition(" ")
            key = self._config.dashscope_api_key.encode()
            if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), key):
                raise dw.Rejection(401, "InvalidApiKey", "Invalid API-key provided.")
        return OWNER


def _script(scripted: ScriptQueue, prompt: str | None) -> Script:
    try:
        return script_on(scripted, prompt, "DashScope")
    except InvalidMarker as exc:
        raise dw.invalid(str(exc)) from None


def _request_id() -> str:
    return str(uuid.uuid4())


def _reject(exc: dw.Rejection) -> Response:
    return json_response(dw.ErrorBody(_request_id(), exc.code, exc.message), exc.status)
