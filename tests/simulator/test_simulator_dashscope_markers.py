"""Prompt markers (input.prompt) script the simulated DashScope upstream's answers."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest

from adapter.simulator.clock import ManualClock
from adapter.simulator.dashscope import DASHSCOPE_MARKERS
from adapter.simulator.script import MARKERS
from tests.simulator.dashscope_client import SUBMIT, TASKS, Synthesis, submit

pytestmark = pytest.mark.anyio


async def finish(
    client: httpx.AsyncClient, clock: ManualClock, auth: dict[str, str], prompt: str
) -> tuple[str, httpx.Response]:
    """Submit ``prompt``, run the clock past the lifecycle, and query."""
    task_id = await submit(client, auth, _body(prompt))
    clock.advance(3600)
    return task_id, await client.get(TASKS + task_id, headers=auth)


def _body(prompt: str) -> dict[str, Any]:
    return {
        "model": "wan2.6-i2v-flash",
        "input": {"prompt": prompt, "img_url": "https://example.com/a.png"},
        "parameters": {"resolution": "720P", "duration": 5},
    }


def test_every_marker_has_a_dashscope_effect() -> None:
    """DASHSCOPE_MARKERS documents the DashScope effect of exactly the markers Kling has."""
    assert set(DASHSCOPE_MARKERS) == set(MARKERS)
    assert all(DASHSCOPE_MARKERS.values())


@pytest.mark.parametrize(
    ("prompt", "code", "message"),
    [
        ("surf [sim:fail]", "DataInspectionFailed", "content risk control"),
        ("surf [sim:fail=the image is too dark]", "InternalError", "the image is too dark"),
    ],
)
async def test_fail_marker_ends_the_task_failed_with_code_and_message(
    client: httpx.AsyncClient,
    clock: ManualClock,
    dashscope_auth: dict[str, str],
    prompt: str,
    code: str,
    message: str,
) -> None:
    """[sim:fail] / [sim:fail=reason] end FAILED, output.code and output.message set, no video."""
    _, response = await finish(client, clock, dashscope_auth, prompt)
    assert response.status_code == 200
    body = response.json()
    output = body["output"]
    assert (output["task_status"], output["code"], output["message"]) == ("FAILED", code, message)
    assert output["end_time"]
    assert "video_url" not in output
    assert "usage" not in body


async def test_fail_marker_passes_through_running_first(
    client: httpx.AsyncClient, clock: ManualClock, dashscope_auth: dict[str, str]
) -> None:
    """A scripted failure is PENDING, then RUNNING, before FAILED."""
    task_id = await submit(client, dashscope_auth, _body("[sim:fail]"))
    seen = []
    for step in (0, 1.5, 1.5):
        clock.advance(step)
        answer = await client.get(TASKS + task_id, headers=dashscope_auth)
        seen.append(answer.json()["output"]["task_status"])
    assert seen == ["PENDING", "RUNNING", "FAILED"]


async def test_stay_queued_marker_keeps_the_task_pending_and_cancelable(
    client: httpx.AsyncClient, clock: ManualClock, dashscope_auth: dict[str, str]
) -> None:
    """[sim:stay-queued] stays PENDING however long the clock runs, and can be canceled."""
    task_id, response = await finish(client, clock, dashscope_auth, "[sim:stay-queued]")
    assert response.json()["output"]["task_status"] == "PENDING"
    cancel = await client.post(f"{TASKS}{task_id}/cancel", headers=dashscope_auth)
    assert cancel.status_code == 200
    after = await client.get(TASKS + task_id, headers=dashscope_auth)
    assert after.json()["output"]["task_status"] == "CANCELED"


@pytest.mark.parametrize(
    ("marker", "status", "code"),
    [("429", 429, "Throttling.RateQuota"), ("500", 500, "InternalError")],
)
async def test_submit_error_markers_answer_that_status_and_record_nothing(
    client: httpx.AsyncClient,
    dashscope_auth: dict[str, str],
    synthesis: Synthesis,
    marker: str,
    status: int,
    code: str,
) -> None:
    """[sim:429] / [sim:500] answer the submit with DashScope's error; no task_id is given."""
    response = await client.post(
        SUBMIT, json=synthesis(prompt=f"[sim:{marker}]"), headers=dashscope_auth
    )
    assert response.status_code == status
    body = response.json()
    assert body["code"] == code
    assert f"[sim:{marker}]" in body["message"]
    assert body["request_id"]
    assert "output" not in body


