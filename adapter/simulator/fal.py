"""The simulated fal queue (queue.fal.run), mounted under ``/fal``.

For each endpoint id of ``fal_wire.ENDPOINTS`` (``fal-ai/kling-video/v2.6/pro/motion-control``,
``wan/v2.6/image-to-video/flash``, ...):

- ``POST /fal/{endpoint_id}[?fal_webhook=<url>]``: submit, with ``Authorization: Key
  <fal_api_key>``; the body is the model input itself, validated per endpoint (422
  ``{"detail": [{loc, msg, type}]}``). The answer is ``{"status": "IN_QUEUE", "request_id",
  "response_url", "status_url", "cancel_url", "queue_position": 0}``; the URLs name only the
  endpoint's ``{owner}/{app}``, as fal's do. ``fal_webhook`` is accepted but never called:
  the simulator sends no fal webhooks;
- ``GET /fal/{owner}/{app}/requests/{id}/status``: HTTP 202 ``IN_QUEUE`` for ``queue_s``
  (``queue_position`` 0), 202 ``IN_PROGRESS`` for ``process_s``, then 200 ``COMPLETED``
  (with ``logs`` and ``metrics.inference_time``); a failure is ``COMPLETED`` with ``error``
  and ``error_type``;
- ``GET /fal/{owner}/{app}/requests/{id}``: the result: 200 ``{"video": {"url", ...}}`` (a
  media-route video lasting the input's ``duration``, or for motion control the reference
  video's, else 5 s; Wan's also has ``duration``), the model's 422 ``content_policy_violation``
  for a failed request, or 400 ``{"detail": "Request is still in progress"}`` before it is
  done;
- ``PUT /fal/{owner}/{app}/requests/{id}/cancel``: 202 ``CANCELLATION_REQUESTED`` while
  queued or running (the request then completes with ``error_type`` ``request_cancelled``),
  400 ``ALREADY_COMPLETED`` once done. fal's own codes here are UNCONFIRMED
  (providers-research.md 1.6): these are the simulator's choice.

An unknown request id answers 404 ``{"detail": "Request not found"}``; a missing or wrong key
401 ``{"detail"}`` (only when ``require_auth``). Requests live in their own table (uuid ids).
The markers of the prompt (of the shots' prompts when there is none) script the outcome, as
:data:`FAL_MARKERS` says; the shape markers and ``[sim:callback-dup]`` mean nothing here and
are refused with 422 naming the marker, as an unknown or malformed marker is.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Final

import anyio
import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapter.simulator import fal_wire as fw
from adapter.simulator.config import SimulatorConfig
from adapter.simulator.media import duration_from_url, format_seconds
from adapter.simulator.script import (
    DEFAULT_FAIL_REASON,
    InvalidMarker,
    Script,
    ScriptQueue,
    script_on,
)
from adapter.simulator.state import Progress, TaskTable, progress_of
from adapter.simulator.wire import json_response, media_base, video_url

PREFIX: Final = "/fal"
#: The owner of every request: the simulator has one fal key.
OWNER: Final = "fal"
POLICY: Final = "content_policy_violation"
CANCELLED: Final = "request_cancelled"

#: What each marker does on the fal dialect, keyed as ``script.MARKERS``.
FAL_MARKERS: Final[Mapping[str, str]] = {
    "[sim:fail]": (
        f"the request ends COMPLETED with error_type {POLICY}, error "
        f'"{DEFAULT_FAIL_REASON}"; its result answers HTTP 422 {POLICY}'
    ),
    "[sim:fail=<reason>]": "as `[sim:fail]`, with error `<reason>`",
    "[sim:stay-queued]": "the request stays IN_QUEUE forever (it can still be cancelled)",
    "[sim:429]": "submit answers HTTP 429; no request is recorded",
    "[sim:500]": "submit answers HTTP 500; no request is recorded",
    "[sim:slow=<seconds>]": "submit records the request, then waits <seconds> before answering",
    "[sim:poll-429]": "status queries answer HTTP 429; the request still progresses",
    "[sim:poll-500]": "status queries answer HTTP 500; the request still progresses",
    "[sim:shape=taskdto]": "refused: submit answers HTTP 422 naming the marker",
    "[sim:shape=simple]": "refused: submit answers HTTP 422 naming the marker",
    "[sim:shape=openai]": "refused: submit answers HTTP 422 naming the marker",
    "[sim:callback-dup]": "refused: submit answers HTTP 422 naming the marker",
}
_SUBMIT_ERRORS: Final = {
    429: "Rate limit exceeded (scripted by [sim:429])",
    500: "Internal server error (scripted by [sim:500])",
}
_POLL_ERRORS: Final = {
    429: "Rate limit exceeded (scripted by [sim:poll-429])",
    500: "Internal server error (scripted by [sim:poll-500])",
}
_DEFAULT_SECONDS: Final = "5"


class FalRequest(msgspec.Struct, frozen=True):
    """One accepted request."""

    task_id: str
    owner: str
    #: The ``{owner}/{app}`` its status, result and cancel live under.
    app: str
    endpoint: str
    created_at: float
    #: The output's length, as the media route's file name writes it (``"8"``).
    duration: str
    #: Whether the output names its length (Wan's ``VideoFile`` has ``duration``).
    tells_duration: bool
    script: Script
    canceled_at: float | None = None
    #: fal requests have no client id.
    external_task_id: str = ""


def app_of(endpoint: str) -> str:
    return "/".join(endpoint.split("/")[:2])


class FalSimulator:
    """The fal queue endpoints, with their own request table; the clock is shared."""

    def __init__(
        self, config: SimulatorConfig, clock: Callable[[], float], scripted: ScriptQueue
    ) -> None:
        self._config = config
        self._clock = clock
        self._scripted = scripted
        self._requests: TaskTable[FalRequest] = TaskTable(capacity=config.max_tasks, id_base=0)

    def routes(self) -> list[Route]:
        base = f"{PREFIX}/{{owner}}/{{app}}/requests/{{request_id}}"
        routes = [
            Route(f"{base}/status", self.status, methods=["GET"]),
            Route(f"{base}/cancel", self.cancel, methods=["PUT"]),
            Route(base, self.result, methods=["GET"]),
        ]
        for endpoint in fw.ENDPOINTS:
            routes.append(Route(f"{PREFIX}/{endpoint}", self._submit(endpoint), methods=["POST"]))
        return routes

    def _submit(self, endpoint: str) -> Callable[[Request], Awaitable[Response]]:
        async def submit(request: Request) -> Response:
            return await self.submit(request, endpoint)

        return submit

    async def submit(self, request: Request, endpoint: str) -> Response:
        """Queue a request on ``endpoint``, or answer fal's error."""
        try:
            owner = self._authorize(request)
            given = fw.decode_input(endpoint, await request.body())
            script = _script(self._scripted, fw.prompt_of(given))
            if script.submit_status is not None:
                raise fw.Rejection(script.submit_status, _SUBMIT_ERRORS[script.submit_status])
        except fw.Rejection as exc:
            return _reject(exc)
        seconds = fw.seconds_of(given)
        if isinstance(given, fw.MotionControl):
            found = duration_from_url(given.video_url)
            seconds = format_seconds(found) if found is not None else None
        entry = FalRequest(
            task_id=str(uuid.uuid4()),
            owner=owner,
            app=app_of(endpoint),
            endpoint=endpoint,
            created_at=self._clock(),
            duration=seconds or _DEFAULT_SECONDS,
            tells_duration=isinstance(given, fw.WanFlash),
            script=script,
        )
        self._requests.add(entry)
        if script.slow_s > 0:
            # Recorded first: the request exists even if the client gives up waiting.
            await anyio.sleep(script.slow_s)
        return json_response(self._status_body(entry, request, "IN_QUEUE", queue_position=0))

    async def status(self, request: Request) -> Response:
        """Where a request stands: 202 until it is done, then 200 ``COMPLETED``."""
        try:
            entry = self._find(request)
        except fw.Rejection as exc:
            return _reject(exc)
        if entry.script.poll_status is not None:
            status = entry.script.poll_status
            return _reject(fw.Rejection(status, _POLL_ERRORS[status]))
        progress = self._progress(entry)
        if _running(entry, progress) and progress.status == "submitted":
            return json_response(self._status_body(entry, request, "IN_QUEUE", 0), 202)
        if _running(entry, progress):
            return json_response(self._status_body(entry, request, "IN_PROGRESS", logs=[]), 202)
        body = self._status_body(entry, request, "COMPLETED", logs=[])
        body.metrics = {"inference_time": self._config.process_s}
        error = _error_of(entry, progress)
        if error is not None:
            body.error_type, body.error = error
        return json_response(body)

    async def result(self, request: Request) -> Response:
        """The model's output, or the model's own error."""
        try:
            entry = self._find(request)
        except fw.Rejection as exc:
            return _reject(exc)
        progress = self._progress(entry)
        if _running(entry, progress):
            return _reject(fw.Rejection(400, "Request is still in progress"))
        error = _error_of(entry, progress)
        if error is not None:
            kind, message = error
            detail = [{"loc": ["body", "prompt"], "msg": message, "type": kind}]
            return _reject(fw.Rejection(422, detail))
        base = media_base(self._config.public_url, request)
        url = video_url(base, entry.task_id, entry.duration)
        seconds = float(entry.duration) if entry.tells_duration else None
        video = fw.VideoFile(url, "video/mp4", url.rsplit("/", 1)[-1], duration=seconds)
        return json_response(fw.Output(video))

    async def cancel(self, request: Request) -> Response:
        """Cancel a request still queued or running; a completed one cannot be."""
        try:
            entry = self._find(request)
        except fw.Rejection as exc:
            return _reject(exc)
        if not _running(entry, self._progress(entry)):
            return json_response(fw.CancelAnswer("ALREADY_COMPLETED"), 400)
        self._requests.replace(msgspec.structs.replace(entry, canceled_at=self._clock()))
        return json_response(fw.CancelAnswer("CANCELLATION_REQUESTED"), 202)

    def _find(self, request: Request) -> FalRequest:
        owner = self._authorize(request)
        params = request.path_params
        entry = self._requests.find(owner, params["request_id"])
        if entry is None or entry.app != f"{params['owner']}/{params['app']}":
            raise fw.Rejection(404, "Request not found")
        return entry

    def _progress(self, entry: FalRequest) -> Progress:
        return progress_of(
            entry, self._clock(), queue_s=self._config.queue_s, process_s=self._config.process_s
        )

    def _status_body(
        self,
        entry: FalRequest,
        request: Request,
        status: str,
        queue_position: int | None = None,
        logs: list[object] | None = None,
    ) -> fw.QueueStatus:
        base = f"{media_base(self._config.public_url, request)}{PREFIX}/{entry.app}"
        here = f"{base}/requests/{entry.task_id}"
        return fw.QueueStatus(
            status=status,
            request_id=entry.task_id,
            response_url=here,
            status_url=f"{here}/status",
            cancel_url=f"{here}/cancel",
            queue_position=queue_position,
            logs=logs,
        )

    def _authorize(self, request: Request) -> str:
        if self._config.require_auth:
            header = request.headers.get("authorization")
            if not header:
                raise fw.Rejection(401, "Missing authorization header")
            scheme, _, token = header.partition(" ")
            key = self._config.fal_api_key.encode()
            if scheme.lower() != "key" or not hmac.compare_digest(token.strip().encode(), key):
                raise fw.Rejection(401, "Invalid credentials")
        return OWNER


def _running(entry: FalRequest, progress: Progress) -> bool:
    """Whether the request is still queued or running (a cancelled one has completed)."""
    return entry.canceled_at is None and progress.status in ("submitted", "processing")


def _error_of(entry: FalRequest, progress: Progress) -> tuple[str, str] | None:
    """``(error_type, error)`` of a completed request that failed, else ``None``."""
    if entry.canceled_at is not None:
        return CANCELLED, "The request was cancelled"
    if progress.status == "failed":
        return POLICY, progress.status_msg
    return None


def _script(scripted: ScriptQueue, prompt: str | None) -> Script:
    try:
        return script_on(scripted, prompt, "fal")
    except InvalidMarker as exc:
        raise fw.invalid("prompt", str(exc)) from None


def _reject(exc: fw.Rejection) -> Response:
    return json_response(fw.Detail(exc.detail), exc.status)
