"""The push surface over HTTP: list, webhook fields and secrets, callbacks, event-stream errors."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from adapter.core.values import TaskStatus
from tests.fakes import MODEL, ScriptedProvider, seed_input
from tests.http.conftest import PUBLIC_URL
from tests.http.test_api import assert_error

pytestmark = pytest.mark.anyio


def body(**extra: object) -> dict[str, object]:
    return {"model": MODEL, "input": seed_input(), **extra}


async def make(client: httpx.AsyncClient, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        response = await client.post("/api/v1/tasks", json=body())
        assert response.status_code == 200
        ids.append(response.json()["task_id"])
    return ids


async def test_list_pages_through_every_task_newest_first(client: httpx.AsyncClient) -> None:
    made = await make(client, 5)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/tasks", params=params)).json()
        assert len(page["data"]) <= 2
        seen += [task["task_id"] for task in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(made) and len(seen) == 5
    created = [task["created_at"] for task in (await client.get("/api/v1/tasks")).json()["data"]]
    assert created == sorted(created, reverse=True)


async def test_list_filters_by_status(
    client: httpx.AsyncClient, provider: ScriptedProvider
) -> None:
    first, second = await make(client, 2)
    provider.set_state("up_1", TaskStatus.SUCCEEDED, seconds=8.0)
    assert (await client.get(f"/api/v1/tasks/{first}")).json()["status"] == "succeeded"
    done = (await client.get("/api/v1/tasks", params={"status": "succeeded"})).json()
    waiting = (await client.get("/api/v1/tasks", params={"status": "queued"})).json()
    assert [t["task_id"] for t in done["data"]] == [first]
    assert [t["task_id"] for t in waiting["data"]] == [second]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"status": "done"}, "status"),
        ({"cursor": "not-a-cursor!"}, "cursor"),
    ],
)
async def test_bad_list_parameters_are_422_naming_the_parameter(
    client: httpx.AsyncClient, params: dict[str, str], param: str
) -> None:
    assert_error(await client.get("/api/v1/tasks", params=params), 422, "invalid_request", param)


async def test_a_non_public_webhook_url_is_refused_and_nothing_is_made(
    client: httpx.AsyncClient, provider: ScriptedProvider
) -> None:
    response = await client.post("/api/v1/tasks", json=body(webhook_url="https://hooks.internal/"))
    assert_error(response, 422, "invalid_request", "webhook_url")
    response = await client.post("/api/v1/tasks", json=body(webhook_url=42))
    assert_error(response, 422, "invalid_request", "webhook_url")
    assert provider.submits == []


async def test_a_webhook_url_is_part_of_the_idempotent_request(client: httpx.AsyncClient) -> None:
    """The same key with another webhook_url is another request: 409, not a silent replay."""
    key = {"Idempotency-Key": "hook-1"}
    first = await client.post(
        "/api/v1/tasks", json=body(webhook_url="https://a.test/"), headers=key
    )
    again = await client.post(
        "/api/v1/tasks", json=body(webhook_url="https://b.test/"), headers=key
    )
    assert first.status_code == 200
    assert_error(again, 409, "idempotency_key_reused")


async def test_the_signing_secret_is_readable_and_rotates_with_a_grace(
    client: httpx.AsyncClient,
) -> None:
    secret = (await client.get("/api/v1/webhooks/secret")).json()
    assert secret["secret"].startswith("whsec_")
    assert (await client.get("/api/v1/webhooks/secret")).json() == secret
    rotated = (await client.post("/api/v1/webhooks/secret/rotate")).json()
    assert rotated["secret"] != secret["secret"]
    assert rotated["previous_secret"] == secret["secret"]
    assert rotated["previous_until"].endswith("Z")
    assert_error(
        await client.get("/api/v1/webhooks/secret", headers={"Authorization": ""}),
        401,
        "missing_api_key",
    )


async def test_a_callback_with_its_token_requeries_the_upstream(
    client: httpx.AsyncClient, provider: ScriptedProvider
) -> None:
    """The callback's body is ignored; the task moves by what the upstream says when asked."""
    (task_id,) = await make(client, 1)
    callback_url = provider.submits[0].callback_url
    assert callback_url is not None and callback_url.startswith(f"{PUBLIC_URL}/callbacks/kling/")
    provider.set_state("up_1", TaskStatus.SUCCEEDED, seconds=8.0)
    path = urlsplit(callback_url)
    lie = {"task_status": "failed"}
    response = await client.post(f"{path.path}?{path.query}", json=lie, headers={})
    assert response.status_code == 200
    assert response.json() == {"received": True, "status": "succeeded"}
    again = await client.post(f"{path.path}?{path.query}", json=lie)
    assert again.json()["status"] == "succeeded"  # a duplicate changes nothing
    events = (await client.get(f"/api/v1/tasks/{task_id}/events")).json()["events"]
    assert [e["status"] for e in events] == ["queued", "succeeded"]


@pytest.mark.parametrize(
    "path",
    [
        "/callbacks/kling/{task}?token=forged",
        "/callbacks/kling/{task}",
        "/callbacks/dashscope/{task}?{query}",  # a token is for one provider only
    ],
)
async def test_a_callback_without_the_right_token_is_403(
    client: httpx.AsyncClient, provider: ScriptedProvider, path: str
) -> None:
    (task_id,) = await make(client, 1)
    query = urlsplit(provider.submits[0].callback_url or "").query
    response = await client.post(path.format(task=task_id, query=query), headers={})
    assert_error(response, 403, "invalid_callback_token")


async def test_an_event_stream_of_another_owners_task_is_404_before_streaming(
    client: httpx.AsyncClient,
) -> None:
    sse = {"Accept": "text/event-stream"}
    response = await client.get("/api/v1/tasks/task_nope/events", headers=sse)
    assert_error(response, 404, "task_not_found")
    (task_id,) = await make(client, 1)
    for bad in ("yesterday", "99999999999999999999-0"):  # the second is past 2**64
        response = await client.get(
            f"/api/v1/tasks/{task_id}/events", headers={**sse, "Last-Event-ID": bad}
        )
        assert_error(response, 422, "invalid_request", "Last-Event-ID")
