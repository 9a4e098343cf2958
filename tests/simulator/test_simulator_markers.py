"""Prompt markers script the simulated Kling upstream's answers over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

from adapter.simulator.clock import ManualClock
from tests.waiting import SOON_S

pytestmark = pytest.mark.anyio

Order = Callable[..., dict[str, Any]]
GATEWAY_SUBMIT = "/kling/v1/videos/motion-control"
QUERY = "/v1/video/generations/"


async def submit_and_finish(
    client: httpx.AsyncClient, clock: ManualClock, auth: dict[str, str], body: dict[str, Any]
) -> httpx.Response:
    """Submit, move the clock past the whole lifecycle, and query."""
    submitted = await client.post(GATEWAY_SUBMIT, json=body, headers=auth)
    assert submitted.status_code == 200, submitted.text
    clock.advance(3600)
    return await client.get(QUERY + submitted.json()["data"]["task_id"], headers=auth)


@pytest.mark.parametrize(
    ("prompt", "reason"),
    [
        ("dance [sim:fail]", "content risk control"),
        ("dance [sim:fail=the face is too small]", "the face is too small"),
    ],
)
async def test_fail_marker_ends_the_task_failed_with_its_reason(
    client: httpx.AsyncClient,
    clock: ManualClock,
    gateway_auth: dict[str, str],
    order: Order,
    prompt: str,
    reason: str,
) -> None:
    """[sim:fail] ends the task failed, task_status_msg the reason, and no result."""
    data = (await submit_and_finish(client, clock, gateway_auth, order(prompt=prompt))).json()[
        "data"
    ]
    assert data["task_status"] == "failed"
    assert data["task_status_msg"] == reason
    assert "task_result" not in data


async def test_fail_marker_passes_through_processing_first(
    client: httpx.AsyncClient, clock: ManualClock, gateway_auth: dict[str, str], order: Order
) -> None:
    """A scripted failure is still submitted, then processing, before it fails."""
    submitted = await client.post(
        GATEWAY_SUBMIT, json=order(prompt="[sim:fail]"), headers=gateway_auth
    )
    path = QUERY + submitted.json()["data"]["task_id"]
    seen = []
    for step in (0, 1.5, 1.5):
        clock.advance(step)
        seen.append((await client.get(path, headers=gateway_auth)).json()["data"]["task_status"])
    assert seen == ["submitted", "processing", "failed"]


async def test_stay_queued_marker_keeps_the_task_submitted(
    client: httpx.AsyncClient, clock: ManualClock, gateway_auth: dict[str, str], order: Order
) -> None:
    """[sim:stay-queued] keeps the task submitted however long the clock runs."""
    response = await submit_and_finish(
        client, clock, gateway_auth, order(prompt="[sim:stay-queued]")
    )
    assert response.json()["data"]["task_status"] == "submitted"


@pytest.mark.parametrize(("marker", "status", "code"), [("429", 429, 1302), ("500", 500, 5000)])
async def test_submit_error_markers_answer_that_status_and_record_nothing(
    client: httpx.AsyncClient,
    gateway_auth: dict[str, str],
    order: Order,
    marker: str,
    status: int,
    code: int,
) -> None:
    """[sim:429] and [sim:500] answer the submit with Kling's error; no task exists after."""
    body = order(prompt=f"[sim:{marker}]", external_task_id="never")
    response = await client.post(GATEWAY_SUBMIT, json=body, headers=gateway_auth)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert response.json()["request_id"]
    assert (await client.get(QUERY + "never", headers=gateway_auth)).status_code == 404


async def test_slow_marker_records_the_task_before_answering(
    client: httpx.AsyncClient, gateway_auth: dict[str, str], order: Order
) -> None:
    """A client that gives up on a [sim:slow] submit finds the task by external_task_id."""
    body = order(prompt="[sim:slow=30]", external_task_id="lost-reply")
    posting = asyncio.create_task(client.post(GATEWAY_SUBMIT, json=body, headers=gateway_auth))
    try:
        with anyio.fail_after(SOON_S):  # however slow the machine, the task is soon recorded
            while True:
                early = await client.get(QUERY + "lost-reply", headers=gateway_auth)
                if early.status_code != 404:
                    break
                await anyio.sleep(0.01)
        assert not posting.done()  # recorded while the answer is still on its way
    finally:
        posting.cancel()  # the client gives up
    with pytest.raises(asyncio.CancelledError):
        await posting
    found = await client.get(QUERY + "lost-reply", headers=gateway_auth)
    assert found.status_code == 200
    assert found.json()["data"]["task_info"]["external_task_id"] == "lost-reply"


async def test_slow_marker_answers_after_the_delay(
    client: httpx.AsyncClient, gateway_auth: dict[str, str], order: Order
) -> None:
    """A [sim:slow] submit that is waited for answers normally."""
    with anyio.fail_after(5):
        response = await client.post(
            GATEWAY_SUBMIT, json=order(prompt="[sim:slow=0.01]"), headers=gateway_auth
        )
    assert response.status_code == 200
    assert response.json()["data"]["task_status"] == "submitted"


@pytest.mark.parametrize(
    ("marker", "status", "code"), [("poll-429", 429, 1302), ("poll-500", 500, 5000)]
)
async def test_poll_error_markers_answer_every_query_with_that_status(
    client: httpx.AsyncClient,
    clock: ManualClock,
    gateway_auth: dict[str, str],
    order: Order,
    marker: str,
    status: int,
    code: int,
) -> None:
    """[sim:poll-429] / [sim:poll-500] accept the submit but answer its queries with errors."""
    response = await submit_and_finish(client, clock, gateway_auth, order(prompt=f"[sim:{marker}]"))
    assert response.status_code == status
    assert response.json()["code"] == code


async def test_poll_error_in_a_new_api_shape_uses_new_api_error_body(
    client: httpx.AsyncClient, clock: ManualClock, gateway_auth: dict[str, str], order: Order
) -> None:
    """With a new-api shape, a scripted poll error is new-api's {"error": {...}} body."""
    body = order(prompt="[sim:poll-429][sim:shape=taskdto]")
    response = await submit_and_finish(client, clock, gateway_auth, body)
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["type"] == "new_api_error"
    assert error["code"] == "rate_limit_exceeded"


@pytest.mark.parametrize("prompt", ["[sim:FAIL]", "[sim:explode]", "go [sim:slow=soon]"])
async def test_unknown_marker_answers_1201_naming_it(
    client: httpx.AsyncClient, gateway_auth: dict[str, str], order: Order, prompt: str
) -> None:
    """A mistyped marker answers 400, code 1201, and the message names the marker."""
    response = await client.post(GATEWAY_SUBMIT, json=order(prompt=prompt), headers=gateway_auth)
    assert response.status_code == 400
    assert response.json()["code"] == 1201
    assert prompt.split(" ")[-1] in response.json()["message"]
