"""When Redis is unreachable the API says so with 503 store_unavailable."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from adapter.app import create_app
from adapter.settings import Settings
from tests.fakes import FakeMedia, ScriptedProvider

pytestmark = pytest.mark.anyio
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


async def test_an_unreachable_store_is_503_and_readyz_fails() -> None:
    """Every request needs the store; none of them hangs or leaks a redis error."""
    dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=None)
    settings = Settings(schemas_dir=SCHEMAS)
    app = create_app(settings, redis=dead, providers=[ScriptedProvider()], media=FakeMedia())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/api/v1/tasks/t", headers={"Authorization": "Bearer mv_x"})
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "store_unavailable"
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert "store" in ready.json()["failing"]
    await dead.aclose()
