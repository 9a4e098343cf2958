"""The gateway dialect against a stock new-api, as observed (the simulator's ``/newapi``).

A stock build refuses a Kling body without ``model``, knows tasks only by its own ids,
wraps the provider's refusals in ``fail_to_fetch_task``, and answers the routes it lacks
(motion-control, omni-video) with its web UI: upstream-contracts.md 1.9.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapter.core.errors import (
    ProviderBadAnswer,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTaskNotFound,
    ProviderUnavailable,
)
from adapter.core.values import TaskStatus
from adapter.providers.kling.provider import KlingProvider
from adapter.simulator.clock import ManualClock
from tests.contract.simulated import CONFIG, IMAGE, SIM, job
from tests.models import KLING

pytestmark = pytest.mark.anyio

NEWAPI = f"{SIM}/newapi"


def gateway(http: httpx.AsyncClient, clock: ManualClock, api_key: str = "") -> KlingProvider:
    return KlingProvider(
        "newapi",
        base_url=NEWAPI,
        http=http,
        dialect="gateway",
        api_key=api_key or CONFIG.api_key,
        clock=clock,
        carried=KLING,
    )


@pytest.mark.parametrize(
    ("model", "values", "family"),
    [
        ("kling-v2-6", {"prompt": "neon rain", "size": "16:9"}, "text2video"),
        ("kling-v2-6", {"prompt": "neon rain", "image_url": IMAGE}, "image2video"),
        ("kling-v3", {"prompt": "a red car", "duration": 5, "audio": True}, "text2video"),
    ],
)
async def test_a_kling_task_runs_to_success_through_new_api(
    http: httpx.AsyncClient, clock: ManualClock, model: str, values: dict[str, Any], family: str
) -> None:
    """Accepted under new-api's own id (so ``model`` was sent), then its TaskDto to a video."""
    provider = gateway(http, clock)
    state = await provider.submit(job(model, values))
    assert state.upstream_id.startswith("task_") and len(state.upstream_id) == 37
    assert (state.status, state.route) == (TaskStatus.QUEUED, family)
    clock.advance(1.5)
    assert (await provider.query(state.route, state.upstream_id)).status is TaskStatus.PROCESSING
    clock.advance(2.0)
    done = await provider.query(state.route, state.upstream_id)
    assert done.status is TaskStatus.SUCCEEDED
    [video] = done.videos
    assert video.url.startswith(f"{SIM}/media/out/") and video.duration == 5.0


async def test_without_model_new_api_refuses_every_submit(http: httpx.AsyncClient) -> None:
    """The refusal the adapter got before it sent ``model`` (the fix's reason to be)."""
    answer = await http.post(
        f"{NEWAPI}/kling/v1/videos/text2video",
        json={"model_name": "kling-v2-6", "prompt": "x", "external_task_id": "t1"},
        headers={"Authorization": f"Bearer {CONFIG.api_key}"},
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["code"], error["type"]) == ("", "new_api_error")
    assert error["message"].startswith("Model name not specified, model name cannot be empty")


async def test_a_failed_task_carries_new_apis_fail_reason(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    provider = gateway(http, clock)
    state = await provider.submit(job("kling-v2-6", {"prompt": "x [sim:fail=no face found]"}))
    clock.advance(10)
    done = await provider.query(state.route, state.upstream_id)
    assert (done.status, done.message) == (TaskStatus.FAILED, "no face found")


async def test_new_api_knows_no_task_by_our_id(http: httpx.AsyncClient, clock: ManualClock) -> None:
    """It drops ``external_task_id``: a lost answer's lookup is "not found" (the service ends
    the task once the submit window passes), never proof enough to resubmit."""
    provider = gateway(http, clock)
    the_job = job("kling-v2-6", {"prompt": "neon rain"})
    await provider.submit(the_job)
    with pytest.raises(ProviderTaskNotFound):
        await provider.lookup(the_job)


async def test_a_task_id_new_api_never_issued_is_task_not_found(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    with pytest.raises(ProviderTaskNotFound):
        await gateway(http, clock).query("text2video", "task_NeverIssuedByThisGateway00000000")


@pytest.mark.parametrize(
    ("model", "values", "route"),
    [
        (
            "kling-v2-6-motion-control",
            {
                "character_orientation": "image",
                "image_url": IMAGE,
                "video_url": "https://example.com/ref-video-8s.mp4",
                "mode": "std",
            },
            "motion-control",
        ),
        ("kling-v3", {"prompt": "refs", "image_urls": [IMAGE, IMAGE, IMAGE]}, "omni-video"),
    ],
)
async def test_a_route_new_api_lacks_fails_at_once_naming_it(
    http: httpx.AsyncClient, clock: ManualClock, model: str, values: dict[str, Any], route: str
) -> None:
    """Its web UI answers HTTP 200: no task was made, and the error says where we went."""
    with pytest.raises(ProviderBadAnswer) as caught:
        await gateway(http, clock).submit(job(model, values))
    assert f"a web page (text/html, HTTP 200) to POST {NEWAPI}/kling/v1/videos/{route}" in (
        caught.value.message
    )


async def test_a_relayed_refusal_reads_as_the_providers_own_words(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    """fail_to_fetch_task wraps Kling's raw body; the client reads Kling's message."""
    with pytest.raises(ProviderRejected) as caught:
        await gateway(http, clock).submit(job("kling-v2-6", {"prompt": "x [sim:nonsense]"}))
    assert caught.value.code == "fail_to_fetch_task"
    assert caught.value.message.startswith("unknown simulator marker")
    assert "{" not in caught.value.message


@pytest.mark.parametrize(
    ("marker", "error"),
    [("[sim:429]", ProviderRateLimited), ("[sim:500]", ProviderUnavailable)],
)
async def test_relayed_rate_limits_and_outages_may_go_to_the_next_provider(
    http: httpx.AsyncClient, clock: ManualClock, marker: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await gateway(http, clock).submit(job("kling-v2-6", {"prompt": f"x {marker}"}))


async def test_a_wrong_token_is_an_upstream_authentication_failure(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    with pytest.raises(ProviderUnavailable) as caught:
        await gateway(http, clock, api_key="sk-wrong").submit(job("kling-v2-6", {"prompt": "x"}))
    assert caught.value.message.startswith("upstream authentication failed")
