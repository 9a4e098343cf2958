"""The simulated DashScope upstream: async submit, query by time, cancel, auth, validation."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from adapter.simulator import SimulatorConfig, create_simulator_app
from adapter.simulator.clock import ManualClock
from adapter.simulator.mp4 import build_mp4
from tests.simulator.dashscope_client import SUBMIT, TASKS, Synthesis, submit

pytestmark = pytest.mark.anyio

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """A DashScope error answer: ``{request_id, code, message}``."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["message"]
    assert body["request_id"]
    return body


async def test_submit_answers_a_pending_task(
    client: httpx.AsyncClient, dashscope_auth: dict[str, str], synthesis: Synthesis
) -> None:
    """An accepted submit answers 200 {request_id, output: {task_id, task_status: PENDING}}."""
    response = await client.post(SUBMIT, json=synthesis(), headers=dashscope_auth)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"request_id", "output"}
    assert UUID.fullmatch(body["request_id"])
    assert UUID.fullmatch(body["output"]["task_id"])
    assert body["output"]["task_status"] == "PENDING"


async def test_task_moves_from_pending_to_running_to_succeeded(
    client: httpx.AsyncClient,
    clock: ManualClock,
    dashscope_auth: dict[str, str],
    synthesis: Synthesis,
) -> None:
    """PENDING for queue_s, RUNNING for process_s, then SUCCEEDED; times from the clock."""
    task_id = await submit(client, dashscope_auth, synthesis(prompt="a cat surfs"))
    outputs = []
    for step in (0.0, 0.99, 0.01, 1.99, 0.01):
        clock.advance(step)
        response = await client.get(TASKS + task_id, headers=dashscope_auth)
        assert response.status_code == 200
        outputs.append(response.json()["output"])
    assert [o["task_status"] for o in outputs] == [
        "PENDING",
        "PENDING",
        "RUNNING",
        "RUNNING",
        "SUCCEEDED",
    ]
    pending, running, done = outputs[0], outputs[2], outputs[-1]
    # START is 2026-03-29T17:24:36Z, 01:24:36 the next day in Beijing.
    assert pending == {
        "task_id": task_id,
        "task_status": "PENDING",
        "submit_time": "2026-03-30 01:24:36.000",
        "orig_prompt": "a cat surfs",
    }
    assert running["scheduled_time"] == "2026-03-30 01:24:37.000"
    assert "end_time" not in running
    assert done["end_time"] == "2026-03-30 01:24:39.000"
    assert "code" not in done


async def test_succeeded_task_has_a_video_of_the_requested_duration_and_usage(
    client: httpx.AsyncClient,
    clock: ManualClock,
    dashscope_auth: dict[str, str],
    synthesis: Synthesis,
) -> None:
    """video_url is a media-route video lasting parameters.duration; usage reports it."""
    body = synthesis(parameters={"duration": 8, "resolution": "1080P"})
    task_id = await submit(client, dashscope_auth, body)
    clock.advance(3)
    answer = (await client.get(TASKS + task_id, headers=dashscope_auth)).json()
    assert answer["output"]["video_url"] == f"http://sim.test/media/out/{task_id}-8s.mp4"
    assert answer["usage"] == {"duration": 8, "video_count": 1, "SR": 1080}
    video = await client.get(answer["output"]["video_url"])
    assert video.content == build_mp4(8)


async def test_parameters_default_to_5_seconds_at_1080p(
    client: httpx.AsyncClient,
    clock: ManualClock,
    dashscope_auth: dict[str, str],
    synthesis: Synthesis,
) -> None:
    """Without parameters the video lasts 5 s at 1080P, as DashScope's defaults."""
    body = synthesis()
    del body["parameters"]
    task_id = await submit(client, dashscope_auth, body)
    clock.advance(3)
    answer = (await client.get(TASKS + task_id, headers=dashscope_auth)).json()
    assert answer["usage"] == {"duration": 5, "video_count": 1, "SR": 1080}


async def test_720p_is_reported_as_sr_720(
    client: httpx.AsyncClient,
    clock: ManualClock,
    dashscope_auth: dict[str, str],
    synthesis: Synthesis,
) -> None:
    """resolution 720P gives usage.SR 720."""
    task_id = await submit(client, dashscope_auth, synthesis(parameters={"resolution": "720P"}))
    clock.advance(3)
    answer = (await client.get(TASKS + task_id, headers=dashscope_auth)).json()
    assert answer["usage"]["SR"] == 720


