from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from adapter.core.values import TaskStatus, Video
from adapter.providers.kling import wire as kling_wire
from adapter.providers.kling.shapes import epoch_seconds, read_task, seconds, task_id_of

Load = Callable[[str], Any]


def _read(payload: Any) -> Any:
    return read_task(kling_wire.decode_task(json.dumps(payload).encode()))


def _kling(status: str, **data: Any) -> dict[str, Any]:
    return {
        "code": 0,
        "message": "SUCCEED",
        "data": {"task_id": "k1", "task_status": status, **data},
    }


def test_kling_native_success_reads_video_and_string_duration(load: Load) -> None:
    """Shape A: succeed -> succeeded, videos[0].url, duration "5" -> 5.0."""
    view = _read(load("kling_query_succeed.json"))
    assert view.upstream_id == "task_123456"
    assert view.status is TaskStatus.SUCCEEDED
    assert view.videos == (Video(url="https://example.com/video.mp4", duration=5.0),)
    assert view.message is None


def test_kling_native_failure_carries_task_status_msg(load: Load) -> None:
    """Shape A: failed -> failed, with task_status_msg as the reason."""
    view = _read(load("kling_query_failed.json"))
    assert view.status is TaskStatus.FAILED
    assert view.message == "Failure to pass the risk control system"
    assert view.videos == ()


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("submitted", TaskStatus.QUEUED),
        ("processing", TaskStatus.PROCESSING),
        ("succeed", TaskStatus.SUCCEEDED),
        ("failed", TaskStatus.FAILED),
        ("rendering", TaskStatus.PROCESSING),
    ],
)
def test_kling_status_words_map_to_mindvideo(word: str, status: TaskStatus) -> None:
    """Shape A status words map to ours; an unlisted word reads as processing."""
    assert _read(_kling(word)).status is status


def test_taskdto_success_prefers_result_url_and_takes_nested_duration(load: Load) -> None:
    """Shape B: result_url is the video, duration comes from the raw Kling body inside."""
    view = _read(load("newapi_taskdto_success.json"))
    assert view.upstream_id == "task_xGOhEWZIx3qiVkqL7rCE0np45eaTM2HA"
    assert view.status is TaskStatus.SUCCEEDED
    assert view.videos == (
        Video(url="https://cdn.example.com/kling/867283741759111202.mp4", duration=5.1),
    )


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("NOT_START", TaskStatus.QUEUED),
        ("SUBMITTED", TaskStatus.QUEUED),
        ("QUEUED", TaskStatus.QUEUED),
        ("IN_PROGRESS", TaskStatus.PROCESSING),
        ("SUCCESS", TaskStatus.SUCCEEDED),
        ("FAILURE", TaskStatus.FAILED),
        ("UNKNOWN", TaskStatus.PROCESSING),
    ],
)
def test_taskdto_status_words_map_to_mindvideo(word: str, status: TaskStatus) -> None:
    """Shape B status words map to ours; UNKNOWN is transient (processing)."""
    view = _read({"code": "success", "data": {"task_id": "t1", "status": word, "progress": "37%"}})
    assert view.status is status


def test_taskdto_failure_reason_is_fail_reason() -> None:
    """Shape B: FAILURE carries fail_reason."""
    body = {
        "code": "success",
        "data": {"task_id": "t1", "status": "FAILURE", "fail_reason": "nsfw"},
    }
    assert _read(body).message == "nsfw"


def test_taskdto_without_result_url_falls_back_to_the_raw_kling_video() -> None:
    """Shape B: no result_url -> data.data.data.task_result.videos[0]."""
    raw = _kling("succeed", task_result={"videos": [{"url": "https://k/v.mp4", "duration": 10}]})
    view = _read({"code": "success", "data": {"task_id": "t1", "status": "SUCCESS", "data": raw}})
    assert view.videos == (Video(url="https://k/v.mp4", duration=10.0),)


def test_taskdto_without_result_url_falls_back_to_a_raw_dashscope_video() -> None:
    """Shape B: no result_url and no Kling body -> data.data.output.video_url."""
    raw = {
        "request_id": "r",
        "output": {"task_status": "SUCCEEDED", "video_url": "https://d/v.mp4"},
    }
    view = _read({"code": "success", "data": {"task_id": "t1", "status": "SUCCESS", "data": raw}})
    assert view.videos == (Video(url="https://d/v.mp4"),)


def test_taskdto_with_an_unreadable_raw_body_still_reads() -> None:
    """Shape B: a raw upstream body of an odd type is ignored, not an error."""
    body = {"code": "success", "data": {"task_id": "t1", "status": "IN_PROGRESS", "data": [1, 2]}}
    assert _read(body).status is TaskStatus.PROCESSING


