from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest

from adapter.core.errors import (
    ProviderBadAnswer,
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderTaskNotFound,
    ProviderUnavailable,
)
from adapter.core.values import TaskStatus, UpstreamState, Video, VideoJob
from adapter.providers.kling.provider import KlingProvider

pytestmark = pytest.mark.anyio

MakeProvider = Callable[..., KlingProvider]
MakeJob = Callable[..., VideoJob]
Load = Callable[[str], Any]

HTML = {"Content-Type": "text/html; charset=utf-8"}
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ"


async def test_gateway_submit_posts_the_kling_body_with_the_api_key(
    make_provider: MakeProvider, make_job: MakeJob, upstream: Any, keys: Any, load: Load
) -> None:
    """Gateway: POST /kling/v1/videos/motion-control, Bearer api key, Kling field names."""

    def check(request: httpx.Request) -> httpx.Response:
        assert request.method == "POST"
        assert request.url.path == "/kling/v1/videos/motion-control"
        assert request.headers["Authorization"] == f"Bearer {keys.api_key}"
        assert request.headers["Content-Type"] == "application/json"
        return httpx.Response(200, json=load("kling_submit_v3_logged.json"))

    job = make_job(
        image_url=f"data:image/png;base64,{PNG_B64}",
        callback_url="https://adapter.example.com/callbacks/kling-test/task_01JDEMO?t=x",
    )
    provider = make_provider(
        "gateway", http=httpx.AsyncClient(transport=httpx.MockTransport(check))
    )
    state = await provider.submit(job)
    assert state == UpstreamState("867283741759111202", TaskStatus.QUEUED, route="motion-control")


async def test_submit_body_maps_every_field(
    make_provider: MakeProvider, make_job: MakeJob, upstream: Any, load: Load
) -> None:
    """The body carries model_name, external_task_id, raw base64 media and the job's options."""
    upstream.answer(json=load("kling_submit_v3_logged.json"))
    job = make_job(
        image_url=f"data:image/png;base64,{PNG_B64}",
        video_url="data:video/mp4;base64,AAAAIGZ0eXBpc29t",
        character_orientation="video",
        mode="pro",
        keep_original_sound="no",
        callback_url="https://adapter.example.com/cb",
    )
    await make_provider().submit(job)
    assert upstream.last_json() == {
        "model_name": "kling-v2-6",
        "model": "kling-v2-6",
        "image_url": PNG_B64,
        "video_url": "AAAAIGZ0eXBpc29t",
        "character_orientation": "video",
        "mode": "pro",
        "keep_original_sound": "no",
        "prompt": "按参考视频完成转身挥手动作",
        "watermark_info": {"enabled": False},
        "callback_url": "https://adapter.example.com/cb",
        "external_task_id": "task_01JDEMO",
    }


async def test_submit_body_omits_absent_options(
    make_provider: MakeProvider, make_job: MakeJob, upstream: Any, load: Load
) -> None:
    """No prompt, watermark or callback -> the keys are left out; URLs pass unchanged."""
    upstream.answer(json=load("kling_submit_v3_logged.json"))
    await make_provider().submit(make_job(prompt=None, watermark_info=None))
    body = upstream.last_json()
    assert "prompt" not in body
    assert "watermark_info" not in body
    assert "callback_url" not in body
    assert body["image_url"] == "https://example.com/ref-image.png"
    assert body["external_task_id"] == "task_01JDEMO"


async def test_official_submit_signs_a_jwt_and_uses_the_official_path(
    make_provider: MakeProvider, make_job: MakeJob, upstream: Any, keys: Any, load: Load
) -> None:
    """Official: POST /v1/videos/motion-control with a JWT signed by the secret key."""
    upstream.answer(json=load("kling_submit_v3_logged.json"))
    state = await make_provider("official").submit(make_job())
    assert upstream.last.url.path == "/v1/videos/motion-control"
    scheme, token = upstream.last.headers["Authorization"].split(" ")
    assert scheme == "Bearer"
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(
        token,
        keys.secret_key,
        algorithms=["HS256"],
        options={"verify_exp": False, "verify_nbf": False},
    )
    now = int(keys.now)
    assert claims == {"iss": keys.access_key, "exp": now + 1800, "nbf": now - 5}
    assert state.route == "motion-control"


async def test_submit_reads_an_openai_video_answer(
    make_provider: MakeProvider, make_job: MakeJob, upstream: Any, load: Load
) -> None:
    """A new-api gateway answering the submit with an OpenAI-video object is accepted."""
    upstream.answer(json=load("openai_video_submit.json"))
    state = await make_provider().submit(make_job())
    assert state.upstream_id == "task_xGOhEWZIx3qiVkqL7rCE0np45eaTM2HA"
    assert state.status is TaskStatus.QUEUED


