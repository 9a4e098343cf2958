"""FalProvider on the wire: each mapping's exact endpoint and body, the request URLs, and how
fal's answers and refusals read (``httpx.MockTransport``)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from adapter.core.errors import (
    ProviderAuthFailed,
    ProviderOutcomeUnknown,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTaskNotFound,
    ProviderUnavailable,
)
from adapter.core.values import TaskStatus, UpstreamState, Video
from adapter.providers.fal.provider import FalProvider
from tests.models import CATALOG, job
from tests.providers.conftest import Upstream

pytestmark = pytest.mark.anyio

KEY = "fal-key-0123456789abcdef"
BASE = "https://queue.fal.run"
RID = "764cabcf-b745-4b3e-ae38-1200304cf45b"
IMAGE = "https://example.com/portrait.jpg"
KLING_APP = f"{BASE}/fal-ai/kling-video/requests/{RID}"


def submitted(app: str = "fal-ai/kling-video") -> dict[str, Any]:
    here = f"{BASE}/{app}/requests/{RID}"
    return {
        "status": "IN_QUEUE",
        "request_id": RID,
        "response_url": here,
        "status_url": f"{here}/status",
        "cancel_url": f"{here}/cancel",
        "queue_position": 0,
    }


def provider(upstream: Upstream) -> FalProvider:
    return FalProvider(
        "fal",
        http=httpx.AsyncClient(transport=httpx.MockTransport(upstream.handle)),
        api_key=KEY,
        carried=CATALOG.carried_by("fal"),
        clock=lambda: 1_774_805_076.0,
    )


#: (model, input, the endpoint id posted to, the exact body).
BODIES: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
    (
        "kling-v2-6-motion-control",
        {
            "image_url": IMAGE,
            "video_url": "https://example.com/ref.mp4",
            "character_orientation": "video",
            "mode": "std",
            "keep_original_sound": "no",
            "prompt": "dance",
        },
        "fal-ai/kling-video/v2.6/standard/motion-control",
        {
            "image_url": IMAGE,
            "video_url": "https://example.com/ref.mp4",
            "character_orientation": "video",
            "keep_original_sound": False,
            "prompt": "dance",
        },
    ),
    (
        "kling-v2-6",
        {
            "prompt": "neon rain",
            "mode": "pro",
            "size": "9:16",
            "duration": 10,
            "negative_prompt": "blur",
        },
        "fal-ai/kling-video/v2.6/pro/text-to-video",
        {
            "generate_audio": False,
            "duration": "10",
            "prompt": "neon rain",
            "negative_prompt": "blur",
            "aspect_ratio": "9:16",
            "cfg_scale": 0.5,
        },
    ),
    (
        "kling-v2-6",
        {"prompt": "rain", "mode": "pro", "image_urls": [IMAGE], "audio": True},
        "fal-ai/kling-video/v2.6/pro/image-to-video",
        {"generate_audio": True, "duration": "5", "prompt": "rain", "start_image_url": IMAGE},
    ),
    (
        "kling-v3",
        {"prompt": "a red car", "mode": "std", "duration": 7, "aspect_ratio": "1:1"},
        "fal-ai/kling-video/v3/standard/text-to-video",
        {"generate_audio": False, "duration": "7", "prompt": "a red car", "aspect_ratio": "1:1"},
    ),
    (
        "kling-v3",
        {
            "prompt": "two shots",
            "mode": "4k",
            "image_urls": [IMAGE, "https://example.com/last.png"],
            "multi_shot": True,
            "shot_type": "intelligence",
            "multi_prompt": [
                {"index": 1, "prompt": "a car", "duration": 2},
                {"index": 2, "prompt": "a road", "duration": 3},
            ],
        },
        "fal-ai/kling-video/v3/4k/image-to-video",
        {
            "generate_audio": False,
            "duration": "5",
            "multi_prompt": [
                {"prompt": "a car", "duration": "2"},
                {"prompt": "a road", "duration": "3"},
            ],
            "shot_type": "intelligent",
            "start_image_url": IMAGE,
            "end_image_url": "https://example.com/last.png",
        },
    ),
    (
        "wan2-6-i2v-flash",
        {
            "image_urls": [IMAGE],
            "prompt": "turn",
            "negative_prompt": "blur",
            "duration": 15,
            "resolution": "720p",
            "audio_url": "https://example.com/voice.mp3",
            "prompt_extend": False,
            "shot_type": "multi",
            "seed": 7,
        },
        "wan/v2.6/image-to-video/flash",
        {
            "image_url": IMAGE,
            "prompt": "turn",
            "duration": "15",
            "resolution": "720p",
            "generate_audio": True,
            "enable_prompt_expansion": False,
            "multi_shots": True,
            "negative_prompt": "blur",
            "audio_url": "https://example.com/voice.mp3",
            "seed": 7,
        },
    ),
    (
        "wan2-6-i2v-flash",
        {
            "image_urls": [IMAGE],
            "prompt": "turn",
            "audio": False,
            "audio_url": "https://x.test/a.mp3",
        },
        "wan/v2.6/image-to-video/flash",
        {
            "image_url": IMAGE,
            "prompt": "turn",
            "duration": "5",
            "resolution": "1080p",
            "generate_audio": False,
            "enable_prompt_expansion": True,
            "multi_shots": False,
        },
    ),
]


@pytest.mark.parametrize(("model", "values", "endpoint", "body"), BODIES)
async def test_submit_posts_each_mappings_exact_body_to_its_endpoint(
    upstream: Upstream, model: str, values: dict[str, Any], endpoint: str, body: dict[str, Any]
) -> None:
    app = "/".join(endpoint.split("/")[:2])
    upstream.answer(json=submitted(app))
    state = await provider(upstream).submit(job(model, values))
    request = upstream.last
    assert (request.method, str(request.url)) == ("POST", f"{BASE}/{endpoint}")
    assert request.headers["Authorization"] == f"Key {KEY}"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == body
    assert state == UpstreamState(RID, TaskStatus.QUEUED, route=app)


async def test_a_callback_url_goes_as_the_fal_webhook_query_parameter(upstream: Upstream) -> None:
    upstream.answer(json=submitted())
    callback = "https://adapter.test/callbacks/fal/task_1?token=a&b"
    the_job = job("kling-v3", {"prompt": "car"}, callback_url=callback)
    await provider(upstream).submit(the_job)
    assert upstream.last.url.params["fal_webhook"] == callback
    assert upstream.last.url.path == "/fal-ai/kling-video/v3/standard/text-to-video"


async def test_the_route_is_the_app_of_the_returned_status_url(upstream: Upstream) -> None:
    """fal's own URLs decide where the request is asked about, not the endpoint id."""
    upstream.answer(json=submitted("fal-ai/kling-elsewhere"))
    state = await provider(upstream).submit(job("kling-v3", {"prompt": "car"}))
    assert state.route == "fal-ai/kling-elsewhere"


