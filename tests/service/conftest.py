"""A TaskService on the real store (fakeredis / Redis) with a scripted upstream."""

from __future__ import annotations

from typing import Any

import pytest

from adapter.service.catalog import Catalog
from adapter.service.routing import Router
from adapter.service.tasks import TaskService
from adapter.stores.redis import RedisTaskStore
from tests.conftest import SCHEMAS
from tests.fakes import FakeClock, FakeMedia, FakeWebhooks, ScriptedProvider


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog.load(SCHEMAS)


@pytest.fixture
def make_service(store: RedisTaskStore, catalog: Catalog, clock: FakeClock, media: FakeMedia):  # type: ignore[no-untyped-def]
    def make(
        *providers: ScriptedProvider,
        probe: str = "best_effort",
        wait_s: float = 0.3,
        **overrides: Any,
    ) -> TaskService:
        """A service on the test's store; ``overrides`` replace any other argument."""
        options: dict[str, Any] = dict(
            store=store,
            catalog=catalog,
            router=Router(list(providers)),
            media=media,
            webhooks=FakeWebhooks(),
            probe=probe,  # type: ignore[arg-type]
            clock=clock,
            idempotency_ttl_s=3600,
            idempotency_wait_s=wait_s,
            refresh_interval_s=0.05,
            poll_timeout_s=1.0,
            submit_stale_s=60,
        )
        return TaskService(**{**options, **overrides})

    return make


@pytest.fixture
def service(make_service, provider: ScriptedProvider) -> TaskService:  # type: ignore[no-untyped-def]
    return make_service(provider)
