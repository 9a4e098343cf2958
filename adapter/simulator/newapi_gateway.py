"""A stock new-api gateway, mounted under ``/newapi``: Kling routes and the generic task route.

What a build of new-api's main branch (August 2026) did when put between the adapter and a
Kling upstream (upstream-contracts.md 1.9), so the ``kling-gateway`` dialect can be tested
against it with base URL ``{simulator}/newapi``; and its generic task route, with the vendor
channels its source shows (``docs/upstreams/new-api.md``), for the ``newapi`` dialect:

- ``POST /newapi/kling/v1/videos/text2video|image2video`` (``Bearer <api_key>``; else its
  middleware's HTTP 401). A body without ``model`` is refused as its middleware refuses it:
  HTTP 400 ``{"error": {"code": "", "message": "Model name not specified, ...", "type":
  "new_api_error"}}``. The body is forwarded as new-api forwards it, a fixed set of fields
  (``sound``, ``watermark_info``, ``external_task_id``, ``callback_url``, the multi-shot
  fields and ``element_list`` are dropped; ``mode`` ``std``, ``duration`` ``"5"``,
  ``cfg_scale`` 0.5 and, on text2video, ``aspect_ratio`` ``1:1`` by default), to the
  simulated Kling upstream, which validates it. Its refusal comes back wrapped: HTTP <its
  status> ``{"code": "fail_to_fetch_task", "message": "<the raw Kling body>", "data": null}``
  (a 429 with new-api's own message). Accepted: HTTP 200 and an OpenAI-video object with
  new-api's own id (``task_`` + 32 letters and digits).
- ``POST /newapi/v1/video/generations``: the generic task route (same auth, same 400 without
  ``model``). The model names the channel: ``wan*`` and ``happyhorse*`` Ali (DashScope),
  ``vidu*`` Vidu, ``veo-*`` Gemini, ``doubao-seedance*`` Doubao, ``MiniMax-*`` Hailuo; any
  other model is HTTP 503 ``{"error": {"code": "model_not_found", "message": "No available
  channel for model <model> under group default (distributor) ...", "type":
  "new_api_error"}}``. The body is read, checked and relayed as ``newapi_channels.py`` says
  (a request new-api refuses: HTTP 400 ``invalid_request`` / ``invalid_seconds``; a body it
  cannot build: 500 ``build_request_failed``; the vendor's refusal wrapped in
  ``fail_to_fetch_task``, as above). Accepted: the same OpenAI-video object.
- ``GET /newapi/v1/video/generations/{id}`` (and ``/newapi/kling/v1/videos/{family}/{id}``):
  ``{"code": "success", "message": "", "data": <TaskDto>}``, status ``NOT_START`` /
  ``IN_PROGRESS`` / ``SUCCESS`` / ``FAILURE``, ``result_url`` the video (on ``FAILURE`` the
  reason, as in ``fail_reason``), ``platform`` the channel type (Kling ``50``, Ali ``17``,
  Vidu ``52``, Doubao ``54``, MiniMax ``35``), ``action`` new-api's (``textGenerate``,
  ``generate``, ``firstTailGenerate``, ``referenceGenerate``), the vendor's raw poll answer
  in ``data``. A Gemini task answers new-api's real-time shape instead: ``{"code":
  "success", "message": "", "data": {"error": <reason> | null, "format": "mp4", "metadata":
  null, "status": "queued" | "processing" | "succeeded" | "failed", "task_id", "url"}}``
  (stock new-api's ``url`` is its ``/v1/videos/{id}/content`` proxy; here it is the media
  link, as ``result_url`` is). Only its own ids are known; anything else is HTTP 400
  ``{"code": "task_not_exist", ...}``.
- Every other path under ``/newapi`` (``motion-control``, ``omni-video``, ...): HTTP 200
  ``text/html``, its web UI.

The prompt markers script the task as on the Kling routes (``fail``, ``stay-queued``,
``429``, ``500``, ``slow``), read from the prompt the upstream gets (on Ali, after the
metadata merge); an invalid marker is the upstream's 400, wrapped. The query markers have no
effect here, since new-api polls its upstream itself and answers from its database.
"""

