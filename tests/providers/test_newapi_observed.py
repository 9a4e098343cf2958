"""The exact bodies a stock new-api (main of 2026-08, a Kling channel) was seen to send.

Pinned as fixtures (``fixtures/newapi_*``, upstream-contracts.md 1.9) so that a change in how
the gateway dialect reads them shows here first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from adapter.core.errors import ProviderRejected, ProviderTaskNotFound
from adapter.core.values import TaskStatus, UpstreamState, Video, VideoJob
from adapter.providers.kling.provider import KlingProvider

pytestmark = pytest.mark.anyio

MakeProvider = Callable[..., KlingProvider]
MakeJob = Callable[..., VideoJob]
Load = Callable[[str], Any]

TASK = "task_xGOhEWZIx3qiVkqL7rCE0np45eaTM2HA"
VIDEO = "https://cdn.example.com/kling/867283741759111202.mp4"


async def test_an_accepted_submit_is_queued_under_new_apis_own_id(
    make_provider: MakeProvider, make_job: MakeJob, upstream: Any, load: Load
) -> None:
    upstream.answer(json=load("newapi_observed_submit.json"))
    state = await make_provider("gateway").submit(make_job())
    assert state == UpstreamState(TASK, TaskStatus.QUEUED, route="motion-control")


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("not_start", UpstreamState(TASK, TaskStatus.QUEUED, "text2video")),
        ("in_progress", UpstreamState(TASK, TaskStatus.PROCESSING, "text2video")),
        (
            "success",
            UpstreamState(TASK, TaskStatus.SUCCEEDED, "text2video", (Video(VIDEO, 5.1),)),
        ),
        (
            "failure",
            UpstreamState(
                TASK,
                TaskStatus.FAILED,
                "text2video",
                message="Failure to pass the risk control system",
            ),
        ),
    ],
)
async def test_each_query_status_reads_into_ours(
    make_provider: MakeProvider, upstream: Any, load: Load, fixture: str, expected: UpstreamState
) -> None:
    """NOT_START, IN_PROGRESS, SUCCESS, FAILURE; on FAILURE ``result_url`` holds the reason,
    which is never taken for a video."""
    upstream.answer(json=load(f"newapi_observed_query_{fixture}.json"))
    state = await make_provider("gateway").query("text2video", TASK)
    assert upstream.last.url.path == f"/v1/video/generations/{TASK}"
    assert state == expected


async def test_an_unknown_id_is_task_not_found(
    make_provider: MakeProvider, upstream: Any, load: Load
) -> None:
    upstream.answer(400, json=load("newapi_task_not_exist.json"))
    with pytest.raises(ProviderTaskNotFound) as caught:
        await make_provider("gateway").query("text2video", TASK)
    assert caught.value.code == "task_not_exist"


async def test_a_relayed_refusal_is_a_rejection_in_klings_own_words(
    make_provider: MakeProvider, make_job: MakeJob, upstream: Any, load: Load
) -> None:
    upstream.answer(400, json=load("newapi_fail_to_fetch_task.json"))
    with pytest.raises(ProviderRejected) as caught:
        await make_provider("gateway").submit(make_job())
    assert caught.value.message == "Invalid request parameters: duration must be 5 or 10"


async def test_a_missing_model_is_a_rejection_saying_so(
    make_provider: MakeProvider, make_job: MakeJob, upstream: Any, load: Load
) -> None:
    """What every submit got before the dialect sent ``model``; kept readable if it recurs."""
    upstream.answer(400, json=load("newapi_model_not_specified.json"))
    with pytest.raises(ProviderRejected) as caught:
        await make_provider("gateway").submit(make_job())
    assert caught.value.message.startswith("Model name not specified")
