"""When Redis is unreachable the API says so with 503 store_unavailable."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from starlette.datastructures import Secret

from adapter.bootstrap.app import create_app
from adapter.bootstrap.parts import build
from adapter.config.settings import Settings
from adapter.core.clock import utc_now
from adapter.stores.redis_keys import RedisKeyStore
from tests.fakes import MODEL, FakeMedia, FlakyStore, ScriptedProvider, seed_input

pytestmark = pytest.mark.anyio
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


async def test_an_unreachable_store_is_503_and_readyz_fails() -> None:
    """Every request needs the store; none of them hangs or leaks a redis error."""
    dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=None)
    settings = Settings(schemas_dir=SCHEMAS)
    app = create_app(
        settings,
        parts=build(
            settings, redis=dead, providers=[ScriptedProvider()], media=FakeMedia(), clock=utc_now
        ),
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/api/v1/tasks/t", headers={"Authorization": "Bearer mv_x"})
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "store_unavailable"
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert "store" in ready.json()["failing"]
    await dead.aclose()


async def test_a_submit_cut_off_by_the_store_answers_503_with_its_task_id(
    redis: aioredis.Redis, namespace: str
) -> None:
    """The upstream took the task, then Redis went away: the 503 says which task a retry with
    the same Idempotency-Key will find (it exists, and is reconciled later)."""
    store = FlakyStore(redis, namespace=namespace, task_ttl_s=3600)
    keys = RedisKeyStore(redis, namespace=namespace)
    settings = Settings(schemas_dir=SCHEMAS, bootstrap_key=Secret("mv_test_store_down"))
    app = create_app(
        settings,
        parts=build(
            settings,
            store=store,
            key_store=keys,
            providers=[ScriptedProvider()],
            media=FakeMedia(),
            clock=utc_now,
        ),
    )
    store.fail_updates = 100
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        response = await client.post(
            "/api/v1/tasks",
            json={"model": MODEL, "input": seed_input()},
            headers={"Authorization": "Bearer mv_test_store_down", "Idempotency-Key": "k"},
        )
    assert response.status_code == 503
    body = response.json()
    assert body["error"]["code"] == "store_unavailable"
    assert body["task_id"].startswith("task_") and body["task_id"] in body["error"]["message"]
    assert await store.get_task(body["task_id"]) is not None