async def test_a_submit_answer_without_a_request_id_is_outcome_unknown(upstream: Upstream) -> None:
    upstream.answer(json={"status": "IN_QUEUE"})
    with pytest.raises(ProviderOutcomeUnknown):
        await provider(upstream).submit(job("kling-v3", {"prompt": "car"}))


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, ProviderAuthFailed),
        (403, ProviderAuthFailed),
        (404, ProviderUnavailable),
        (503, ProviderUnavailable),
        (504, ProviderOutcomeUnknown),
    ],
)
async def test_submit_refusals_are_classified(
    upstream: Upstream, status: int, error: type[Exception]
) -> None:
    upstream.answer(status, json={"detail": "no"})
    with pytest.raises(error):
        await provider(upstream).submit(job("kling-v3", {"prompt": "car"}))


async def test_a_422_submit_is_rejected_with_fals_field_and_message(upstream: Upstream) -> None:
    detail = [{"loc": ["body", "prompt"], "msg": "Field required", "type": "missing"}]
    upstream.answer(422, json={"detail": detail})
    with pytest.raises(ProviderRejected) as caught:
        await provider(upstream).submit(job("kling-v3", {"prompt": "car"}))
    assert (caught.value.code, caught.value.message) == ("missing", "Field required (body.prompt)")


async def test_a_429_carries_retry_after(upstream: Upstream) -> None:
    upstream.answer(429, json={"detail": "slow down"}, headers={"Retry-After": "12"})
    with pytest.raises(ProviderRateLimited) as caught:
        await provider(upstream).submit(job("kling-v3", {"prompt": "car"}))
    assert caught.value.retry_after == 12


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ({"status": "IN_QUEUE", "queue_position": 3}, TaskStatus.QUEUED),
        ({"status": "IN_PROGRESS"}, TaskStatus.PROCESSING),
        ({"status": "SOMETHING_NEW"}, TaskStatus.PROCESSING),
    ],
)
async def test_query_reads_the_status_words(
    upstream: Upstream, answer: dict[str, Any], status: TaskStatus
) -> None:
    upstream.answer(202, json=answer)
    state = await provider(upstream).query("fal-ai/kling-video", RID)
    assert upstream.last.method == "GET"
    assert str(upstream.last.url) == f"{KLING_APP}/status"
    assert state == UpstreamState(RID, status, "fal-ai/kling-video")


