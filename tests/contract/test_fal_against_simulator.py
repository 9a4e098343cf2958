"""FalProvider against the simulator's fal queue (``/fal``), over its real routes: each mapped
model's whole lifecycle, its scripted failures, refusals and cancel."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapter.core.errors import (
    ProviderAuthFailed,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTaskNotFound,
    ProviderUnavailable,
)
from adapter.core.values import TaskStatus
from adapter.providers.fal.provider import FalProvider
from adapter.simulator.clock import ManualClock
from tests.contract.simulated import CONFIG, IMAGE, SIM, job
from tests.models import CATALOG

pytestmark = pytest.mark.anyio

FAL = CATALOG.carried_by("fal")
MOTION = {
    "prompt": "wave",
    "character_orientation": "image",
    "image_url": IMAGE,
    "video_url": "https://example.com/ref-video-8s.mp4",
    "mode": "pro",
}
WAN = {"prompt": "turn and smile", "image_urls": [IMAGE], "duration": 10, "resolution": "720p"}

#: (model, input, the endpoint's app, the output's length as the video's name writes it).
CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("kling-v2-6-motion-control", MOTION, "fal-ai/kling-video", "8"),
    ("kling-v2-6-motion-control", {**MOTION, "mode": "std"}, "fal-ai/kling-video", "8"),
    (
        "kling-v2-6",
        {"prompt": "neon rain", "mode": "pro", "duration": 10},
        "fal-ai/kling-video",
        "10",
    ),
    (
        "kling-v2-6",
        {"prompt": "rain", "mode": "pro", "image_urls": [IMAGE]},
        "fal-ai/kling-video",
        "5",
    ),
    ("kling-v3", {"prompt": "a red car", "duration": 7, "audio": True}, "fal-ai/kling-video", "7"),
    (
        "kling-v3",
        {
            "prompt": "a red car",
            "mode": "4k",
            "first_frame_image": IMAGE,
            "last_frame_image": IMAGE,
        },
        "fal-ai/kling-video",
        "5",
    ),
    (
        "kling-v3",
        {
            "prompt": "two shots",
            "mode": "pro",
            "duration": 5,
            "multi_shot": True,
            "shot_type": "customize",
            "multi_prompt": [
                {"index": 1, "prompt": "a car", "duration": 2},
                {"index": 2, "prompt": "a road", "duration": 3},
            ],
        },
        "fal-ai/kling-video",
        "5",
    ),
    ("wan2-6-i2v-flash", WAN, "wan/v2.6", "10"),
]


def fal(http: httpx.AsyncClient, clock: ManualClock, key: str = CONFIG.fal_api_key) -> FalProvider:
    return FalProvider(
        "fal", base_url=f"{SIM}/fal", http=http, api_key=key, clock=clock, carried=FAL
    )


@pytest.mark.parametrize(("model", "values", "app", "seconds"), CASES)
async def test_each_mapped_model_runs_its_whole_lifecycle_on_fal(
    http: httpx.AsyncClient,
    clock: ManualClock,
    model: str,
    values: dict[str, Any],
    app: str,
    seconds: str,
) -> None:
    """Accepted (the route is the endpoint's owner/app), queued, processing, one video."""
    provider = fal(http, clock)
    state = await provider.submit(job(model, values))
    assert (state.status, state.route) == (TaskStatus.QUEUED, app)
    assert (await provider.query(state.route, state.upstream_id)).status is TaskStatus.QUEUED
    clock.advance(1.5)
    assert (await provider.query(state.route, state.upstream_id)).status is TaskStatus.PROCESSING
    clock.advance(2.0)
    done = await provider.query(state.route, state.upstream_id)
    assert done.status is TaskStatus.SUCCEEDED
    (video,) = done.videos
    assert video.url == f"{SIM}/media/out/{state.upstream_id}-{seconds}s.mp4"
    assert video.duration == (float(seconds) if model == "wan2-6-i2v-flash" else None)


async def test_a_failure_marker_ends_failed_with_fals_reason(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    provider = fal(http, clock)
    state = await provider.submit(
        job("wan2-6-i2v-flash", {**WAN, "prompt": "x [sim:fail=no face]"})
    )
    clock.advance(3.5)
    done = await provider.query(state.route, state.upstream_id)
    assert done.status is TaskStatus.FAILED
    assert done.message == "content_policy_violation: no face"


async def test_a_rate_limited_submit_is_provider_rate_limited(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    with pytest.raises(ProviderRateLimited) as caught:
        await fal(http, clock).submit(
            job("kling-v2-6-motion-control", {**MOTION, "prompt": "[sim:429]"})
        )
    assert caught.value.status == 429


async def test_a_failing_submit_is_unavailable_so_the_router_falls_through(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    with pytest.raises(ProviderUnavailable) as caught:
        await fal(http, clock).submit(
            job("kling-v2-6-motion-control", {**MOTION, "prompt": "[sim:500]"})
        )
    assert caught.value.status == 500


async def test_rate_limited_queries_are_provider_rate_limited(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    provider = fal(http, clock)
    state = await provider.submit(job("kling-v3", {"prompt": "a car [sim:poll-429]"}))
    with pytest.raises(ProviderRateLimited):
        await provider.query(state.route, state.upstream_id)


async def test_an_unknown_request_is_provider_task_not_found(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    with pytest.raises(ProviderTaskNotFound):
        await fal(http, clock).query("fal-ai/kling-video", "no-such-request")


async def test_a_wrong_key_is_provider_auth_failed(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    with pytest.raises(ProviderAuthFailed):
        await fal(http, clock, key="wrong").submit(job("kling-v2-6-motion-control", MOTION))


async def test_check_says_fal_answered_that_it_has_no_such_request(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    check = await fal(http, clock).check()
    assert (check.reachable, check.credentials, check.dialect) == (True, True, True)
    bad = await fal(http, clock, key="wrong").check()
    assert (bad.reachable, bad.credentials) == (True, False)


async def test_a_queued_request_is_cancelled_and_then_completes_cancelled(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    provider = fal(http, clock)
    state = await provider.submit(job("kling-v3", {"prompt": "a car [sim:stay-queued]"}))
    assert await provider.cancel(state.route, state.upstream_id) is True
    after = await provider.query(state.route, state.upstream_id)
    assert after.status is TaskStatus.FAILED
    assert after.message is not None and "request_cancelled" in after.message


async def test_cancelling_a_completed_request_is_rejected(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    provider = fal(http, clock)
    state = await provider.submit(job("kling-v3", {"prompt": "a car"}))
    clock.advance(3.5)
    with pytest.raises(ProviderRejected):
        await provider.cancel(state.route, state.upstream_id)


@pytest.mark.parametrize(
    ("model", "values", "why"),
    [
        ("kling-v2-6", {"prompt": "rain", "mode": "std"}, "pro mode only"),
        ("wan2-6-i2v-flash", {**WAN, "duration": 7}, "5, 10 or 15 s"),
        ("wan2-6-i2v-flash", {**WAN, "prompt": None}, "needs a prompt"),
        ("kling-v3", {"prompt": "a car", "image_urls": [IMAGE, IMAGE, IMAGE]}, "reference images"),
    ],
)
async def test_an_input_fal_cannot_take_is_not_sent_and_falls_through(
    http: httpx.AsyncClient, clock: ManualClock, model: str, values: dict[str, Any], why: str
) -> None:
    values = {key: value for key, value in values.items() if value is not None}
    with pytest.raises(ProviderUnavailable) as caught:
        await fal(http, clock).submit(job(model, values))
    assert why in caught.value.message
    assert caught.value.status is None  # nothing was sent
