"""ReplicateProvider against the simulator's Replicate (``/replicate``), over its real routes:
each mapped model's whole lifecycle, its scripted failures, refusals and cancel."""

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
from adapter.providers.replicate.provider import ReplicateProvider
from adapter.simulator.clock import ManualClock
from tests import models
from tests.contract.simulated import CONFIG, IMAGE, SIM, job
from tests.models import CATALOG

pytestmark = pytest.mark.anyio

REPLICATE = CATALOG.carried_by("replicate")
MOTION = {
    "prompt": "wave",
    "character_orientation": "image",
    "image_url": IMAGE,
    "video_url": "https://example.com/ref-video-8s.mp4",
    "mode": "pro",
    "keep_original_sound": "no",
}
WAN = {"prompt": "turn and smile", "image_urls": [IMAGE], "duration": 10, "resolution": "720p"}

#: (model, input, the output's length as the video's name writes it).
CASES: list[tuple[str, dict[str, Any], str]] = [
    ("kling-v2-6-motion-control", MOTION, "8"),
    ("kling-v2-6-motion-control", {**MOTION, "mode": "std"}, "8"),
    ("kling-v2-6", {"prompt": "neon rain", "mode": "pro", "duration": 10}, "10"),
    ("kling-v2-6", {"prompt": "rain", "mode": "pro", "image_urls": [IMAGE]}, "5"),
    ("kling-v3", {"prompt": "a red car", "duration": 7, "audio": True}, "7"),
    (
        "kling-v3",
        {
            "prompt": "a red car",
            "mode": "pro",
            "first_frame_image": IMAGE,
            "last_frame_image": IMAGE,
        },
        "5",
    ),
    (
        "kling-v3",
        {
            "prompt": "two shots",
            "duration": 5,
            "multi_shot": True,
            "shot_type": "customize",
            "multi_prompt": [
                {"index": 1, "prompt": "a car", "duration": 2},
                {"index": 2, "prompt": "a road", "duration": 3},
            ],
        },
        "5",
    ),
    ("wan2-6-i2v-flash", WAN, "10"),
    ("wan2-6-i2v-flash", {**WAN, "duration": 15, "audio": False, "seed": 3}, "15"),
]


def replicate(
    http: httpx.AsyncClient, clock: ManualClock, token: str = CONFIG.replicate_api_token
) -> ReplicateProvider:
    return ReplicateProvider(
        "replicate",
        base_url=f"{SIM}/replicate",
        http=http,
        api_token=token,
        clock=clock,
        carried=REPLICATE,
    )


@pytest.mark.parametrize(("model", "values", "seconds"), CASES)
async def test_each_mapped_model_runs_its_whole_lifecycle_on_replicate(
    http: httpx.AsyncClient, clock: ManualClock, model: str, values: dict[str, Any], seconds: str
) -> None:
    """Created (the simulator validated the input), starting, processing, one video."""
    provider = replicate(http, clock)
    state = await provider.submit(job(model, values))
    assert (state.status, state.route) == (TaskStatus.QUEUED, "")
    assert (await provider.query(state.route, state.upstream_id)).status is TaskStatus.QUEUED
    clock.advance(1.5)
    assert (await provider.query(state.route, state.upstream_id)).status is TaskStatus.PROCESSING
    clock.advance(2.0)
    done = await provider.query(state.route, state.upstream_id)
    assert done.status is TaskStatus.SUCCEEDED
    (video,) = done.videos
    assert video.url == f"{SIM}/media/out/{state.upstream_id}-{seconds}s.mp4"


async def test_a_failure_marker_ends_failed_with_replicates_error(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    provider = replicate(http, clock)
    state = await provider.submit(
        job("wan2-6-i2v-flash", {**WAN, "prompt": "x [sim:fail=no face]"})
    )
    clock.advance(3.5)
    done = await provider.query(state.route, state.upstream_id)
    assert (done.status, done.message) == (TaskStatus.FAILED, "no face")


async def test_a_throttled_create_is_provider_rate_limited(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    with pytest.raises(ProviderRateLimited) as caught:
        await replicate(http, clock).submit(
            job("kling-v2-6-motion-control", {**MOTION, "prompt": "[sim:429]"})
        )
    assert caught.value.status == 429
    assert "Request was throttled" in caught.value.message


async def test_a_failing_create_is_unavailable_so_the_router_falls_through(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    with pytest.raises(ProviderUnavailable) as caught:
        await replicate(http, clock).submit(job("kling-v3", {"prompt": "[sim:500]"}))
    assert caught.value.status == 500


async def test_rate_limited_queries_are_provider_rate_limited(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    provider = replicate(http, clock)
    state = await provider.submit(job("kling-v3", {"prompt": "a car [sim:poll-429]"}))
    with pytest.raises(ProviderRateLimited):
        await provider.query(state.route, state.upstream_id)


async def test_an_unknown_prediction_is_provider_task_not_found(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    with pytest.raises(ProviderTaskNotFound):
        await replicate(http, clock).query("", "nosuchprediction")


async def test_a_wrong_token_is_provider_auth_failed(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    with pytest.raises(ProviderAuthFailed):
        await replicate(http, clock, token="wrong").submit(job("kling-v2-6-motion-control", MOTION))


async def test_check_says_replicate_answered_that_it_has_no_such_prediction(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    check = await replicate(http, clock).check()
    assert (check.reachable, check.credentials, check.dialect) == (True, True, True)
    bad = await replicate(http, clock, token="wrong").check()
    assert (bad.reachable, bad.credentials) == (True, False)


async def test_a_starting_prediction_is_cancelled_and_then_reads_cancelled(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    provider = replicate(http, clock)
    state = await provider.submit(job("kling-v3", {"prompt": "a car [sim:stay-queued]"}))
    assert await provider.cancel(state.route, state.upstream_id) is True
    after = await provider.query(state.route, state.upstream_id)
    assert after.status is TaskStatus.CANCELLED


async def test_cancelling_a_succeeded_prediction_is_rejected(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    provider = replicate(http, clock)
    state = await provider.submit(job("kling-v3", {"prompt": "a car"}))
    clock.advance(3.5)
    with pytest.raises(ProviderRejected, match="already succeeded"):
        await provider.cancel(state.route, state.upstream_id)


async def test_an_https_callback_is_accepted_as_the_webhook(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    the_job = models.job("kling-v3", {"prompt": "a car"}, callback_url="https://a.test/cb")
    state = await replicate(http, clock).submit(the_job)
    assert state.status is TaskStatus.QUEUED


@pytest.mark.parametrize(
    ("model", "values", "why"),
    [
        ("kling-v2-6", {"prompt": "rain", "mode": "std"}, "std task is not sent"),
        ("kling-v3", {"prompt": "a car", "mode": "4k"}, "no 4k"),
        ("wan2-6-i2v-flash", {**WAN, "duration": 7}, "5, 10 or 15 s"),
        ("wan2-6-i2v-flash", {**WAN, "prompt": None}, "needs a prompt"),
    ],
)
async def test_an_input_replicate_cannot_take_is_not_sent_and_falls_through(
    http: httpx.AsyncClient, clock: ManualClock, model: str, values: dict[str, Any], why: str
) -> None:
    values = {key: value for key, value in values.items() if value is not None}
    with pytest.raises(ProviderUnavailable) as caught:
        await replicate(http, clock).submit(job(model, values))
    assert why in caught.value.message
    assert caught.value.status is None  # nothing was sent
