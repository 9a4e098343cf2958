"""kling-v2-6 and kling-v3: the route each job takes, the exact body sent, and later queries."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapter.core.values import TaskStatus, UpstreamState, VideoJob
from adapter.providers.kling.provider import KlingProvider
from tests.models import KLING, checked

pytestmark = pytest.mark.anyio

MakeProvider = Callable[..., KlingProvider]
Load = Callable[[str], Any]

FIXTURES = Path(__file__).parent / "fixtures"
PNG_URI = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ"
CALLBACK = "https://adapter.example.com/callbacks/kling-test/task_01JDEMO"
EXTERNAL_ID = "task_01JDEMO"
SUBMITTED_ID = "867283741759111202"  # the id in kling_submit_v3_logged.json


def job_of(model: str, callback_url: str | None = CALLBACK, **fields: Any) -> VideoJob:
    params = checked(model, {"prompt": "a fox runs through snow", **fields})
    return VideoJob(model, params, EXTERNAL_ID, callback_url)


def v3(**fields: Any) -> VideoJob:
    return job_of("kling-v3", **fields)


def model_cases() -> list[Any]:
    """(job, route, exact body) for every model and route, from kling_model_cases.json."""
    cases = json.loads((FIXTURES / "kling_model_cases.json").read_text(encoding="utf-8"))
    return [
        pytest.param(job_of(c["model"], **c["input"]), c["route"], c["body"], id=c["id"])
        for c in cases
    ]


CASES = model_cases()
SUBMIT_PATH = {"gateway": "/kling/v1/videos/{route}", "official": "/v1/videos/{route}"}
QUERY_PATH = {"gateway": "/v1/video/generations/{id}", "official": "/v1/videos/{route}/{id}"}


@pytest.mark.parametrize("dialect", ["gateway", "official"])
@pytest.mark.parametrize(("job", "route", "body"), CASES)
async def test_submit_posts_the_exact_body_to_the_chosen_route(
    make_provider: MakeProvider,
    upstream: Any,
    load: Load,
    dialect: str,
    job: VideoJob,
    route: str,
    body: dict[str, Any],
) -> None:
    """Each model's input picks its route; the body on that route is exactly the mapped one
    (on a gateway with ``model`` beside ``model_name``, which new-api needs)."""
    upstream.answer(json=load("kling_submit_v3_logged.json"))
    state = await make_provider(dialect).submit(job)
    assert upstream.last.method == "POST"
    assert upstream.last.url.path == SUBMIT_PATH[dialect].format(route=route)
    if dialect == "gateway":
        body = {**body, "model": body["model_name"]}
    assert upstream.last_json() == body
    assert state == UpstreamState(SUBMITTED_ID, TaskStatus.QUEUED, route=route)


@pytest.mark.parametrize(
    ("model", "images"),
    [
        ("kling-v2-6", []),  # text2video
        ("kling-v2-6", [PNG_URI]),  # image2video
        ("kling-v3", []),
        ("kling-v3", [PNG_URI]),
        ("kling-v3", [PNG_URI, PNG_URI, PNG_URI]),  # omni-video
    ],
)
async def test_a_job_without_callback_sends_no_callback_url(
    make_provider: MakeProvider, upstream: Any, load: Load, model: str, images: list[str]
) -> None:
    """callback_url is left out, not sent as null; external_task_id is always there."""
    upstream.answer(json=load("kling_submit_v3_logged.json"))
    await make_provider().submit(job_of(model, callback_url=None, image_urls=images))
    body = upstream.last_json()
    assert "callback_url" not in body
    assert body["external_task_id"] == EXTERNAL_ID


@pytest.mark.parametrize(
    ("duration", "expected"),
    [(3, "3"), (2.5, "2.5"), (4.0, "4"), ("6", "6"), (None, None), (True, True)],
)
async def test_multi_prompt_durations_become_strings_and_other_fields_pass_through(
    make_provider: MakeProvider, upstream: Any, load: Load, duration: Any, expected: Any
) -> None:
    """Numbers become Kling's strings; anything else (even a bool) is passed on as given."""
    upstream.answer(json=load("kling_submit_v3_logged.json"))
    shot = {"index": 1, "prompt": "one", "duration": duration, "extra": {"k": [1]}}
    await make_provider().submit(v3(multi_shot=True, multi_prompt=[shot]))
    assert upstream.last_json()["multi_prompt"] == [{**shot, "duration": expected}]


