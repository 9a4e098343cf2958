"""The official Kling list route: GET /v1/videos/{family}?pageNum=&pageSize=, newest first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from adapter.simulator.clock import ManualClock

pytestmark = pytest.mark.anyio

FamilyBody = Callable[..., dict[str, Any]]


async def submit(
    client: httpx.AsyncClient, auth: dict[str, str], family: str, body: dict[str, Any]
) -> str:
    response = await client.post(f"/v1/videos/{family}", json=body, headers=auth)
    assert response.status_code == 200, response.text
    task_id: str = response.json()["data"]["task_id"]
    return task_id


async def listed(
    client: httpx.AsyncClient, auth: dict[str, str], family: str, query: str = ""
) -> httpx.Response:
    return await client.get(f"/v1/videos/{family}{query}", headers=auth)


async def test_a_family_lists_its_tasks_newest_first_with_their_progress(
    client: httpx.AsyncClient,
    official_auth: dict[str, str],
    family_body: FamilyBody,
    clock: ManualClock,
) -> None:
    first = await submit(
        client, official_auth, "text2video", family_body("text2video", external_task_id="ours-1")
    )
    clock.advance(1.5)
    second = await submit(client, official_auth, "text2video", family_body("text2video"))
    clock.advance(2.0)  # the first has ended, the second is processing
    response = await listed(client, official_auth, "text2video", "?pageNum=1&pageSize=10")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["code"] == 0
    assert [t["task_id"] for t in body["data"]] == [second, first]
    assert [t["task_status"] for t in body["data"]] == ["processing", "succeed"]
    assert body["data"][1]["task_info"]["external_task_id"] == "ours-1"
    assert body["data"][1]["task_result"]["videos"][0]["url"].endswith(f"/{first}-10s.mp4")


async def test_pages_follow_on_from_each_other(
    client: httpx.AsyncClient, official_auth: dict[str, str], family_body: FamilyBody
) -> None:
    made = [
        await submit(client, official_auth, "text2video", family_body("text2video"))
        for _ in range(5)
    ]
    pages = []
    for page in (1, 2, 3):
        response = await listed(client, official_auth, "text2video", f"?pageNum={page}&pageSize=2")
        pages.append([t["task_id"] for t in response.json()["data"]])
    newest = made[::-1]
    assert pages == [newest[0:2], newest[2:4], newest[4:]]


async def test_only_the_family_and_the_account_are_listed(
    client: httpx.AsyncClient,
    official_auth: dict[str, str],
    gateway_auth: dict[str, str],
    family_body: FamilyBody,
    order: Callable[..., dict[str, Any]],
) -> None:
    await submit(client, official_auth, "motion-control", order())
    mine = await submit(client, official_auth, "text2video", family_body("text2video"))
    response = await client.post(
        "/kling/v1/videos/text2video", json=family_body("text2video"), headers=gateway_auth
    )
    assert response.status_code == 200
    found = (await listed(client, official_auth, "text2video")).json()["data"]
    assert [t["task_id"] for t in found] == [mine]


@pytest.mark.parametrize(
    "query", ["?pageNum=0", "?pageNum=1001", "?pageSize=0", "?pageSize=501", "?pageSize=ten"]
)
async def test_a_page_out_of_range_is_refused_as_kling_refuses_it(
    client: httpx.AsyncClient, official_auth: dict[str, str], query: str
) -> None:
    response = await listed(client, official_auth, "text2video", query)
    assert response.status_code == 400
    assert response.json()["code"] == 1201


async def test_a_list_needs_the_official_token(
    client: httpx.AsyncClient, gateway_auth: dict[str, str]
) -> None:
    response = await listed(client, gateway_auth, "text2video")
    assert response.status_code == 401
