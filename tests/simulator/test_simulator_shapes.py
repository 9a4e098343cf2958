"""[sim:shape=...] answers queries in the shapes new-api deployments use (contracts 2.3 B-D)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from adapter.simulator.clock import ManualClock

pytestmark = pytest.mark.anyio

Order = Callable[..., dict[str, Any]]
GATEWAY_SUBMIT = "/kling/v1/videos/motion-control"


async def query_over_time(
    client: httpx.AsyncClient,
    clock: ManualClock,
    auth: dict[str, str],
    body: dict[str, Any],
    steps: tuple[float, ...] = (0, 1.5, 1.5),
) -> tuple[str, list[dict[str, Any]]]:
    """Submit, then query after each clock step; the task id and every query body."""
    submitted = await client.post(GATEWAY_SUBMIT, json=body, headers=auth)
    task_id: str = submitted.json()["data"]["task_id"]
    bodies = []
    for step in steps:
        clock.advance(step)
        response = await client.get(f"/v1/video/generations/{task_id}", headers=auth)
        assert response.status_code == 200
        bodies.append(response.json())
    return task_id, bodies


async def test_taskdto_shape_wraps_the_kling_body_in_a_new_api_task(
    client: httpx.AsyncClient,
    clock: ManualClock,
    gateway_auth: dict[str, str],
    order: Order,
    start: float,
) -> None:
    """Shape B: code "success", data is a TaskDto with new-api statuses and the raw Kling body."""
    task_id, bodies = await query_over_time(
        client, clock, gateway_auth, order(prompt="[sim:shape=taskdto]")
    )
    assert [b["code"] for b in bodies] == ["success"] * 3
    assert [b["data"]["status"] for b in bodies] == ["SUBMITTED", "IN_PROGRESS", "SUCCESS"]
    assert [b["data"]["progress"] for b in bodies] == ["0%", "25%", "100%"]
    done = bodies[-1]["data"]
    assert done["task_id"] == task_id
    assert done["result_url"] == f"http://sim.test/media/out/{task_id}-8s.mp4"
    assert done["fail_reason"] == ""
    assert (done["submit_time"], done["start_time"], done["finish_time"]) == (
        int(start),
        int(start) + 1,
        int(start) + 3,
    )
    kling = done["data"]
    assert kling["code"] == 0
    assert kling["data"]["task_status"] == "succeed"
    assert kling["data"]["task_result"]["videos"][0]["url"] == done["result_url"]


async def test_taskdto_shape_reports_a_failure_in_fail_reason(
    client: httpx.AsyncClient, clock: ManualClock, gateway_auth: dict[str, str], order: Order
) -> None:
    """Shape B: a failed task is FAILURE with fail_reason and no result_url."""
    _, bodies = await query_over_time(
        client, clock, gateway_auth, order(prompt="[sim:shape=taskdto][sim:fail=nope]")
    )
    data = bodies[-1]["data"]
    assert (data["status"], data["fail_reason"], data["result_url"]) == ("FAILURE", "nope", "")


async def test_simple_shape_answers_mindvideo_statuses_and_a_url(
    client: httpx.AsyncClient, clock: ManualClock, gateway_auth: dict[str, str], order: Order
) -> None:
    """Shape C: code "success", data.status queued/processing/succeeded and data.url."""
    task_id, bodies = await query_over_time(
        client, clock, gateway_auth, order(prompt="[sim:shape=simple]")
    )
    assert [b["data"]["status"] for b in bodies] == ["queued", "processing", "succeeded"]
    assert bodies[0]["data"]["url"] == ""
    assert bodies[-1] == {
        "code": "success",
        "message": "",
        "data": {
            "error": None,
            "format": "mp4",
            "metadata": None,
            "status": "succeeded",
            "task_id": task_id,
            "url": f"http://sim.test/media/out/{task_id}-8s.mp4",
        },
    }


async def test_simple_shape_reports_a_failure_in_error(
    client: httpx.AsyncClient, clock: ManualClock, gateway_auth: dict[str, str], order: Order
) -> None:
    """Shape C: a failed task has status failed and the reason in data.error."""
    _, bodies = await query_over_time(
        client, clock, gateway_auth, order(prompt="[sim:shape=simple][sim:fail]")
    )
    assert bodies[-1]["data"]["status"] == "failed"
    assert bodies[-1]["data"]["error"] == "content risk control"


async def test_openai_shape_answers_a_video_object(
    client: httpx.AsyncClient,
    clock: ManualClock,
    gateway_auth: dict[str, str],
    order: Order,
    start: float,
) -> None:
    """Shape D: object "video", OpenAI statuses, int progress, metadata.url and seconds."""
    task_id, bodies = await query_over_time(
        client, clock, gateway_auth, order(prompt="[sim:shape=openai]", model_name="kling-v3")
    )
    assert [b["status"] for b in bodies] == ["queued", "in_progress", "completed"]
    assert [b["progress"] for b in bodies] == [0, 25, 100]
    assert bodies[-1] == {
        "id": task_id,
        "task_id": task_id,
        "object": "video",
        "model": "kling-v3",
        "status": "completed",
        "progress": 100,
        "created_at": int(start * 1000),
        "completed_at": int((start + 3) * 1000),
        "seconds": "8",
        "metadata": {"url": f"http://sim.test/media/out/{task_id}-8s.mp4"},
    }


async def test_openai_shape_reports_a_failure_in_error(
    client: httpx.AsyncClient, clock: ManualClock, gateway_auth: dict[str, str], order: Order
) -> None:
    """Shape D: a failed task has status failed and error.message the reason."""
    _, bodies = await query_over_time(
        client, clock, gateway_auth, order(prompt="[sim:shape=openai][sim:fail=bad pose]")
    )
    assert bodies[-1]["status"] == "failed"
    assert bodies[-1]["error"]["message"] == "bad pose"
    assert "metadata" not in bodies[-1]


async def test_shape_marker_leaves_the_submit_kling_native(
    client: httpx.AsyncClient, gateway_auth: dict[str, str], order: Order
) -> None:
    """Only queries change shape; the submit still answers Kling-native."""
    response = await client.post(
        GATEWAY_SUBMIT, json=order(prompt="[sim:shape=openai]"), headers=gateway_auth
    )
    assert response.json()["code"] == 0
    assert response.json()["data"]["task_status"] == "submitted"
