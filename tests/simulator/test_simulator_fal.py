"""The simulated fal queue: submit per endpoint id, validation as fal's models validate,
status codes by time, the result, cancel, auth and the prompt markers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapter.simulator.clock import ManualClock
from adapter.simulator.fal_wire import ENDPOINTS

pytestmark = pytest.mark.anyio

AUTH = {"Authorization": "Key sim-fal-key"}
IMAGE = "https://example.com/portrait.jpg"
MOTION = "/fal/fal-ai/kling-video/v2.6/pro/motion-control"
V3_T2V = "/fal/fal-ai/kling-video/v3/standard/text-to-video"
WAN = "/fal/wan/v2.6/image-to-video/flash"
MOTION_BODY = {
    "image_url": IMAGE,
    "video_url": "https://example.com/ref-video-8s.mp4",
    "character_orientation": "image",
    "keep_original_sound": True,
}


async def submit(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def detail(response: httpx.Response, status: int = 422) -> list[dict[str, Any]]:
    assert response.status_code == status, response.text
    items: list[dict[str, Any]] = response.json()["detail"]
    return items


async def test_submit_answers_in_queue_with_urls_under_the_owner_and_app_only(
    client: httpx.AsyncClient, base_url: str
) -> None:
    answer = await submit(client, MOTION, MOTION_BODY)
    rid = answer["request_id"]
    here = f"{base_url}/fal/fal-ai/kling-video/requests/{rid}"
    assert answer == {
        "status": "IN_QUEUE",
        "request_id": rid,
        "response_url": here,
        "status_url": f"{here}/status",
        "cancel_url": f"{here}/cancel",
        "queue_position": 0,
    }


async def test_status_is_202_until_completed_then_200_and_the_result_has_the_video(
    client: httpx.AsyncClient, clock: ManualClock, base_url: str
) -> None:
    answer = await submit(client, MOTION, MOTION_BODY)
    seen = []
    for step in (0.0, 1.0, 2.0):
        clock.advance(step)
        response = await client.get(answer["status_url"], headers=AUTH)
        seen.append((response.status_code, response.json()["status"]))
    assert seen == [(202, "IN_QUEUE"), (202, "IN_PROGRESS"), (200, "COMPLETED")]
    result = await client.get(answer["response_url"], headers=AUTH)
    url = f"{base_url}/media/out/{answer['request_id']}-8s.mp4"
    assert result.json() == {
        "video": {"url": url, "content_type": "video/mp4", "file_name": url.rsplit("/", 1)[1]}
    }


async def test_the_result_before_completion_is_a_400(client: httpx.AsyncClient) -> None:
    answer = await submit(client, WAN, {"image_url": IMAGE, "prompt": "turn"})
    response = await client.get(answer["response_url"], headers=AUTH)
    assert response.status_code == 400


async def test_wan_output_tells_its_duration(client: httpx.AsyncClient, clock: ManualClock) -> None:
    answer = await submit(client, WAN, {"image_url": IMAGE, "prompt": "turn", "duration": "15"})
    clock.advance(3.0)
    video = (await client.get(answer["response_url"], headers=AUTH)).json()["video"]
    assert video["duration"] == 15.0 and video["url"].endswith("-15s.mp4")


@pytest.mark.parametrize(
    ("path", "body", "loc", "kind"),
    [
        (
            MOTION,
            {**MOTION_BODY, "character_orientation": None},
            ["body", "character_orientation"],
            "value_error",
        ),
        (
            MOTION,
            {"image_url": IMAGE, "video_url": IMAGE},
            ["body", "character_orientation"],
            "missing",
        ),
        (
            MOTION,
            {**MOTION_BODY, "keep_original_sound": "yes"},
            ["body", "keep_original_sound"],
            "value_error",
        ),
        (
            WAN,
            {"image_url": IMAGE, "prompt": "turn", "duration": 5},
            ["body", "duration"],
            "value_error",
        ),
        (
            WAN,
            {"image_url": IMAGE, "prompt": "turn", "duration": "7"},
            ["body", "duration"],
            "value_error",
        ),
        (WAN, {"image_url": IMAGE}, ["body", "prompt"], "missing"),
        (
            V3_T2V,
            {"prompt": "a", "shot_type": "intelligence"},
            ["body", "shot_type"],
            "value_error",
        ),
        (
            V3_T2V,
            {"multi_prompt": [{"prompt": "a", "duration": 2}]},
            ["body", "multi_prompt", 0, "duration"],
            "value_error",
        ),
        (V3_T2V, {"duration": "5"}, ["body", "prompt"], "value_error"),
        (
            "/fal/fal-ai/kling-video/v2.6/pro/image-to-video",
            {"prompt": "a"},
            ["body", "start_image_url"],
            "missing",
        ),
    ],
)
async def test_a_bad_body_is_a_422_naming_the_field(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], loc: list[Any], kind: str
) -> None:
    [item] = detail(await client.post(path, json=body, headers=AUTH))
    assert (item["loc"], item["type"]) == (loc, kind)
    assert item["msg"]


async def test_every_mapped_endpoint_id_is_served() -> None:
    assert {
        "fal-ai/kling-video/v2.6/standard/motion-control",
        "fal-ai/kling-video/v2.6/pro/text-to-video",
        "fal-ai/kling-video/v3/4k/image-to-video",
        "wan/v2.6/image-to-video/flash",
    } <= ENDPOINTS.keys()


@pytest.mark.parametrize("header", [None, "Bearer sim-fal-key", "Key wrong"])
async def test_a_missing_or_wrong_key_is_a_401(
    client: httpx.AsyncClient, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    response = await client.post(MOTION, json=MOTION_BODY, headers=headers)
    assert response.status_code == 401 and response.json()["detail"]


async def test_an_unknown_request_or_one_of_another_app_is_a_404(client: httpx.AsyncClient) -> None:
    answer = await submit(client, MOTION, MOTION_BODY)
    elsewhere = f"/fal/wan/v2.6/requests/{answer['request_id']}/status"
    assert (await client.get(elsewhere, headers=AUTH)).status_code == 404
    unknown = "/fal/fal-ai/kling-video/requests/nope/status"
    assert (await client.get(unknown, headers=AUTH)).status_code == 404


async def test_fail_marker_completes_with_an_error_and_the_result_is_the_models_422(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    answer = await submit(client, V3_T2V, {"prompt": "a car [sim:fail]"})
    clock.advance(3.0)
    status = (await client.get(answer["status_url"], headers=AUTH)).json()
    assert (status["status"], status["error_type"], status["error"]) == (
        "COMPLETED",
        "content_policy_violation",
        "content risk control",
    )
    [item] = detail(await client.get(answer["response_url"], headers=AUTH))
    assert item["type"] == "content_policy_violation"


async def test_markers_in_the_shots_script_a_request_without_a_prompt(
    client: httpx.AsyncClient,
) -> None:
    body = {"multi_prompt": [{"prompt": "a [sim:429]", "duration": "5"}]}
    response = await client.post(V3_T2V, json=body, headers=AUTH)
    assert response.status_code == 429


@pytest.mark.parametrize("marker", ["[sim:429]", "[sim:500]"])
async def test_submit_markers_answer_their_status(client: httpx.AsyncClient, marker: str) -> None:
    response = await client.post(V3_T2V, json={"prompt": f"x {marker}"}, headers=AUTH)
    assert response.status_code == int(marker[5:8])
    assert marker in response.json()["detail"]


async def test_stay_queued_stays_in_queue_and_cancel_completes_it_cancelled(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    answer = await submit(client, V3_T2V, {"prompt": "x [sim:stay-queued]"})
    clock.advance(100)
    assert (await client.get(answer["status_url"], headers=AUTH)).json()["status"] == "IN_QUEUE"
    cancel = await client.put(answer["cancel_url"], headers=AUTH)
    assert (cancel.status_code, cancel.json()) == (202, {"status": "CANCELLATION_REQUESTED"})
    status = (await client.get(answer["status_url"], headers=AUTH)).json()
    assert (status["status"], status["error_type"]) == ("COMPLETED", "request_cancelled")
    again = await client.put(answer["cancel_url"], headers=AUTH)
    assert (again.status_code, again.json()) == (400, {"status": "ALREADY_COMPLETED"})


@pytest.mark.parametrize("marker", ["[sim:shape=taskdto]", "[sim:callback-dup]", "[sim:nope]"])
async def test_markers_fal_cannot_honour_are_refused_naming_them(
    client: httpx.AsyncClient, marker: str
) -> None:
    [item] = detail(await client.post(V3_T2V, json={"prompt": f"x {marker}"}, headers=AUTH))
    assert marker in item["msg"] and item["loc"] == ["body", "prompt"]
