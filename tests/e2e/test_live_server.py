"""The real program over real sockets: the README's promises, end to end."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.catalogue import NEW
from tests.e2e.live import Live, clean_env, run_seed_curl, serve, wait_terminal

KEY = "mv_test_e2e_key"


@pytest.fixture(scope="module")
def embedded() -> Iterator[Live]:
    """``mindvideo-adapter serve`` with no configuration but a known key."""
    live = serve(clean_env(MVA_BOOTSTRAP_KEY=KEY))
    yield live
    live.stop()


def test_the_banner_prints_the_address_and_a_usable_key() -> None:
    """With no settings at all, serve prints where it listens and a key that works."""
    live = serve(clean_env())
    try:
        banner = live.output()
        assert live.url in banner
        key = next(line.split()[-1] for line in banner.splitlines() if "API key:" in line)
        assert key.startswith("mv_test_")
        response = httpx.get(
            f"{live.url}/api/v1/tasks/task_x", headers={"Authorization": f"Bearer {key}"}
        )
        assert response.json()["error"]["code"] == "task_not_found"
    finally:
        live.stop()


def test_the_seed_curl_example_runs_verbatim_and_the_task_succeeds(embedded: Live) -> None:
    """curl from the model page: queued with cost 0.06426, then processing, then succeeded."""
    task = run_seed_curl(embedded.url, KEY)
    assert task["status"] == "queued"
    assert task["cost_estimate"] == 0.06426
    assert task["request_id"].startswith("req_") and task["task_id"].startswith("task_")
    with httpx.Client(base_url=embedded.url, headers={"Authorization": f"Bearer {KEY}"}) as c:
        assert wait_terminal(c, task["task_id"]) == ["queued", "processing", "succeeded"]
        final = c.get(f"/api/v1/tasks/{task['task_id']}").json()
        assert final["cost_actual"] == 0.06426
        video = final["output"]["videos"][0]
        assert video["duration"] == 8.0
        assert httpx.get(video["url"]).status_code == 200
        events = c.get(f"/api/v1/tasks/{task['task_id']}/events").json()["events"]
        assert [e["status"] for e in events] == ["queued", "processing", "succeeded"]
        assert [e["at"] for e in events] == sorted(e["at"] for e in events)


@pytest.mark.parametrize(
    ("model", "cost", "seconds"),
    [("kling-v3", 0.0756, 5.0), ("kling-v2-6", 0.0414, 5.0), ("wan2-6-i2v-flash", 0.0315, 5.0)],
)
def test_each_new_seed_curl_runs_verbatim_and_the_task_succeeds(
    embedded: Live, model: str, cost: float, seconds: float
) -> None:
    """Seeds 001-003: the page's cost_estimate, then a succeeded task with a video."""
    task = run_seed_curl(embedded.url, KEY, model)
    assert (task["model"], task["status"], task["cost_estimate"]) == (model, "queued", cost)
    assert "notices" not in task
    with httpx.Client(base_url=embedded.url, headers={"Authorization": f"Bearer {KEY}"}) as c:
        assert wait_terminal(c, task["task_id"])[-1] == "succeeded"
        final = c.get(f"/api/v1/tasks/{task['task_id']}").json()
        assert final["cost_actual"] == cost
        [video] = final["output"]["videos"]
        assert video["duration"] == seconds
        assert httpx.get(video["url"]).status_code == 200
        events = c.get(f"/api/v1/tasks/{task['task_id']}/events").json()["events"]
        assert [e["status"] for e in events][-1] == "succeeded"


def test_the_models_endpoint_lists_every_model_and_where_its_schema_came_from(
    embedded: Live,
) -> None:
    with httpx.Client(base_url=embedded.url, headers={"Authorization": f"Bearer {KEY}"}) as c:
        models = {m["model"]: m for m in c.get("/api/v1/models").json()["data"]}
    assert {slug: m["schema_source"] for slug, m in models.items()} == {
        "kling-v2-6-motion-control": "page",
        "kling-v2-6": "page",
        "kling-v3": "page",
        "wan2-6-i2v-flash": "page",
        "kling-v3-motion-control": "derived",
        "kling-v3-omni": "derived",
        "kling-video-o1": "derived",
        **{slug: "partial" for slug in NEW},
    }
    assert "kling-v3's schema" in models["kling-video-o1"]["schema_from"]
    assert "/models/viduq3/docs" in models["viduq3"]["schema_from"]


def test_a_scripted_failure_reaches_the_client_with_its_reason(embedded: Live) -> None:
    """A [sim:fail=...] prompt ends failed, with the upstream's reason and no charge."""
    payload = {
        "model": "kling-v2-6-motion-control",
        "input": {
            "prompt": "wave [sim:fail=face not detected]",
            "character_orientation": "video",
            "image_url": "https://example.com/me.png",
            "mode": "pro",
            "video_url": "https://example.com/dance-20s.mp4",
        },
    }
    with httpx.Client(base_url=embedded.url, headers={"Authorization": f"Bearer {KEY}"}) as c:
        task = c.post("/api/v1/tasks", json=payload).json()
        assert task["cost_estimate"] == 0.26775  # 20 s at the pro rate
        assert wait_terminal(c, task["task_id"])[-1] == "failed"
        final = c.get(f"/api/v1/tasks/{task['task_id']}").json()
        assert final["error"] == {"code": "generation_failed", "message": "face not detected"}
        assert final["cost_actual"] == 0