async def test_public_url_is_the_base_of_video_urls(
    clock: ManualClock, dashscope_auth: dict[str, str], synthesis: Synthesis
) -> None:
    """A configured public_url replaces the request's base URL in video_url."""
    config = SimulatorConfig(queue_s=0, process_s=0, public_url="https://sim.example.org")
    app = create_simulator_app(config, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as client:
        task_id = await submit(client, dashscope_auth, synthesis())
        answer = (await client.get(TASKS + task_id, headers=dashscope_auth)).json()
    assert answer["output"]["video_url"] == f"https://sim.example.org/media/out/{task_id}-5s.mp4"


async def test_an_unknown_task_reads_unknown_with_http_200(
    client: httpx.AsyncClient, dashscope_auth: dict[str, str]
) -> None:
    """An id the simulator does not hold answers 200, task_status UNKNOWN, as DashScope does."""
    response = await client.get(
        TASKS + "0385dc79-5ff8-4d82-bcb6-000000000000", headers=dashscope_auth
    )
    assert response.status_code == 200
    body = response.json()
    assert body["output"] == {
        "task_id": "0385dc79-5ff8-4d82-bcb6-000000000000",
        "task_status": "UNKNOWN",
    }
    assert body["request_id"]


async def test_forgotten_tasks_read_unknown(
    clock: ManualClock, dashscope_auth: dict[str, str], synthesis: Synthesis
) -> None:
    """Beyond max_tasks the oldest DashScope task is forgotten and reads UNKNOWN."""
    app = create_simulator_app(SimulatorConfig(max_tasks=1), clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as client:
        first = await submit(client, dashscope_auth, synthesis())
        await submit(client, dashscope_auth, synthesis())
        answer = (await client.get(TASKS + first, headers=dashscope_auth)).json()
    assert answer["output"]["task_status"] == "UNKNOWN"


async def test_dashscope_and_kling_tasks_are_kept_apart(
    client: httpx.AsyncClient,
    dashscope_auth: dict[str, str],
    gateway_auth: dict[str, str],
    synthesis: Synthesis,
    order: Callable[..., dict[str, Any]],
) -> None:
    """A Kling task id is UNKNOWN to DashScope, and a DashScope id is a 404 to Kling."""
    kling = await client.post("/kling/v1/videos/motion-control", json=order(), headers=gateway_auth)
    kling_id = kling.json()["data"]["task_id"]
    dash_id = await submit(client, dashscope_auth, synthesis())
    on_dashscope = await client.get(TASKS + kling_id, headers=dashscope_auth)
    on_kling = await client.get(f"/v1/video/generations/{dash_id}", headers=gateway_auth)
    assert on_dashscope.json()["output"]["task_status"] == "UNKNOWN"
    assert on_kling.status_code == 404


async def test_submit_without_the_async_header_is_refused(
    client: httpx.AsyncClient, synthesis: Synthesis
) -> None:
    """Without X-DashScope-Async: enable, DashScope answers 403 AccessDenied."""
    for headers in (
        {"Authorization": "Bearer sim-dashscope-key"},
        {"Authorization": "Bearer sim-dashscope-key", "X-DashScope-Async": "disable"},
    ):
        response = await client.post(SUBMIT, json=synthesis(), headers=headers)
        body = assert_error(response, 403, "AccessDenied")
        assert body["message"] == "current user api does not support synchronous calls"


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong", "Bearer sim-key", "Basic sim-dashscope-key"]
)
async def test_a_missing_or_wrong_key_answers_401_invalid_api_key(
    client: httpx.AsyncClient, synthesis: Synthesis, authorization: str | None
) -> None:
    """Only the DashScope key is accepted (not the Kling one), on every DashScope route."""
    headers = {"X-DashScope-Async": "enable"}
    if authorization is not None:
        headers["Authorization"] = authorization
    assert_error(await client.post(SUBMIT, json=synthesis(), headers=headers), 401, "InvalidApiKey")
    assert_error(await client.get(TASKS + "x", headers=headers), 401, "InvalidApiKey")
    assert_error(await client.post(TASKS + "x/cancel", headers=headers), 401, "InvalidApiKey")


async def test_the_dashscope_key_is_refused_on_kling_routes(
    client: httpx.AsyncClient, order: Callable[..., dict[str, Any]]
) -> None:
    """The DashScope key is no gateway key: Kling answers 401, code 1002."""
    headers = {"Authorization": "Bearer sim-dashscope-key"}
    response = await client.post("/kling/v1/videos/motion-control", json=order(), headers=headers)
    assert (response.status_code, response.json()["code"]) == (401, 1002)


async def test_configured_dashscope_key_and_auth_off(
    clock: ManualClock, synthesis: Synthesis
) -> None:
    """dashscope_api_key replaces the default; require_auth=False accepts anything."""
    async_only = {"X-DashScope-Async": "enable"}
    keyed = create_simulator_app(SimulatorConfig(dashscope_api_key="ds-1"), clock=clock)
    open_ = create_simulator_app(SimulatorConfig(require_auth=False), clock=clock)
    codes = []
    for app, auth in (
        (keyed, {"Authorization": "Bearer ds-1"}),
        (keyed, {"Authorization": "Bearer sim-dashscope-key"}),
        (open_, {}),
    ):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as client:
            response = await client.post(SUBMIT, json=synthesis(), headers={**auth, **async_only})
            codes.append(response.status_code)
    assert codes == [200, 401, 200]