async def test_submit_with_only_an_id_is_queued(
    make_provider: MakeProvider, make_job: MakeJob, upstream: Any
) -> None:
    """An answer with a task id and no status word means queued."""
    upstream.answer(json={"code": 0, "data": {"task_id": "k9"}})
    state = await make_provider().submit(make_job())
    assert (state.upstream_id, state.status) == ("k9", TaskStatus.QUEUED)


@pytest.mark.parametrize(
    "answer",
    [
        {"json": {"code": 0, "message": "SUCCEED", "data": {}}},
        {"json": {"hello": "world"}},
        {"json": [1, 2, 3]},
    ],
)
async def test_unrecognizable_submit_answer_is_outcome_unknown(
    make_provider: MakeProvider, make_job: MakeJob, upstream: Any, answer: dict[str, Any]
) -> None:
    """A 2xx without a task id: the task may exist, so the outcome is unknown."""
    upstream.answer(200, **answer)
    with pytest.raises(ProviderOutcomeUnknown):
        await make_provider().submit(make_job())


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        ({"content": b"<!doctype html><html>new-api</html>", "headers": HTML}, "a web page"),
        ({"content": b"OK"}, "a non-JSON answer"),
        ({"content": b""}, "an empty body"),
    ],
)
async def test_a_2xx_that_is_not_json_fails_the_submit_at_once_naming_the_route(
    make_provider: MakeProvider,
    make_job: MakeJob,
    upstream: Any,
    answer: dict[str, Any],
    said: str,
) -> None:
    """Stock new-api answers routes it lacks (motion-control) with its web UI, HTTP 200: that
    is no task made, so the submit fails at once (and may go to the next provider) instead
    of waiting ten minutes on an id the gateway never had."""
    upstream.answer(200, **answer)
    with pytest.raises(ProviderBadAnswer) as caught:
        await make_provider("gateway").submit(make_job())
    assert isinstance(caught.value, ProviderUnavailable)
    assert said in caught.value.message
    assert "POST https://kling.example.com/kling/v1/videos/motion-control" in caught.value.message


async def test_a_gateway_submit_names_the_model_twice_as_new_api_needs(
    make_provider: MakeProvider, make_job: MakeJob, upstream: Any, load: Load
) -> None:
    """new-api refuses a Kling body without ``model`` ("Model name not specified"); the official
    API gets Kling's own ``model_name`` alone."""
    upstream.answer(json=load("openai_video_submit.json"))
    await make_provider("gateway").submit(make_job())
    body = upstream.last_json()
    assert body["model"] == body["model_name"] == "kling-v2-6"
    upstream.answer(json=load("kling_submit_v3_logged.json"))
    await make_provider("official").submit(make_job())
    assert "model" not in upstream.last_json()


@pytest.mark.parametrize(
    ("dialect", "path"),
    [
        ("gateway", "/v1/video/generations/867283741759111202"),
        ("official", "/v1/videos/motion-control/867283741759111202"),
    ],
)
async def test_query_uses_the_dialects_path(
    make_provider: MakeProvider, upstream: Any, load: Load, dialect: str, path: str
) -> None:
    """Gateway queries the generic path; official queries the creation family's path."""
    upstream.answer(json=load("kling_query_succeed.json"))
    state = await make_provider(dialect).query("motion-control", "867283741759111202")
    assert upstream.last.method == "GET"
    assert upstream.last.url.path == path
    assert upstream.last.headers["Authorization"].startswith("Bearer ")
    assert state == UpstreamState(
        "task_123456",
        TaskStatus.SUCCEEDED,
        route="motion-control",
        videos=(Video(url="https://example.com/video.mp4", duration=5.0),),
    )


async def test_query_of_a_failed_task_carries_the_reason(
    make_provider: MakeProvider, upstream: Any, load: Load
) -> None:
    """A failed task comes back as a state, not an exception."""
    upstream.answer(json=load("kling_query_failed.json"))
    state = await make_provider("official").query("motion-control", "867283741759111202")
    assert state.status is TaskStatus.FAILED
    assert state.message == "Failure to pass the risk control system"


async def test_query_of_a_body_without_id_keeps_the_asked_id(
    make_provider: MakeProvider, upstream: Any
) -> None:
    """A shape without a task id is still about the task that was asked for."""
    upstream.answer(json={"code": "success", "data": {"status": "processing"}})
    state = await make_provider().query("motion-control", "k1")
    assert (state.upstream_id, state.status) == ("k1", TaskStatus.PROCESSING)