def test_simple_envelope_reads_url(load: Load) -> None:
    """Shape C: succeeded with data.url."""
    view = _read(load("simple_envelope_succeeded.json"))
    assert view.status is TaskStatus.SUCCEEDED
    assert view.videos == (Video(url="https://cdn.example.com/out/demo.mp4"),)


@pytest.mark.parametrize(
    "error", ["content blocked", {"code": "1301", "message": "content blocked"}]
)
def test_simple_envelope_failure_reads_error_string_or_object(error: Any) -> None:
    """Shape C: failed with data.error as a string or an object."""
    view = _read({"code": "success", "data": {"task_id": "t", "status": "failed", "error": error}})
    assert (view.status, view.message) == (TaskStatus.FAILED, "content blocked")


def test_openai_video_completed_reads_metadata_url_and_seconds(load: Load) -> None:
    """Shape D: completed -> succeeded, metadata.url, seconds "5" -> 5.0, ms timestamp."""
    view = _read(load("openai_video_completed.json"))
    assert view.upstream_id == "867283741759111202"
    assert view.status is TaskStatus.SUCCEEDED
    assert view.videos == (
        Video(url="https://cdn.example.com/kling/867283741759111202.mp4", duration=5.0),
    )
    assert view.created_at_s == pytest.approx(1722769557.708)


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("queued", TaskStatus.QUEUED),
        ("in_progress", TaskStatus.PROCESSING),
        ("completed", TaskStatus.SUCCEEDED),
        ("failed", TaskStatus.FAILED),
        ("unknown", TaskStatus.PROCESSING),
    ],
)
def test_openai_video_status_words_map_to_mindvideo(word: str, status: TaskStatus) -> None:
    """Shape D status words map to ours."""
    assert _read({"id": "v1", "object": "video", "status": word}).status is status


def test_openai_video_failure_reads_error_message() -> None:
    """Shape D: failed with error.message as the reason."""
    body = {
        "id": "v1",
        "object": "video",
        "status": "failed",
        "error": {"message": "risk", "code": 1301},
    }
    assert _read(body).message == "risk"


def test_openai_video_seconds_as_number() -> None:
    """Shape D: seconds may be a number."""
    body = {"id": "v1", "status": "completed", "metadata": {"url": "https://x/v.mp4"}, "seconds": 8}
    assert _read(body).videos == (Video(url="https://x/v.mp4", duration=8.0),)


def test_unknown_fields_are_ignored_at_every_level(load: Load) -> None:
    """New upstream fields, top-level and nested, do not break parsing."""
    body = load("kling_query_succeed.json")
    body["brand_new"] = {"x": [1, 2]}
    body["data"]["extra"] = "y"
    body["data"]["task_result"]["videos"][0]["fps"] = 24
    body["data"]["task_result"]["images"] = [{"index": 0, "url": "https://i"}]
    assert _read(body).status is TaskStatus.SUCCEEDED


@pytest.mark.parametrize("payload", [{}, {"code": 0, "data": {}}, {"hello": "world"}])
def test_a_body_in_no_known_shape_reads_as_none(payload: Any) -> None:
    """Nothing recognizable -> None (the provider decides what that means)."""
    assert _read(payload) is None


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"data": {"task_id": "a"}, "task_id": "b", "id": "c"}, "a"),
        ({"data": {"task_id": ""}, "task_id": "b", "id": "c"}, "b"),
        ({"task_id": "", "id": "c"}, "c"),
        ({"id": 42}, "42"),
        ({"code": 0}, None),
    ],
)
def test_task_id_is_the_first_non_empty_candidate(payload: Any, expected: str | None) -> None:
    """The id is the first non-empty of data.task_id, task_id, id."""
    assert task_id_of(kling_wire.decode_task(json.dumps(payload).encode())) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1722769557708, 1722769557.708),
        (1731000000, 1731000000.0),
        ("1722769557708", 1722769557.708),
        (None, None),
        (0, None),
        ("later", None),
    ],
)
def test_timestamps_in_seconds_or_milliseconds_become_seconds(value: Any, expected: Any) -> None:
    """Epoch timestamps above 1e12 are milliseconds."""
    assert epoch_seconds(value) == (pytest.approx(expected) if expected else None)


def test_kling_ms_and_taskdto_s_timestamps_agree(load: Load) -> None:
    """Shape A's ms and shape B's s creation times both read as epoch seconds."""
    assert _read(_kling("submitted", created_at=1731000000123)).created_at_s == pytest.approx(
        1731000000.123
    )
    assert _read(load("newapi_taskdto_success.json")).created_at_s == 1731000000.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5", 5.0), (" 10 ", 10.0), ("5.04", 5.04), (5, 5.0), ("", None), ("x", None)],
)
def test_durations_as_strings_or_numbers_become_seconds(value: Any, expected: Any) -> None:
    """Duration "5" and 5 both read as 5.0; junk reads as unknown."""
    assert seconds(value) == expected
