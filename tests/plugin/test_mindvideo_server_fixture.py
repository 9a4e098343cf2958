"""The ``mindvideo_server`` fixture as a user's test suite gets it: from the installed
package's pytest11 entry point, with no import and no conftest of ours."""

from __future__ import annotations

import importlib.metadata
import time
from typing import Any

import httpx
import pytest

from adapter.testing import MindVideoServer

TEXT_TO_VIDEO = {
    "model": "kling-v3",
    "input": {"prompt": "A red sports car on a coastal road", "duration": 5, "mode": "std"},
}


def client(server: MindVideoServer) -> httpx.Client:
    return httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {server.api_key}"}
    )


def finished(c: httpx.Client, task_id: str, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task: dict[str, Any] = c.get(f"/api/v1/tasks/{task_id}").json()
        if task["status"] in ("succeeded", "failed", "cancelled"):
            return task
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} did not end in {timeout} s")


def test_the_plugin_is_the_packages_pytest11_entry_point() -> None:
    plugins = importlib.metadata.entry_points(group="pytest11")
    assert [p.value for p in plugins if p.name == "mindvideo"] == ["adapter.testing.pytest_plugin"]


def test_a_task_runs_to_a_video_on_the_fixtures_server(mindvideo_server: MindVideoServer) -> None:
    assert mindvideo_server.api_key.startswith("mv_test_")
    with client(mindvideo_server) as c:
        made = c.post("/api/v1/tasks", json=TEXT_TO_VIDEO)
        assert made.status_code == 200, made.text
        task = finished(c, made.json()["task_id"])
        assert task["status"] == "succeeded"
        video = httpx.get(task["output"]["videos"][0]["url"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"


def test_fail_next_fails_the_next_task_with_the_reason_whatever_its_prompt(
    mindvideo_server: MindVideoServer,
) -> None:
    mindvideo_server.fail_next("content risk control: scripted")
    with client(mindvideo_server) as c:
        first = finished(c, c.post("/api/v1/tasks", json=TEXT_TO_VIDEO).json()["task_id"])
        second = finished(c, c.post("/api/v1/tasks", json=TEXT_TO_VIDEO).json()["task_id"])
    assert first["status"] == "failed"
    assert "content risk control: scripted" in first["error"]["message"]
    assert first["cost_actual"] == 0
    assert second["status"] == "succeeded"  # one outcome a call


def test_refuse_next_is_an_upstream_refusal_and_no_task(mindvideo_server: MindVideoServer) -> None:
    mindvideo_server.refuse_next(429)
    with client(mindvideo_server) as c:
        before = len(c.get("/api/v1/tasks", params={"limit": 100}).json()["data"])
        refused = c.post("/api/v1/tasks", json=TEXT_TO_VIDEO)
        after = len(c.get("/api/v1/tasks", params={"limit": 100}).json()["data"])
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "upstream_unavailable"
    assert after == before


def test_script_next_takes_the_prompt_markers(mindvideo_server: MindVideoServer) -> None:
    mindvideo_server.script_next("[sim:stay-queued]")
    with client(mindvideo_server) as c:
        task_id = c.post("/api/v1/tasks", json=TEXT_TO_VIDEO).json()["task_id"]
        time.sleep(1.0)  # past queue_s + process_s: an unscripted task would have ended
        assert c.get(f"/api/v1/tasks/{task_id}").json()["status"] == "queued"
    with pytest.raises(ValueError, match=r"\[sim:nope\]"):
        mindvideo_server.script_next("[sim:nope]")


def test_a_test_may_leave_an_outcome_queued(mindvideo_server: MindVideoServer) -> None:
    mindvideo_server.fail_next()
    assert mindvideo_server.queued == 1


def test_the_next_test_starts_with_nothing_queued(mindvideo_server: MindVideoServer) -> None:
    """Runs after the one above (file order): the fixture cleared what it left."""
    assert mindvideo_server.queued == 0
    with client(mindvideo_server) as c:
        task = finished(c, c.post("/api/v1/tasks", json=TEXT_TO_VIDEO).json()["task_id"])
    assert task["status"] == "succeeded"


def test_a_server_of_ones_own_starts_and_stops_cleanly() -> None:
    with MindVideoServer(queue_s=0, process_s=0) as server:
        assert httpx.get(f"{server.base_url}/healthz").status_code == 200
        url = server.base_url
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz", timeout=1)
