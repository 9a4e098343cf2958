"""The HTTP contract: task bodies, headers, and one error body for every failure."""

from __future__ import annotations

import json

import httpx
import pytest

from adapter.core.errors import ProviderRateLimited, ProviderRejected
from adapter.core.values import TaskStatus
from adapter.service.keys import KeyService
from tests.fakes import MODEL, ScriptedProvider, seed_input
from tests.waiting import until

pytestmark = pytest.mark.anyio


def body(**changes: object) -> dict[str, object]:
    return {"model": MODEL, "input": seed_input(**changes)}


def assert_error(
    response: httpx.Response, status: int, code: str, param: str | None = None
) -> None:
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["error"]["code"] == code
    assert payload["error"]["message"]
    assert payload.get("error", {}).get("param") == param
    assert payload["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text


async def test_submit_answers_the_task_object(client: httpx.AsyncClient) -> None:
    """A new task: request id (also as X-Request-ID), task id, queued, exact cost estimate."""
    response = await client.post("/api/v1/tasks", json=body())
    assert response.status_code == 200
    task = response.json()
    assert task["request_id"] == response.headers["x-request-id"]
    assert task["request_id"].startswith("req_") and task["task_id"].startswith("task_")
    assert task["status"] == "queued"
    assert task["cost_actual"] is None and task["output"] is None and task["error"] is None
    assert '"cost_estimate":0.06426,' in response.text
    assert task["created_at"].endswith("Z")
    assert "Idempotent-Replayed" not in response.headers


async def test_a_replay_is_flagged_in_a_header(
    client: httpx.AsyncClient, provider: ScriptedProvider
) -> None:
    """Same key, same body: 200, the same task, Idempotent-Replayed: true, one upstream call."""
    first = await client.post("/api/v1/tasks", json=body(), headers={"Idempotency-Key": "a1"})
    again = await client.post("/api/v1/tasks", json=body(), headers={"Idempotency-Key": "a1"})
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["task_id"] == first.json()["task_id"]
    assert again.json()["request_id"] != first.json()["request_id"]
    assert len(provider.submits) == 1


async def test_a_reused_key_with_another_body_is_409(client: httpx.AsyncClient) -> None:
    """Different input under the same key: 409 idempotency_key_reused."""
    await client.post("/api/v1/tasks", json=body(), headers={"Idempotency-Key": "a1"})
    response = await client.post(
        "/api/v1/tasks", json=body(mode="pro"), headers={"Idempotency-Key": "a1"}
    )
    assert_error(response, 409, "idempotency_key_reused")


async def test_a_key_still_submitting_is_409_with_retry_after(
    client: httpx.AsyncClient, provider: ScriptedProvider
) -> None:
    """The first request is in flight: the retry is told when to come back."""
    import asyncio

    provider.gate = asyncio.Event()
    first = asyncio.create_task(
        client.post("/api/v1/tasks", json=body(), headers={"Idempotency-Key": "slow"})
    )
    await until(lambda: bool(provider.submits))  # the first is at the upstream
    response = await client.post("/api/v1/tasks", json=body(), headers={"Idempotency-Key": "slow"})
    assert_error(response, 409, "idempotency_request_in_progress")
    assert response.headers["Retry-After"] == "1"
    provider.gate.set()
    assert (await first).status_code == 200


@pytest.mark.parametrize(
    ("content", "status", "code", "param"),
    [
        (b"{not json", 400, "invalid_json", None),
        (b'{"model": "\xff"}', 400, "invalid_json", None),
        (b"[" * 5000 + b"]" * 5000, 400, "invalid_json", None),
        (b"[1, 2]", 422, "invalid_request", None),
        (b'{"input": {}}', 422, "invalid_request", "model"),
        (b'{"model": "kling-v2-6-motion-control"}', 422, "invalid_request", "input"),
        (b'{"model": "sora-9", "input": {}}', 422, "unknown_model", "model"),
        (
            b'{"model": "kling-v2-6-motion-control", "input": {}, "x": 1}',
            422,
            "invalid_request",
            "x",
        ),
        (
            b'{"model": "kling-v2-6-motion-control", "input": {"mode": "std"}}',
            422,
            "invalid_request",
            "input.image_url",
        ),
    ],
)
async def test_bad_bodies_get_their_own_error_code(
    client: httpx.AsyncClient, content: bytes, status: int, code: str, param: str | None
) -> None:
    """Malformed JSON, wrong shapes, unknown models and schema breaks each say what is wrong."""
    response = await client.post(
        "/api/v1/tasks", content=content, headers={"Content-Type": "application/json"}
    )
    assert_error(response, status, code, param)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/plain",
        "application/xml",
    ],
)
async def test_a_body_declared_as_anything_but_json_is_415(
    client: httpx.AsyncClient, content_type: str
) -> None:
    """``curl -d`` without a Content-Type sends a form: said so, not parsed as JSON anyway."""
    response = await client.post(
        "/api/v1/tasks", content=json.dumps(body()), headers={"Content-Type": content_type}
    )
    assert_error(response, 415, "unsupported_media_type")
    assert content_type.split(";")[0] in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/vnd.api+json", None]
)
async def test_json_in_any_json_type_or_undeclared_is_read(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = await client.post("/api/v1/tasks", content=json.dumps(body()), headers=headers)
    assert response.status_code == 200, response.text


async def test_a_schema_error_names_the_field(client: httpx.AsyncClient) -> None:
    """A bad enum value is a 422 whose param is input.mode."""
    response = await client.post("/api/v1/tasks", json=body(mode="turbo"))
    assert_error(response, 422, "invalid_request", "input.mode")


async def test_a_body_over_one_mebibyte_is_413(client: httpx.AsyncClient) -> None:
    """Too large, declared by Content-Length: refused before it is read."""
    response = await client.post("/api/v1/tasks", content=b"x" * (1024 * 1024 + 1))
    assert_error(response, 413, "payload_too_large")


async def test_a_streamed_body_over_one_mebibyte_is_413(client: httpx.AsyncClient) -> None:
    """Too large without a Content-Length: refused while it is read."""

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"x" * 65536

    response = await client.post("/api/v1/tasks", content=chunks())
    assert_error(response, 413, "payload_too_large")


async def test_an_invalid_idempotency_key_is_422(client: httpx.AsyncClient) -> None:
    """Keys with spaces are refused naming the header."""
    response = await client.post(
        "/api/v1/tasks", json=body(), headers={"Idempotency-Key": "has space"}
    )
    assert_error(response, 422, "invalid_request", "Idempotency-Key")


async def test_requests_without_a_valid_key_are_401(
    client: httpx.AsyncClient, keys: KeyService
) -> None:
    """Missing, unknown and disabled keys each get their own code."""
    response = await client.get("/api/v1/tasks/task_x", headers={"Authorization": ""})
    assert_error(response, 401, "missing_api_key")
    response = await client.get("/api/v1/tasks/task_x", headers={"Authorization": "Bearer mv_x"})
    assert_error(response, 401, "invalid_api_key")
    key, secret = await keys.create(name="temp")
    own = {"Authorization": f"Bearer {secret}"}
    task_id = (await client.post("/api/v1/tasks", json=body(), headers=own)).json()["task_id"]
    await keys.set_enabled(key.id, False)
    for task in ("task_x", task_id):  # its own task too: the key is refused first
        response = await client.get(f"/api/v1/tasks/{task}", headers=own)
        assert_error(response, 401, "api_key_disabled")


async def test_unknown_and_foreign_tasks_are_404(
    client: httpx.AsyncClient, keys: KeyService
) -> None:
    """Someone else's task and its events are indistinguishable from no task."""
    assert_error(await client.get("/api/v1/tasks/task_nope"), 404, "task_not_found")
    task_id = (await client.post("/api/v1/tasks", json=body())).json()["task_id"]
    _, other = await keys.create(name="other")
    headers = {"Authorization": f"Bearer {other}"}
    assert_error(
        await client.get(f"/api/v1/tasks/{task_id}", headers=headers), 404, "task_not_found"
    )
    assert_error(
        await client.get(f"/api/v1/tasks/{task_id}/events", headers=headers), 404, "task_not_found"
    )


async def test_get_and_events_follow_the_task_to_its_end(
    client: httpx.AsyncClient, provider: ScriptedProvider
) -> None:
    """The task ends succeeded with videos and cost_actual; events list each move once."""
    task_id = (await client.post("/api/v1/tasks", json=body())).json()["task_id"]
    provider.set_state("up_1", TaskStatus.SUCCEEDED, seconds=8.0)
    task = (await client.get(f"/api/v1/tasks/{task_id}")).json()
    assert task["status"] == "succeeded"
    assert task["output"] == {"videos": [{"url": "https://cdn.test/up_1.mp4", "duration": 8.0}]}
    assert task["cost_actual"] == 0.06426
    events = (await client.get(f"/api/v1/tasks/{task_id}/events")).json()
    assert events["task_id"] == task_id
    assert [(e["type"], e["status"]) for e in events["events"]] == [
        ("status", "queued"),
        ("status", "succeeded"),
    ]
    assert all(e["id"] and e["at"].endswith("Z") for e in events["events"])


async def test_cancel_answers_the_cancelled_task_then_409_once_it_has_ended(
    client: httpx.AsyncClient,
) -> None:
    task_id = (await client.post("/api/v1/tasks", json=body())).json()["task_id"]
    response = await client.post(f"/api/v1/tasks/{task_id}/cancel")
    assert response.status_code == 200
    task = response.json()
    assert (task["status"], task["cost_actual"]) == ("cancelled", 0)
    assert task["request_id"] == response.headers["X-Request-ID"]
    again = await client.post(f"/api/v1/tasks/{task_id}/cancel")
    assert_error(again, 409, "task_not_cancellable")
    assert_error(await client.post("/api/v1/tasks/task_nope/cancel"), 404, "task_not_found")


async def test_an_upstream_rejection_is_422_upstream_rejected(
    client: httpx.AsyncClient, provider: ScriptedProvider
) -> None:
    """The upstream's reason reaches the client."""
    provider.submit_outcomes.append(ProviderRejected("kling", "image too small", status=400))
    response = await client.post("/api/v1/tasks", json=body())
    assert_error(response, 422, "upstream_rejected")
    assert "image too small" in response.json()["error"]["message"]


async def test_no_available_upstream_is_503_with_retry_after(
    client: httpx.AsyncClient, provider: ScriptedProvider
) -> None:
    """Rate-limited everywhere: 503 upstream_unavailable, Retry-After from the upstream."""
    provider.submit_outcomes.append(ProviderRateLimited("kling", "too many", retry_after=7))
    response = await client.post("/api/v1/tasks", json=body())
    assert_error(response, 503, "upstream_unavailable")
    assert response.headers["Retry-After"] == "7"


async def test_an_unexpected_error_is_500_without_a_traceback(
    client: httpx.AsyncClient, provider: ScriptedProvider
) -> None:
    """A bug answers internal_error with the request id to quote, never the stack."""
    provider.submit_outcomes.append(RuntimeError("secret internals"))
    response = await client.post("/api/v1/tasks", json=body())
    assert_error(response, 500, "internal_error")
    assert "secret internals" not in response.text


async def test_unknown_routes_and_methods_use_the_error_body(client: httpx.AsyncClient) -> None:
    """Even a 404 or 405 from routing has the standard error body."""
    assert_error(await client.get("/api/v2/nothing"), 404, "not_found")
    assert_error(await client.delete("/api/v1/tasks"), 405, "method_not_allowed")


async def test_operations_endpoints(client: httpx.AsyncClient) -> None:
    """healthz, readyz, metrics and openapi answer."""
    assert (await client.get("/healthz")).json() == {"ok": True}
    assert (await client.get("/readyz")).json() == {"ok": ["store"], "failing": {}}
    await client.get("/healthz")
    metrics = (await client.get("/metrics")).text
    assert (
        'mva_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"} 2.0'
        in metrics
    )
    spec = (await client.get("/openapi.json")).json()
    assert "/api/v1/tasks" in spec["paths"]
    assert f"{MODEL}.input" in spec["components"]["schemas"]


async def test_the_openapi_document_says_what_each_url_field_takes(
    client: httpx.AsyncClient,
) -> None:
    """URL fields carry their forms there; the model's own schema stays the page's, verbatim."""
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    image = schemas[f"{MODEL}.input"]["properties"]["image_url"]
    assert [branch["pattern"][:9] for branch in image["anyOf"]] == ["^https://", "^data:ima"]
    submit = schemas["SubmitRequest"]["oneOf"][0]["properties"]["webhook_url"]
    assert submit["pattern"].startswith("^https://") and submit["maxLength"] == 2048
    page = (await client.get(f"/api/v1/models/{MODEL}")).json()["input_schema"]
    assert "anyOf" not in page["properties"]["image_url"]
