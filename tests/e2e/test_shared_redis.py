"""Several adapter processes on one Redis act as one service (needs REDIS_URL; CI sets it)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis

from tests.e2e.live import ROOT, Live, serve, shared_redis_env, wait_terminal

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
KEY = "mv_live_shared_redis"


@pytest.fixture(scope="module")
def shared_env(upstream: Live) -> Iterator[dict[str, str]]:
    with shared_redis_env(
        upstream,
        KEY,
        MVA_MEDIA_REWRITES=f"example.com={upstream.url}/media",
        MVA_MEDIA_ALLOW_HOSTS="127.0.0.1",
    ) as env:
        yield env


@pytest.fixture(scope="module")
def pair(shared_env: dict[str, str]) -> Iterator[tuple[Live, Live]]:
    a, b = serve(shared_env), serve(shared_env)
    yield a, b
    a.stop()
    b.stop()


def payload(prompt: str = "wave") -> dict[str, object]:
    return {
        "model": "kling-v2-6-motion-control",
        "input": {
            "prompt": prompt,
            "character_orientation": "image",
            "mode": "std",
            "image_url": "https://example.com/me.png",
            "video_url": "https://example.com/ref-6s.mp4",
        },
    }


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "adapter", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_concurrent_retries_across_processes_make_one_task(
    pair: tuple[Live, Live], upstream: Live
) -> None:
    """Eight racing submits with one key, split over two processes: one task, one upstream call."""
    headers = {"Authorization": f"Bearer {KEY}", "Idempotency-Key": "order-42"}
    body = payload("wave [sim:slow=1]")

    def post(i: int) -> httpx.Response:
        return httpx.post(f"{pair[i % 2].url}/api/v1/tasks", json=body, headers=headers, timeout=30)

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(post, range(8)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["task_id"] for r in responses}) == 1
    assert sum("Idempotent-Replayed" not in r.headers for r in responses) == 1
    task_id = responses[0].json()["task_id"]
    # The upstream knows the task by our id exactly once (a second would have been refused).
    found = httpx.get(
        f"{upstream.url}/v1/video/generations/{task_id}",
        headers={"Authorization": "Bearer sim-key"},
    )
    assert found.json()["data"]["task_info"]["external_task_id"] == task_id


def test_a_task_made_in_one_process_is_followed_in_another(pair: tuple[Live, Live]) -> None:
    """Submit through A, poll through B: queued, processing, succeeded; events from both agree."""
    a, b = pair
    auth = {"Authorization": f"Bearer {KEY}"}
    task_id = httpx.post(f"{a.url}/api/v1/tasks", json=payload(), headers=auth).json()["task_id"]
    with httpx.Client(base_url=b.url, headers=auth) as client:
        assert wait_terminal(client, task_id) == ["queued", "processing", "succeeded"]
    events_a = httpx.get(f"{a.url}/api/v1/tasks/{task_id}/events", headers=auth).json()
    events_b = httpx.get(f"{b.url}/api/v1/tasks/{task_id}/events", headers=auth).json()
    assert events_a == events_b
    assert [e["status"] for e in events_a["events"]] == ["queued", "processing", "succeeded"]


def test_every_key_the_processes_write_is_under_their_namespace(
    pair: tuple[Live, Live], shared_env: dict[str, str]
) -> None:
    """Tasks, events, keys and schedules all live under MVA_REDIS_NAMESPACE, so the suite (or a
    second adapter) on someone's Redis deletes only its own keys, never a whole database."""
    auth = {"Authorization": f"Bearer {KEY}"}
    task_id = httpx.post(f"{pair[0].url}/api/v1/tasks", json=payload(), headers=auth).json()[
        "task_id"
    ]
    db = redis.Redis.from_url(shared_env["REDIS_URL"])
    try:
        mine = [k.decode() for k in db.scan_iter(match=f"*{task_id}*")]
        keys_of_key = [k.decode() for k in db.scan_iter(match="*:apikey:*")]
    finally:
        db.close()
    namespace = shared_env["MVA_REDIS_NAMESPACE"]
    assert mine and all(k.startswith(f"{namespace}:") for k in mine)
    assert any(k.startswith(f"{namespace}:") for k in keys_of_key)


def test_key_commands_take_effect_in_every_process_at_once(
    pair: tuple[Live, Live], shared_env: dict[str, str]
) -> None:
    """keys create works everywhere; disable and delete are refused by both at the next request."""
    out = cli(shared_env, "keys", "create", "--name", "shop")
    key = next(line.split()[-1] for line in out.splitlines() if line.startswith("key:"))
    key_id = next(line.split()[-1] for line in out.splitlines() if line.startswith("id:"))
    listed = cli(shared_env, "keys", "list")
    assert key_id in listed and "shop" in listed and "active" in listed and key not in listed

    def codes() -> set[object]:
        return {
            httpx.get(
                f"{live.url}/api/v1/tasks/task_none", headers={"Authorization": f"Bearer {key}"}
            ).json()["error"]["code"]
            for live in pair
        }

    assert codes() == {"task_not_found"}
    cli(shared_env, "keys", "disable", key_id)
    assert codes() == {"api_key_disabled"}
    cli(shared_env, "keys", "enable", key_id)
    assert codes() == {"task_not_found"}
    cli(shared_env, "keys", "delete", key_id)
    assert codes() == {"invalid_api_key"}


def test_serve_with_two_workers_runs_its_own_simulator(shared_env: dict[str, str]) -> None:
    """--workers 2 on Redis with no upstream set: the simulator runs beside the workers."""
    env = {k: v for k, v in shared_env.items() if not k.startswith(("KLING_", "MVA_MEDIA"))}
    live = serve(env, "--workers", "2")
    try:
        with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {KEY}"}) as c:
            answer = c.post("/api/v1/tasks", json=payload())
            task = answer.json()
            assert task.get("cost_estimate") == 0.048195, answer.text  # the real 6 s, probed
            assert wait_terminal(c, task["task_id"])[-1] == "succeeded"
    finally:
        live.stop()
