"""Push instead of poll, against real processes: live events, the reconciler, webhooks, callbacks.

The embedded tests run everywhere; those across processes need REDIS_URL (CI sets it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import standardwebhooks

from tests.e2e.live import ROOT, Live, clean_env, free_port, serve, shared_redis_env
from tests.e2e.sse import read_sse, receiving

KEY = "mv_live_push"
needs_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")


def text2video(prompt: str = "a cat", **extra: object) -> dict[str, object]:
    return {"model": "kling-v3", "input": {"prompt": prompt}, **extra}


def submit(live: Live, body: dict[str, object]) -> str:
    response = httpx.post(
        f"{live.url}/api/v1/tasks", json=body, headers={"Authorization": f"Bearer {KEY}"}
    )
    assert response.status_code == 200, response.text
    task_id: str = response.json()["task_id"]
    return task_id


@pytest.fixture(scope="module")
def embedded() -> Iterator[Live]:
    live = serve(
        clean_env(
            MVA_BOOTSTRAP_KEY=KEY, MVA_WEBHOOK_ALLOW_HOSTS="127.0.0.1", MVA_SSE_HEARTBEAT="0.3"
        )
    )
    yield live
    live.stop()


def test_a_task_nobody_polls_streams_to_its_end_and_the_stream_closes(embedded: Live) -> None:
    """SSE with no GET at all: the in-process reconciler moves the task; heartbeats between."""
    task_id = submit(embedded, text2video())
    events, heartbeats = read_sse(embedded.url, KEY, task_id)
    assert [e["status"] for e in events] == ["queued", "processing", "succeeded"]
    assert heartbeats >= 1  # 0.4 s queued + 0.8 s processing, at a 0.3 s heartbeat
    # Resuming after the second event gives only the third; after the last, nothing.
    rest, _ = read_sse(embedded.url, KEY, task_id, last_id=events[1]["id"])
    assert rest == events[2:]
    assert read_sse(embedded.url, KEY, task_id, last_id=events[2]["id"])[0] == []


def test_a_plain_get_of_events_stays_json(embedded: Live) -> None:
    task_id = submit(embedded, text2video())
    response = httpx.get(
        f"{embedded.url}/api/v1/tasks/{task_id}/events",
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert response.headers["content-type"] == "application/json"
    assert response.json()["events"][0]["status"] == "queued"


def test_a_webhook_is_retried_after_a_failure_and_verifies_with_the_published_scheme(
    embedded: Live,
) -> None:
    """The receiver fails once (500); the retry 5 s later is delivered; both are events."""
    auth = {"Authorization": f"Bearer {KEY}"}
    secret = httpx.get(f"{embedded.url}/api/v1/webhooks/secret", headers=auth).json()["secret"]
    with receiving(500) as receiver:
        task_id = submit(embedded, text2video(webhook_url=receiver.url))
        received = receiver.wait_for(2, timeout=20)
    assert [status for _, _, status in received] == [500, 200]
    (headers, body, _), (retry_headers, retry_body, _) = received
    payload = standardwebhooks.Webhook(secret).verify(retry_body, retry_headers)
    assert payload["type"] == "task.succeeded"
    assert payload["data"]["task_id"] == task_id
    assert payload["data"]["output"]["videos"][0]["url"]
    assert headers["webhook-id"] == retry_headers["webhook-id"]
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(body + b" ", headers)
    events = httpx.get(f"{embedded.url}/api/v1/tasks/{task_id}/events", headers=auth).json()
    attempts = [e for e in events["events"] if e["type"] == "webhook"]
    assert [(e["attempt"], e["response_status"]) for e in attempts] == [(1, 500), (2, 200)]
    # A stream resumed after the end closes at once; webhook events are in the list only.
    final = next(e for e in events["events"] if e.get("status") == "succeeded")
    assert read_sse(embedded.url, KEY, task_id, last_id=final["id"], limit_s=2) == ([], 0)
    assert json.loads(body)["data"]["status"] == "succeeded"


# --- across processes, on one Redis ----------------------------------------------------


@pytest.fixture(scope="module")
def shared(upstream: Live) -> Iterator[dict[str, str]]:
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs REDIS_URL")
    with shared_redis_env(upstream, KEY, MVA_CALLBACK_SECRET="e2e-callback-secret") as env:
        yield env


@needs_redis
def test_a_stream_in_one_process_gets_the_cancel_made_in_another(shared: dict[str, str]) -> None:
    """No reconciler anywhere: only B's cancel moves the task, and A's stream carries it."""
    env = {**shared, "MVA_RECONCILER": "off"}
    a, b = serve(env), serve(env)
    try:
        task_id = submit(a, text2video("wait [sim:stay-queued]"))
        with ThreadPoolExecutor(1) as pool:
            stream = pool.submit(read_sse, a.url, KEY, task_id)
            cancelled = httpx.post(
                f"{b.url}/api/v1/tasks/{task_id}/cancel",
                headers={"Authorization": f"Bearer {KEY}"},
            )
            assert cancelled.status_code == 200
            events, _ = stream.result(timeout=15)
        assert [e["status"] for e in events] == ["queued", "cancelled"]
    finally:
        a.stop()
        b.stop()


@needs_redis
def test_upstream_callbacks_move_tasks_with_no_polling_anywhere(shared: dict[str, str]) -> None:
    """MVA_PUBLIC_URL set, reconciler off: the simulator's callbacks alone end the task."""
    port = free_port()
    env = {**shared, "MVA_RECONCILER": "off", "MVA_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    a = Live(["serve", "--port", str(port)], env, port)
    try:
        task_id = submit(a, text2video())
        events, _ = read_sse(a.url, KEY, task_id)
        assert [e["status"] for e in events] == ["queued", "processing", "succeeded"]
        forged = httpx.post(f"{a.url}/callbacks/kling/{task_id}?token=forged", json={})
        assert forged.status_code == 403
        assert forged.json()["error"]["code"] == "invalid_callback_token"
    finally:
        a.stop()


@needs_redis
def test_a_worker_process_advances_tasks_for_a_serve_without_a_reconciler(
    shared: dict[str, str],
) -> None:
    env = {**shared, "MVA_RECONCILER": "off"}
    a = serve(env)
    worker = subprocess.Popen(
        [sys.executable, "-m", "adapter", "worker"],
        env=shared,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert worker.stdout is not None
        assert "reconciling tasks for kling" in worker.stdout.readline()
        task_id = submit(a, text2video())
        events, _ = read_sse(a.url, KEY, task_id)
        assert [e["status"] for e in events] == ["queued", "processing", "succeeded"]
    finally:
        worker.terminate()
        assert worker.wait(timeout=10) == 0
        a.stop()
