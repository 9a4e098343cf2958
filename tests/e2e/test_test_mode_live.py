"""Test mode over HTTP, on ``serve`` with a configured upstream that is down: a test key is
served end to end by the built-in simulator beside it (the seed's curl, example.com media
and all), a live key only ever by the configured upstream, and neither sees the other's tasks."""

from __future__ import annotations

import httpx

from tests.e2e.live import clean_env, free_port, run_seed_curl, serve, wait_terminal

TEST_KEY = "mv_test_test_mode_live"
ADMIN = "admin-token-test-mode-live"
KLING_V3 = {
    "model": "kling-v3",
    "input": {"prompt": "A red sports car on a coastal road", "duration": 5, "mode": "std"},
}


def test_test_keys_reach_only_the_simulator_and_live_keys_only_the_configured_upstream() -> None:
    dead = free_port()  # nothing listens there: the "paid" upstream refuses every connection
    live = serve(
        clean_env(
            MVA_BOOTSTRAP_KEY=TEST_KEY,
            MVA_ADMIN_TOKEN=ADMIN,
            KLING_BASE_URL=f"http://127.0.0.1:{dead}",
            KLING_API_KEY="paid-account",
        )
    )
    try:
        assert "test keys: built-in simulator" in live.output()
        # The seed's own curl: its example.com media are the simulator's for a test task,
        # even though a configured provider makes the media probe required.
        made = run_seed_curl(live.url, TEST_KEY)
        assert made["mode"] == "test", made
        with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {TEST_KEY}"}) as c:
            assert wait_terminal(c, made["task_id"])[-1] == "succeeded"
            test_models = {m["model"] for m in c.get("/api/v1/models").json()["data"]}
            wan = c.post("/api/v1/tasks", json=KLING_V3 | {"model": "wan2-6-i2v-flash"})
        assert "wan2-6-i2v-flash" in test_models  # the simulator makes every model
        assert wan.status_code == 422  # a Wan model takes an image; the point: not unknown_model
        assert wan.json()["error"]["code"] != "unknown_model"

        created = httpx.post(
            f"{live.url}/admin/v1/keys",
            headers={"Authorization": f"Bearer {ADMIN}"},
            json={"name": "production", "owner": "bootstrap", "mode": "live"},
        )
        assert created.status_code == 201, created.text
        live_key = created.json()["secret"]
        with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {live_key}"}) as c:
            live_models = {m["model"] for m in c.get("/api/v1/models").json()["data"]}
            refused = c.post("/api/v1/tasks", json=KLING_V3)
            hidden = c.get(f"/api/v1/tasks/{made['task_id']}")
            listed = c.get("/api/v1/tasks").json()["data"]
        assert "kling-v3" in live_models < test_models  # Kling's only: no DashScope configured
        assert "wan2-6-i2v-flash" not in live_models
        # The configured upstream is down, and the simulator beside it is never the fallback.
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "upstream_unavailable"
        assert hidden.status_code == 404 and listed == []
    finally:
        live.stop()