from __future__ import annotations

import hmac
import itertools
import secrets
import string
from collections.abc import Callable
from typing import Any, Final

import anyio
import msgspec
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from adapter.simulator import newapi_channels as channels
from adapter.simulator import wire
from adapter.simulator.config import SimulatorConfig
from adapter.simulator.kling_families import decode_order
from adapter.simulator.newapi import (
    NewApiError,
    NewApiErrorDetail,
    OpenAIVideo,
    SimpleBody,
    SimpleData,
)
from adapter.simulator.script import InvalidMarker, Script, ScriptQueue
from adapter.simulator.state import Family, SimTask, TaskTable, progress_of

PREFIX: Final = "/newapi"

#: The Kling body new-api forwards: its fixed request struct; every other key is dropped.
_FORWARDED: Final = frozenset(
    {
        "prompt",
        "image",
        "image_tail",
        "negative_prompt",
        "mode",
        "duration",
        "aspect_ratio",
        "model_name",
        "model",
        "cfg_scale",
        "camera_control",
        "static_mask",
        "dynamic_masks",
    }
)
_ACTIONS: Final[dict[Family, str]] = {"text2video": "textGenerate", "image2video": "generate"}
_STATUS: Final = {
    "submitted": "NOT_START",
    "processing": "IN_PROGRESS",
    "succeed": "SUCCESS",
    "failed": "FAILURE",
}
_SCRIPTED: Final = {
    429: (1302, "request rate limit exceeded (scripted by [sim:429])"),
    500: (5000, "internal server error (scripted by [sim:500])"),
}
_SIMPLE_STATUS: Final = {
    "submitted": "queued",
    "processing": "processing",
    "succeed": "succeeded",
    "failed": "failed",
}
_ID_ALPHABET: Final = string.ascii_letters + string.digits
_WEB_UI: Final = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>New API</title>'
    '</head><body><div id="root"></div></body></html>'
)

_decode_object = msgspec.json.Decoder(dict[str, Any]).decode
_encode = msgspec.json.Encoder().encode


class NewApiTask(msgspec.Struct, frozen=True):
    """A task as new-api's database holds it: its own public id over the upstream task."""

    task_id: str
    seq: int
    action: str
    #: The upstream task (its id there, duration, model and script), Kling's or a vendor's.
    upstream: SimTask
    #: What a generic-route channel asked its vendor for; ``None`` for a Kling task.
    order: channels.Order | None = None
    owner: str = "newapi"
    #: new-api drops the client's ``external_task_id``: it knows tasks by its own id only.
    external_task_id: str = ""


class TaskDto(msgspec.Struct):
    """The fields a stock build answers a task query with (as observed)."""

    id: int
    task_id: str
    platform: str
    action: str
    status: str
    fail_reason: str
    result_url: str
    progress: str
    submit_time: int
    finish_time: int
    #: The upstream's raw answer to new-api's last poll.
    data: Any


class TaskDtoBody(msgspec.Struct):
    code: str
    message: str
    data: TaskDto


class TaskError(msgspec.Struct):
    """new-api's task error ``{code, message, data: null}``."""

    code: str
    message: str
    data: None = None


class _Refusal(Exception):
    def __init__(self, status: int, body: msgspec.Struct) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


