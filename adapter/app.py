"""The composition root: the only module that imports concrete adapters."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from urllib.parse import urlsplit

import httpx
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.datastructures import Secret
from starlette.middleware import Middleware

from adapter import __version__
from adapter.clock import utc_now
from adapter.http.errors import EXCEPTION_HANDLERS
from adapter.http.metrics import Metrics
from adapter.http.middleware import RequestContextMiddleware
from adapter.http.openapi import build_openapi
from adapter.http.routes import ROUTES
from adapter.http.services import Services
from adapter.media.inspector import HttpMediaInspector
from adapter.ports import KeyStore, MediaInspector, TaskStore, VideoProvider
from adapter.provider_config import Dialect, ProviderConfig
from adapter.providers._http import build_http_client
from adapter.providers.dashscope import DashScopeProvider
from adapter.providers.kling import KlingProvider
from adapter.service.catalog import Catalog
from adapter.service.keys import KeyService
from adapter.service.models import ModelDirectory
from adapter.service.routing import Router
from adapter.service.tasks import TaskService
from adapter.settings import Settings, SettingsError
from adapter.simulator.config import SimulatorConfig

log = logging.getLogger(__name__)

#: The simulator's credentials, used when the embedded default points the providers at it.
SIMULATOR_KEY = SimulatorConfig().api_key
SIMULATOR_DASHSCOPE_KEY = SimulatorConfig().dashscope_api_key


def make_redis(settings: Settings) -> aioredis.Redis:
    """A real Redis from ``REDIS_URL``, or fakeredis in-process (with Lua) when it is unset."""
    if settings.redis_url:
        # Bounded waits: a Redis that accepts but never answers is a 503, not a hung request.
        return aioredis.Redis.from_url(
            settings.redis_url, socket_timeout=5, socket_connect_timeout=3, health_check_interval=30
        )
    import fakeredis  # the embedded default only

    redis: aioredis.Redis = fakeredis.FakeAsyncRedis()
    return redis


def _kling(config: ProviderConfig, http: httpx.AsyncClient) -> VideoProvider:
    return KlingProvider(
        config.name,
        base_url=config.base_url,
        http=http,
        dialect="gateway" if config.dialect == "kling-gateway" else "official",
        api_key=str(config.api_key) if config.api_key else None,
        access_key=config.access_key,
        secret_key=str(config.secret_key) if config.secret_key else None,
        models=config.models,
    )


def _dashscope(config: ProviderConfig, http: httpx.AsyncClient) -> VideoProvider:
    return DashScopeProvider(
        config.name,
        base_url=config.base_url,
        http=http,
        api_key=str(config.api_key) if config.api_key else "",
        models=config.models,
    )


#: How each dialect is built. A new upstream is a provider file and a row here.
PROVIDER_FACTORIES: dict[Dialect, Callable[[ProviderConfig, httpx.AsyncClient], VideoProvider]] = {
    "kling-gateway": _kling,
    "kling-official": _kling,
    "dashscope": _dashscope,
}


def simulator_providers(simulator_url: str) -> tuple[ProviderConfig, ...]:
    """The embedded default: every dialect's provider, aimed at the built-in simulator."""
    return (
        ProviderConfig(
            name="kling",
            dialect="kling-gateway",
            base_url=simulator_url,
            api_key=Secret(SIMULATOR_KEY),
        ),
        ProviderConfig(
            name="dashscope",
            dialect="dashscope",
            base_url=simulator_url,
            api_key=Secret(SIMULATOR_DASHSCOPE_KEY),
        ),
    )


def make_providers(
    settings: Settings, simulator_url: str | None, http: httpx.AsyncClient
) -> list[VideoProvider]:
    """The configured providers in order of preference, or the simulator's."""
    configs = settings.providers
    if not configs:
        if simulator_url is None:
            raise ValueError("no upstream configured: set KLING_BASE_URL or run the simulator")
        configs = simulator_providers(simulator_url)
    providers = []
    for config in configs:
        try:
            providers.append(PROVIDER_FACTORIES[config.dialect](config, http))
        except ValueError as exc:
            raise SettingsError(f"provider {config.name!r}: {exc}") from None
    return providers


