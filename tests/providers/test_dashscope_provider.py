"""DashScopeProvider: submit, lookup and cancel, and the helpers the other DashScope tests use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from adapter.core.errors import ProviderBadAnswer, ProviderOutcomeUnknown, ProviderRejected
from adapter.core.values import TaskStatus, UpstreamState, VideoJob
from tests.providers.dashscope_helpers import API_KEY, PNG, SUBMIT_PATH, TASK_ID, dashscope, wan_job

pytestmark = pytest.mark.anyio

Load = Callable[[str], Any]

# --- submit ---------------------------------------------------------------------------------


async def test_submit_posts_to_video_synthesis_async_with_the_api_key(load: Load) -> None:
    """POST .../video-synthesis, Bearer key, JSON, X-DashScope-Async: enable -> queued."""

    def check(request: httpx.Request) -> httpx.Response:
        assert request.method == "POST"
        assert request.url.host == "dashscope.example.com"
        assert request.url.path == SUBMIT_PATH
        assert request.headers["Authorization"] == f"Bearer {API_KEY}"
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["X-DashScope-Async"] == "enable"
        return httpx.Response(200, json=load("dashscope_submit_ok.json"))

    state = await dashscope(check).submit(wan_job())
    assert state == UpstreamState(TASK_ID, TaskStatus.QUEUED, route="video-synthesis")


async def test_submit_body_maps_every_field(upstream: Any, load: Load) -> None:
    """image_urls[0] (a data URI as is), texts, audio_url, 720p -> 720P and every parameter."""
    upstream.answer(json=load("dashscope_submit_ok.json"))
    job = wan_job(
        image_urls=[PNG],
        prompt="一只小猫在月光下奔跑",
        negative_prompt="blurry",
        audio_url="https://example.com/voice.mp3",
        template="flying",
        resolution="720p",
        duration=10,
        prompt_extend=False,
        shot_type="multi",
        audio=True,
        watermark=True,
        seed=12345,
    )
    await dashscope(upstream.handle).submit(job)
    assert upstream.last_json() == {
        "model": "wan2.6-i2v-flash",
        "input": {
            "img_url": PNG,
            "prompt": "一只小猫在月光下奔跑",
            "negative_prompt": "blurry",
            "audio_url": "https://example.com/voice.mp3",
            "template": "flying",
        },
        "parameters": {
            "resolution": "720P",
            "duration": 10,
            "prompt_extend": False,
            "shot_type": "multi",
            "audio": True,
            "watermark": True,
            "seed": 12345,
        },
    }


async def test_submit_body_omits_unset_options_and_keeps_defaults(
    upstream: Any, load: Load
) -> None:
    """No prompt, negative prompt, template, audio_url or seed -> the keys are left out."""
    upstream.answer(json=load("dashscope_submit_ok.json"))
    await dashscope(upstream.handle).submit(wan_job())
    assert upstream.last_json() == {
        "model": "wan2.6-i2v-flash",
        "input": {"img_url": "https://example.com/first-frame.png"},
        "parameters": {
            "resolution": "1080P",
            "duration": 5,
            "prompt_extend": True,
            "shot_type": "single",
            "audio": True,
            "watermark": False,
        },
    }


async def test_submit_drops_audio_url_when_audio_is_off(upstream: Any, load: Load) -> None:
    """audio=false makes a silent video: the audio track is not sent."""
    upstream.answer(json=load("dashscope_submit_ok.json"))
    await dashscope(upstream.handle).submit(
        wan_job(audio=False, audio_url="https://example.com/voice.mp3")
    )
    body = upstream.last_json()
    assert "audio_url" not in body["input"]
    assert body["parameters"]["audio"] is False


async def test_submit_sends_a_seed_of_zero(upstream: Any, load: Load) -> None:
    """A given seed is sent even when it is 0; only an absent one is left out."""
    upstream.answer(json=load("dashscope_submit_ok.json"))
    await dashscope(upstream.handle).submit(wan_job(seed=0))
    assert upstream.last_json()["parameters"]["seed"] == 0


@pytest.mark.parametrize(
    "answer",
    [
        {"json": {"request_id": "r1"}},
        {"json": {"request_id": "r1", "output": {"task_status": "PENDING"}}},
        {"json": {"output": {"task_id": ""}}},
        {"json": [1, 2, 3]},
    ],
)
async def test_submit_answer_without_a_task_id_is_outcome_unknown(
    upstream: Any, answer: dict[str, Any]
) -> None:
    """A 2xx without a task id: a task may exist, so the outcome is unknown."""
    upstream.answer(200, **answer)
    with pytest.raises(ProviderOutcomeUnknown):
        await dashscope(upstream.handle).submit(wan_job())


async def test_a_web_page_answering_a_submit_fails_it_at_once_naming_the_route(
    upstream: Any,
) -> None:
    """A 2xx that is not JSON is not DashScope answering: nothing was made, say where we went."""
    upstream.answer(200, content=b"<html>portal</html>", headers={"Content-Type": "text/html"})
    with pytest.raises(ProviderBadAnswer) as caught:
        await dashscope(upstream.handle).submit(wan_job())
    assert "a web page (text/html, HTTP 200) to POST https://" in caught.value.message
    assert "/api/v1/services/aigc/video-generation/video-synthesis" in caught.value.message


async def test_a_refusal_in_a_2xx_submit_answer_is_raised(upstream: Any, load: Load) -> None:
    """A 200 carrying an error code and no task is a refusal, classified by its code."""
    upstream.answer(200, json=load("dashscope_error_invalid_parameter.json"))
    with pytest.raises(ProviderRejected) as caught:
        await dashscope(upstream.handle).submit(wan_job())
    assert caught.value.code == "InvalidParameter"


async def test_a_model_it_does_not_serve_is_refused_before_sending(upstream: Any) -> None:
    """A job for another model (or one narrowed away) is a bug: nothing goes upstream."""
    other = VideoJob("kling-v3", {"prompt": "p"}, "task_01JDEMO")
    with pytest.raises(ValueError, match="does not serve 'kling-v3'"):
        await dashscope(upstream.handle).submit(other)
    with pytest.raises(ValueError, match="does not serve 'wan2-6-i2v-flash'"):
        await dashscope(upstream.handle, models=[]).submit(wan_job())
    assert upstream.requests == []


# --- lookup and cancel ----------------------------------------------------------------------


async def test_lookup_never_returns_none(upstream: Any) -> None:
    """DashScope has no id of ours: a lost submit answer is an unknown outcome, never None."""
    with pytest.raises(ProviderOutcomeUnknown) as caught:
        await dashscope(upstream.handle).lookup(wan_job())
    assert "cannot be looked up" in caught.value.message
    assert upstream.requests == []


async def test_cancel_posts_to_the_tasks_cancel_path(upstream: Any) -> None:
    """POST /api/v1/tasks/{id}/cancel with the key; a 200 is done."""
    upstream.answer(json={"request_id": "r1"})
    assert await dashscope(upstream.handle).cancel("video-synthesis", TASK_ID) is True
    assert upstream.last.method == "POST"
    assert upstream.last.url.path == f"/api/v1/tasks/{TASK_ID}/cancel"
    assert upstream.last.headers["Authorization"] == f"Bearer {API_KEY}"


@pytest.mark.parametrize("status", [400, 200])
async def test_cancel_of_a_started_task_raises_the_refusal(upstream: Any, status: int) -> None:
    """DashScope cancels PENDING tasks only; its refusal is a classified ProviderError."""
    refusal = {"request_id": "r1", "code": "UnsupportedOperation", "message": "task is running"}
    upstream.answer(status, json=refusal)
    with pytest.raises(ProviderRejected) as caught:
        await dashscope(upstream.handle).cancel("video-synthesis", TASK_ID)
    assert (caught.value.code, caught.value.message) == ("UnsupportedOperation", "task is running")