async def test_a_completed_request_is_fetched_and_its_video_read(upstream: Upstream) -> None:
    upstream.answer(json={"status": "COMPLETED", "logs": [], "metrics": {"inference_time": 40}})
    upstream.answer(json={"video": {"url": "https://v3.fal.media/out.mp4", "duration": 10.04}})
    state = await provider(upstream).query("wan/v2.6", RID)
    assert [str(r.url) for r in upstream.requests] == [
        f"{BASE}/wan/v2.6/requests/{RID}/status",
        f"{BASE}/wan/v2.6/requests/{RID}",
    ]
    video = Video("https://v3.fal.media/out.mp4", 10.04)
    assert state == UpstreamState(RID, TaskStatus.SUCCEEDED, "wan/v2.6", (video,))


async def test_completed_with_an_error_is_failed_without_fetching_the_result(
    upstream: Upstream,
) -> None:
    upstream.answer(
        json={
            "status": "COMPLETED",
            "error": "Runner disconnected",
            "error_type": "runner_disconnected",
        }
    )
    state = await provider(upstream).query("fal-ai/kling-video", RID)
    assert len(upstream.requests) == 1
    assert (state.status, state.message) == (
        TaskStatus.FAILED,
        "runner_disconnected: Runner disconnected",
    )


async def test_a_result_answering_the_models_422_is_failed_with_its_message(
    upstream: Upstream,
) -> None:
    upstream.answer(json={"status": "COMPLETED"})
    detail = [{"loc": ["body", "prompt"], "msg": "flagged", "type": "content_policy_violation"}]
    upstream.answer(422, json={"detail": detail})
    state = await provider(upstream).query("fal-ai/kling-video", RID)
    assert (state.status, state.message) == (TaskStatus.FAILED, "flagged (body.prompt)")


async def test_a_result_answering_429_is_rate_limited_not_failed(upstream: Upstream) -> None:
    upstream.answer(json={"status": "COMPLETED"})
    upstream.answer(429, json={"detail": "slow down"})
    with pytest.raises(ProviderRateLimited):
        await provider(upstream).query("fal-ai/kling-video", RID)


@pytest.mark.parametrize(
    ("status", "error"),
    [(404, ProviderTaskNotFound), (401, ProviderAuthFailed), (429, ProviderRateLimited)],
)
async def test_query_refusals_are_classified(
    upstream: Upstream, status: int, error: type[Exception]
) -> None:
    upstream.answer(status, json={"detail": "Request not found"})
    with pytest.raises(error):
        await provider(upstream).query("fal-ai/kling-video", RID)


async def test_a_route_that_is_no_app_is_refused_unsent(upstream: Upstream) -> None:
    with pytest.raises(ValueError, match="not a fal route"):
        await provider(upstream).query("../admin", RID)
    assert upstream.requests == []


async def test_lookup_says_the_outcome_is_unknown_and_sends_nothing(upstream: Upstream) -> None:
    with pytest.raises(ProviderOutcomeUnknown, match="cannot be looked up"):
        await provider(upstream).lookup(job("kling-v3", {"prompt": "car"}))
    assert upstream.requests == []


async def test_cancel_puts_to_the_cancel_url(upstream: Upstream) -> None:
    upstream.answer(202, json={"status": "CANCELLATION_REQUESTED"})
    assert await provider(upstream).cancel("fal-ai/kling-video", RID) is True
    assert (upstream.last.method, str(upstream.last.url)) == ("PUT", f"{KLING_APP}/cancel")


@pytest.mark.parametrize(
    ("status", "word", "error"),
    [
        (200, "ALREADY_COMPLETED", ProviderRejected),
        (400, "ALREADY_COMPLETED", ProviderRejected),
        (200, "NOT_FOUND", ProviderTaskNotFound),
        (404, "NOT_FOUND", ProviderTaskNotFound),
    ],
)
async def test_cancel_of_a_done_or_unknown_request_raises(
    upstream: Upstream, status: int, word: str, error: type[Exception]
) -> None:
    upstream.answer(status, json={"status": word})
    with pytest.raises(error):
        await provider(upstream).cancel("fal-ai/kling-video", RID)