@pytest.mark.parametrize("dialect", ["gateway", "official"])
@pytest.mark.parametrize("route", ["text2video", "image2video", "omni-video"])
async def test_query_accepts_the_new_routes(
    make_provider: MakeProvider, upstream: Any, load: Load, dialect: str, route: str
) -> None:
    """Gateway queries its generic path; official queries the family the task was made on."""
    upstream.answer(json=load("kling_query_succeed.json"))
    state = await make_provider(dialect).query(route, "k7")
    assert upstream.last.method == "GET"
    assert upstream.last.url.path == QUERY_PATH[dialect].format(route=route, id="k7")
    assert (state.status, state.route) == (TaskStatus.SUCCEEDED, route)


@pytest.mark.parametrize("dialect", ["gateway", "official"])
@pytest.mark.parametrize(("job", "route", "body"), CASES)
async def test_the_submitted_route_is_the_one_later_queried_and_looked_up(
    make_provider: MakeProvider,
    upstream: Any,
    load: Load,
    dialect: str,
    job: VideoJob,
    route: str,
    body: dict[str, Any],
) -> None:
    """submit, query(state.route) and lookup(job) agree on the family (in the official path)."""
    provider = make_provider(dialect)
    upstream.answer(json=load("kling_submit_v3_logged.json"))
    upstream.answer(json=load("kling_query_succeed.json"))
    upstream.answer(json=load("kling_query_succeed.json"))
    state = await provider.submit(job)
    queried = await provider.query(state.route, state.upstream_id)
    found = await provider.lookup(job)
    assert [request.url.path for request in upstream.requests] == [
        SUBMIT_PATH[dialect].format(route=route),
        QUERY_PATH[dialect].format(route=route, id=SUBMITTED_ID),
        QUERY_PATH[dialect].format(route=route, id=EXTERNAL_ID),
    ]
    assert found is not None
    assert (state.route, queried.route, found.route) == (route, route, route)


async def test_query_still_refuses_a_route_no_task_is_created_on(
    make_provider: MakeProvider, upstream: Any
) -> None:
    """multi-image2video is a Kling family this provider never submits to: a bug, no request."""
    with pytest.raises(ValueError, match="omni-video"):
        await make_provider().query("multi-image2video", "k1")
    assert upstream.requests == []


def test_the_new_models_are_served_by_default(make_provider: MakeProvider) -> None:
    """Both models' specs say Kling carries them, each under its own model_name."""
    provider = make_provider()
    assert provider.serves("kling-v2-6") and provider.serves("kling-v3")
    assert (KLING["kling-v2-6"].model_name, KLING["kling-v3"].model_name) == (
        "kling-v2-6",
        "kling-v3",
    )


async def test_kling_v3_motion_control_is_the_motion_control_body_named_kling_v3(
    make_provider: MakeProvider, upstream: Any, load: Load
) -> None:
    """A model added as data: its 2.6 sibling's mapping, its own model_name."""
    upstream.answer(json=load("kling_submit_v3_logged.json"))
    values = {
        "prompt": "dance",
        "character_orientation": "image",
        "image_url": "https://example.com/ref-image.png",
        "mode": "std",
        "video_url": "https://example.com/ref-video-8s.mp4",
    }
    job = VideoJob(
        "kling-v3-motion-control", checked("kling-v3-motion-control", values), EXTERNAL_ID
    )
    state = await make_provider("official").submit(job)
    assert upstream.last.url.path == "/v1/videos/motion-control"
    body = upstream.last_json()
    assert body["model_name"] == "kling-v3" and body["video_url"] == values["video_url"]
    assert state.route == "motion-control"
