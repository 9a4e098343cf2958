"""The service as the composition root builds it, on the test's store (fakeredis / Redis),
with a scripted upstream, canned media facts and a clock the test moves."""

from __future__ import annotations

from typing import Any

import pytest

from adapter.bootstrap.parts import Parts, build
from adapter.config.settings import Settings
from adapter.service.catalog import Catalog
from adapter.service.tasks import TaskService
from adapter.stores.redis import RedisTaskStore
from adapter.stores.redis_keys import RedisKeyStore
from tests.conftest import SCHEMAS
from tests.fakes import FakeClock, FakeMedia, FakeWebhooks, ScriptedProvider


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog.load(SCHEMAS)


@pytest.fixture
def make_parts(  # type: ignore[no-untyped-def]
    store: RedisTaskStore, key_store: RedisKeyStore, clock: FakeClock, media: FakeMedia
):
    def make(
        *providers: ScriptedProvider,
        probe: str = "best_effort",
        wait_s: float = 0.3,
        store: RedisTaskStore = store,
        webhooks: FakeWebhooks | None = None,
        hooks: dict[str, Any] | None = None,
        **settings: Any,
    ) -> Parts:
        """Every part, built by ``build``; ``settings`` override Settings fields,
        ``hooks`` its other arguments (``sleep``, ``new_id``)."""
        options: dict[str, Any] = dict(
            schemas_dir=SCHEMAS,
            media_probe=probe,
            idempotency_ttl_s=3600,
            idempotency_wait_s=wait_s,
            refresh_interval_s=0.05,
            poll_timeout_s=1.0,
        )
        return build(
            Settings(**{**options, **settings}),
            store=store,
            key_store=key_store,
            providers=list(providers),
            media=media,
            webhooks=webhooks or FakeWebhooks(),
            clock=clock,
            **(hooks or {}),
        )

    return make


@pytest.fixture
def make_service(make_parts):  # type: ignore[no-untyped-def]
    def make(*providers: ScriptedProvider, **options: Any) -> TaskService:
        parts: Parts = make_parts(*providers, **options)
        return parts.tasks

    return make


@pytest.fixture
def service(make_service, provider: ScriptedProvider) -> TaskService:  # type: ignore[no-untyped-def]
    return make_service(provider)
