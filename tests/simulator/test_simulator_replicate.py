"""The simulated Replicate: create per model, validation as the models' schemas validate,
the prediction's lifecycle by time, cancel, auth and the prompt markers."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from adapter.simulator.clock import ManualClock
from adapter.simulator.replicate_wire import MODELS
from tests.models import CATALOG

pytestmark = pytest.mark.anyio

AUTH = {"Authorization": "Bearer sim-replicate-token"}
IMAGE = "https://example.com/portrait.jpg"
MODELS_PATH = "/replicate/v1/models"
MOTION = f"{MODELS_PATH}/kwaivgi/kling-v2.6-motion-control/predictions"
KLING26 = f"{MODELS_PATH}/kwaivgi/kling-v2.6/predictions"
V3 = f"{MODELS_PATH}/kwaivgi/kling-v3-video/predictions"
WAN = f"{MODELS_PATH}/wan-video/wan2.6-i2v-flash/predictions"
MOTION_INPUT = {"image": IMAGE, "video": "https://example.com/ref-video-8s.mp4"}


async def create(client: httpx.AsyncClient, path: str, given: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json={"input": given}, headers=AUTH)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def get(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await client.get(url, headers=AUTH)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def problem(response: httpx.Response, status: int = 422) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status and body["title"]
    detail: str = body["detail"]
    return detail


async def test_create_answers_a_starting_prediction_with_its_urls(
    client: httpx.AsyncClient, base_url: str
) -> None:
    answer = await create(client, MOTION, MOTION_INPUT)
    pid = answer["id"]
    assert re.fullmatch(r"[a-z2-7]{26}", pid)
    here = f"{base_url}/replicate/v1/predictions/{pid}"
    assert answer["urls"]["get"] == here and answer["urls"]["cancel"] == f"{here}/cancel"
    assert (answer["status"], answer["model"], answer["version"]) == (
        "starting",
        "kwaivgi/kling-v2.6-motion-control",
        "hidden",
    )
    assert (answer["input"], answer["output"], answer["error"]) == (MOTION_INPUT, None, None)


async def test_a_prediction_starts_processes_then_succeeds_with_a_media_url(
    client: httpx.AsyncClient, clock: ManualClock, base_url: str
) -> None:
    answer = await create(client, MOTION, MOTION_INPUT)
    seen = []
    for step in (0.0, 1.0, 2.0):
        clock.advance(step)
        seen.append((await get(client, answer["urls"]["get"]))["status"])
    assert seen == ["starting", "processing", "succeeded"]
    done = await get(client, answer["urls"]["get"])
    assert done["output"] == f"{base_url}/media/out/{answer['id']}-8s.mp4"
    assert done["completed_at"] and done["metrics"]["predict_time"] > 0


async def test_the_output_lasts_the_inputs_duration(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    answer = await create(client, WAN, {"image": IMAGE, "prompt": "turn", "duration": 15})
    clock.advance(3.0)
    assert (await get(client, answer["urls"]["get"]))["output"].endswith("-15s.mp4")


@pytest.mark.parametrize(
    ("path", "given", "field"),
    [
        (MOTION, {"image": IMAGE}, "- input: video is required"),
        (MOTION, {**MOTION_INPUT, "keep_original_sound": "yes"}, "- input.keep_original_sound:"),
        (MOTION, {**MOTION_INPUT, "mode": "standard"}, "- input.mode:"),
        (KLING26, {"prompt": "a", "duration": "5"}, "- input.duration:"),
        (KLING26, {"prompt": "a", "duration": 7}, "- input.duration:"),
        (KLING26, {"duration": 5}, "- input: prompt is required"),
        (V3, {"prompt": "a", "mode": "std"}, "- input.mode:"),
        (V3, {"prompt": "a", "duration": 16}, "- input.duration:"),
        (V3, {"prompt": "a", "end_image": IMAGE}, "- input.end_image:"),
        (
            V3,
            {"prompt": "a", "multi_prompt": [{"prompt": "a", "duration": 5}]},
            "- input.multi_prompt:",
        ),
        (
            V3,
            {"prompt": "a", "multi_prompt": '[{"prompt": "a", "duration": 2}]'},
            "- input.multi_prompt: the shots' durations must sum to 5",
        ),
        (WAN, {"image": IMAGE}, "- input: prompt is required"),
        (WAN, {"image": IMAGE, "prompt": "a", "duration": 7}, "- input.duration:"),
        (WAN, {"image": IMAGE, "prompt": "a", "resolution": "480p"}, "- input.resolution:"),
    ],
)
async def test_a_bad_input_is_a_422_naming_the_field(
    client: httpx.AsyncClient, path: str, given: dict[str, Any], field: str
) -> None:
    detail = problem(await client.post(path, json={"input": given}, headers=AUTH))
    assert detail.startswith(field), detail


async def test_a_webhook_must_be_https(client: httpx.AsyncClient) -> None:
    body = {"input": MOTION_INPUT, "webhook": "http://adapter.test/cb"}
    assert problem(await client.post(MOTION, json=body, headers=AUTH)).startswith("- webhook:")
    body = {**body, "webhook": "https://adapter.test/cb", "webhook_events_filter": ["completed"]}
    assert (await client.post(MOTION, json=body, headers=AUTH)).status_code == 201


async def test_every_model_the_catalogue_maps_is_served_and_another_is_a_404(
    client: httpx.AsyncClient,
) -> None:
    carried = {carrier.model_name for carrier in CATALOG.carried_by("replicate").values()}
    assert carried == MODELS
    other = f"{MODELS_PATH}/kwaivgi/kling-o1/predictions"
    problem(await client.post(other, json={"input": {"prompt": "a"}}, headers=AUTH), 404)


@pytest.mark.parametrize("header", [None, "Token sim-replicate-token", "Bearer wrong"])
async def test_a_missing_or_wrong_token_is_a_401(
    client: httpx.AsyncClient, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    response = await client.post(MOTION, json={"input": MOTION_INPUT}, headers=headers)
    problem(response, 401)


async def test_an_unknown_prediction_is_a_404(client: httpx.AsyncClient) -> None:
    problem(await client.get("/replicate/v1/predictions/nope", headers=AUTH), 404)
    problem(await client.post("/replicate/v1/predictions/nope/cancel", headers=AUTH), 404)


async def test_fail_marker_ends_failed_with_its_error(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    answer = await create(client, KLING26, {"prompt": "a car [sim:fail=no face]"})
    clock.advance(3.0)
    done = await get(client, answer["urls"]["get"])
    assert (done["status"], done["error"], done["output"]) == ("failed", "no face", None)


@pytest.mark.parametrize("marker", ["[sim:429]", "[sim:500]"])
async def test_create_markers_answer_their_status(client: httpx.AsyncClient, marker: str) -> None:
    response = await client.post(V3, json={"input": {"prompt": f"x {marker}"}}, headers=AUTH)
    assert response.status_code == int(marker[5:8])
    if marker == "[sim:429]":
        assert response.json() == {
            "detail": "Request was throttled. Your rate limit resets in ~30s."
        }


async def test_poll_markers_answer_gets_with_their_status(client: httpx.AsyncClient) -> None:
    answer = await create(client, V3, {"prompt": "x [sim:poll-500]"})
    response = await client.get(answer["urls"]["get"], headers=AUTH)
    assert response.status_code == 500


async def test_stay_queued_stays_starting_and_cancel_cancels_it(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    answer = await create(client, V3, {"prompt": "x [sim:stay-queued]"})
    clock.advance(100)
    assert (await get(client, answer["urls"]["get"]))["status"] == "starting"
    cancel = await client.post(answer["urls"]["cancel"], headers=AUTH)
    assert (cancel.status_code, cancel.json()["status"]) == (200, "canceled")
    assert (await get(client, answer["urls"]["get"]))["status"] == "canceled"


async def test_cancelling_an_ended_prediction_leaves_it_as_it_is(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    answer = await create(client, V3, {"prompt": "x"})
    clock.advance(3.0)
    cancel = await client.post(answer["urls"]["cancel"], headers=AUTH)
    assert (cancel.status_code, cancel.json()["status"]) == (200, "succeeded")


@pytest.mark.parametrize("marker", ["[sim:shape=taskdto]", "[sim:callback-dup]", "[sim:nope]"])
async def test_markers_replicate_cannot_honour_are_refused_naming_them(
    client: httpx.AsyncClient, marker: str
) -> None:
    detail = problem(await client.post(V3, json={"input": {"prompt": f"x {marker}"}}, headers=AUTH))
    assert detail.startswith("- input.prompt:") and marker in detail
