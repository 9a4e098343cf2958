"""The admin API: keys created, shown, changed, paged, disabled and deleted behind
MVA_ADMIN_TOKEN, and the scope a key carries (models, expiry, addresses) enforced on the client
API at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.datastructures import Secret

from adapter.bootstrap.app import create_app
from adapter.bootstrap.parts import build
from adapter.config.settings import Settings
from adapter.core.values import IPNetwork
from adapter.stores.redis import RedisTaskStore
from adapter.stores.redis_keys import RedisKeyStore
from tests.conftest import SCHEMAS
from tests.fakes import FakeClock, FakeMedia, FakeWebhooks, ScriptedProvider

pytestmark = pytest.mark.anyio

TOKEN = "admin-token-0123456789abcdef"
SUBMIT = {"model": "kling-v2-6", "input": {"prompt": "a cat", "duration": 5}}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_app(
    store: RedisTaskStore,
    key_store: RedisKeyStore,
    clock: FakeClock,
    *,
    token: str | None = TOKEN,
    trusted: tuple[IPNetwork, ...] = (),
) -> Starlette:
    settings = Settings(
        schemas_dir=SCHEMAS,
        admin_token=Secret(token) if token else None,
        trusted_proxies=trusted,
    )
    parts = build(
        settings,
        store=store,
        key_store=key_store,
        providers=[ScriptedProvider("any", ("kling-v2-6", "kling-v3"))],
        media=FakeMedia(),
        webhooks=FakeWebhooks(),
        clock=clock,
    )
    return create_app(settings, parts=parts)


@pytest.fixture
async def http(
    store: RedisTaskStore, key_store: RedisKeyStore, clock: FakeClock
) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(store, key_store, clock)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://adapter.test") as client:
        yield client


ADMIN = {"Authorization": f"Bearer {TOKEN}"}


async def create(http: httpx.AsyncClient, **fields: Any) -> tuple[dict[str, Any], str]:
    answer = await http.post("/admin/v1/keys", json={"name": "acme", **fields}, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    return body["key"], body["secret"]


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def test_a_created_key_shows_its_secret_once_and_works_at_once(
    http: httpx.AsyncClient,
) -> None:
    key, secret = await create(http, owner="team-a", mode="test", metadata={"plan": "pro"})
    assert secret.startswith("mv_test_") and key["prefix"] == secret[:12]
    assert (key["owner"], key["mode"], key["status"], key["metadata"]) == (
        "team-a",
        "test",
        "active",
        {"plan": "pro"},
    )
    shown = (await http.get(f"/admin/v1/keys/{key['id']}", headers=ADMIN)).json()
    assert shown == key and secret not in str(shown) and "hash" not in str(shown)
    assert (
        await http.post("/api/v1/tasks", json=SUBMIT, headers=bearer(secret))
    ).status_code == 200


async def test_keys_are_paged_oldest_first_with_a_cursor(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    made = []
    for name in ("a", "b", "c"):
        made.append((await create(http, name=name))[0]["id"])
        clock.advance(1)
    first = (await http.get("/admin/v1/keys?limit=2", headers=ADMIN)).json()
    assert [k["id"] for k in first["data"]] == made[:2] and first["next_cursor"] == made[1]
    rest = await http.get(f"/admin/v1/keys?limit=2&cursor={first['next_cursor']}", headers=ADMIN)
    assert [k["id"] for k in rest.json()["data"]] == made[2:]
    assert rest.json()["next_cursor"] is None


async def test_disable_enable_and_delete_take_effect_on_the_next_request(
    http: httpx.AsyncClient,
) -> None:
    key, secret = await create(http)
    path = f"/admin/v1/keys/{key['id']}"
    assert (await http.post(f"{path}/disable", headers=ADMIN)).json()["status"] == "disabled"
    refused = await http.get("/api/v1/tasks", headers=bearer(secret))
    assert refused.json()["error"]["code"] == "api_key_disabled"
    assert (await http.post(f"{path}/enable", headers=ADMIN)).json()["status"] == "active"
    assert (await http.get("/api/v1/tasks", headers=bearer(secret))).status_code == 200
    assert (await http.delete(path, headers=ADMIN)).status_code == 204
    assert (await http.get(path, headers=ADMIN)).json()["error"]["code"] == "key_not_found"
    gone = await http.get("/api/v1/tasks", headers=bearer(secret))
    assert gone.json()["error"]["code"] == "invalid_api_key"


async def test_a_key_limited_to_models_is_refused_the_others(http: httpx.AsyncClient) -> None:
    _, secret = await create(http, models=["kling-v3"])
    answer = await http.post("/api/v1/tasks", json=SUBMIT, headers=bearer(secret))
    assert answer.status_code == 403
    error = answer.json()["error"]
    assert error["code"] == "model_not_allowed" and "kling-v3" in error["message"]


async def test_a_key_past_its_expiry_is_refused(http: httpx.AsyncClient, clock: FakeClock) -> None:
    _, secret = await create(http, expires_at="2026-11-23T09:00:00Z")
    assert (await http.get("/api/v1/tasks", headers=bearer(secret))).status_code == 200
    clock.advance(3600)
    answer = await http.get("/api/v1/tasks", headers=bearer(secret))
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "api_key_expired"


async def test_a_key_is_refused_outside_its_addresses(http: httpx.AsyncClient) -> None:
    _, inside = await create(http, allowed_ips=["203.0.113.0/24"])
    _, outside = await create(http, allowed_ips=["198.51.100.0/24", "2001:db8::/32"])
    assert (await http.get("/api/v1/tasks", headers=bearer(inside))).status_code == 200
    answer = await http.get("/api/v1/tasks", headers=bearer(outside))
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "ip_not_allowed"
    assert "203.0.113.7" in answer.json()["error"]["message"]


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
    store: RedisTaskStore, key_store: RedisKeyStore, clock: FakeClock
) -> None:
    import ipaddress

    app = make_app(store, key_store, clock, trusted=(ipaddress.ip_network("10.0.0.0/8"),))
    client_says = {"X-Forwarded-For": "198.51.100.9"}
    for peer, expected in (("10.1.2.3", 200), ("203.0.113.7", 403)):
        transport = httpx.ASGITransport(app=app, client=(peer, 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://a.test") as http:
            _, secret = await create(http, allowed_ips=["198.51.100.9"])
            answer = await http.get("/api/v1/tasks", headers={**bearer(secret), **client_says})
            assert answer.status_code == expected, (peer, answer.text)


async def test_a_change_is_checked_and_applied(http: httpx.AsyncClient) -> None:
    key, secret = await create(http, models=["kling-v3"])
    path = f"/admin/v1/keys/{key['id']}"
    changed = await http.patch(path, json={"models": None, "name": "acme-2"}, headers=ADMIN)
    assert (changed.json()["models"], changed.json()["name"]) == (None, "acme-2")
    assert (
        await http.post("/api/v1/tasks", json=SUBMIT, headers=bearer(secret))
    ).status_code == 200


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"models": ["sora-9"]}, "models[0]"),
        ({"allowed_ips": ["10.0.0.0/8", "not-an-ip"]}, "allowed_ips[1]"),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"expires_at": "2030-01-01T00:00:00"}, "expires_at"),
        ({"mode": "sandbox"}, "mode"),
        ({"rpm": 0}, "rpm"),
        ({"tier": "gold"}, "tier"),
        ({"name": " "}, "name"),
    ],
)
async def test_a_bad_field_is_a_422_naming_it(
    http: httpx.AsyncClient, fields: dict[str, Any], param: str | None
) -> None:
    answer = await http.post("/admin/v1/keys", json={"name": "acme", **fields}, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"].get("param") == param
    # A refused key is not made: checked before it exists, not after.
    assert (await http.get("/admin/v1/keys", headers=ADMIN)).json()["data"] == []


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "missing_admin_token"),
        ({"Authorization": "Bearer wrong-token-0123456789"}, 401, "invalid_admin_token"),
        ({"Authorization": "Bearer mv_live_anything"}, 403, "admin_token_required"),
    ],
)
async def test_the_admin_api_takes_its_token_only(
    http: httpx.AsyncClient, headers: dict[str, str], status: int, code: str
) -> None:
    answer = await http.get("/admin/v1/keys", headers=headers)
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)


async def test_without_a_token_the_admin_api_is_not_there(
    store: RedisTaskStore, key_store: RedisKeyStore, clock: FakeClock
) -> None:
    app = make_app(store, key_store, clock, token=None)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://a.test") as http:
        answer = await http.get("/admin/v1/keys", headers=ADMIN)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"


async def test_every_admin_route_is_in_the_openapi_document(http: httpx.AsyncClient) -> None:
    from adapter.http.routes import ROUTES

    paths = (await http.get("/openapi.json")).json()["paths"]
    admin = [route for route in ROUTES if route.path.startswith("/admin/")]
    assert admin
    for route in admin:
        for method in route.methods or ():
            if method != "HEAD":
                assert method.lower() in paths[route.path], (route.path, method)


async def test_last_use_is_kept_to_the_minute_without_a_write_per_request(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    key, secret = await create(http)
    path = f"/admin/v1/keys/{key['id']}"
    assert key["last_used_at"] is None
    await http.get("/api/v1/tasks", headers=bearer(secret))
    first = (await http.get(path, headers=ADMIN)).json()["last_used_at"]
    assert first == "2026-11-23T08:00:00.000Z"
    clock.advance(30)
    await http.get("/api/v1/tasks", headers=bearer(secret))
    assert (await http.get(path, headers=ADMIN)).json()["last_used_at"] == first  # no write
    clock.advance(31)
    await http.get("/api/v1/tasks", headers=bearer(secret))
    assert (await http.get(path, headers=ADMIN)).json()[
        "last_used_at"
    ] == "2026-11-23T08:01:01.000Z"


async def test_a_keys_rate_limit_answers_429_with_retry_after_and_ratelimit_headers(
    http: httpx.AsyncClient,
) -> None:
    key, secret = await create(http, rpm=1, max_concurrent=5)
    assert (key["rpm"], key["max_concurrent"]) == (1, 5)
    assert (
        await http.post("/api/v1/tasks", json=SUBMIT, headers=bearer(secret))
    ).status_code == 200
    answer = await http.post("/api/v1/tasks", json=SUBMIT, headers=bearer(secret))
    assert answer.status_code == 429 and answer.json()["error"]["code"] == "rate_limited"
    assert answer.headers["Retry-After"] == "60"
    assert answer.headers["RateLimit-Policy"] == '"rpm";q=1;w=60'
    assert answer.headers["RateLimit"] == '"rpm";r=0;t=60'


async def test_a_keys_concurrency_limit_answers_429(http: httpx.AsyncClient) -> None:
    _, secret = await create(http, max_concurrent=1)
    assert (
        await http.post("/api/v1/tasks", json=SUBMIT, headers=bearer(secret))
    ).status_code == 200
    answer = await http.post("/api/v1/tasks", json=SUBMIT, headers=bearer(secret))
    assert answer.status_code == 429
    assert answer.json()["error"]["code"] == "concurrency_limit_reached"


async def test_a_budget_answers_402_and_shows_what_remains(http: httpx.AsyncClient) -> None:
    key, secret = await create(http, budget={"amount": "0.05", "period": "day"})
    assert key["budget"] == {
        "amount": 0.05,
        "period": "day",
        "current": "2026-11-23",
        "reserved": 0,
        "spent": 0,
        "remaining": 0.05,
    }
    assert (
        await http.post("/api/v1/tasks", json=SUBMIT, headers=bearer(secret))
    ).status_code == 200
    answer = await http.post("/api/v1/tasks", json=SUBMIT, headers=bearer(secret))
    assert answer.status_code == 402 and answer.json()["error"]["code"] == "budget_exceeded"
    usage = (await http.get("/api/v1/usage", headers=bearer(secret))).json()
    assert usage["budget"]["reserved"] == 0.0414 and usage["budget"]["remaining"] == 0.0086
    assert (usage["key_id"], usage["mode"], usage["rpm"]) == (key["id"], "live", None)


@pytest.mark.parametrize("amount", ["0", "-1", "ten", "9000001"])
async def test_a_budget_must_be_a_positive_decimal_string(
    http: httpx.AsyncClient, amount: str
) -> None:
    body = {"name": "acme", "budget": {"amount": amount, "period": "month"}}
    answer = await http.post("/admin/v1/keys", json=body, headers=ADMIN)
    assert answer.status_code == 422 and answer.json()["error"]["param"] == "budget.amount"


async def test_usage_is_answered_as_rows_or_csv_and_to_each_key_its_own(
    http: httpx.AsyncClient,
) -> None:
    key_a, secret_a = await create(http, name="a")
    key_b, secret_b = await create(http, name="b")
    for secret in (secret_a, secret_a, secret_b):
        assert (await http.post("/api/v1/tasks", json=SUBMIT, headers=bearer(secret))).is_success
    by_key = await http.get("/admin/v1/usage?group_by=key", headers=ADMIN)
    assert [(r["key_id"], r["tasks"]) for r in by_key.json()["data"]] == sorted(
        [(key_a["id"], 2), (key_b["id"], 1)]
    )
    one = await http.get(f"/admin/v1/usage?key_id={key_b['id']}", headers=ADMIN)
    assert one.json()["data"] == [
        {
            "tasks": 1,
            "succeeded": 0,
            "failed": 0,
            "cancelled": 0,
            "seconds": 0,
            "cost_reserved": 0.0414,
            "cost_charged": 0,
            "cost_upstream": 0,
            "day": "2026-11-23",
            "model": "kling-v2-6",
        }
    ]
    csv = await http.get("/admin/v1/usage", headers={**ADMIN, "Accept": "text/csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines() == [
        "day,model,key_id,tasks,succeeded,failed,cancelled,seconds,cost_reserved,cost_charged,"
        "cost_upstream",
        "2026-11-23,kling-v2-6,,3,0,0,0,0,0.1242,0,0",
    ]
    mine = (await http.get("/api/v1/usage", headers=bearer(secret_a))).json()
    assert [(r["day"], r["tasks"]) for r in mine["data"]] == [("2026-11-23", 2)]
    assert "cost_upstream" not in mine["data"][0]  # what hosts charge is the operator's


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("from=2026-13-01", "from"),
        ("from=2026-11-24&to=2026-11-23", "from"),
        ("from=2024-01-01&to=2026-11-23", "from"),
        ("group_by=week", "group_by"),
    ],
)
async def test_a_bad_usage_query_is_a_422_naming_it(
    http: httpx.AsyncClient, query: str, param: str
) -> None:
    answer = await http.get(f"/admin/v1/usage?{query}", headers=ADMIN)
    assert answer.status_code == 422 and answer.json()["error"]["param"] == param


async def test_usage_of_an_unknown_key_is_404(http: httpx.AsyncClient) -> None:
    answer = await http.get("/admin/v1/usage?key_id=key_nope", headers=ADMIN)
    assert answer.json()["error"]["code"] == "key_not_found"


async def test_the_admin_sees_every_owners_tasks_by_key_model_and_status(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    key_a, secret_a = await create(http, name="a", owner="team-a")
    _, secret_b = await create(http, name="b", owner="team-b")
    made = []
    for secret, model in (
        (secret_a, "kling-v2-6"),
        (secret_b, "kling-v2-6"),
        (secret_a, "kling-v3"),
    ):
        body = {"model": model, "input": {"prompt": "a cat", "duration": 5}}
        answer = await http.post("/api/v1/tasks", json=body, headers=bearer(secret))
        made.append(answer.json()["task_id"])
        clock.advance(1)
    every = (await http.get("/admin/v1/tasks", headers=ADMIN)).json()
    assert [t["task_id"] for t in every["data"]] == made[::-1]
    by_key = await http.get(f"/admin/v1/tasks?key_id={key_a['id']}", headers=ADMIN)
    assert [t["task_id"] for t in by_key.json()["data"]] == [made[2], made[0]]
    by_model = await http.get("/admin/v1/tasks?model=kling-v3", headers=ADMIN)
    assert [t["task_id"] for t in by_model.json()["data"]] == [made[2]]
    paged = (await http.get("/admin/v1/tasks?limit=2", headers=ADMIN)).json()
    rest = await http.get(f"/admin/v1/tasks?limit=2&cursor={paged['next_cursor']}", headers=ADMIN)
    assert [t["task_id"] for t in paged["data"] + rest.json()["data"]] == made[::-1]
    none = await http.get("/admin/v1/tasks?status=failed", headers=ADMIN)
    assert none.json()["data"] == []
    mine = (await http.get("/api/v1/tasks", headers=bearer(secret_b))).json()["data"]
    assert [t["task_id"] for t in mine] == [made[1]]  # a client still sees its owner's only


async def test_the_admin_lists_the_tasks_created_in_a_time_window(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    """Tasks at 08:00:00, :10, :20 and :30 (UTC); both bounds are included."""
    _, secret = await create(http, name="a")
    made = []
    for _ in range(4):
        body = {"model": "kling-v3", "input": {"prompt": "a cat", "duration": 5}}
        made.append((await http.post("/api/v1/tasks", json=body, headers=bearer(secret))).json())
        clock.advance(10)

    async def listed(query: str) -> list[str]:
        answer = await http.get(f"/admin/v1/tasks?{query}", headers=ADMIN)
        assert answer.status_code == 200, answer.text
        return [t["task_id"] for t in answer.json()["data"]]

    ids = [task["task_id"] for task in made]
    window = "since=2026-11-23T08:00:10Z&until=2026-11-23T08:00:20Z"
    assert await listed(window) == [ids[2], ids[1]]
    assert await listed("since=2026-11-23T09:00:10%2B01:00") == ids[:0:-1]  # a zone of its own
    assert await listed("until=2026-11-23T08:00:05") == [ids[0]]  # no zone: UTC
    assert await listed("since=2026-11-24") == []
    first = (await http.get(f"/admin/v1/tasks?{window}&limit=1", headers=ADMIN)).json()
    assert [t["task_id"] for t in first["data"]] == [ids[2]]
    rest = await listed(f"{window}&limit=1&cursor={first['next_cursor']}")
    assert rest == [ids[1]]


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("status=done", "status"),
        ("limit=0", "limit"),
        ("limit=x", "limit"),
        ("cursor=zz", "cursor"),
        ("since=yesterday", "since"),
        ("until=2026-13-01", "until"),
        ("since=2026-11-24&until=2026-11-23", "since"),
    ],
)
async def test_a_bad_admin_task_query_is_a_422_naming_it(
    http: httpx.AsyncClient, query: str, param: str
) -> None:
    answer = await http.get(f"/admin/v1/tasks?{query}", headers=ADMIN)
    assert answer.status_code == 422 and answer.json()["error"]["param"] == param
