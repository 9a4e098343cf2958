"""The simulated upstreams: a real Starlette app speaking both Kling dialects and DashScope.

Kling, for each family ``{family}`` of ``motion-control``, ``text2video``, ``image2video`` and
``omni-video`` (bodies validated as in ``kling_families.py``):

- ``POST /kling/v1/videos/{family}``: gateway submit (``Bearer <api_key>``);
- ``GET /v1/video/generations/{id}``, ``GET /kling/v1/videos/{family}/{id}``: gateway query
  (the second as new-api forks route it). Like new-api, which looks its stored task up by id,
  both find a task of any family;
- ``POST /v1/videos/{family}``: official submit (``Bearer <HS256 JWT>``);
- ``GET /v1/videos/{family}/{id}``: official query. As on the real API, a task is found only
  on the family it was created on: elsewhere it is a 404, code 1203.
- ``GET /v1/videos/{family}?pageNum=&pageSize=``: official list of the account's tasks made
  on that family, newest first, each as a query's ``data`` (``pageNum`` 1-1000, default 1;
  ``pageSize`` 1-500, default 30; others are a 400, code 1201).

DashScope (Alibaba Model Studio, async only; see ``dashscope.py``):

- ``POST /api/v1/services/aigc/video-generation/video-synthesis``: submit
  (``Bearer <dashscope_api_key>``, ``X-DashScope-Async: enable``);
- ``GET /api/v1/tasks/{task_id}``: query; ``POST /api/v1/tasks/{task_id}/cancel``: cancel.

A stock new-api gateway (see ``newapi_gateway.py``), under ``/newapi``: its Kling routes for
text2video and image2video, as observed in front of Kling; its generic task route with an Ali,
a Vidu, a Gemini, a Doubao and a MiniMax channel (``newapi_channels.py``, from new-api's
source); its task query; and its web UI for every other path.

fal's queue (see ``fal.py``), under ``/fal``: ``POST /fal/{endpoint_id}`` for the Kling 2.6,
Kling v3 and Wan 2.6 flash endpoint ids, and ``GET .../requests/{id}/status``, ``GET
.../requests/{id}`` (the result) and ``PUT .../requests/{id}/cancel`` under each endpoint's
``{owner}/{app}``.

Replicate's predictions API (see ``replicate.py``), under ``/replicate``: ``POST
/replicate/v1/models/{owner}/{name}/predictions`` for the Kling 2.6 motion control, Kling 2.6,
Kling v3 and Wan 2.6 flash models, ``GET /replicate/v1/predictions/{id}`` and ``POST
/replicate/v1/predictions/{id}/cancel``.

And:

- ``GET|HEAD /media/{path}``: generated test media (see ``media.py``);
- ``GET /healthz``: ``{"ok": true}``.

A Kling query's ``{id}`` is the ``task_id`` or the submitter's ``external_task_id``. Tasks
move by time (``submitted`` for ``queue_s``, ``processing`` for ``process_s``, then one
video), read from an injected clock; prompt markers script failures and slowness (see
``script.py``). The output video is served by the media route and lasts the requested
``duration`` (default 5 s); for motion-control, as long as the reference video's file name
says (``ref-video-8s.mp4`` -> ``"8"``), else 5 seconds.

A Kling submit (any family, either dialect) with a non-empty ``callback_url`` gets callbacks,
as from real Kling: the task's query ``data`` object, POSTed as JSON on each status change
(``submitted`` at once, ``processing``, then ``succeed`` or ``failed``) when the lifecycle
reaches it, retried at most twice and never signed; ``[sim:callback-dup]`` sends each one
twice (see ``callbacks.py``). They go out only while the app's lifespan runs, which cancels
the pending ones at shutdown. DashScope has no callbacks.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapter.simulator import newapi, wire
from adapter.simulator.auth import Authenticator
from adapter.simulator.callbacks import CallbackSender
from adapter.simulator.config import SimulatorConfig
from adapter.simulator.dashscope import DashScopeSimulator
from adapter.simulator.fal import FalSimulator
from adapter.simulator.kling_families import FAMILIES, Order, decode_order
from adapter.simulator.media import serve_media
from adapter.simulator.newapi_gateway import NewApiGateway
from adapter.simulator.replicate import ReplicateSimulator
from adapter.simulator.script import InvalidMarker, Script, ScriptQueue
from adapter.simulator.state import DuplicateExternalId, Family, SimTask, TaskTable, progress_of

Clock = Callable[[], float]
Authorize = Callable[[Request], str]
Endpoint = Callable[[Request], Awaitable[Response]]

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
    config: SimulatorConfig | None = None,
    *,
    clock: Clock = time.time,
    callback_http: httpx.AsyncClient | None = None,
    scripted: ScriptQueue | None = None,
) -> Starlette:
    """The simulated Kling, DashScope, new-api, fal and Replicate upstreams.

    Args:
        config: keys, lifecycle timing and the public URL; defaults to ``SimulatorConfig()``.
        clock: wall-clock seconds since the epoch. Timestamps, the lifecycle and JWT
            ``exp``/``nbf`` checks read it, so a test can advance time without sleeping.
            Kling callbacks wait in real time for the moments it gives.
        callback_http: the client Kling callbacks are POSTed with; by default one is built
            on first use and closed when the lifespan ends.
        scripted: scripts queued for the next tasks of any dialect, ahead of their prompts'
            markers (``adapter.testing``'s ``fail_next``).
    """
    config = config or SimulatorConfig()
    callbacks = CallbackSender(
        clock=clock, queue_s=config.queue_s, process_s=config.process_s, http=callback_http
    )
    scripted = scripted if scripted is not None else ScriptQueue()
    kling = _Simulator(config, clock, callbacks, scripted)
    dashscope = DashScopeSimulator(config, clock, scripted)
    newapi = NewApiGateway(config, clock, scripted)
    fal = FalSimulator(config, clock, scripted)
    replicate = ReplicateSimulator(config, clock, scripted)
    routes = [
        *kling.routes(),
        *dashscope.routes(),
        *newapi.routes(),
        *fal.routes(),
        *replicate.routes(),
        Route("/media/{path:path}", serve_media, methods=["GET", "HEAD"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with callbacks.running():
            yield

    return Starlette(routes=routes, lifespan=lifespan)


async def healthz(request: Request) -> Response:
    return Response(_HEALTHY, media_type="application/json")


class _Simulator:
    """The Kling endpoints of both dialects, sharing one task table, clock and authenticator."""

    def __init__(
        self,
        config: SimulatorConfig,
        clock: Clock,
        callbacks: CallbackSender,
        scripted: ScriptQueue,
    ) -> None:
        self._config = config
        self._clock = clock
        self._callbacks = callbacks
        self._scripted = scripted
        self._auth = Authenticator(config, clock)
        # 13-digit ms start time, then a 5-digit sequence: ids differ from run to run.
        self._tasks: TaskTable[SimTask] = TaskTable(
            capacity=config.max_tasks, id_base=int(clock() * 1000) * 100_000
        )
        self._request_seq = itertools.count(1)

    def routes(self) -> list[Route]:
        """Submit and query routes of every family in both dialects."""
        gateway, official = self._auth.gateway, self._auth.official
        routes = [Route("/v1/video/generations/{task_id}", self._query(gateway), methods=["GET"])]
        for family in FAMILIES:
            routes += [
                Route(
                    f"/kling/v1/videos/{family}", self._submit(gateway, family), methods=["POST"]
                ),
                Route(
                    f"/kling/v1/videos/{family}/{{task_id}}", self._query(gateway), methods=["GET"]
                ),
                Route(f"/v1/videos/{family}", self._submit(official, family), methods=["POST"]),
                Route(f"/v1/videos/{family}", self._list(official, family), methods=["GET"]),
                Route(
                    f"/v1/videos/{family}/{{task_id}}",
                    self._query(official, family),
                    methods=["GET"],
                ),
            ]
        return routes

    def _submit(self, authorize: Authorize, family: Family) -> Endpoint:
        async def submit(request: Request) -> Response:
            return await self.submit(request, authorize, family)

        return submit

    def _query(self, authorize: Authorize, family: Family | None = None) -> Endpoint:
        async def query(request: Request) -> Response:
            return self.query(request, authorize, family)

        return query

    def _list(self, authorize: Authorize, family: Family) -> Endpoint:
        async def listed(request: Request) -> Response:
            return self.list(request, authorize, family)

        return listed

    def _request_id(self) -> str:
        return f"sim-req-{next(self._request_seq)}"

    async def submit(self, request: Request, authorize: Authorize, family: Family) -> Response:
        """Accept a submit of ``family``, or answer Kling's error."""
        try:
            owner = authorize(request)
            order = decode_order(family, await request.body())
            script = _script(self._scripted, order.script_text)
            if script.submit_status is not None:
                raise wire.Rejection(
                    script.submit_status, *_SCRIPTED_SUBMIT_ERRORS[script.submit_status]
                )
            task = self._record(owner, order, script)
        except wire.Rejection as exc:
            return self._reject(exc)
        if order.callback_url:
            base = wire.media_base(self._config.public_url, request)
            url = wire.video_url(base, task.task_id, task.duration)
            self._callbacks.schedule(task, order.callback_url, url)
        if script.slow_s > 0:
            # The task is already recorded: a client that times out here can find it by its
            # external_task_id, as it would have to with the real upstream.
            await anyio.sleep(script.slow_s)
        return wire.json_response(wire.submit_body(task, self._request_id()))

    def _record(self, owner: str, order: Order, script: Script) -> SimTask:
        seq, task_id = self._tasks.next_id()
        task = SimTask(
            seq=seq,
            task_id=task_id,
            owner=owner,
            external_task_id=order.external_task_id,
            created_at=self._clock(),
            duration=order.duration,
            model_name=order.model_name,
            script=script,
            family=order.family,
        )
        try:
            self._tasks.add(task)
        except DuplicateExternalId as exc:
            raise wire.Rejection(400, 1201, str(exc)) from None
        return task

    def query(self, request: Request, authorize: Authorize, family: Family | None) -> Response:
        """Answer a query; ``family`` set: only a task created on that family is found."""
        task_id = request.path_params["task_id"]
        try:
            task = self._tasks.find(authorize(request), task_id)
            if task is None or (family is not None and task.family != family):
                raise wire.Rejection(404, 1203, f"task not found: {task_id}")
        except wire.Rejection as exc:
            return self._reject(exc)
        script = task.script
        if script.poll_status is not None:
            return self._scripted_poll_error(script)
        progress = progress_of(
            task, self._clock(), queue_s=self._config.queue_s, process_s=self._config.process_s
        )
        base = wire.media_base(self._config.public_url, request)
        url = wire.video_url(base, task.task_id, task.duration)
        body = wire.kling_query_body(task, progress, url, self._request_id())
        if script.shape == "kling":
            return wire.json_response(body)
        return wire.json_response(newapi.query_body(script.shape, task, progress, url, body))

    def list(self, request: Request, authorize: Authorize, family: Family) -> Response:
        """Answer a page of the account's ``family`` tasks, newest first, in Kling's shape."""
        try:
            owner = authorize(request)
            page = _page_number(request, "pageNum", 1, 1000, default=1)
            size = _page_number(request, "pageSize", 1, 500, default=30)
        except wire.Rejection as exc:
            return self._reject(exc)
        now = self._clock()
        base = wire.media_base(self._config.public_url, request)
        found = self._tasks.newest(owner, lambda t: t.family == family, (page - 1) * size, size)
        data = []
        for task in found:
            progress = progress_of(
                task, now, queue_s=self._config.queue_s, process_s=self._config.process_s
            )
            url = wire.video_url(base, task.task_id, task.duration)
            data.append(wire.task_data(task, progress, url))
        return wire.json_response(wire.KlingList(0, "SUCCEED", self._request_id(), data))

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


def _page_number(request: Request, name: str, least: int, most: int, *, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not least <= int(raw) <= most:
        raise wire.Rejection(400, 1201, f"{name} must be an integer from {least} to {most}")
    return int(raw)


def _script(scripted: ScriptQueue, prompt: str | None) -> Script:
    try:
        return scripted.script_for(prompt)
    except InvalidMarker as exc:
        raise wire.Rejection(400, 1201, str(exc)) from None
