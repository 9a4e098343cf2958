"""Kling callbacks: the simulated upstream POSTs the task to callback_url on each status change."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapter.core.shutdown import STEP_TIMEOUT_S
from adapter.simulator import SimulatorConfig, create_simulator_app
from adapter.simulator.callbacks import CallbackSender
from adapter.simulator.script import Script
from adapter.simulator.state import SimTask, progress_of
from tests.simulator.conftest import BASE_URL

pytestmark = pytest.mark.anyio

QUEUE_S, PROCESS_S = 0.05, 0.1
CONFIG = SimulatorConfig(queue_s=QUEUE_S, process_s=PROCESS_S, require_auth=False)
CALLBACK = "http://receiver.test/kling/callback?token=t1"
#: Long enough for a whole lifecycle, and its callbacks, to have happened.
AFTER_THE_END_S = QUEUE_S + PROCESS_S + 0.15
#: asyncio timers may fire up to a clock tick early.
EARLY_S = 0.01

Answer = int | httpx.RequestError
Body = Callable[..., dict[str, Any]]


class Receiver:
    """The callback_url's server, behind httpx.MockTransport: it records every POST."""

    def __init__(self, *answers: Answer) -> None:
        #: What the next POSTs get (a status, or an error raised), then 200.
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.arrived_at: list[float] = []
        self._arrival = anyio.Event()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.arrived_at.append(time.monotonic())
        self._arrival.set()
        self._arrival = anyio.Event()
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, httpx.RequestError):
            raise answer
        return httpx.Response(answer)

    @property
    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(request.content) for request in self.requests]

    @property
    def statuses(self) -> list[str]:
        return [payload["task_status"] for payload in self.payloads]

    async def wait_for(self, count: int) -> None:
        with anyio.fail_after(2):
            while len(self.requests) < count:
                await self._arrival.wait()


@contextlib.asynccontextmanager
async def serving(
    receiver: Receiver, config: SimulatorConfig = CONFIG
) -> AsyncIterator[httpx.AsyncClient]:
    """The simulator with its lifespan running, callbacks going to ``receiver``."""
    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as http:
        app = create_simulator_app(config, callback_http=http)
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client,
        ):
            yield client


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
async def sim(receiver: Receiver) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(receiver) as client:
        yield client


@pytest.fixture
def body(order: Body, family_body: Body) -> Body:
    """A valid submit body of any family, motion-control included."""

    def make(family: str, **changes: Any) -> dict[str, Any]:
        return order(**changes) if family == "motion-control" else family_body(family, **changes)

    return make


