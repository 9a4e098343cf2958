"""The simulated Replicate predictions API (api.replicate.com), mounted under ``/replicate``.

- ``POST /replicate/v1/models/{owner}/{name}/predictions``: create, with ``Authorization:
  Bearer <replicate_api_token>``, for each model of ``replicate_wire.MODELS``; the body is
  ``{"input": {...}, "webhook"?, "webhook_events_filter"?}``, validated per model (422
  problem details naming the field). The answer is the prediction, ``starting``. A
  ``webhook`` is accepted but never called: the simulator sends no Replicate webhooks;
- ``GET /replicate/v1/predictions/{id}``: the prediction, ``starting`` for ``queue_s``,
  ``processing`` for ``process_s``, then ``succeeded`` with ``output`` the URL of a
  media-route video (lasting the input's ``duration``; for motion control the reference
  video's, else 5 s) and ``metrics.predict_time``, or ``failed`` with ``error``;
- ``POST /replicate/v1/predictions/{id}/cancel``: a prediction still starting or processing
  becomes ``canceled``; one that has ended is answered as it is (HTTP 200 either way).

An unknown model or prediction answers 404 problem details; a missing or wrong token 401 (only
when ``require_auth``). Predictions live in their own table (ids of 26 lowercase base32
characters, like Replicate's). The markers of ``input.prompt`` script the outcome, as
:data:`REPLICATE_MARKERS` says; the shape markers and ``[sim:callback-dup]`` mean nothing
here and are refused with 422 naming the marker, as an unknown or malformed marker is.
"""

from __future__ import annotations

import base64
import hmac
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import anyio
import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapter.simulator import replicate_wire as rw
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

PREFIX: Final = "/replicate"
#: The owner of every prediction: the simulator has one token.
OWNER: Final = "replicate"

#: What each marker does on the Replicate dialect, keyed as ``script.MARKERS``.
REPLICATE_MARKERS: Final[Mapping[str, str]] = {
    "[sim:fail]": f'the prediction ends `failed` with error "{DEFAULT_FAIL_REASON}"',
    "[sim:fail=<reason>]": "the prediction ends `failed` with error `<reason>`",
    "[sim:stay-queued]": "the prediction stays `starting` forever (it can still be canceled)",
    "[sim:429]": "create answers HTTP 429 (Request was throttled); no prediction is recorded",
    "[sim:500]": "create answers HTTP 500; no prediction is recorded",
    "[sim:slow=<seconds>]": "create records the prediction, then waits <seconds> before answering",
    "[sim:poll-429]": "gets of the prediction answer HTTP 429; it still progresses",
    "[sim:poll-500]": "gets of the prediction answer HTTP 500; it still progresses",
    "[sim:shape=taskdto]": "refused: create answers HTTP 422 naming the marker",
    "[sim:shape=simple]": "refused: create answers HTTP 422 naming the marker",
    "[sim:shape=openai]": "refused: create answers HTTP 422 naming the marker",
    "[sim:callback-dup]": "refused: create answers HTTP 422 naming the marker",
}
_THROTTLED: Final = "Request was throttled. Your rate limit resets in ~30s."
_SCRIPTED: Final = {
    429: rw.Rejection(429, "", _THROTTLED),
    500: rw.Rejection(500, "Internal Server Error", "Internal server error (scripted)"),
}
_NOT_FOUND: Final = rw.Rejection(404, "Not found", "The requested resource could not be found.")
_DEFAULT_SECONDS: Final = "5"
_ENDED: Final = frozenset({"succeeded", "failed", "canceled"})


class SimPrediction(msgspec.Struct, frozen=True):
    """One accepted prediction."""

    task_id: str
    owner: str
    model: str
    created_at: float
    #: The input as given, echoed by every answer.
    input: dict[str, Any]
    #: The output's length, as the media route's file name writes it (``"8"``).
    duration: str
    script: Script
    canceled_at: float | None = None
    #: Replicate predictions have no client id.
    external_task_id: str = ""


def prediction_id() -> str:
    """26 lowercase base32 characters, as Replicate's ids are."""
    return base64.b32encode(uuid.uuid4().bytes).decode().rstrip("=").lower()


