"""Kling text2video, image2video and omni-video in both dialects: routes, lifecycle, output."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from adapter.simulator.clock import ManualClock
from adapter.simulator.mp4 import build_mp4

pytestmark = pytest.mark.anyio

FamilyBody = Callable[..., dict[str, Any]]
FAMILIES = ("text2video", "image2video", "omni-video")
#: dialect -> (submit prefix, query prefix, auth fixture)
DIALECTS = {
    "gateway": ("/kling/v1/videos/", "/kling/v1/videos/", "gateway_auth"),
    "official": ("/v1/videos/", "/v1/videos/", "official_auth"),
}


async def submit(
    client: httpx.AsyncClient, path: str, auth: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=auth)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize("family", FAMILIES)
async def test_each_family_submits_and_queries_on_its_own_path_in_both_dialects(
    client: httpx.AsyncClient,
    clock: ManualClock,
    family_body: FamilyBody,
    request: pytest.FixtureRequest,
    family: str,
    dialect: str,
) -> None:
    """POST .../{family} answers Kling's submit body; GET .../{family}/{id} follows the task."""
    submit_prefix, query_prefix, auth_fixture = DIALECTS[dialect]
    auth = request.getfixturevalue(auth_fixture)
    data = await submit(client, submit_prefix + family, auth, family_body(family))
    assert data["task_status"] == "submitted"
    assert len(data["task_id"]) == 18
    path = f"{query_prefix}{family}/{data['task_id']}"
    seen = []
    for step in (0, 1.5, 1.5):
        clock.advance(step)
        response = await client.get(path, headers=auth)
        assert response.status_code == 200, response.text
        seen.append(response.json()["data"]["task_status"])
    assert seen == ["submitted", "processing", "succeed"]


@pytest.mark.parametrize(("family", "duration"), [("text2video", "10"), ("image2video", "5")])
async def test_output_video_lasts_the_requested_duration(
    client: httpx.AsyncClient,
    clock: ManualClock,
    gateway_auth: dict[str, str],
    family_body: FamilyBody,
    family: str,
    duration: str,
) -> None:
    """The result's duration is the requested one, and its media URL serves a video that long."""
    body = family_body(family, duration=duration)
    task_id = (await submit(client, f"/kling/v1/videos/{family}", gateway_auth, body))["task_id"]
    clock.advance(3)
    query = await client.get(f"/v1/video/generations/{task_id}", headers=gateway_auth)
    video = query.json()["data"]["task_result"]["videos"][0]
    assert video["duration"] == duration
    assert video["url"] == f"http://sim.test/media/out/{task_id}-{duration}s.mp4"
    served = await client.get(video["url"])
    assert served.content == build_mp4(int(duration))


@pytest.mark.parametrize("duration", ["3", "15"])
async def test_kling_v3_output_lasts_any_duration_from_3_to_15(
    client: httpx.AsyncClient,
    clock: ManualClock,
    official_auth: dict[str, str],
    family_body: FamilyBody,
    duration: str,
) -> None:
    """kling-v3 takes durations 3..15 and its output lasts that long."""
    body = family_body("text2video", model_name="kling-v3", duration=duration)
    task_id = (await submit(client, "/v1/videos/text2video", official_auth, body))["task_id"]
    clock.advance(3)
    query = await client.get(f"/v1/videos/text2video/{task_id}", headers=official_auth)
    assert query.json()["data"]["task_result"]["videos"][0]["duration"] == duration


async def test_duration_defaults_to_5_seconds(
    client: httpx.AsyncClient, clock: ManualClock, gateway_auth: dict[str, str]
) -> None:
    """A submit without duration yields a 5-second video, as Kling's default."""
    body = {"prompt": "a cat"}
    task_id = (await submit(client, "/kling/v1/videos/text2video", gateway_auth, body))["task_id"]
    clock.advance(3)
    query = await client.get(f"/v1/video/generations/{task_id}", headers=gateway_auth)
    assert query.json()["data"]["task_result"]["videos"][0]["duration"] == "5"


@pytest.mark.parametrize(
    ("created_on", "queried_on"),
    [
        ("text2video", "image2video"),
        ("image2video", "omni-video"),
        ("omni-video", "text2video"),
        ("text2video", "motion-control"),
    ],
)
async def test_official_query_finds_a_task_only_on_its_own_family(
    client: httpx.AsyncClient,
    official_auth: dict[str, str],
    family_body: FamilyBody,
    created_on: str,
    queried_on: str,
) -> None:
    """Querying a task on another family's official path is a 404, code 1203, as on Kling."""
    body = family_body(created_on, external_task_id="mine")
    task_id = (await submit(client, f"/v1/videos/{created_on}", official_auth, body))["task_id"]
    for task_ref in (task_id, "mine"):
        response = await client.get(f"/v1/videos/{queried_on}/{task_ref}", headers=official_auth)
        assert response.status_code == 404
        assert response.json()["code"] == 1203
    own = await client.get(f"/v1/videos/{created_on}/mine", headers=official_auth)
    assert own.json()["data"]["task_id"] == task_id


async def test_official_motion_control_task_is_not_found_on_text2video(
    client: httpx.AsyncClient,
    official_auth: dict[str, str],
    order: Callable[..., dict[str, Any]],
) -> None:
    """Motion-control tasks are family-scoped too."""
    data = await submit(client, "/v1/videos/motion-control", official_auth, order())
    response = await client.get(f"/v1/videos/text2video/{data['task_id']}", headers=official_auth)
    assert response.status_code == 404