def make_media(
    settings: Settings, simulator_url: str | None
) -> tuple[HttpMediaInspector, httpx.AsyncClient]:
    rewrites = dict(settings.media_rewrites)
    allow = set(settings.media_allow_hosts)
    if simulator_url is not None:
        # example.com is reserved for documentation (RFC 2606): the seeds' media URLs live
        # there, so the embedded default serves them from the simulator's test media.
        rewrites.setdefault("example.com", f"{simulator_url}/media")
        allow.add(urlsplit(simulator_url).hostname or "127.0.0.1")
    http = build_http_client(timeout_s=settings.media_timeout_s, max_connections=64)
    inspector = HttpMediaInspector(
        http, allow_hosts=frozenset(allow), rewrites=rewrites, timeout=settings.media_timeout_s
    )
    return inspector, http


def create_app(
    settings: Settings | None = None,
    *,
    simulator_url: str | None = None,
    redis: aioredis.Redis | None = None,
    store: TaskStore | None = None,
    key_store: KeyStore | None = None,
    providers: Sequence[VideoProvider] | None = None,
    media: MediaInspector | None = None,
    clock: Callable[[], datetime] = utc_now,
    on_ready: Callable[[Services], object] | None = None,
) -> Starlette:
    """Build the app. Anything injected is used as is and left for the caller to close."""
    settings = settings or Settings.from_env(os.environ)
    from adapter.stores.redis import RedisKeyStore, RedisTaskStore

    owned_redis = redis is None and (store is None or key_store is None)
    redis = redis if redis is not None else (make_redis(settings) if owned_redis else None)
    if store is None:
        assert redis is not None
        store = RedisTaskStore(redis, task_ttl_s=settings.task_ttl_s)
    if key_store is None:
        assert redis is not None
        key_store = RedisKeyStore(redis)
    owned_clients: list[httpx.AsyncClient] = []
    if providers is None:
        upstream_http = build_http_client(
            timeout_s=settings.upstream_timeout_s,
            max_connections=settings.upstream_max_connections,
        )
        owned_clients.append(upstream_http)
        providers = make_providers(settings, simulator_url, upstream_http)
    router = Router(providers, submit_timeout_s=settings.upstream_timeout_s)
    if media is None:
        media, media_http = make_media(settings, simulator_url)
        owned_clients.append(media_http)
    catalog = Catalog.load(settings.schemas_dir)
    # Longer than any submit can take (media checks + upstream call, each hard-bounded).
    submit_stale_s = settings.upstream_timeout_s + 2 * settings.media_timeout_s + 10
    keys = KeyService(key_store, clock=clock)
    tasks = TaskService(
        store=store,
        catalog=catalog,
        router=router,
        media=media,
        probe=settings.media_probe,
        clock=clock,
        idempotency_ttl_s=settings.idempotency_ttl_s,
        idempotency_wait_s=settings.idempotency_wait_s,
        refresh_interval_s=settings.refresh_interval_s,
        poll_timeout_s=settings.poll_timeout_s,
        submit_stale_s=submit_stale_s,
        give_up_after_s=max(600.0, 10 * submit_stale_s),
    )
    metrics = Metrics()
    models = ModelDirectory(catalog, router)
    services = Services(
        tasks=tasks,
        keys=keys,
        models=models,
        store=store,
        metrics=metrics,
        openapi=build_openapi(models.served(), __version__),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.bootstrap_key is not None:
            await keys.register(str(settings.bootstrap_key), name="bootstrap")
        if on_ready is not None:
            on_ready(services)
        try:
            yield
        finally:
            for client in owned_clients:
                await client.aclose()
            if owned_redis and redis is not None:
                await redis.aclose()

    app = Starlette(
        routes=ROUTES,
        middleware=[Middleware(RequestContextMiddleware, metrics=metrics)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.services = services
    return app