def test_a_video_too_long_for_the_orientation_is_422_on_video_url(embedded: Live) -> None:
    """The probe reads the real length (12 s) over HTTP ranges and enforces 3-10 s."""
    payload = {
        "model": "kling-v2-6-motion-control",
        "input": {
            "character_orientation": "image",
            "image_url": "https://example.com/me.png",
            "mode": "std",
            "video_url": "https://example.com/clip-12s.mp4",
        },
    }
    response = httpx.post(
        f"{embedded.url}/api/v1/tasks", json=payload, headers={"Authorization": f"Bearer {KEY}"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["param"] == "input.video_url"


def test_the_official_dialect_works_against_the_simulator() -> None:
    """KLING_ACCESS_KEY + KLING_SECRET_KEY: JWT auth and the official paths, end to end."""
    from tests.e2e.live import simulate

    upstream = simulate()
    key = "mv_live_e2e_official"  # a test key would be served by the built-in simulator
    live = serve(
        clean_env(
            MVA_BOOTSTRAP_KEY=key,
            KLING_BASE_URL=upstream.url,
            KLING_ACCESS_KEY="sim-ak",
            KLING_SECRET_KEY="sim-sk",
            MVA_MEDIA_PROBE="best_effort",
        )
    )
    try:
        with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {key}"}) as c:
            task = c.post(
                "/api/v1/tasks",
                json={
                    "model": "kling-v2-6-motion-control",
                    "input": {
                        "character_orientation": "image",
                        "image_url": "https://cdn.example.org/a.png",
                        "mode": "std",
                        "video_url": "https://cdn.example.org/ref-5s.mp4",
                    },
                },
            ).json()
            assert task["notices"][0]["code"] == "video_duration_estimated"
            assert wait_terminal(c, task["task_id"])[-1] == "succeeded"
    finally:
        live.stop()
        upstream.stop()


def test_a_lost_submit_answer_is_reconciled_not_paid_twice() -> None:
    """The upstream is slower than our timeout: the task stays queued, is found by its
    external_task_id on the next read, and succeeds; a retry replays it, no second submit."""
    live = serve(clean_env(MVA_BOOTSTRAP_KEY=KEY, MVA_UPSTREAM_TIMEOUT="1"))
    payload = {
        "model": "kling-v2-6-motion-control",
        "input": {
            "prompt": "wave [sim:slow=3]",
            "character_orientation": "image",
            "mode": "std",
            "image_url": "https://example.com/me.png",
            "video_url": "https://example.com/ref-5s.mp4",
        },
    }
    headers = {"Authorization": f"Bearer {KEY}", "Idempotency-Key": "lost-answer"}
    try:
        with httpx.Client(base_url=live.url, headers=headers, timeout=30) as c:
            first = c.post("/api/v1/tasks", json=payload)
            assert first.status_code == 200
            assert first.json()["status"] == "queued"
            again = c.post("/api/v1/tasks", json=payload)
            assert again.headers["Idempotent-Replayed"] == "true"
            assert again.json()["task_id"] == first.json()["task_id"]
            assert wait_terminal(c, first.json()["task_id"])[-1] == "succeeded"
        assert "task.submit_unknown" in live.output()
    finally:
        live.stop()


def test_the_simulators_videos_are_linked_at_its_public_url() -> None:
    """Behind a published port (docker compose), clients fetch videos at MVA_SIM_PUBLIC_URL."""
    live = serve(clean_env(MVA_BOOTSTRAP_KEY=KEY, MVA_SIM_PUBLIC_URL="http://videos.example:9100"))
    try:
        with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {KEY}"}) as c:
            task = c.post("/api/v1/tasks", json={"model": "kling-v3", "input": {"prompt": "x"}})
            task_id = task.json()["task_id"]
            assert wait_terminal(c, task_id)[-1] == "succeeded"
            url = c.get(f"/api/v1/tasks/{task_id}").json()["output"]["videos"][0]["url"]
        assert url.startswith("http://videos.example:9100/media/out/")
    finally:
        live.stop()


def test_a_blank_item_in_a_media_list_is_422_naming_it(embedded: Live) -> None:
    """Found by the OpenAPI property test: ``image_urls: [""]`` was sent on (and refused
    upstream) or, once blanks were skipped, failed the body mapping with a 500."""
    with httpx.Client(base_url=embedded.url, headers={"Authorization": f"Bearer {KEY}"}) as c:
        answer = c.post(
            "/api/v1/tasks", json={"model": "wan2-6-i2v-flash", "input": {"image_urls": [""]}}
        )
    assert answer.status_code == 422
    assert answer.json()["error"]["param"] == "input.image_urls[0]"


def test_the_adapters_own_log_lines_print_at_mvas_log_level() -> None:
    """At info the access log prints (a line per request, with its id); at warning it does
    not. Before, only uvicorn's loggers had a handler, whatever MVA_LOG_LEVEL said."""
    for level, printed in (("info", True), ("warning", False)):
        live = serve(clean_env(MVA_BOOTSTRAP_KEY=KEY, MVA_LOG_LEVEL=level))
        try:
            answer = httpx.get(f"{live.url}/healthz")
            request_id = answer.headers["X-Request-ID"]
            time.sleep(0.2)
            output = live.output()
        finally:
            live.stop()
        line = f"adapter.access http.request request_id={request_id} method=GET path=/healthz"
        assert (line in output) is printed, output
