"""The app in-process over ASGITransport, on the real store, with a scripted upstream."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.datastructures import Secret

from adapter.bootstrap.app import create_app
from adapter.bootstrap.parts import build
from adapter.config.settings import Settings
from adapter.service.keys import KeyService
from adapter.stores.redis import RedisTaskStore
from adapter.stores.redis_keys import RedisKeyStore
from tests.conftest import SCHEMAS
from tests.fakes import FakeClock, FakeMedia, FakeWebhooks, ScriptedProvider

KEY = "mv_test_http_suite"
#: Where the app says upstreams can call it back.
PUBLIC_URL = "http://adapter.test"


@pytest.fixture
def app(
    store: RedisTaskStore,
    key_store: RedisKeyStore,
    provider: ScriptedProvider,
    media: FakeMedia,
    webhooks: FakeWebhooks,
) -> Starlette:
    settings = Settings(
        schemas_dir=SCHEMAS,
        idempotency_wait_s=0.2,
        refresh_interval_s=0.05,
        public_url=PUBLIC_URL,
        callback_secret=Secret("http-suite-callbacks"),
    )
    return create_app(
        settings,
        parts=build(
            settings,
            store=store,
            key_store=key_store,
            providers=[provider],
            media=media,
            webhooks=webhooks,
            clock=FakeClock(),
        ),
    )


@pytest.fixture
def webhooks() -> FakeWebhooks:
    return FakeWebhooks()


@pytest.fixture
async def keys(key_store: RedisKeyStore) -> KeyService:
    service = KeyService(key_store, clock=FakeClock())
    await service.register(KEY, name="suite")
    return service


@pytest.fixture
async def client(app: Starlette, keys: KeyService) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://adapter.test",
        headers={"Authorization": f"Bearer {KEY}"},
    ) as client:
        yield client
