"""ReplicateProvider on the wire: each mapping's exact model and input, the prediction URLs,
and how Replicate's answers and refusals read (``httpx.MockTransport``)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from adapter.core.errors import (
    ProviderAuthFailed,
    ProviderBadAnswer,
    ProviderOutcomeUnknown,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTaskNotFound,
    ProviderUnavailable,
)
from adapter.core.values import Carrier, TaskStatus, UpstreamState, Video
from adapter.providers.replicate.bodies import ReplicateModel
from adapter.providers.replicate.provider import ReplicateProvider
from tests.models import CATALOG, job
from tests.providers.conftest import Upstream

pytestmark = pytest.mark.anyio

TOKEN = "r8_0123456789abcdefTOKEN"
BASE = "https://api.replicate.com"
PID = "gm3qorzdhgbfurvjtvhg6dckhu"
IMAGE = "https://example.com/portrait.jpg"
HERE = f"{BASE}/v1/predictions/{PID}"
OUT = "https://replicate.delivery/xezq/out.mp4"


def prediction(status: str = "starting", **fields: Any) -> dict[str, Any]:
    return {
        "id": PID,
        "model": "kwaivgi/kling-v2.6",
        "version": "hidden",
        "input": {},
        "logs": "",
        "output": None,
        "error": None,
        "status": status,
        "created_at": "2026-03-29T17:24:36.000Z",
        "urls": {"get": HERE, "cancel": f"{HERE}/cancel", "web": f"https://replicate.com/p/{PID}"},
        **fields,
    }


def provider(upstream: Upstream) -> ReplicateProvider:
    return ReplicateProvider(
        "replicate",
        http=httpx.AsyncClient(transport=httpx.MockTransport(upstream.handle)),
        api_token=TOKEN,
        carried=CATALOG.carried_by("replicate"),
        clock=lambda: 1_774_805_076.0,
    )


#: (model, input, the Replicate model created on, the exact ``input``).
BODIES: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
    (
        "kling-v2-6-motion-control",
        {
            "image_url": IMAGE,
            "video_url": "https://example.com/ref.mp4",
            "character_orientation": "video",
            "mode": "pro",
            "keep_original_sound": "no",
            "prompt": "dance",
        },
        "kwaivgi/kling-v2.6-motion-control",
        {
            "image": IMAGE,
            "video": "https://example.com/ref.mp4",
            "mode": "pro",
            "character_orientation": "video",
            "keep_original_sound": False,
            "prompt": "dance",
        },
    ),
    (
        "kling-v2-6-motion-control",
        {
            "image_url": IMAGE,
            "video_url": "https://example.com/ref.mp4",
            "character_orientation": "image",
            "mode": "std",
        },
        "kwaivgi/kling-v2.6-motion-control",
        {
            "image": IMAGE,
            "video": "https://example.com/ref.mp4",
            "mode": "std",
            "character_orientation": "image",
            "keep_original_sound": True,
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
        "kwaivgi/kling-v2.6",
        {
            "prompt": "neon rain",
            "duration": 10,
            "generate_audio": False,
            "negative_prompt": "blur",
            "aspect_ratio": "9:16",
        },
    ),
    (
        "kling-v2-6",
        {"prompt": "rain", "mode": "pro", "image_urls": [IMAGE], "audio": True, "size": "1:1"},
        "kwaivgi/kling-v2.6",
        {"prompt": "rain", "duration": 5, "generate_audio": True, "start_image": IMAGE},
    ),
    (
        "kling-v3",
        {"prompt": "a red car", "duration": 7, "aspect_ratio": "1:1"},
        "kwaivgi/kling-v3-video",
        {
            "prompt": "a red car",
            "duration": 7,
            "generate_audio": False,
            "mode": "standard",
            "aspect_ratio": "1:1",
        },
    ),
    (
        "kling-v3",
        {
            "prompt": "two shots",
            "mode": "pro",
            "audio": True,
            "image_urls": [IMAGE, "https://example.com/last.png"],
            "multi_shot": True,
            "shot_type": "customize",
            "multi_prompt": [
                {"index": 1, "prompt": "a car", "duration": 2},
                {"index": 2, "prompt": "a road", "duration": 3},
            ],
        },
        "kwaivgi/kling-v3-video",
        {
            "prompt": "two shots",
            "duration": 5,
            "generate_audio": True,
            "mode": "pro",
            "start_image": IMAGE,
            "end_image": "https://example.com/last.png",
            "multi_prompt": '[{"prompt":"a car","duration":2},{"prompt":"a road","duration":3}]',
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
        "wan-video/wan2.6-i2v-flash",
        {
            "image": IMAGE,
            "prompt": "turn",
            "duration": 15,
            "resolution": "720p",
            "audio_enabled": True,
            "enable_prompt_expansion": False,
            "multi_shots": True,
            "negative_prompt": "blur",
            "audio": "https://example.com/voice.mp3",
            "seed": 7,
        },
    ),
    (
        "wan2-6-i2v-flash",
        {"image_urls": [IMAGE], "prompt": "turn", "audio": False, "audio_url": "https://x.test/a"},
        "wan-video/wan2.6-i2v-flash",
        {
            "image": IMAGE,
            "prompt": "turn",
            "duration": 5,
            "resolution": "1080p",
            "audio_enabled": False,
            "enable_prompt_expansion": True,
            "multi_shots": False,
        },
    ),
]


@pytest.mark.parametrize(("model", "values", "name", "given"), BODIES)
async def test_create_posts_each_mappings_exact_input_to_its_model(
    upstream: Upstream, model: str, values: dict[str, Any], name: str, given: dict[str, Any]
) -> None:
    upstream.answer(201, json=prediction())
    state = await provider(upstream).submit(job(model, values))
    request = upstream.last
    assert (request.method, str(request.url)) == ("POST", f"{BASE}/v1/models/{name}/predictions")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert "Prefer" not in request.headers
    assert json.loads(request.content) == {"input": given}
    assert state == UpstreamState(PID, TaskStatus.QUEUED)


async def test_an_https_callback_url_goes_as_the_webhook_for_completed_only(
    upstream: Upstream,
) -> None:
    upstream.answer(201, json=prediction())
    callback = "https://adapter.test/callbacks/replicate/task_1?token=a&b"
    await provider(upstream).submit(job("kling-v3", {"prompt": "car"}, callback_url=callback))
    body = json.loads(upstream.last.content)
    assert (body["webhook"], body["webhook_events_filter"]) == (callback, ["completed"])


async def test_a_plain_http_callback_url_is_not_sent_as_replicate_calls_https_only(
    upstream: Upstream,
) -> None:
    upstream.answer(201, json=prediction())
    callback = "http://127.0.0.1:8000/callbacks/replicate/task_1"
    await provider(upstream).submit(job("kling-v3", {"prompt": "car"}, callback_url=callback))
    assert set(json.loads(upstream.last.content)) == {"input"}


async def test_a_create_answered_processing_is_processing(upstream: Upstream) -> None:
    upstream.answer(201, json=prediction("processing"))
    state = await provider(upstream).submit(job("kling-v3", {"prompt": "car"}))
    assert state == UpstreamState(PID, TaskStatus.PROCESSING)


async def test_a_create_answer_without_an_id_is_outcome_unknown(upstream: Upstream) -> None:
    upstream.answer(201, json={"status": "starting"})
    with pytest.raises(ProviderOutcomeUnknown):
        await provider(upstream).submit(job("kling-v3", {"prompt": "car"}))


async def test_a_create_answered_with_a_web_page_is_a_bad_answer(upstream: Upstream) -> None:
    upstream.answer(200, content=b"<html>hi</html>", headers={"Content-Type": "text/html"})
    with pytest.raises(ProviderBadAnswer):
        await provider(upstream).submit(job("kling-v3", {"prompt": "car"}))


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, ProviderAuthFailed),
        (403, ProviderAuthFailed),
        (402, ProviderUnavailable),
        (404, ProviderUnavailable),
        (503, ProviderUnavailable),
        (504, ProviderOutcomeUnknown),
    ],
)
async def test_create_refusals_are_classified(
    upstream: Upstream, status: int, error: type[Exception]
) -> None:
    upstream.answer(status, json={"title": "Nope", "detail": "no", "status": status})
    with pytest.raises(error) as caught:
        await provider(upstream).submit(job("kling-v3", {"prompt": "car"}))
    assert type(caught.value) is error


async def test_a_422_create_is_rejected_with_replicates_detail(upstream: Upstream) -> None:
    detail = "- input.prompt: Invalid type. Expected: string, given: integer"
    upstream.answer(422, json={"title": "Input validation failed", "detail": detail, "status": 422})
    with pytest.raises(ProviderRejected) as caught:
        await provider(upstream).submit(job("kling-v3", {"prompt": "car"}))
    assert (caught.value.code, caught.value.message) == ("Input validation failed", detail)


async def test_a_429_is_rate_limited_with_retry_after_when_sent(upstream: Upstream) -> None:
    throttled = {"detail": "Request was throttled. Your rate limit resets in ~30s."}
    upstream.answer(429, json=throttled, headers={"Retry-After": "30"})
    upstream.answer(429, json=throttled)
    with pytest.raises(ProviderRateLimited) as caught:
        await provider(upstream).submit(job("kling-v3", {"prompt": "car"}))
    assert caught.value.retry_after == 30
    assert "Request was throttled" in caught.value.message
    with pytest.raises(ProviderRateLimited) as caught:
        await provider(upstream).submit(job("kling-v3", {"prompt": "car"}))
    assert caught.value.retry_after is None


@pytest.mark.parametrize(
    ("answer", "state"),
    [
        (prediction("starting"), UpstreamState(PID, TaskStatus.QUEUED)),
        (prediction("processing"), UpstreamState(PID, TaskStatus.PROCESSING)),
        (prediction("something-new"), UpstreamState(PID, TaskStatus.PROCESSING)),
        (prediction("canceled"), UpstreamState(PID, TaskStatus.CANCELLED)),
        (
            prediction("succeeded", output=OUT),
            UpstreamState(PID, TaskStatus.SUCCEEDED, videos=(Video(OUT),)),
        ),
        (
            prediction("succeeded", output=[OUT, "https://replicate.delivery/other.mp4"]),
            UpstreamState(PID, TaskStatus.SUCCEEDED, videos=(Video(OUT),)),
        ),
        (
            prediction("failed", error="E006: upstream poll failed"),
            UpstreamState(PID, TaskStatus.FAILED, message="E006: upstream poll failed"),
        ),
        (
            prediction("aborted"),
            UpstreamState(PID, TaskStatus.FAILED, message="the prediction aborted"),
        ),
    ],
)
async def test_query_reads_the_prediction(
    upstream: Upstream, answer: dict[str, Any], state: UpstreamState
) -> None:
    upstream.answer(json=answer)
    assert await provider(upstream).query("", PID) == state
    assert (upstream.last.method, str(upstream.last.url)) == ("GET", HERE)
    assert upstream.last.headers["Authorization"] == f"Bearer {TOKEN}"


async def test_a_succeeded_prediction_whose_data_was_removed_is_unavailable_not_failed(
    upstream: Upstream,
) -> None:
    upstream.answer(json=prediction("succeeded", output=None, data_removed=True))
    with pytest.raises(ProviderUnavailable, match="data was removed"):
        await provider(upstream).query("", PID)


@pytest.mark.parametrize("answer", [{"detail": "hi"}, [1, 2]])
async def test_a_query_answer_that_is_no_prediction_is_a_bad_answer(
    upstream: Upstream, answer: Any
) -> None:
    upstream.answer(json=answer)
    with pytest.raises(ProviderBadAnswer):
        await provider(upstream).query("", PID)


@pytest.mark.parametrize(
    ("status", "error"),
    [(404, ProviderTaskNotFound), (401, ProviderAuthFailed), (429, ProviderRateLimited)],
)
async def test_query_refusals_are_classified(
    upstream: Upstream, status: int, error: type[Exception]
) -> None:
    upstream.answer(status, json={"title": "Not found", "detail": "Not found.", "status": status})
    with pytest.raises(error):
        await provider(upstream).query("", PID)


async def test_a_prediction_id_cannot_leave_its_path(upstream: Upstream) -> None:
    upstream.answer(404, json={"detail": "Not found."})
    with pytest.raises(ProviderTaskNotFound):
        await provider(upstream).query("", "../../v1/account")
    assert upstream.last.url.raw_path == b"/v1/predictions/..%2F..%2Fv1%2Faccount"


async def test_lookup_says_the_outcome_is_unknown_and_sends_nothing(upstream: Upstream) -> None:
    with pytest.raises(ProviderOutcomeUnknown, match="cannot be looked up"):
        await provider(upstream).lookup(job("kling-v3", {"prompt": "car"}))
    assert upstream.requests == []


@pytest.mark.parametrize("status", ["canceled", "processing", "starting"])
async def test_cancel_posts_to_the_cancel_url_and_is_accepted(
    upstream: Upstream, status: str
) -> None:
    upstream.answer(json=prediction(status))
    assert await provider(upstream).cancel("", PID) is True
    assert (upstream.last.method, str(upstream.last.url)) == ("POST", f"{HERE}/cancel")


@pytest.mark.parametrize("status", ["succeeded", "failed", "aborted"])
async def test_cancel_of_an_ended_prediction_is_rejected(upstream: Upstream, status: str) -> None:
    upstream.answer(json=prediction(status))
    with pytest.raises(ProviderRejected, match=f"already {status}"):
        await provider(upstream).cancel("", PID)


async def test_cancel_of_an_unknown_prediction_is_not_found(upstream: Upstream) -> None:
    upstream.answer(404, json={"title": "Not found", "detail": "Not found.", "status": 404})
    with pytest.raises(ProviderTaskNotFound):
        await provider(upstream).cancel("", PID)


async def test_the_token_never_shows_in_a_message(upstream: Upstream) -> None:
    upstream.answer(422, json={"title": "Bad", "detail": f"token {TOKEN} is odd"})
    with pytest.raises(ProviderRejected) as caught:
        await provider(upstream).submit(job("kling-v3", {"prompt": "car"}))
    assert TOKEN not in caught.value.message


@pytest.mark.parametrize(
    ("model", "values", "why"),
    [
        ("kling-v2-6", {"prompt": "rain"}, "std task is not sent"),
        ("kling-v2-6", {"prompt": "rain", "mode": "pro", "cfg_scale": 0.7}, "no cfg_scale"),
        ("kling-v3", {"prompt": "car", "mode": "4k"}, "no 4k"),
        ("kling-v3", {"prompt": "car", "multi_shot": True}, "no intelligent multi-shot"),
        ("kling-v3", {"prompt": "car", "image_urls": [IMAGE] * 3}, "reference images"),
        ("kling-v3", {"prompt": "car", "last_frame_image": IMAGE}, "needs a first frame"),
        ("wan2-6-i2v-flash", {"image_urls": [IMAGE], "prompt": "x", "duration": 7}, "not 7 s"),
        ("wan2-6-i2v-flash", {"image_urls": [IMAGE]}, "needs a prompt"),
        (
            "kling-v2-6-motion-control",
            {
                "image_url": IMAGE,
                "video_url": IMAGE,
                "character_orientation": "image",
                "mode": "std",
                "watermark_info": {"enabled": True},
            },
            "no watermark",
        ),
    ],
)
async def test_an_input_replicate_cannot_take_is_unavailable_unsent(
    upstream: Upstream, model: str, values: dict[str, Any], why: str
) -> None:
    with pytest.raises(ProviderUnavailable, match="not sent to Replicate") as caught:
        await provider(upstream).submit(job(model, values))
    assert why in caught.value.message
    assert upstream.requests == []


def test_a_model_name_that_is_no_owner_and_name_is_refused_at_start() -> None:
    for name in ("kwaivgi", "../x/y", "a/b/c", "a/{kind}"):
        with pytest.raises(ValueError, match="not a Replicate model name"):
            ReplicateModel.of(
                "kling-v3", Carrier(api="replicate", mapping="kling-v3", model_name=name)
            )