@pytest.mark.parametrize("query_family", ["text2video", "image2video", "omni-video"])
async def test_gateway_finds_a_task_on_any_family_path_like_new_api(
    client: httpx.AsyncClient,
    gateway_auth: dict[str, str],
    family_body: FamilyBody,
    query_family: str,
) -> None:
    """new-api looks its stored task up by id, so gateway family paths find any task."""
    body = family_body("text2video")
    task_id = (await submit(client, "/kling/v1/videos/text2video", gateway_auth, body))["task_id"]
    found = await client.get(f"/kling/v1/videos/{query_family}/{task_id}", headers=gateway_auth)
    assert found.status_code == 200
    assert found.json()["data"]["task_id"] == task_id


async def test_external_task_id_is_unique_across_families(
    client: httpx.AsyncClient, gateway_auth: dict[str, str], family_body: FamilyBody
) -> None:
    """An account's external_task_id may not be reused on another family either."""
    body = family_body("text2video", external_task_id="once")
    await submit(client, "/kling/v1/videos/text2video", gateway_auth, body)
    again = await client.post(
        "/kling/v1/videos/image2video",
        json=family_body("image2video", external_task_id="once"),
        headers=gateway_auth,
    )
    assert again.status_code == 400
    assert again.json()["code"] == 1201
    assert "once" in again.json()["message"]


async def test_family_tasks_are_invisible_to_the_other_account(
    client: httpx.AsyncClient,
    gateway_auth: dict[str, str],
    official_auth: dict[str, str],
    family_body: FamilyBody,
) -> None:
    """A gateway text2video task is a 404 on the official text2video path."""
    body = family_body("text2video")
    task_id = (await submit(client, "/kling/v1/videos/text2video", gateway_auth, body))["task_id"]
    response = await client.get(f"/v1/videos/text2video/{task_id}", headers=official_auth)
    assert response.status_code == 404


@pytest.mark.parametrize("family", FAMILIES)
async def test_family_routes_check_the_dialect_credentials(
    client: httpx.AsyncClient, family_body: FamilyBody, family: str
) -> None:
    """Family submits without credentials answer 401, code 1001, in both dialects."""
    for path in (f"/kling/v1/videos/{family}", f"/v1/videos/{family}"):
        response = await client.post(path, json=family_body(family))
        assert response.status_code == 401
        assert response.json()["code"] == 1001


@pytest.mark.parametrize("family", FAMILIES)
async def test_fail_marker_fails_a_task_of_each_family(
    client: httpx.AsyncClient,
    clock: ManualClock,
    gateway_auth: dict[str, str],
    family_body: FamilyBody,
    family: str,
) -> None:
    """[sim:fail=...] in the prompt ends a task of any family failed with that reason."""
    body = family_body(family, prompt="surf [sim:fail=no waves]")
    task_id = (await submit(client, f"/kling/v1/videos/{family}", gateway_auth, body))["task_id"]
    clock.advance(3)
    data = (await client.get(f"/v1/video/generations/{task_id}", headers=gateway_auth)).json()
    assert (data["data"]["task_status"], data["data"]["task_status_msg"]) == ("failed", "no waves")


@pytest.mark.parametrize(("marker", "status", "code"), [("429", 429, 1302), ("500", 500, 5000)])
async def test_submit_error_markers_work_on_every_family(
    client: httpx.AsyncClient,
    official_auth: dict[str, str],
    family_body: FamilyBody,
    marker: str,
    status: int,
    code: int,
) -> None:
    """[sim:429] / [sim:500] answer the family submits with Kling's error."""
    for family in FAMILIES:
        body = family_body(family, prompt=f"x [sim:{marker}]")
        response = await client.post(f"/v1/videos/{family}", json=body, headers=official_auth)
        assert (response.status_code, response.json()["code"]) == (status, code)


async def test_poll_marker_and_shape_marker_apply_to_family_queries(
    client: httpx.AsyncClient,
    clock: ManualClock,
    gateway_auth: dict[str, str],
    family_body: FamilyBody,
) -> None:
    """[sim:poll-500] fails queries; [sim:shape=openai] answers an OpenAI-video object."""
    failing = family_body("image2video", prompt="[sim:poll-500]")
    shaped = family_body("image2video", prompt="[sim:shape=openai]", model_name="kling-v3")
    path = "/kling/v1/videos/image2video"
    failing_id = (await submit(client, path, gateway_auth, failing))["task_id"]
    shaped_id = (await submit(client, path, gateway_auth, shaped))["task_id"]
    clock.advance(3)
    failed = await client.get(f"{path}/{failing_id}", headers=gateway_auth)
    video = (await client.get(f"/v1/video/generations/{shaped_id}", headers=gateway_auth)).json()
    assert failed.status_code == 500
    assert (video["object"], video["model"], video["seconds"]) == ("video", "kling-v3", "5")


async def test_markers_in_shot_prompts_script_the_task(
    client: httpx.AsyncClient,
    clock: ManualClock,
    gateway_auth: dict[str, str],
    family_body: FamilyBody,
) -> None:
    """A multi-shot omni-video task without prompt is scripted by its shots' prompts."""
    shots = [
        {"index": 1, "prompt": "the cat jumps", "duration": "3"},
        {"index": 2, "prompt": "it lands [sim:stay-queued]", "duration": "4"},
    ]
    body = family_body("omni-video", prompt=None, multi_prompt=shots)
    task_id = (await submit(client, "/kling/v1/videos/omni-video", gateway_auth, body))["task_id"]
    clock.advance(3600)
    data = (await client.get(f"/v1/video/generations/{task_id}", headers=gateway_auth)).json()
    assert data["data"]["task_status"] == "submitted"
