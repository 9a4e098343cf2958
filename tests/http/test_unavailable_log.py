"""Every 5xx the API answers is logged once, with its request id and the chain of its causes."""

from __future__ import annotations

import logging

import httpx
import pytest
import redis.asyncio as aioredis

from adapter.bootstrap.app import create_app
from adapter.bootstrap.parts import build
from adapter.config.settings import Settings
from adapter.core.clock import utc_now
from adapter.core.errors import ProviderUnavailable
from tests.conftest import SCHEMAS
from tests.fakes import MODEL, FakeMedia, ScriptedProvider, seed_input

pytestmark = pytest.mark.anyio


def causes(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "adapter.http.errors"]


async def test_a_store_503_logs_the_redis_error_behind_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """store_unavailable (and a failing /readyz): the line names the request and redis-py's
    own error and message."""
    dead = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=None)
    settings = Settings(schemas_dir=SCHEMAS)
    app = create_app(
        settings,
        parts=build(
            settings, redis=dead, providers=[ScriptedProvider()], media=FakeMedia(), clock=utc_now
        ),
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    caplog.set_level(logging.WARNING)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/api/v1/tasks/t", headers={"Authorization": "Bearer mv_x"})
        ready = await client.get("/readyz")
    await dead.aclose()
    assert response.status_code == ready.status_code == 503
    line, not_ready = causes(caplog)
    assert f"request_id={response.headers['X-Request-ID']} " in line
    assert "status=503 code=store_unavailable" in line
    assert "cause=adapter.core.errors.StoreUnavailable: The task store is unavailable" in line
    assert "<- redis.exceptions.ConnectionError: Error " in line
    assert "127.0.0.1:1" in line
    assert f"request_id={ready.headers['X-Request-ID']} status=503 code=not_ready" in not_ready
    assert "<- redis.exceptions.ConnectionError: Error " in not_ready


async def test_an_upstream_503_logs_each_providers_error_and_its_cause(
    client: httpx.AsyncClient, provider: ScriptedProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """upstream_unavailable: the line lists every provider's error, down to the network's."""
    refused = ProviderUnavailable("kling", "The upstream could not be reached.")
    refused.__cause__ = httpx.ConnectError("[Errno 111] Connection refused")
    provider.submit_outcomes.append(refused)
    caplog.set_level(logging.WARNING)
    response = await client.post("/api/v1/tasks", json={"model": MODEL, "input": seed_input()})
    assert response.status_code == 503
    [line] = causes(caplog)
    assert f"request_id={response.headers['X-Request-ID']} " in line
    assert "status=503 code=upstream_unavailable" in line
    assert (
        "[adapter.core.errors.ProviderUnavailable: The upstream could not be reached. "
        "<- httpx.ConnectError: [Errno 111] Connection refused]"
    ) in line


async def test_a_4xx_is_not_logged_as_a_failure(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A client's mistake is the client's: no cause line."""
    caplog.set_level(logging.WARNING)
    response = await client.get("/api/v1/tasks/task_missing")
    assert response.status_code == 404
    assert causes(caplog) == []
