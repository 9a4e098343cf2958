"""DashScopeProvider.query: how each answer about a task becomes an UpstreamState."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from adapter.core.errors import ProviderBadAnswer, ProviderUnavailable
from adapter.core.values import TaskStatus, UpstreamState, Video
from tests.providers.dashscope_helpers import API_KEY, TASK_ID, dashscope

pytestmark = pytest.mark.anyio

Load = Callable[[str], Any]


@pytest.mark.parametrize(
    ("fixture", "status"),
    [
        ("dashscope_query_pending.json", TaskStatus.QUEUED),
        ("dashscope_query_running.json", TaskStatus.PROCESSING),
        ("dashscope_query_canceled.json", TaskStatus.CANCELLED),
    ],
)
async def test_query_gets_the_task_and_maps_its_status(
    upstream: Any, load: Load, fixture: str, status: TaskStatus
) -> None:
    """GET /api/v1/tasks/{id} with the key; PENDING/RUNNING/CANCELED -> our words."""
    upstream.answer(json=load(fixture))
    state = await dashscope(upstream.handle).query("video-synthesis", TASK_ID)
    assert upstream.last.method == "GET"
    assert upstream.last.url.path == f"/api/v1/tasks/{TASK_ID}"
    assert upstream.last.headers["Authorization"] == f"Bearer {API_KEY}"
    assert state == UpstreamState(TASK_ID, status, route="video-synthesis")


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("SUSPENDED", TaskStatus.QUEUED),
        ("running", TaskStatus.PROCESSING),
        ("SOMETHING_NEW", TaskStatus.PROCESSING),
    ],
)
async def test_other_status_words(upstream: Any, word: str, status: TaskStatus) -> None:
    """SUSPENDED waits in the queue; case is ignored; an unlisted word means poll again."""
    upstream.answer(json={"output": {"task_id": "t1", "task_status": word}})
    state = await dashscope(upstream.handle).query("video-synthesis", "t1")
    assert state.status is status


async def test_query_of_a_succeeded_task_returns_its_video(upstream: Any, load: Load) -> None:
    """SUCCEEDED -> one video: output.video_url, with usage.duration as its length."""
    upstream.answer(json=load("dashscope_query_succeeded.json"))
    state = await dashscope(upstream.handle).query("video-synthesis", TASK_ID)
    url = load("dashscope_query_succeeded.json")["output"]["video_url"]
    assert state == UpstreamState(
        TASK_ID, TaskStatus.SUCCEEDED, "video-synthesis", (Video(url=url, duration=5.0),)
    )


@pytest.mark.parametrize(
    ("usage", "duration"),
    [
        ({"duration": 5}, 5.0),
        ({"output_video_duration": 10, "input_video_duration": 3}, 10.0),
        ({"video_duration": 5.04, "video_ratio": "1280*720"}, 5.04),
        ({"duration": 0, "video_duration": 15}, 15.0),
        ({"duration": "5"}, 5.0),
        ({"duration": -5}, None),
        ({"duration": "NaN"}, None),
        ({"duration": "five"}, None),
        ({"input_video_duration": 3}, None),
        ({"duration": True}, None),
        ("odd", None),
        (None, None),
    ],
)
async def test_video_length_comes_from_the_first_positive_usage_key(
    upstream: Any, usage: Any, duration: float | None
) -> None:
    """usage.duration, output_video_duration, video_duration; anything else is no length."""
    body: dict[str, Any] = {
        "output": {"task_id": "t1", "task_status": "SUCCEEDED", "video_url": "https://v/1.mp4"}
    }
    if usage is not None:
        body["usage"] = usage
    upstream.answer(json=body)
    state = await dashscope(upstream.handle).query("video-synthesis", "t1")
    assert state.videos == (Video(url="https://v/1.mp4", duration=duration),)


async def test_a_success_without_a_video_url_has_no_videos(upstream: Any) -> None:
    """SUCCEEDED without output.video_url: no video (the service fails it as no output)."""
    upstream.answer(json={"output": {"task_id": "t1", "task_status": "SUCCEEDED"}})
    state = await dashscope(upstream.handle).query("video-synthesis", "t1")
    assert (state.status, state.videos) == (TaskStatus.SUCCEEDED, ())


async def test_query_of_a_failed_task_carries_code_and_message(upstream: Any, load: Load) -> None:
    """FAILED -> failed with "<output.code>: <output.message>"; not an exception."""
    upstream.answer(json=load("dashscope_query_failed.json"))
    state = await dashscope(upstream.handle).query("video-synthesis", TASK_ID)
    assert state == UpstreamState(
        TASK_ID,
        TaskStatus.FAILED,
        "video-synthesis",
        message="DataInspectionFailed: Output data may contain inappropriate content.",
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"code": "InternalError.Algo", "message": "algo failed"},
            "InternalError.Algo: algo failed",
        ),
        ({"message": "algo failed"}, "algo failed"),
        ({"code": "InternalError.Algo"}, "InternalError.Algo"),
        ({}, None),
    ],
)
async def test_a_failure_reason_may_be_top_level_or_partly_missing(
    upstream: Any, extra: dict[str, Any], message: str | None
) -> None:
    """The reason is also read from the top level; a missing code or message is skipped."""
    upstream.answer(json={"output": {"task_id": "t1", "task_status": "FAILED"}, **extra})
    state = await dashscope(upstream.handle).query("video-synthesis", "t1")
    assert (state.status, state.message) == (TaskStatus.FAILED, message)


async def test_an_unknown_task_failed_as_expired(upstream: Any, load: Load) -> None:
    """UNKNOWN: DashScope forgot the task (24 h) or never had it -> failed, saying so."""
    upstream.answer(json=load("dashscope_query_unknown.json"))
    state = await dashscope(upstream.handle).query("video-synthesis", TASK_ID)
    assert state.status is TaskStatus.FAILED
    assert state.message is not None
    assert "expired" in state.message
    assert "never existed" in state.message


@pytest.mark.parametrize(
    "answer",
    [
        {"json": {"request_id": "r1"}},
        {"json": {"output": {"task_id": "t1"}}},
        {"json": [1, 2, 3]},
        {"content": b"nope"},
    ],
)
async def test_unrecognizable_query_answer_is_unavailable(
    upstream: Any, answer: dict[str, Any]
) -> None:
    """A 2xx we cannot read as a task on a query: try again later (a non-JSON one says so)."""
    upstream.answer(200, **answer)
    with pytest.raises(ProviderUnavailable) as caught:
        await dashscope(upstream.handle).query("video-synthesis", "t1")
    expected = ProviderBadAnswer if "content" in answer else ProviderUnavailable
    assert type(caught.value) is expected


async def test_query_of_an_unknown_route_is_a_bug(upstream: Any) -> None:
    """Routes come from submit; anything else is a programming error."""
    with pytest.raises(ValueError, match="video-synthesis"):
        await dashscope(upstream.handle).query("motion-control", "t1")


async def test_task_ids_are_escaped_in_the_path(upstream: Any, load: Load) -> None:
    """An id is one path segment, whatever it contains."""
    upstream.answer(json=load("dashscope_query_running.json"))
    await dashscope(upstream.handle).query("video-synthesis", "a/../b")
    assert upstream.last.url.raw_path == b"/api/v1/tasks/a%2F..%2Fb"