@pytest.mark.parametrize("answer", [{"json": {"code": 0, "data": {}}}, {"content": b"nope"}])
async def test_unrecognizable_query_answer_is_unavailable(
    make_provider: MakeProvider, upstream: Any, answer: dict[str, Any]
) -> None:
    """A 2xx we cannot read on a query: try again later."""
    upstream.answer(200, **answer)
    with pytest.raises(ProviderUnavailable):
        await make_provider().query("motion-control", "k1")


async def test_query_of_an_unknown_route_is_a_bug(make_provider: MakeProvider) -> None:
    """Routes come from submit; anything else is a programming error."""
    with pytest.raises(ValueError, match="multi-image2video"):
        await make_provider().query("multi-image2video", "k1")


@pytest.mark.parametrize(
    ("dialect", "path"),
    [
        ("gateway", "/v1/video/generations/task_01JDEMO"),
        ("official", "/v1/videos/motion-control/task_01JDEMO"),
    ],
)
async def test_lookup_finds_a_task_by_external_id(
    make_provider: MakeProvider,
    make_job: MakeJob,
    upstream: Any,
    load: Load,
    dialect: str,
    path: str,
) -> None:
    """lookup queries by our external id and returns the upstream's own id."""
    upstream.answer(json=load("kling_query_succeed.json"))
    state = await make_provider(dialect).lookup(make_job())
    assert upstream.last.url.path == path
    assert state is not None
    assert (state.upstream_id, state.route) == ("task_123456", "motion-control")


@pytest.mark.parametrize(
    ("status", "fixture"),
    [(400, "error_newapi_task.json"), (404, "error_kling_native_1203")],
)
async def test_lookup_of_a_missing_task_is_none(
    make_provider: MakeProvider,
    make_job: MakeJob,
    upstream: Any,
    load: Load,
    status: int,
    fixture: str | None,
) -> None:
    """Kling 1203 and new-api task_not_exist both mean "not there"."""
    if fixture == "error_kling_native_1203":
        upstream.answer(status, json={"code": 1203, "message": "task not found", "request_id": "r"})
    else:
        upstream.answer(status, json=load(fixture))
    assert await make_provider("official").lookup(make_job()) is None


async def test_a_bare_404_is_a_missing_route_not_a_missing_task(
    make_provider: MakeProvider, make_job: MakeJob, upstream: Any
) -> None:
    """A 404 page with no error code of its own says nothing about the task."""
    upstream.answer(404, content=b"Not Found")
    with pytest.raises(ProviderRejected) as caught:
        await make_provider("official").lookup(make_job())
    assert not isinstance(caught.value, ProviderTaskNotFound)


async def test_a_gateway_not_found_says_absent_by_our_id_but_not_for_sure(
    make_provider: MakeProvider, make_job: MakeJob, upstream: Any, load: Load
) -> None:
    """A gateway knows only its own ids: its "not found" is ProviderTaskNotFound (the task is
    ended, never resubmitted), not None (which would resubmit, maybe charging twice)."""
    upstream.answer(400, json=load("error_newapi_task.json"))
    with pytest.raises(ProviderTaskNotFound) as caught:
        await make_provider("gateway").lookup(make_job())
    assert "its own ids" in caught.value.message


@pytest.mark.parametrize("dialect", ["gateway", "official"])
async def test_a_query_of_a_task_the_upstream_no_longer_has_raises_task_not_found(
    make_provider: MakeProvider, upstream: Any, load: Load, dialect: str
) -> None:
    """An accepted task the upstream denies is ProviderTaskNotFound, for the service to end."""
    upstream.answer(400, json=load("error_newapi_task.json"))
    with pytest.raises(ProviderTaskNotFound):
        await make_provider(dialect).query("motion-control", "867283741759111202")


async def test_lookup_raises_other_errors(
    make_provider: MakeProvider, make_job: MakeJob, upstream: Any
) -> None:
    """Only "not found" is None; an unavailable upstream still raises."""
    upstream.answer(503, content=b"<html>down</html>")
    with pytest.raises(ProviderUnavailable):
        await make_provider().lookup(make_job())


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ConnectError("refused"), ProviderUnavailable),
        (httpx.ReadTimeout("slow"), ProviderOutcomeUnknown),
    ],
)
async def test_transport_errors_are_translated(
    make_provider: MakeProvider, make_job: MakeJob, upstream: Any, exc: Exception, expected: type
) -> None:
    """httpx errors leave the provider as ProviderErrors, never as httpx exceptions."""
    upstream.fail(exc)
    with pytest.raises(expected) as caught:
        await make_provider().submit(make_job())
    assert type(caught.value) is expected


async def test_cancel_sends_nothing_because_kling_has_none(
    make_provider: MakeProvider, upstream: Any
) -> None:
    """No request is made; the caller learns that nothing was stopped upstream."""
    assert await make_provider().cancel("motion-control", "k1") is False
    assert upstream.requests == []
