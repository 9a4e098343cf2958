"""The simulated Kling upstream's task lifecycle, both dialects' routes, and the task table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from adapter.simulator import SimulatorConfig, create_simulator_app
from adapter.simulator.clock import ManualClock
from adapter.simulator.mp4 import build_mp4

pytestmark = pytest.mark.anyio

Order = Callable[..., dict[str, Any]]
GATEWAY_SUBMIT = "/kling/v1/videos/motion-control"
OFFICIAL_SUBMIT = "/v1/videos/motion-control"


async def submit(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    body: dict[str, Any],
    path: str = GATEWAY_SUBMIT,
) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=auth)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_submit_answers_kling_native_body(
    client: httpx.AsyncClient, gateway_auth: dict[str, str], order: Order, start: float
) -> None:
    """A submit answers code 0, SUCCEED, the new task as submitted and ms timestamps."""
    response = await client.post(
        GATEWAY_SUBMIT, json=order(external_task_id="ext-1"), headers=gateway_auth
    )
    body = response.json()
    assert response.status_code == 200
    assert (body["code"], body["message"]) == (0, "SUCCEED")
    assert body["request_id"]
    data = body["data"]
    assert data["task_id"].isdigit()
    assert len(data["task_id"]) == 18
    assert data["task_status"] == "submitted"
    assert data["task_info"] == {"external_task_id": "ext-1"}
    assert data["created_at"] == data["updated_at"] == int(start * 1000)
    assert "task_result" not in data
    assert "task_status_msg" not in data


async def test_gateway_task_moves_from_submitted_to_processing_to_succeed(
    client: httpx.AsyncClient,
    clock: ManualClock,
    gateway_auth: dict[str, str],
    order: Order,
    start: float,
) -> None:
    """A task is submitted for queue_s, processing for process_s, then succeeds with a video."""
    task_id = (await submit(client, gateway_auth, order()))["task_id"]
    path = f"/v1/video/generations/{task_id}"

    seen = []
    for step in (0.0, 0.99, 0.01, 1.0, 0.99, 0.01, 100.0):
        clock.advance(step)
        body = (await client.get(path, headers=gateway_auth)).json()
        assert body["code"] == 0
        seen.append(body["data"]["task_status"])
    assert seen == [
        "submitted",
        "submitted",
        "processing",
        "processing",
        "processing",
        "succeed",
        "succeed",
    ]

    data = body["data"]
    assert data["task_status_msg"] == "success"
    assert data["created_at"] == int(start * 1000)
    assert data["updated_at"] == int((start + 3) * 1000)
    assert data["task_result"]["videos"] == [
        {
            "id": f"{task_id}-0",
            "url": f"http://sim.test/media/out/{task_id}-8s.mp4",
            "duration": "8",
        }
    ]


async def test_processing_task_reports_the_time_processing_began(
    client: httpx.AsyncClient,
    clock: ManualClock,
    gateway_auth: dict[str, str],
    order: Order,
    start: float,
) -> None:
    """While processing, updated_at is the moment processing began and there is no result."""
    task_id = (await submit(client, gateway_auth, order()))["task_id"]
    clock.advance(1.5)
    data = (await client.get(f"/v1/video/generations/{task_id}", headers=gateway_auth)).json()[
        "data"
    ]
    assert data["task_status"] == "processing"
    assert data["task_status_msg"] == ""
    assert data["updated_at"] == int((start + 1) * 1000)
    assert "task_result" not in data


async def test_output_video_is_served_with_the_reference_duration(
    client: httpx.AsyncClient, clock: ManualClock, gateway_auth: dict[str, str], order: Order
) -> None:
    """The output video URL points at the media route, which serves a video that long."""
    task_id = (await submit(client, gateway_auth, order()))["task_id"]
    clock.advance(3)
    query = await client.get(f"/v1/video/generations/{task_id}", headers=gateway_auth)
    url = query.json()["data"]["task_result"]["videos"][0]["url"]
    video = await client.get(url)
    assert video.status_code == 200
    assert video.content == build_mp4(8)


@pytest.mark.parametrize(
    ("video_url", "duration"),
    [
        ("https://example.com/ref-video-8s.mp4", "8"),
        ("https://cdn.test/a/dance-12.5s.mov?sig=abc-3s.mp4#t=1", "12.5"),
        ("https://example.com/ref-video.mp4", "5"),
        ("data:video/mp4;base64,AAAA", "5"),
    ],
)
async def test_output_duration_follows_the_reference_video_file_name(
    client: httpx.AsyncClient,
    clock: ManualClock,
    gateway_auth: dict[str, str],
    order: Order,
    video_url: str,
    duration: str,
) -> None:
    """The output lasts as long as the reference video's file name says, else 5 seconds."""
    task_id = (await submit(client, gateway_auth, order(video_url=video_url)))["task_id"]
    clock.advance(3)
    query = await client.get(f"/v1/video/generations/{task_id}", headers=gateway_auth)
    assert query.json()["data"]["task_result"]["videos"][0]["duration"] == duration


