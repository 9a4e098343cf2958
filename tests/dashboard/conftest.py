"""The app in-process (ASGITransport) with MVA_ADMIN_TOKEN set, on the real store, a scripted
upstream, and a signed-in dashboard client."""

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
from adapter.stores.redis import RedisTaskStore
from adapter.stores.redis_keys import RedisKeyStore
from tests.conftest import SCHEMAS
from tests.dashboard.forms import Dashboard
from tests.fakes import FakeClock, FakeMedia, FakeWebhooks, ScriptedProvider

TOKEN = "dashboard-token-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
MODELS = ("kling-v2-6", "kling-v3")
#: How soon a task may be refreshed from its upstream again.
REFRESH_S = 0.05


def make_app(
    store: RedisTaskStore,
    key_store: RedisKeyStore,
    provider: ScriptedProvider,
    clock: FakeClock,
    token: str | None = TOKEN,
) -> Starlette:
    settings = Settings(
        schemas_dir=SCHEMAS,
        admin_token=Secret(token) if token else None,
        refresh_interval_s=REFRESH_S,
    )
    parts = build(
        settings,
        store=store,
        key_store=key_store,
        providers=[provider],
        media=FakeMedia(),
        webhooks=FakeWebhooks(),
        clock=clock,
    )
    return create_app(settings, parts=parts)


@pytest.fixture
def provider() -> ScriptedProvider:
    return ScriptedProvider("kling", MODELS)


@pytest.fixture
def app(
    store: RedisTaskStore, key_store: RedisKeyStore, provider: ScriptedProvider, clock: FakeClock
) -> Starlette:
    return make_app(store, key_store, provider, clock)


def client(app: Starlette, base_url: str = "http://adapter.test") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A client with no session (and no admin token): a stranger's browser."""
    async with client(app) as http:
        yield http


@pytest.fixture
async def dashboard(app: Starlette) -> AsyncIterator[Dashboard]:
    """A signed-in browser."""
    async with client(app) as http:
        yield await Dashboard.sign_in(http, TOKEN)


async def new_key(http: httpx.AsyncClient, **fields: Any) -> tuple[dict[str, Any], str]:
    """A key made through the admin API: its object and its secret."""
    answer = await http.post("/admin/v1/keys", json={"name": "acme", **fields}, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    return answer.json()["key"], answer.json()["secret"]


async def submit(http: httpx.AsyncClient, secret: str, model: str = "kling-v2-6") -> str:
    """A task submitted through the client API; its id."""
    answer = await http.post(
        "/api/v1/tasks",
        json={"model": model, "input": {"prompt": "a cat", "duration": 5}},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert answer.status_code == 200, answer.text
    task_id: str = answer.json()["task_id"]
    return task_id