async def submit(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> str:
    response = await client.post(path, json=body)
    assert response.status_code == 200, response.text
    task_id: str = response.json()["data"]["task_id"]
    return task_id


def callback_tasks() -> list[asyncio.Task[Any]]:
    return [task for task in asyncio.all_tasks() if task.get_name().startswith("sim.callback")]


@pytest.mark.parametrize(
    ("submit_path", "query_path", "family", "duration"),
    [
        ("/kling/v1/videos/motion-control", "/v1/video/generations/{}", "motion-control", "8"),
        ("/v1/videos/text2video", "/v1/videos/text2video/{}", "text2video", "10"),
        ("/kling/v1/videos/image2video", "/kling/v1/videos/image2video/{}", "image2video", "5"),
        ("/v1/videos/omni-video", "/v1/videos/omni-video/{}", "omni-video", "7"),
    ],
)
async def test_callbacks_follow_the_task_from_submitted_to_succeed(
    sim: httpx.AsyncClient,
    receiver: Receiver,
    body: Body,
    submit_path: str,
    query_path: str,
    family: str,
    duration: str,
) -> None:
    """Each status change is POSTed once, in order, as the data a query answers."""
    sent = body(family, callback_url=CALLBACK, external_task_id=f"ext-{family}")
    task_id = await submit(sim, submit_path, sent)
    await receiver.wait_for(3)
    assert receiver.statuses == ["submitted", "processing", "succeed"]
    for request, payload in zip(receiver.requests, receiver.payloads, strict=True):
        assert (request.method, str(request.url)) == ("POST", CALLBACK)
        assert request.headers["content-type"] == "application/json"
        assert payload["task_id"] == task_id
        assert payload["task_info"] == {"external_task_id": f"ext-{family}"}
    submitted, processing, succeed = receiver.payloads
    assert "task_result" not in submitted
    assert "task_result" not in processing
    assert submitted["updated_at"] == submitted["created_at"] < processing["updated_at"]
    video = succeed["task_result"]["videos"][0]
    assert video["url"] == f"{BASE_URL}/media/out/{task_id}-{duration}s.mp4"
    assert video["duration"] == duration
    assert succeed["task_status_msg"] == "success"
    query = await sim.get(query_path.format(task_id))
    assert query.json()["data"] == succeed
    first, second, third = receiver.arrived_at
    assert second - first >= QUEUE_S - EARLY_S
    assert third - second >= PROCESS_S - EARLY_S


async def test_a_scripted_failure_ends_with_a_failed_callback_carrying_its_message(
    sim: httpx.AsyncClient, receiver: Receiver, body: Body
) -> None:
    """A [sim:fail=...] task's last callback is failed, with the reason and no video."""
    prompt = "a cat surfs [sim:fail=face not detected]"
    await submit(
        sim, "/v1/videos/text2video", body("text2video", prompt=prompt, callback_url=CALLBACK)
    )
    await receiver.wait_for(3)
    assert receiver.statuses == ["submitted", "processing", "failed"]
    failed = receiver.payloads[-1]
    assert failed["task_status_msg"] == "face not detected"
    assert "task_result" not in failed


@pytest.mark.parametrize("callback_url", [None, ""])
async def test_no_callback_url_means_no_callbacks(
    sim: httpx.AsyncClient, receiver: Receiver, body: Body, callback_url: str | None
) -> None:
    """Without a callback_url (or with an empty one) nothing is POSTed."""
    await submit(sim, "/kling/v1/videos/motion-control", body("motion-control"))
    await submit(sim, "/v1/videos/text2video", body("text2video", callback_url=callback_url))
    await anyio.sleep(AFTER_THE_END_S)
    assert receiver.requests == []
    assert callback_tasks() == []


async def test_a_task_that_stays_queued_gets_only_its_submitted_callback(
    sim: httpx.AsyncClient, receiver: Receiver, body: Body
) -> None:
    """[sim:stay-queued] never changes status again, so no callback follows submitted."""
    sent = body("motion-control", prompt="[sim:stay-queued]", callback_url=CALLBACK)
    await submit(sim, "/kling/v1/videos/motion-control", sent)
    await receiver.wait_for(1)  # however slow the machine
    await anyio.sleep(AFTER_THE_END_S)  # and nothing follows it
    assert receiver.statuses == ["submitted"]
    assert callback_tasks() == []


async def test_callback_dup_marker_sends_each_callback_twice(
    sim: httpx.AsyncClient, receiver: Receiver, body: Body
) -> None:
    """[sim:callback-dup] POSTs every status change twice, the same body both times."""
    sent = body("omni-video", prompt="the sea [sim:callback-dup]", callback_url=CALLBACK)
    await submit(sim, "/v1/videos/omni-video", sent)
    await receiver.wait_for(6)
    assert receiver.statuses == ["submitted"] * 2 + ["processing"] * 2 + ["succeed"] * 2
    contents = [request.content for request in receiver.requests]
    assert contents[0::2] == contents[1::2]


async def test_shutdown_cancels_the_pending_callbacks(receiver: Receiver, body: Body) -> None:
    """Leaving the lifespan stops every callback timer; nothing is POSTed afterwards."""
    config = SimulatorConfig(queue_s=0.2, process_s=0.1, require_auth=False)
    async with serving(receiver, config) as client:
        sent = body("motion-control", callback_url=CALLBACK)
        await submit(client, "/kling/v1/videos/motion-control", sent)
        await receiver.wait_for(1)
        assert len(callback_tasks()) == 1
    assert callback_tasks() == []
    await anyio.sleep(0.35)
    assert receiver.statuses == ["submitted"]


async def _sent() -> None:
    """A write that fits the socket buffer: done in its first step."""


async def test_shutdown_ends_in_its_bound_even_if_a_callback_ignores_its_cancel(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A POST whose cancel is lost (Python 3.11's wait_for) is left behind, logged: leaving
    the lifespan never waits on a receiver for good."""
    released = anyio.Event()

    async def never_answers(request: httpx.Request) -> httpx.Response:
        while not released.is_set():
            await asyncio.wait_for(_sent(), timeout=5)
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(never_answers)) as http:
        callbacks = CallbackSender(clock=time.time, queue_s=QUEUE_S, process_s=PROCESS_S, http=http)
        leaving = asyncio.create_task(leave_while_posting(callbacks))
        try:
            done, _ = await asyncio.wait({leaving}, timeout=STEP_TIMEOUT_S + 2)
            assert done, "leaving the lifespan did not end"
        finally:
            released.set()
            await drain()
    assert "shutdown.abandoned what=simulator callbacks" in caplog.text


async def leave_while_posting(callbacks: CallbackSender) -> None:
    async with callbacks.running():
        callbacks.schedule(queued_task(), CALLBACK, "http://sim.test/media/out/x-5s.mp4")
        await anyio.sleep(0.05)


async def test_without_a_running_lifespan_callbacks_are_skipped_and_logged_once(
    receiver: Receiver, body: Body, caplog: pytest.LogCaptureFixture
) -> None:
    """httpx.ASGITransport runs no lifespan: submits work, callbacks are not sent."""
    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as http:
        app = create_simulator_app(CONFIG, callback_http=http)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            for _ in range(2):
                sent = body("motion-control", callback_url=CALLBACK)
                await submit(client, "/kling/v1/videos/motion-control", sent)
    assert callback_tasks() == []
    assert receiver.requests == []
    skipped = [r for r in caplog.records if r.getMessage().startswith("sim.callback_skipped")]
    assert len(skipped) == 1


STAY_QUEUED = Script(stay_queued=True)


def queued_task(script: Script = STAY_QUEUED) -> SimTask:
    return SimTask(
        seq=1,
        task_id="860000000000000001",
        owner="gateway",
        external_task_id="ext-1",
        created_at=time.time(),
        duration="5",
        model_name="kling-v2-6",
        script=script,
    )


@contextlib.asynccontextmanager
async def sender(http: httpx.AsyncClient | None) -> AsyncIterator[CallbackSender]:
    """A sender with no retry delays, running."""
    callbacks = CallbackSender(
        clock=time.time, queue_s=QUEUE_S, process_s=PROCESS_S, http=http, retry_delays=(0, 0)
    )
    async with callbacks.running():
        yield callbacks


async def drain() -> None:
    """Wait until every scheduled callback is done."""
    with anyio.fail_after(2):
        await asyncio.gather(*callback_tasks())


@pytest.mark.parametrize(
    ("answers", "posts", "is_logged"),
    [
        ((503, httpx.ConnectError("refused"), 200), 3, False),
        ((500, 500, 500, 500), 3, True),
        ((httpx.ReadTimeout("slow"),) * 4, 3, True),
        ((404, 200), 1, True),
    ],
    ids=["recovers", "5xx-gives-up", "timeouts-give-up", "4xx-not-retried"],
)
async def test_a_failing_receiver_is_retried_at_most_twice(
    caplog: pytest.LogCaptureFixture, answers: tuple[Answer, ...], posts: int, is_logged: bool
) -> None:
    """Connection errors, timeouts and 5xx are retried twice, a 4xx never; failures are logged."""
    receiver = Receiver(*answers)
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as http,
        sender(http) as callbacks,
    ):
        callbacks.schedule(queued_task(), CALLBACK, "http://sim.test/media/out/x-5s.mp4")
        await drain()
    assert receiver.statuses == ["submitted"] * posts
    failures = [r for r in caplog.records if r.getMessage().startswith("sim.callback_failed")]
    assert len(failures) == (1 if is_logged else 0)


async def test_an_unusable_callback_url_is_logged_and_not_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A callback_url httpx cannot send to fails once, logged; the own client is closed after."""
    async with sender(None) as callbacks:
        callbacks.schedule(queued_task(), "not-a-url", "http://sim.test/media/out/x-5s.mp4")
        await drain()
    (failure,) = [r for r in caplog.records if r.getMessage().startswith("sim.callback_failed")]
    assert "UnsupportedProtocol" in failure.getMessage()


def test_progress_names_the_moment_of_the_next_status_change() -> None:
    """progress_of gives next_change_at, the schedule callbacks follow; None once final."""
    task = queued_task(Script())
    start = task.created_at

    def next_change(at: float) -> float | None:
        return progress_of(task, at, queue_s=1, process_s=2).next_change_at

    assert next_change(start) == start + 1
    assert next_change(start + 1) == start + 3
    assert next_change(start + 3) is None
    stuck = queued_task()
    assert progress_of(stuck, start, queue_s=1, process_s=2).next_change_at is None


@contextlib.asynccontextmanager
async def loopback(app: Starlette) -> AsyncIterator[str]:
    """``app`` served by uvicorn on a loopback port; yields its base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(app, lifespan="off", log_level="warning", ws="none", http="h11")
        server = uvicorn.Server(config)
        serve = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            with anyio.fail_after(2):
                while not server.started:  # noqa: ASYNC110 (uvicorn has a flag, no event)
                    await anyio.sleep(0.01)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await serve


async def test_callbacks_reach_a_real_server_with_the_default_client(body: Body) -> None:
    """Over real HTTP, with the client the simulator builds itself: all three arrive as JSON."""
    received: list[tuple[str, Any]] = []
    arrived = anyio.Event()

    async def callback(request: Request) -> Response:
        received.append((request.headers["content-type"], await request.json()))
        if len(received) == 3:
            arrived.set()
        return Response(status_code=204)

    receiver_app = Starlette(routes=[Route("/cb", callback, methods=["POST"])])
    async with loopback(receiver_app) as receiver_url:
        app = create_simulator_app(CONFIG)
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client,
        ):
            sent = body("text2video", callback_url=f"{receiver_url}/cb")
            task_id = await submit(client, "/kling/v1/videos/text2video", sent)
            with anyio.fail_after(2):
                await arrived.wait()
    assert [content_type for content_type, _ in received] == ["application/json"] * 3
    assert [payload["task_status"] for _, payload in received] == [
        "submitted",
        "processing",
        "succeed",
    ]
    assert {payload["task_id"] for _, payload in received} == {task_id}