async def test_slow_marker_records_the_task_before_answering(
    client: httpx.AsyncClient, clock: ManualClock, dashscope_auth: dict[str, str]
) -> None:
    """A [sim:slow] task exists from the moment of the submit, not of the late answer."""
    answers: list[httpx.Response] = []

    async def slow_submit() -> None:
        body = _body("[sim:slow=0.3]")
        answers.append(await client.post(SUBMIT, json=body, headers=dashscope_auth))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(slow_submit)
            await anyio.sleep(0.05)
            clock.advance(100)  # while the submit is still waiting to answer
    task_id = answers[0].json()["output"]["task_id"]
    output = (await client.get(TASKS + task_id, headers=dashscope_auth)).json()["output"]
    assert output["submit_time"] == "2026-03-30 01:24:36.000"
    assert output["task_status"] == "SUCCEEDED"


async def test_slow_marker_answers_after_the_delay(
    client: httpx.AsyncClient, dashscope_auth: dict[str, str]
) -> None:
    """A [sim:slow] submit that is waited for answers PENDING normally."""
    with anyio.fail_after(5):
        response = await client.post(SUBMIT, json=_body("[sim:slow=0.01]"), headers=dashscope_auth)
    assert response.status_code == 200
    assert response.json()["output"]["task_status"] == "PENDING"


@pytest.mark.parametrize(
    ("marker", "status", "code"),
    [("poll-429", 429, "Throttling.RateQuota"), ("poll-500", 500, "InternalError")],
)
async def test_poll_error_markers_answer_every_query_with_that_status(
    client: httpx.AsyncClient,
    clock: ManualClock,
    dashscope_auth: dict[str, str],
    marker: str,
    status: int,
    code: str,
) -> None:
    """[sim:poll-429] / [sim:poll-500] accept the submit but answer queries with the error."""
    task_id = await submit(client, dashscope_auth, _body(f"[sim:{marker}]"))
    for step in (0, 3600):
        clock.advance(step)
        response = await client.get(TASKS + task_id, headers=dashscope_auth)
        assert response.status_code == status
        assert response.json()["code"] == code


@pytest.mark.parametrize(
    "marker",
    ["[sim:shape=taskdto]", "[sim:shape=simple]", "[sim:shape=openai]", "[sim:callback-dup]"],
)
async def test_kling_only_markers_are_refused_naming_the_marker(
    client: httpx.AsyncClient, dashscope_auth: dict[str, str], marker: str
) -> None:
    """One answer shape, no callbacks: [sim:shape=...], [sim:callback-dup] answer 400."""
    response = await client.post(SUBMIT, json=_body(f"go {marker}"), headers=dashscope_auth)
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidParameter"
    assert marker in response.json()["message"]


@pytest.mark.parametrize("marker", ["[sim:FAIL]", "[sim:explode]", "[sim:slow=soon]", "[sim:fail"])
async def test_unknown_markers_are_refused_naming_the_marker(
    client: httpx.AsyncClient, dashscope_auth: dict[str, str], marker: str
) -> None:
    """A mistyped marker answers 400 InvalidParameter naming it."""
    response = await client.post(SUBMIT, json=_body(f"go {marker}"), headers=dashscope_auth)
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidParameter"
    assert marker in response.json()["message"]


async def test_markers_combine(
    client: httpx.AsyncClient, clock: ManualClock, dashscope_auth: dict[str, str]
) -> None:
    """[sim:fail=x][sim:slow=0.01] fails the task after a slow submit."""
    _, response = await finish(client, clock, dashscope_auth, "[sim:fail=x][sim:slow=0.01]")
    assert response.json()["output"]["message"] == "x"
