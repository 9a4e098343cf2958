"""Every provider, every model and family, against the simulator's real HTTP routes.

The providers' unit tests pin the exact bytes against fixtures from upstream-contracts.md;
here each provider talks to an upstream that validates what it gets, runs the task's whole
lifecycle, and answers with each dialect's scripted failures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from adapter.core.errors import (
    ProviderOutcomeUnknown,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from adapter.core.values import TaskStatus
from adapter.ports import VideoProvider
from adapter.providers.dashscope.provider import DashScopeProvider
from adapter.providers.kling.provider import KlingProvider
from adapter.simulator.clock import ManualClock
from tests.contract.simulated import CONFIG, IMAGE, SIM, job
from tests.models import DASHSCOPE, KLING

pytestmark = pytest.mark.anyio


#: (model, input, the Kling family it must take): each route of each model.
CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "kling-v2-6-motion-control",
        {
            "prompt": "wave",
            "character_orientation": "image",
            "image_url": IMAGE,
            "video_url": "https://example.com/ref-video-8s.mp4",
            "mode": "std",
        },
        "motion-control",
    ),
    ("kling-v2-6", {"prompt": "neon rain", "size": "9:16", "duration": 10}, "text2video"),
    ("kling-v2-6", {"prompt": "neon rain", "image_urls": [IMAGE], "mode": "pro"}, "image2video"),
    ("kling-v3", {"prompt": "a red car", "duration": 7, "audio": True}, "text2video"),
    (
        "kling-v3",
        {"prompt": "a red car", "first_frame_image": IMAGE, "last_frame_image": IMAGE},
        "image2video",
    ),
    ("kling-v3", {"prompt": "a red car", "last_frame_image": IMAGE}, "image2video"),
    (
        "kling-v3",
        {"prompt": "a red car", "image_urls": [IMAGE, IMAGE, IMAGE], "mode": "4k"},
        "omni-video",
    ),
    (
        "kling-v3",
        {
            "prompt": "two shots",
            "multi_shot": True,
            "shot_type": "customize",
            "multi_prompt": [
                {"index": 1, "prompt": "a car", "duration": 2},
                {"index": 2, "prompt": "a road", "duration": 3},
            ],
        },
        "text2video",
    ),
]
#: The models added as data (spec files only): each on its route, under its own model_name.
CASES += [
    (
        "kling-v3-motion-control",
        {**CASES[0][1], "prompt": "dance"},
        "motion-control",
    ),
    ("kling-v3-omni", {"prompt": "a golden retriever", "duration": 5}, "omni-video"),
    ("kling-v3-omni", {"prompt": "a car", "first_frame_image": IMAGE}, "omni-video"),
    ("kling-video-o1", {"prompt": "a skyline", "mode": "pro", "duration": 10}, "omni-video"),
]
KLING_DIALECTS = ("gateway", "official")


def kling(http: httpx.AsyncClient, clock: ManualClock, dialect: str) -> KlingProvider:
    return KlingProvider(
        f"kling-{dialect}",
        base_url=SIM,
        http=http,
        dialect=dialect,  # type: ignore[arg-type]
        api_key=CONFIG.api_key,
        access_key=CONFIG.access_key,
        secret_key=CONFIG.secret_key,
        clock=clock,
        carried=KLING,
    )


def dashscope(http: httpx.AsyncClient, clock: ManualClock) -> DashScopeProvider:
    return DashScopeProvider(
        "dashscope",
        base_url=SIM,
        http=http,
        api_key=CONFIG.dashscope_api_key,
        clock=clock,
        carried=DASHSCOPE,
    )


WAN = {
    "prompt": "turn and smile",
    "resolution": "1080p",
    "duration": 5,
    "image_urls": [IMAGE],
    "audio": True,
}

MakeProvider = Callable[[httpx.AsyncClient, ManualClock], VideoProvider]


@pytest.mark.parametrize(
    ("dialect", "model", "values", "family"),
    [(d, m, v, f) for d in KLING_DIALECTS for m, v, f in CASES],
)
async def test_each_kling_family_runs_its_whole_lifecycle(
    http: httpx.AsyncClient,
    clock: ManualClock,
    dialect: str,
    model: str,
    values: dict[str, Any],
    family: str,
) -> None:
    """Accepted on the right family, then processing, then one video; found by our id."""
    provider = kling(http, clock, dialect)
    the_job = job(model, values)
    state = await provider.submit(the_job)
    assert (state.status, state.route) == (TaskStatus.QUEUED, family)
    clock.advance(1.5)
    assert (await provider.query(state.route, state.upstream_id)).status is TaskStatus.PROCESSING
    clock.advance(2.0)
    done = await provider.query(state.route, state.upstream_id)
    assert done.status is TaskStatus.SUCCEEDED
    [video] = done.videos
    assert video.url.startswith(SIM) and video.duration is not None and video.duration > 0
    found = await provider.lookup(the_job)
    assert found is not None and found.upstream_id == state.upstream_id


@pytest.mark.parametrize(
    ("model", "values", "seconds"),
    [
        ("kling-v2-6", {"prompt": "neon rain", "duration": 10}, 10.0),
        ("kling-v3", {"prompt": "a red car", "duration": 7}, 7.0),
    ],
)
async def test_the_video_lasts_the_requested_duration(
    http: httpx.AsyncClient, clock: ManualClock, model: str, values: dict[str, Any], seconds: float
) -> None:
    provider = kling(http, clock, "official")
    state = await provider.submit(job(model, values))
    clock.advance(10)
    done = await provider.query(state.route, state.upstream_id)
    assert done.videos[0].duration == seconds


async def test_dashscope_runs_its_whole_lifecycle(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    provider = dashscope(http, clock)
    state = await provider.submit(job("wan2-6-i2v-flash", WAN))
    assert state.status is TaskStatus.QUEUED
    clock.advance(1.5)
    assert (await provider.query(state.route, state.upstream_id)).status is TaskStatus.PROCESSING
    clock.advance(2.0)
    done = await provider.query(state.route, state.upstream_id)
    assert done.status is TaskStatus.SUCCEEDED
    [video] = done.videos
    assert video.duration == 5.0
    assert (await http.get(video.url)).status_code == 200


async def test_dashscope_cannot_find_a_task_by_our_id(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    """No client-side id upstream: a lost answer can never be found, so never resubmitted."""
    provider = dashscope(http, clock)
    the_job = job("wan2-6-i2v-flash", WAN)
    await provider.submit(the_job)
    with pytest.raises(ProviderOutcomeUnknown):
        await provider.lookup(the_job)


async def test_dashscope_cancels_a_pending_task(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    provider = dashscope(http, clock)
    state = await provider.submit(job("wan2-6-i2v-flash", WAN))
    await provider.cancel(state.route, state.upstream_id)
    cancelled = await provider.query(state.route, state.upstream_id)
    assert cancelled.status is TaskStatus.CANCELLED


def _with_marker(values: dict[str, Any], marker: str) -> dict[str, Any]:
    return {**values, "prompt": f"{values.get('prompt') or 'go'} {marker}"}


EVERY_PROVIDER = [
    pytest.param(lambda h, c: kling(h, c, "gateway"), "kling-v3", CASES[3][1], id="gateway"),
    pytest.param(lambda h, c: kling(h, c, "official"), "kling-v3", CASES[3][1], id="official"),
    pytest.param(dashscope, "wan2-6-i2v-flash", WAN, id="dashscope"),
]


@pytest.mark.parametrize(("make", "model", "values"), EVERY_PROVIDER)
async def test_a_scripted_failure_ends_failed_with_its_reason(
    http: httpx.AsyncClient, clock: ManualClock, make: MakeProvider, model: str, values: Any
) -> None:
    provider = make(http, clock)
    state = await provider.submit(job(model, _with_marker(values, "[sim:fail=face not found]")))
    clock.advance(10)
    done = await provider.query(state.route, state.upstream_id)
    assert done.status is TaskStatus.FAILED
    assert done.message is not None and "face not found" in done.message


@pytest.mark.parametrize(
    ("marker", "error"),
    [("[sim:429]", ProviderRateLimited), ("[sim:500]", ProviderUnavailable)],
)
@pytest.mark.parametrize(("make", "model", "values"), EVERY_PROVIDER)
async def test_scripted_submit_refusals_are_classified_for_fallback(
    http: httpx.AsyncClient,
    clock: ManualClock,
    make: MakeProvider,
    model: str,
    values: Any,
    marker: str,
    error: type[Exception],
) -> None:
    """A 429 is rate-limited and a structured 500 unavailable: both may go to the next one."""
    with pytest.raises(error):
        await make(http, clock).submit(job(model, _with_marker(values, marker)))


@pytest.mark.parametrize(("make", "model", "values"), EVERY_PROVIDER)
async def test_polling_errors_are_errors_not_outcomes(
    http: httpx.AsyncClient, clock: ManualClock, make: MakeProvider, model: str, values: Any
) -> None:
    provider = make(http, clock)
    state = await provider.submit(job(model, _with_marker(values, "[sim:poll-429]")))
    with pytest.raises(ProviderRateLimited):
        await provider.query(state.route, state.upstream_id)


@pytest.mark.parametrize(("make", "model", "values"), EVERY_PROVIDER)
async def test_an_input_the_upstream_refuses_is_a_rejection(
    http: httpx.AsyncClient, clock: ManualClock, make: MakeProvider, model: str, values: Any
) -> None:
    """A malformed marker is the simulator's stand-in for a bad parameter."""
    with pytest.raises(ProviderRejected):
        await make(http, clock).submit(job(model, _with_marker(values, "[sim:nonsense]")))


async def test_a_duplicate_external_id_is_refused_by_kling(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    """The guard against a resubmit making a second task."""
    provider = kling(http, clock, "official")
    the_job = job("kling-v2-6", {"prompt": "neon rain"})
    await provider.submit(the_job)
    with pytest.raises(ProviderRejected):
        await provider.submit(the_job)
