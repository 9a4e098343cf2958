"""The simulated Kling upstream: a real Starlette app speaking both Kling dialects over HTTP.

- ``POST /kling/v1/videos/motion-control``: gateway submit (``Bearer <api_key>``);
- ``GET /v1/video/generations/{id}``, ``GET /kling/v1/videos/motion-control/{id}``: gateway
  query (the second as new-api forks route it);
- ``POST /v1/videos/motion-control``: official submit (``Bearer <HS256 JWT>``);
- ``GET /v1/videos/motion-control/{id}``: official query;
- ``GET|HEAD /media/{path}``: generated test media (see ``media.py``);
- ``GET /healthz``: ``{"ok": true}``.

A query's ``{id}`` is the ``task_id`` or the submitter's ``external_task_id``. Tasks move by
time (``queue_s`` submitted, ``process_s`` processing, then one video), read from an injected
clock; prompt markers script failures and slowness (see ``script.py``). The output video is
served by the media route and lasts as long as the reference video's file name says
(``ref-video-8s.mp4`` -> ``"8"``), else 5 seconds.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapter.simulator import newapi, wire
from adapter.simulator.auth import Authenticator
from adapter.simulator.config import SimulatorConfig
from adapter.simulator.media import duration_from_url, format_seconds, serve_media
from adapter.simulator.script import InvalidMarker, Script, parse_script
from adapter.simulator.state import DuplicateExternalId, SimTask, TaskTable, progress_of

Clock = Callable[[], float]
Authorize = Callable[[Request], str]

DEFAULT_DURATION = "5"
DEFAULT_MODEL = "kling-v2-6"
_HEALTHY = wire.json_response({"ok": True}).body

_SCRIPTED_SUBMIT_ERRORS = {
    429: (1302, "request rate limit exceeded (scripted by [sim:429])"),
    500: (5000, "internal server error (scripted by [sim:500])"),
}
_SCRIPTED_POLL_ERRORS = {
    429: (1302, "request rate limit exceeded (scripted by [sim:poll-429])"),
    500: (5000, "internal server error (scripted by [sim:poll-500])"),
}


def create_simulator_app(
    config: SimulatorConfig | None = None, *, clock: Clock = time.time
) -> Starlette:
    """A simulated Kling upstream.

    Args:
        config: keys, lifecycle timing and the public URL; defaults to ``SimulatorConfig()``.
        clock: wall-clock seconds since the epoch. Timestamps, the lifecycle and JWT
            ``exp``/``nbf`` checks read it, so a test can advance time without sleeping.
    """
    simulator = _Simulator(config or SimulatorConfig(), clock)
    routes = [
        Route("/kling/v1/videos/motion-control", simulator.submit_gateway, methods=["POST"]),
        Route("/v1/video/generations/{task_id}", simulator.query_gateway, methods=["GET"]),
        Route(
            "/kling/v1/videos/motion-control/{task_id}", simulator.query_gateway, methods=["GET"]
        ),
        Route("/v1/videos/motion-control", simulator.submit_official, methods=["POST"]),
        Route("/v1/videos/motion-control/{task_id}", simulator.query_official, methods=["GET"]),
        Route("/media/{path:path}", serve_media, methods=["GET", "HEAD"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    return Starlette(routes=routes)


async def healthz(request: Request) -> Response:
    return Response(_HEALTHY, media_type="application/json")


class _Simulator:
    """The endpoints, sharing one task table, clock and authenticator."""

    def __init__(self, config: SimulatorConfig, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self._auth = Authenticator(config, clock)
        # 13-digit ms start time, then a 5-digit sequence: ids differ from run to run.
        self._tasks = TaskTable(capacity=config.max_tasks, id_base=int(clock() * 1000) * 100_000)
        self._request_seq = itertools.count(1)

    async def submit_gateway(self, request: Request) -> Response:
        return await self._submit(request, self._auth.gateway)

    async def submit_official(self, request: Request) -> Response:
        return await self._submit(request, self._auth.official)

    async def query_gateway(self, request: Request) -> Response:
        return self._query(request, self._auth.gateway)

    async def query_official(self, request: Request) -> Response:
        return self._query(request, self._auth.official)

    def _request_id(self) -> str:
        return f"sim-req-{next(self._request_seq)}"

    async def _submit(self, request: Request, authorize: Authorize) -> Response:
        try:
            owner = authorize(request)
            order = wire.decode_submit(await request.body())
            script = _script(order.prompt)
            if script.submit_status is not None:
                raise wire.Rejection(
                    script.submit_status, *_SCRIPTED_SUBMIT_ERRORS[script.submit_status]
                )
            task = self._record(owner, order, script)
        except wire.Rejection as exc:
            return self._reject(exc)
        if script.slow_s > 0:
            # The task is already recorded: a client that times out here can find it by its
            # external_task_id, as it would have to with the real upstream.
            await anyio.sleep(script.slow_s)
        return wire.json_response(wire.submit_body(task, self._request_id()))

    def _record(self, owner: str, order: wire.SubmitRequest, script: Script) -> SimTask:
        seconds = duration_from_url(order.video_url)
        seq, task_id = self._tasks.next_id()
        task = SimTask(
            seq=seq,
            task_id=task_id,
            owner=owner,
            external_task_id=order.external_task_id or "",
            created_at=self._clock(),
            duration=format_seconds(seconds) if seconds is not None else DEFAULT_DURATION,
            model_name=order.model_name or order.model or DEFAULT_MODEL,
            script=script,
        )
        try:
            self._tasks.add(task)
        except DuplicateExternalId as exc:
            raise wire.Rejection(400, 1201, str(exc)) from None
        return task

    def _query(self, request: Request, authorize: Authorize) -> Response:
        task_id = request.path_params["task_id"]
        try:
            task = self._tasks.find(authorize(request), task_id)
            if task is None:
                raise wire.Rejection(404, 1203, f"task not found: {task_id}")
        except wire.Rejection as exc:
            return self._reject(exc)
        script = task.script
        if script.poll_status is not None:
            return self._scripted_poll_error(script)
        progress = progress_of(
            task, self._clock(), queue_s=self._config.queue_s, process_s=self._config.process_s
        )
        base = self._config.public_url.rstrip("/") or str(request.base_url).rstrip("/")
        url = wire.video_url(base, task)
        body = wire.kling_query_body(task, progress, url, self._request_id())
        if script.shape == "kling":
            return wire.json_response(body)
        return wire.json_response(newapi.query_body(script.shape, task, progress, url, body))

    def _scripted_poll_error(self, script: Script) -> Response:
        status = script.poll_status or 500
        code, message = _SCRIPTED_POLL_ERRORS[status]
        if script.shape == "kling":
            body: object = wire.KlingError(code, message, self._request_id())
        else:
            body = newapi.error_body(status, message, self._request_id())
        return wire.json_response(body, status)

    def _reject(self, exc: wire.Rejection) -> Response:
        body = wire.KlingError(exc.code, exc.message, self._request_id())
        return wire.json_response(body, exc.status)


def _script(prompt: str | None) -> Script:
    try:
        return parse_script(prompt)
    except InvalidMarker as exc:
        raise wire.Rejection(400, 1201, str(exc)) from None
