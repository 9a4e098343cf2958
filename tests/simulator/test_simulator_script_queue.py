"""Scripts queued on the simulator (``ScriptQueue``, the pytest plugin's ``fail_next``) take
the next tasks of any dialect, ahead of their prompts' markers, one task each, in order."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from adapter.simulator import SimulatorConfig, create_simulator_app
from adapter.simulator.clock import ManualClock
from adapter.simulator.script import Script, ScriptQueue
from tests.simulator.conftest import BASE_URL
from tests.simulator.dashscope_client import TASKS, submit

pytestmark = pytest.mark.anyio

GATEWAY_SUBMIT = "/kling/v1/videos/motion-control"
QUERY = "/v1/video/generations/"


@pytest.fixture
def scripted() -> ScriptQueue:
    return ScriptQueue()


@pytest.fixture
async def client(
    config: SimulatorConfig, clock: ManualClock, scripted: ScriptQueue
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_simulator_app(config, clock=clock, scripted=scripted)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        yield c


async def kling_status(
    client: httpx.AsyncClient, clock: ManualClock, auth: dict[str, str], body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    submitted = await client.post(GATEWAY_SUBMIT, json=body, headers=auth)
    if submitted.status_code != 200:
        return submitted.status_code, submitted.json()
    clock.advance(3600)
    task_id = submitted.json()["data"]["task_id"]
    return 200, (await client.get(QUERY + task_id, headers=auth)).json()["data"]


async def test_queued_scripts_take_the_next_kling_tasks_in_order_then_prompts_rule(
    client: httpx.AsyncClient,
    clock: ManualClock,
    scripted: ScriptQueue,
    gateway_auth: dict[str, str],
    order: Callable[..., dict[str, Any]],
) -> None:
    scripted.push(Script(fail_reason="scripted in Python"))
    scripted.push(Script(submit_status=429))
    # The queued script wins over the prompt's own marker.
    status, first = await kling_status(client, clock, gateway_auth, order(prompt="[sim:fail]"))
    assert (status, first["task_status"], first["task_status_msg"]) == (
        200,
        "failed",
        "scripted in Python",
    )
    status, second = await kling_status(client, clock, gateway_auth, order())
    assert status == 429 and second["code"] == 1302
    status, third = await kling_status(client, clock, gateway_auth, order(prompt="plain"))
    assert third["task_status"] == "succeed" and len(scripted) == 0


async def test_a_queued_script_takes_a_dashscope_task_too(
    client: httpx.AsyncClient,
    clock: ManualClock,
    scripted: ScriptQueue,
    dashscope_auth: dict[str, str],
) -> None:
    scripted.push(Script(fail_reason="scripted for Wan"))
    body = {
        "model": "wan2.6-i2v-flash",
        "input": {"prompt": "a cat", "img_url": "https://example.com/a.png"},
        "parameters": {"resolution": "720P", "duration": 5},
    }
    task_id = await submit(client, dashscope_auth, body)
    clock.advance(3600)
    output = (await client.get(TASKS + task_id, headers=dashscope_auth)).json()["output"]
    assert output["task_status"] == "FAILED" and output["message"] == "scripted for Wan"