async def test_public_url_is_the_base_of_output_video_urls(
    clock: ManualClock, gateway_auth: dict[str, str], order: Order
) -> None:
    """A configured public_url replaces the request's base URL in output video links."""
    config = SimulatorConfig(queue_s=0, process_s=0, public_url="https://sim.example.org/")
    app = create_simulator_app(config, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as client:
        task_id = (await submit(client, gateway_auth, order()))["task_id"]
        query = await client.get(f"/v1/video/generations/{task_id}", headers=gateway_auth)
    url = query.json()["data"]["task_result"]["videos"][0]["url"]
    assert url == f"https://sim.example.org/media/out/{task_id}-8s.mp4"


async def test_official_dialect_submits_and_queries_with_a_jwt(
    client: httpx.AsyncClient, clock: ManualClock, official_auth: dict[str, str], order: Order
) -> None:
    """The official routes accept a Kling JWT and answer Kling-native bodies."""
    data = await submit(client, official_auth, order(model_name="kling-v3"), OFFICIAL_SUBMIT)
    clock.advance(3)
    query = await client.get(f"/v1/videos/motion-control/{data['task_id']}", headers=official_auth)
    assert query.status_code == 200
    assert query.json()["data"]["task_status"] == "succeed"


async def test_gateway_also_answers_the_kling_motion_control_query_path(
    client: httpx.AsyncClient, gateway_auth: dict[str, str], order: Order
) -> None:
    """The gateway answers GET /kling/v1/videos/motion-control/{id}, as new-api forks route it."""
    task_id = (await submit(client, gateway_auth, order()))["task_id"]
    query = await client.get(f"/kling/v1/videos/motion-control/{task_id}", headers=gateway_auth)
    assert query.json()["data"]["task_id"] == task_id


@pytest.mark.parametrize(
    ("submit_path", "query_path", "auth_fixture"),
    [
        (GATEWAY_SUBMIT, "/v1/video/generations/", "gateway_auth"),
        (OFFICIAL_SUBMIT, "/v1/videos/motion-control/", "official_auth"),
    ],
)
async def test_query_accepts_the_external_task_id(
    client: httpx.AsyncClient,
    order: Order,
    request: pytest.FixtureRequest,
    submit_path: str,
    query_path: str,
    auth_fixture: str,
) -> None:
    """Both dialects find a task by the external_task_id in place of its task_id."""
    auth = request.getfixturevalue(auth_fixture)
    data = await submit(client, auth, order(external_task_id="order-42"), submit_path)
    query = await client.get(f"{query_path}order-42", headers=auth)
    assert query.status_code == 200
    assert query.json()["data"]["task_id"] == data["task_id"]
    assert query.json()["data"]["task_info"]["external_task_id"] == "order-42"


async def test_duplicate_external_task_id_is_rejected(
    client: httpx.AsyncClient, gateway_auth: dict[str, str], order: Order
) -> None:
    """A second submit with the same external_task_id answers 400, code 1201."""
    await submit(client, gateway_auth, order(external_task_id="dup"))
    again = await client.post(
        GATEWAY_SUBMIT, json=order(external_task_id="dup"), headers=gateway_auth
    )
    assert again.status_code == 400
    body = again.json()
    assert body["code"] == 1201
    assert "dup" in body["message"]
    assert "duplicate" in body["message"]
    assert body["request_id"]


async def test_external_task_id_is_unique_per_account_only(
    client: httpx.AsyncClient,
    gateway_auth: dict[str, str],
    official_auth: dict[str, str],
    order: Order,
) -> None:
    """The gateway and the official account may each use the same external_task_id."""
    await submit(client, gateway_auth, order(external_task_id="shared"))
    await submit(client, official_auth, order(external_task_id="shared"), OFFICIAL_SUBMIT)


async def test_a_task_is_invisible_to_the_other_account(
    client: httpx.AsyncClient,
    gateway_auth: dict[str, str],
    official_auth: dict[str, str],
    order: Order,
) -> None:
    """A gateway task is a 404 for the official account."""
    task_id = (await submit(client, gateway_auth, order()))["task_id"]
    query = await client.get(f"/v1/videos/motion-control/{task_id}", headers=official_auth)
    assert query.status_code == 404


@pytest.mark.parametrize(
    ("path", "auth_fixture"),
    [
        ("/v1/video/generations/123456789", "gateway_auth"),
        ("/v1/videos/motion-control/nope", "official_auth"),
    ],
)
async def test_unknown_task_answers_404_code_1203(
    client: httpx.AsyncClient, request: pytest.FixtureRequest, path: str, auth_fixture: str
) -> None:
    """Querying a task that does not exist answers 404 with Kling code 1203."""
    response = await client.get(path, headers=request.getfixturevalue(auth_fixture))
    assert response.status_code == 404
    assert response.json()["code"] == 1203


async def test_oldest_tasks_are_dropped_beyond_max_tasks(
    clock: ManualClock, gateway_auth: dict[str, str], order: Order
) -> None:
    """Beyond max_tasks the oldest task, and its external_task_id, are forgotten."""
    app = create_simulator_app(SimulatorConfig(max_tasks=2), clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as client:
        ids = [
            (await submit(client, gateway_auth, order(external_task_id=f"e{n}")))["task_id"]
            for n in range(3)
        ]
        statuses = [
            (await client.get(f"/v1/video/generations/{i}", headers=gateway_auth)).status_code
            for i in ids
        ]
        reused = await client.post(
            GATEWAY_SUBMIT, json=order(external_task_id="e0"), headers=gateway_auth
        )
    assert statuses == [404, 200, 200]
    assert reused.status_code == 200


async def test_task_ids_are_distinct(
    client: httpx.AsyncClient, gateway_auth: dict[str, str], order: Order
) -> None:
    """Every submit gets a new task_id."""
    ids = {(await submit(client, gateway_auth, order()))["task_id"] for _ in range(5)}
    assert len(ids) == 5


async def test_healthz_answers_ok(client: httpx.AsyncClient) -> None:
    """GET /healthz answers {"ok": true} without credentials."""
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True}
