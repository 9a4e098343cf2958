"""A Redis restart costs only its downtime: the pool's dead connections fail no request after."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.datastructures import Secret

from adapter.bootstrap.app import create_app
from adapter.bootstrap.parts import build
from adapter.config.settings import Settings
from adapter.core.clock import utc_now
from tests.conftest import SCHEMAS
from tests.fakes import MODEL, FakeMedia, ScriptedProvider, seed_input
from tests.redis_server import RedisServer, needs_redis_server

pytestmark = [pytest.mark.anyio, needs_redis_server]
KEY = "mv_test_restart"


async def test_after_a_redis_restart_every_request_succeeds_at_once(own_redis: RedisServer) -> None:
    """Bursts of reads fill the pool; Redis restarts; the very next bursts, and a submit, all
    answer 200 on the production client (the pool's idle connections all died with it)."""
    settings = Settings(
        redis_url=own_redis.url, bootstrap_key=Secret(KEY), schemas_dir=SCHEMAS, reconciler=False
    )
    app = create_app(
        settings,
        parts=build(settings, providers=[ScriptedProvider()], media=FakeMedia(), clock=utc_now),
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=transport, base_url="http://t", headers={"Authorization": f"Bearer {KEY}"}
        ) as client,
    ):
        submitted = await client.post("/api/v1/tasks", json={"model": MODEL, "input": seed_input()})
        task_id = submitted.json()["task_id"]

        async def burst() -> set[int]:
            answers = await asyncio.gather(
                *(client.get(f"/api/v1/tasks/{task_id}") for _ in range(32))
            )
            return {answer.status_code for answer in answers}

        assert await burst() == {200}
        await asyncio.to_thread(own_redis.restart)
        assert [await burst() for _ in range(3)] == [{200}] * 3
        again = await client.post("/api/v1/tasks", json={"model": MODEL, "input": seed_input()})
        assert again.status_code == 200