class NewApiGateway:
    """The routes of one simulated new-api deployment with one Kling channel."""

    def __init__(
        self,
        config: SimulatorConfig,
        clock: Callable[[], float],
        scripted: ScriptQueue,
    ) -> None:
        self._config = config
        self._clock = clock
        self._scripted = scripted
        self._tasks: TaskTable[NewApiTask] = TaskTable(
            capacity=config.max_tasks, id_base=int(clock() * 1000) * 100_000
        )
        self._request_ids = itertools.count(1)

    def routes(self) -> list[Route]:
        routes = [
            Route(f"{PREFIX}/v1/video/generations", self.relay, methods=["POST"]),
            Route(f"{PREFIX}/v1/video/generations/{{task_id}}", self.query, methods=["GET"]),
        ]
        for family in _ACTIONS:
            routes += [
                Route(f"{PREFIX}/kling/v1/videos/{family}", self._submit(family), methods=["POST"]),
                Route(
                    f"{PREFIX}/kling/v1/videos/{family}/{{task_id}}", self.query, methods=["GET"]
                ),
            ]
        methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
        return [
            *routes,
            Route(PREFIX, web_ui, methods=methods),
            Route(f"{PREFIX}/{{path:path}}", web_ui, methods=methods),
        ]

    def _submit(self, family: Family) -> Callable[[Request], Any]:
        async def submit(request: Request) -> Response:
            return await self.submit(request, family)

        return submit

    async def submit(self, request: Request, family: Family) -> Response:
        """A Kling route's submit, forwarded to the simulated Kling upstream."""
        try:
            body, model = await self._read(request)
            task = self._forward(family, body, model)
        except _Refusal as refused:
            return wire.json_response(refused.body, refused.status)
        return await self._accepted(task, model)

    async def relay(self, request: Request) -> Response:
        """The generic task route's submit, relayed through the model's vendor channel."""
        try:
            body, model = await self._read(request)
            channel = channels.channel_of(model)
            if channel is None:
                raise self._middleware(
                    503,
                    f"No available channel for model {model} under group default (distributor)",
                    "model_not_found",
                )
            task = self._relay(channel, body)
        except _Refusal as refused:
            return wire.json_response(refused.body, refused.status)
        except channels.TaskRefusal as refused:
            return wire.json_response(TaskError(refused.code, refused.message), refused.status)
        return await self._accepted(task, model)

    async def _read(self, request: Request) -> tuple[dict[str, Any], str]:
        """The authorized request's JSON body and its ``model``, as the middleware reads them."""
        self._authorize(request)
        body = _json_object(await request.body())
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise self._middleware(400, "Model name not specified, model name cannot be empty")
        return body, model

    async def _accepted(self, task: NewApiTask, model: str) -> Response:
        """The OpenAI-video answer to an accepted submit, once its ``[sim:slow]`` is over."""
        slow_s = task.upstream.script.slow_s
        if slow_s > 0:
            await anyio.sleep(slow_s)  # recorded already, as new-api records before answering
        created = int(task.upstream.created_at)  # seconds, where a query's copy has Kling's ms
        answer = OpenAIVideo(task.task_id, task.task_id, "video", model, "queued", 0, created)
        return wire.json_response(answer)

    def _forward(self, family: Family, body: dict[str, Any], model: str) -> NewApiTask:
        """Send ``body`` on as new-api does; the Kling side's refusal comes back wrapped."""
        forwarded = {key: value for key, value in body.items() if key in _FORWARDED}
        forwarded.setdefault("model_name", model)
        forwarded.setdefault("mode", "std")
        forwarded.setdefault("duration", "5")
        forwarded.setdefault("cfg_scale", 0.5)
        if family == "text2video":
            forwarded.setdefault("aspect_ratio", "1:1")
        try:
            order = decode_order(family, _encode(forwarded))
            script = self._scripted.script_for(order.script_text)
        except wire.Rejection as exc:
            raise self._upstream_refused(exc) from None
        except InvalidMarker as exc:
            raise self._upstream_refused(wire.Rejection(400, 1201, str(exc))) from None
        if script.submit_status is not None:
            code, message = _SCRIPTED[script.submit_status]
            raise self._upstream_refused(wire.Rejection(script.submit_status, code, message))
        seq, kling_id = self._tasks.next_id()
        kling = self._upstream(seq, kling_id, order.duration, order.model_name, script, family)
        return self._record(NewApiTask(_public_id(), seq, _ACTIONS[family], kling))

    def _relay(self, channel: channels.Channel, body: dict[str, Any]) -> NewApiTask:
        """Relay ``body`` through ``channel``; the vendor's refusal comes back wrapped."""
        order = channels.submit(channel, body)
        try:
            script = self._scripted.script_for(order.prompt)
        except InvalidMarker as exc:
            raise channels.vendor_refusal(channel, 400, str(exc)) from None
        if script.submit_status is not None:
            _, message = _SCRIPTED[script.submit_status]
            raise channels.vendor_refusal(channel, script.submit_status, message)
        seq, number = self._tasks.next_id()
        vendor_id = channels.vendor_task_id(channel, number)
        upstream = self._upstream(seq, vendor_id, str(order.duration), order.model, script)
        return self._record(NewApiTask(_public_id(), seq, order.action, upstream, order))

    def _upstream(
        self,
        seq: int,
        upstream_id: str,
        duration: str,
        model: str,
        script: Script,
        family: Family = "text2video",
    ) -> SimTask:
        return SimTask(
            seq=seq,
            task_id=upstream_id,
            owner="newapi",
            external_task_id="",
            created_at=self._clock(),
            duration=duration,
            model_name=model,
            script=script,
            family=family,
        )

    def _record(self, task: NewApiTask) -> NewApiTask:
        self._tasks.add(task)
        return task

    async def query(self, request: Request) -> Response:
        """A task by new-api's id: its TaskDto, or the simple shape on a Gemini channel."""
        task_id = request.path_params["task_id"]
        try:
            self._authorize(request)
            task = self._tasks.find("newapi", task_id)
            if task is None:
                raise _Refusal(400, TaskError("task_not_exist", "task_not_exist"))
        except _Refusal as refused:
            return wire.json_response(refused.body, refused.status)
        upstream, order = task.upstream, task.order
        progress = progress_of(
            upstream, self._clock(), queue_s=self._config.queue_s, process_s=self._config.process_s
        )
        base = wire.media_base(self._config.public_url, request)
        url = wire.video_url(base, upstream.task_id, upstream.duration)
        failed, succeeded = progress.status == "failed", progress.status == "succeed"
        reason = progress.status_msg if failed else ""
        if order is not None and order.channel == "gemini":
            status = _SIMPLE_STATUS[progress.status]
            shown = url if succeeded else ""
            simple = SimpleData(reason or None, "mp4", None, status, task.task_id, shown)
            return wire.json_response(SimpleBody("success", "", simple))
        if order is None:
            raw: object = wire.kling_query_body(upstream, progress, url, self._request_id())
        else:
            raw = channels.vendor_body(order, upstream, progress, url)
        dto = TaskDto(
            id=task.seq,
            task_id=task.task_id,
            platform="50" if order is None else channels.PLATFORMS[order.channel],
            action=task.action,
            status=_STATUS[progress.status],
            fail_reason=reason,
            result_url=url if succeeded else reason,
            progress=f"{progress.percent}%",
            submit_time=int(upstream.created_at),
            finish_time=int(progress.finished_at or 0),
            data=raw,
        )
        return wire.json_response(TaskDtoBody("success", "", dto))

    def _authorize(self, request: Request) -> None:
        if not self._config.require_auth:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expected = self._config.api_key.encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
            raise self._middleware(401, "无效的令牌")

    def _middleware(self, status: int, message: str, code: str = "") -> _Refusal:
        detail = NewApiErrorDetail(
            f"{message} (request id: {self._request_id()})", "new_api_error", code
        )
        return _Refusal(status, NewApiError(detail))

    def _upstream_refused(self, exc: wire.Rejection) -> _Refusal:
        if exc.status == 429:
            return _Refusal(429, TaskError("fail_to_fetch_task", channels.BUSY))
        raw = _encode(wire.KlingError(exc.code, exc.message, self._request_id())).decode()
        return _Refusal(exc.status, TaskError("fail_to_fetch_task", raw))

    def _request_id(self) -> str:
        return f"newapi-req-{next(self._request_ids)}"


def _public_id() -> str:
    """new-api's ``GenerateTaskID``: ``task_`` and 32 letters and digits."""
    return "task_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(32))


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        return _decode_object(body)
    except msgspec.DecodeError:
        raise _Refusal(400, TaskError("invalid_request", "invalid request body")) from None


async def web_ui(request: Request) -> Response:
    """What new-api answers for a path it has no route for: its web UI."""
    return HTMLResponse(_WEB_UI)
