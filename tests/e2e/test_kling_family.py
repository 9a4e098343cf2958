"""MindVideo's other three Kling models, added as spec files only: each page's curl example,
verbatim but for host and key, costs what its page shows and runs to ``succeeded`` on the
simulator, through the gateway dialect (the embedded default) and the official one."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.live import Live, clean_env, run_seed_curl, serve, wait_terminal

KEY = "mv_live_kling_family"
#: (model, the page's example cost, the video's seconds)
PAGES = [
    ("kling-v3-motion-control", 0.11574, 8.0),
    ("kling-v3-omni", 0.0756, 5.0),
    ("kling-video-o1", 0.0756, 5.0),
]


@pytest.fixture(scope="module")
def gateway() -> Iterator[Live]:
    """The embedded default: the gateway dialect, aimed at the built-in simulator."""
    live = serve(clean_env(MVA_BOOTSTRAP_KEY=KEY))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def official(upstream: Live) -> Iterator[Live]:
    """The official Kling dialect (JWT), aimed at a simulator of its own."""
    live = serve(
        clean_env(
            MVA_BOOTSTRAP_KEY=KEY,
            KLING_BASE_URL=upstream.url,
            KLING_ACCESS_KEY="sim-ak",
            KLING_SECRET_KEY="sim-sk",
            MVA_MEDIA_PROBE="best_effort",
            MVA_MEDIA_REWRITES=f"example.com={upstream.url}/media",
            MVA_MEDIA_ALLOW_HOSTS="127.0.0.1",
        )
    )
    yield live
    live.stop()


@pytest.mark.parametrize("dialect", ["gateway", "official"])
@pytest.mark.parametrize(("model", "cost", "seconds"), PAGES)
def test_each_page_example_runs_verbatim_at_its_cost(
    request: pytest.FixtureRequest, dialect: str, model: str, cost: float, seconds: float
) -> None:
    live: Live = request.getfixturevalue(dialect)
    task = run_seed_curl(live.url, KEY, model)
    assert (task["model"], task["status"], task["cost_estimate"]) == (model, "queued", cost)
    with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {KEY}"}) as c:
        assert wait_terminal(c, task["task_id"])[-1] == "succeeded"
        final = c.get(f"/api/v1/tasks/{task['task_id']}").json()
    assert final["cost_actual"] == cost
    assert final["output"]["videos"][0]["duration"] == seconds
