"""Every video page of MindVideo's catalogue, through the live server: each page's curl
example, verbatim but for host and key, costs what its page shows and runs to ``succeeded``,
on the embedded default and on configured upstreams (Kling, DashScope and new-api, all
simulated in a process of their own); the Wan models also through new-api alone, and when
DashScope refuses (the next host takes them)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.catalogue import IMAGE_MODELS, NEW, PAGE_COSTS, UNCARRIED
from tests.e2e.live import Live, clean_env, run_seed_curl, serve, wait_terminal
from tests.models import CATALOG

KEY = "mv_live_catalogue_pages"
#: The models both DashScope and new-api carry.
ALIBABA = tuple(spec.slug for spec in CATALOG if {"dashscope", "newapi"} <= spec.carriers.keys())


def upstreams(upstream: Live, dashscope_key: str = "sim-dashscope-key") -> Live:
    return serve(
        clean_env(
            MVA_BOOTSTRAP_KEY=KEY,
            KLING_BASE_URL=upstream.url,
            KLING_API_KEY="sim-key",
            DASHSCOPE_BASE_URL=upstream.url,
            DASHSCOPE_API_KEY=dashscope_key,
            NEWAPI_BASE_URL=f"{upstream.url}/newapi",
            NEWAPI_API_KEY="sim-key",
            MVA_MEDIA_PROBE="best_effort",
            MVA_MEDIA_REWRITES=f"example.com={upstream.url}/media",
            MVA_MEDIA_ALLOW_HOSTS="127.0.0.1",
        )
    )


@pytest.fixture(scope="module")
def embedded() -> Iterator[Live]:
    live = serve(clean_env(MVA_BOOTSTRAP_KEY=KEY))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def configured(upstream: Live) -> Iterator[Live]:
    live = upstreams(upstream)
    yield live
    live.stop()


@pytest.fixture(scope="module")
def dashscope_refuses(upstream: Live) -> Iterator[Live]:
    """DashScope refuses our key: every Wan task must go on to new-api."""
    live = upstreams(upstream, dashscope_key="sk-revoked")
    yield live
    live.stop()


def run(live: Live, model: str) -> dict[str, object]:
    task = run_seed_curl(live.url, KEY, model)
    assert (task["model"], task["status"]) == (model, "queued"), task
    assert task["cost_estimate"] == float(PAGE_COSTS[model])
    with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {KEY}"}) as c:
        assert wait_terminal(c, task["task_id"])[-1] == "succeeded"
        final: dict[str, object] = c.get(f"/api/v1/tasks/{task['task_id']}").json()
    assert final["cost_actual"] == float(PAGE_COSTS[model])
    return final


@pytest.mark.parametrize("setup", ["embedded", "configured"])
@pytest.mark.parametrize("model", NEW)
def test_each_page_example_runs_verbatim_at_its_cost(
    request: pytest.FixtureRequest, setup: str, model: str
) -> None:
    final = run(request.getfixturevalue(setup), model)
    [video] = final["output"]["videos"]  # type: ignore[index]
    assert video["url"].startswith("http://127.0.0.1:")  # the simulator's media route


@pytest.mark.parametrize("model", ALIBABA)
def test_a_host_that_refuses_our_key_hands_wan_to_the_next(
    dashscope_refuses: Live, model: str
) -> None:
    run(dashscope_refuses, model)


@pytest.mark.parametrize("model", [*UNCARRIED, IMAGE_MODELS[0]])
def test_a_catalogue_slug_not_served_says_why(embedded: Live, model: str) -> None:
    with httpx.Client(base_url=embedded.url, headers={"Authorization": f"Bearer {KEY}"}) as c:
        answer = c.post("/api/v1/tasks", json={"model": model, "input": {"prompt": "x"}})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "unknown_model" and CATALOG.why_unserved(model) in error["message"]