class ReplicateSimulator:
    """The Replicate prediction endpoints, with their own table; the clock is shared."""

    def __init__(
        self, config: SimulatorConfig, clock: Callable[[], float], scripted: ScriptQueue
    ) -> None:
        self._config = config
        self._clock = clock
        self._scripted = scripted
        self._predictions: TaskTable[SimPrediction] = TaskTable(
            capacity=config.max_tasks, id_base=0
        )

    def routes(self) -> list[Route]:
        return [
            Route(
                f"{PREFIX}/v1/models/{{owner}}/{{name}}/predictions", self.create, methods=["POST"]
            ),
            Route(f"{PREFIX}/v1/predictions/{{prediction_id}}", self.get, methods=["GET"]),
            Route(
                f"{PREFIX}/v1/predictions/{{prediction_id}}/cancel", self.cancel, methods=["POST"]
            ),
        ]

    async def create(self, request: Request) -> Response:
        """Create a prediction of the path's model, or answer Replicate's error."""
        model = f"{request.path_params['owner']}/{request.path_params['name']}"
        try:
            owner = self._authorize(request)
            if model not in rw.MODELS:
                raise _NOT_FOUND
            raw = await request.body()
            given = rw.decode_create(model, raw).input
            script = _script(self._scripted, rw.prompt_of(given))
            if script.submit_status is not None:
                raise _SCRIPTED[script.submit_status]
        except rw.Rejection as exc:
            return _reject(exc)
        seconds = rw.seconds_of(given)
        duration = str(seconds) if seconds is not None else None
        if isinstance(given, rw.MotionControl):
            found = duration_from_url(given.video)
            duration = format_seconds(found) if found is not None else None
        entry = SimPrediction(
            task_id=prediction_id(),
            owner=owner,
            model=model,
            created_at=self._clock(),
            input=msgspec.json.decode(raw)["input"],
            duration=duration or _DEFAULT_SECONDS,
            script=script,
        )
        self._predictions.add(entry)
        if script.slow_s > 0:
            # Recorded first: the prediction exists even if the client gives up waiting.
            await anyio.sleep(script.slow_s)
        return json_response(self._prediction(entry, request), 201)

    async def get(self, request: Request) -> Response:
        try:
            entry = self._find(request)
        except rw.Rejection as exc:
            return _reject(exc)
        if entry.script.poll_status is not None:
            return _reject(_SCRIPTED[entry.script.poll_status])
        return json_response(self._prediction(entry, request))

    async def cancel(self, request: Request) -> Response:
        """Cancel a prediction still starting or processing; an ended one is left as it is."""
        try:
            entry = self._find(request)
        except rw.Rejection as exc:
            return _reject(exc)
        if _running(entry, self._progress(entry)):
            entry = msgspec.structs.replace(entry, canceled_at=self._clock())
            self._predictions.replace(entry)
        return json_response(self._prediction(entry, request))

    def _find(self, request: Request) -> SimPrediction:
        owner = self._authorize(request)
        entry = self._predictions.find(owner, request.path_params["prediction_id"])
        if entry is None:
            raise _NOT_FOUND
        return entry

    def _progress(self, entry: SimPrediction) -> Progress:
        return progress_of(
            entry, self._clock(), queue_s=self._config.queue_s, process_s=self._config.process_s
        )

    def _prediction(self, entry: SimPrediction, request: Request) -> rw.Prediction:
        progress = self._progress(entry)
        base = media_base(self._config.public_url, request)
        here = f"{base}{PREFIX}/v1/predictions/{entry.task_id}"
        status, output, error = _outcome(entry, progress)
        ended = entry.canceled_at if entry.canceled_at is not None else progress.finished_at
        if status == "succeeded":
            output = video_url(base, entry.task_id, entry.duration)
        return rw.Prediction(
            id=entry.task_id,
            model=entry.model,
            version="hidden",
            input=entry.input,
            logs="",
            output=output,
            data_removed=False,
            error=error,
            status=status,
            created_at=_iso(entry.created_at),
            started_at=_iso(progress.started_at) if progress.started_at is not None else None,
            completed_at=_iso(ended) if ended is not None and status in _ENDED else None,
            urls=rw.Urls(get=here, cancel=f"{here}/cancel", web=f"{base}/p/{entry.task_id}"),
            metrics={"predict_time": self._config.process_s} if status == "succeeded" else {},
        )

    def _authorize(self, request: Request) -> str:
        if self._config.require_auth:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            key = self._config.replicate_api_token.encode()
            if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), key):
                raise rw.Rejection(
                    401, "Unauthenticated", "You did not pass a valid authentication token"
                )
        return OWNER


def _running(entry: SimPrediction, progress: Progress) -> bool:
    return entry.canceled_at is None and progress.status in ("submitted", "processing")


def _outcome(entry: SimPrediction, progress: Progress) -> tuple[str, str | None, str | None]:
    """``(status, output, error)``; the output is filled in by the caller."""
    if entry.canceled_at is not None:
        return "canceled", None, None
    if progress.status == "submitted":
        return "starting", None, None
    if progress.status == "processing":
        return "processing", None, None
    if progress.status == "failed":
        return "failed", None, progress.status_msg
    return "succeeded", None, None


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _script(scripted: ScriptQueue, prompt: str | None) -> Script:
    try:
        return script_on(scripted, prompt, "Replicate")
    except InvalidMarker as exc:
        raise rw.invalid("input.prompt", str(exc)) from None


def _reject(exc: rw.Rejection) -> Response:
    body = rw.Problem(exc.detail, exc.title or None, exc.status if exc.title else None)
    return json_response(body, exc.status)
