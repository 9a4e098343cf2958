"""client -> adapter (serve) -> a stock new-api (the simulator's ``/newapi``) -> Kling, over
real sockets: what the issue's drill found broken, now working end to end."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.live import Live, clean_env, serve, wait_terminal

KEY = "mv_live_newapi_chain"


@pytest.fixture(scope="module")
def adapter(upstream: Live) -> Iterator[Live]:
    live = serve(
        clean_env(
            MVA_BOOTSTRAP_KEY=KEY,
            KLING_BASE_URL=f"{upstream.url}/newapi",
            KLING_API_KEY="sim-key",
            MVA_MEDIA_PROBE="best_effort",
            MVA_MEDIA_REWRITES=f"example.com={upstream.url}/media",
            MVA_MEDIA_ALLOW_HOSTS="127.0.0.1",
        )
    )
    yield live
    live.stop()


def client(live: Live) -> httpx.Client:
    return httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {KEY}"})


def test_a_kling_v3_task_runs_to_success_through_new_api(adapter: Live) -> None:
    with client(adapter) as c:
        submitted = c.post(
            "/api/v1/tasks", json={"model": "kling-v3", "input": {"prompt": "a red car"}}
        )
        assert submitted.status_code == 200, submitted.text
        task = submitted.json()
        assert task["cost_estimate"] == 0.0756
        assert wait_terminal(c, task["task_id"])[-1] == "succeeded"
        final = c.get(f"/api/v1/tasks/{task['task_id']}").json()
        assert final["output"]["videos"][0]["url"].endswith("-5s.mp4")


def test_a_failed_task_carries_new_apis_reason(adapter: Live) -> None:
    with client(adapter) as c:
        task = c.post(
            "/api/v1/tasks",
            json={"model": "kling-v2-6", "input": {"prompt": "x [sim:fail=no face found]"}},
        ).json()
        assert wait_terminal(c, task["task_id"])[-1] == "failed"
        final = c.get(f"/api/v1/tasks/{task['task_id']}").json()
        assert final["error"] == {"code": "generation_failed", "message": "no face found"}


def test_motion_control_through_new_api_is_refused_at_once_naming_the_route(
    adapter: Live, upstream: Live
) -> None:
    """Its web UI answers the route it lacks: a 502 right away, no task left queued."""
    body = {
        "model": "kling-v2-6-motion-control",
        "input": {
            "character_orientation": "image",
            "image_url": "https://example.com/me.png",
            "video_url": "https://example.com/ref-6s.mp4",
            "mode": "std",
        },
    }
    with client(adapter) as c:
        answer = c.post("/api/v1/tasks", json=body, headers={"Idempotency-Key": "mc-1"})
        assert answer.status_code == 502
        assert "Retry-After" not in answer.headers
        error = answer.json()["error"]
        assert error["code"] == "upstream_unavailable"
        route = f"POST {upstream.url}/newapi/kling/v1/videos/motion-control"
        assert "a web page" in error["message"] and route in error["message"]
        listed = c.get("/api/v1/tasks").json()["data"]
        assert all(t["model"] != "kling-v2-6-motion-control" for t in listed)


def test_a_relayed_refusal_reads_in_the_providers_own_words(adapter: Live) -> None:
    with client(adapter) as c:
        answer = c.post(
            "/api/v1/tasks",
            json={"model": "kling-v2-6", "input": {"prompt": "x [sim:nonsense]"}},
        )
        assert answer.status_code == 422
        error = answer.json()["error"]
        assert error["code"] == "upstream_rejected"
        assert error["message"].startswith("unknown simulator marker")
