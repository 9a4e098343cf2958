"""The composition: concrete adapters built from settings, shared by ``serve`` and ``worker``.

The only module (with ``adapter.app``) that imports concrete adapters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec
import redis.asyncio as aioredis
from redis.maint_notifications import MaintNotificationsConfig
from starlette.datastructures import Secret

from adapter.config.providers import Dialect, ProviderConfig
from adapter.config.settings import Settings, SettingsError, shown_url
from adapter.core.causes import reason
from adapter.core.errors import StoreUnavailable
from adapter.core.shutdown import close_all, stop_task
from adapter.media.addresses import Resolver, system_resolve
from adapter.media.inspector import HttpMediaInspector
from adapter.media.resolver import PublicAddressResolver
from adapter.outbound.client import build_http_client
from adapter.ports import KeyStore, MediaInspector, VideoProvider, WebhookSender
from adapter.providers.dashscope.provider import DashScopeProvider
from adapter.providers.kling.provider import KlingProvider
from adapter.service.callbacks import CallbackTokens
from adapter.service.catalog import Catalog, CatalogError
from adapter.service.events import EventStream
from adapter.service.keys import KeyService
from adapter.service.models import ModelDirectory
from adapter.service.reconciler import Reconciler
from adapter.service.recovery import Recovery
from adapter.service.refresh import Refresher
from adapter.service.routing import Router
from adapter.service.submission import Submitter, new_task_id
from adapter.service.tasks import TaskService
from adapter.service.webhooks import WebhookDispatcher
from adapter.service.writer import TaskWriter
from adapter.simulator.config import SimulatorConfig
from adapter.stores.redis import RedisTaskStore
from adapter.stores.redis_feed import RedisEventFeed
from adapter.stores.redis_keys import RedisKeyStore
from adapter.webhooks.sender import HttpWebhookSender

log = logging.getLogger(__name__)

#: The simulator's credentials, used when the embedded default points the providers at it.
SIMULATOR_KEY = SimulatorConfig().api_key
SIMULATOR_DASHSCOPE_KEY = SimulatorConfig().dashscope_api_key


def simulator_config(settings: Settings) -> SimulatorConfig:
    """The built-in simulator as the settings shape it (``serve``'s and ``simulate``'s)."""
    return SimulatorConfig(
        queue_s=settings.sim_queue_s,
        process_s=settings.sim_process_s,
        public_url=settings.sim_public_url,
    )


#: Redis connections one process may hold at once (event streams hold none between reads).
REDIS_CONNECTIONS = 256
#: Seconds a command waits for a free connection. Long, so that a burst queues: only a Redis
#: that cannot answer fails a request (connect 3 s, or a command's own 5 s), and such a
#: failing command gives its connection back, so the queue moves on even then.
REDIS_POOL_WAIT_S = 30


def make_redis(settings: Settings) -> aioredis.Redis:
    """A real Redis from ``REDIS_URL``, or fakeredis in-process (with Lua) when it is unset."""
    if settings.redis_url:
        # Bounded waits: a Redis that accepts but never answers is a 503, not a hung request.
        # A busy process waits for a free connection instead of failing at once (redis-py's
        # default pool refuses the 101st concurrent command).
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.redis_url,
            max_connections=REDIS_CONNECTIONS,
            timeout=REDIS_POOL_WAIT_S,
            socket_timeout=5,
            socket_connect_timeout=3,
            health_check_interval=30,
            # redis-py 8 turns maintenance notifications on by itself over RESP3 ("auto"), and
            # with them on, its pool skips the check that a pooled connection was not closed
            # by the server: after a Redis restart, every idle connection failed its next
            # command, seconds later (redis/redis-py#4252). Off, a closed one is reopened.
            maint_notifications_config=MaintNotificationsConfig(enabled=False),
        )
        return aioredis.Redis.from_pool(pool)  # closing the client closes its pool
    import fakeredis  # the embedded default only

    embedded: aioredis.Redis = fakeredis.FakeAsyncRedis()
    return embedded


def check_redis(settings: Settings) -> None:
    """At start-up: return once a Redis answers at ``REDIS_URL`` (if set), within seconds.

    It pings through the store, on the production client, so redis-py's errors are translated
    in the one place they always are.

    Raises:
        SettingsError: one line naming ``REDIS_URL`` and why: it cannot be reached (refused,
            unknown host, no answer in 3 s) or it answered with an error (password, database).
    """
    if not settings.redis_url:
        return

    async def ping() -> None:
        try:
            client = make_redis(settings)
        except ValueError as exc:  # redis-py's reading of the URL's query
            raise SettingsError(f"REDIS_URL is not a Redis URL: {exc}") from None
        try:
            await RedisTaskStore(client, task_ttl_s=settings.task_ttl_s).ping()
        finally:
            await client.aclose()

    try:
        asyncio.run(ping())
    except StoreUnavailable as exc:
        reached, why = reason(exc)
        failed = "answered with an error" if reached else "cannot be reached"
        raise SettingsError(f"REDIS_URL {shown_url(settings.redis_url)} {failed}: {why}.") from None


def _kling(config: ProviderConfig, http: httpx.AsyncClient, catalog: Catalog) -> VideoProvider:
    return KlingProvider(
        config.name,
        base_url=config.base_url,
        http=http,
        dialect="gateway" if config.dialect == "kling-gateway" else "official",
        api_key=str(config.api_key) if config.api_key else None,
        access_key=config.access_key,
        secret_key=str(config.secret_key) if config.secret_key else None,
        carried=catalog.carried_by("kling"),
        models=config.models,
    )


def _dashscope(config: ProviderConfig, http: httpx.AsyncClient, catalog: Catalog) -> VideoProvider:
    return DashScopeProvider(
        config.name,
        base_url=config.base_url,
        http=http,
        api_key=str(config.api_key) if config.api_key else "",
        carried=catalog.carried_by("dashscope"),
        models=config.models,
    )


#: How each dialect is built, making the models the catalogue says its API carries. A new
#: upstream is a provider package and a row here.
PROVIDER_FACTORIES: dict[
    Dialect, Callable[[ProviderConfig, httpx.AsyncClient, Catalog], VideoProvider]
] = {
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


def load_catalog(settings: Settings) -> Catalog:
    """The models of ``MVA_SCHEMAS_DIR``; a broken spec stops the program naming its file."""
    try:
        return Catalog.load(settings.schemas_dir)
    except CatalogError as exc:
        raise SettingsError(f"MVA_SCHEMAS_DIR: {exc}") from None


def make_providers(
    settings: Settings, simulator_url: str | None, http: httpx.AsyncClient, catalog: Catalog
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
            providers.append(PROVIDER_FACTORIES[config.dialect](config, http, catalog))
        except ValueError as exc:
            raise SettingsError(f"provider {config.name!r}: {exc}") from None
    return providers


def make_media(
    settings: Settings, simulator_url: str | None, *, resolve: Resolver = system_resolve
) -> tuple[HttpMediaInspector, httpx.AsyncClient]:
    """The media checks, and their client (the caller closes it): every lookup is ``resolve``,
    the check's and the connection's, and the connection goes only to vetted addresses."""
    rewrites = dict(settings.media_rewrites)
    allow = set(settings.media_allow_hosts)
    if simulator_url is not None:
        # example.com is reserved for documentation (RFC 2606): the seeds' media URLs live
        # there, so the embedded default serves them from the simulator's test media.
        rewrites.setdefault("example.com", f"{simulator_url}/media")
        allow.add(urlsplit(simulator_url).hostname or "127.0.0.1")
    # Rewrite targets are the operator's (a mirror, the simulator): connected to as they are.
    trusted = allow | {host for base in rewrites.values() if (host := urlsplit(base).hostname)}
    http = build_http_client(
        timeout_s=settings.media_timeout_s,
        max_connections=64,
        resolver=PublicAddressResolver(resolve, trusted=frozenset(trusted)),
    )
    inspector = HttpMediaInspector(
        http,
        allow_hosts=frozenset(allow),
        rewrites=rewrites,
        resolve=resolve,
        timeout=settings.media_timeout_s,
    )
    return inspector, http


def make_webhook_sender(
    settings: Settings, *, resolve: Resolver = system_resolve
) -> tuple[HttpWebhookSender, httpx.AsyncClient]:
    """The webhook sender and its client (the caller closes it), connecting as media does."""
    allow = settings.webhook_allow_hosts
    http = build_http_client(
        timeout_s=settings.webhook_timeout_s,
        max_connections=64,
        resolver=PublicAddressResolver(resolve, trusted=allow),
    )
    sender = HttpWebhookSender(
        http, allow_hosts=allow, resolve=resolve, timeout_s=settings.webhook_timeout_s
    )
    return sender, http


class Components(msgspec.Struct, frozen=True):
    """Everything a process of the adapter runs on, and what it must close."""

    store: RedisTaskStore
    tasks: TaskService
    refresher: Refresher
    keys: KeyService
    router: Router
    catalog: Catalog
    models: ModelDirectory
    events: EventStream
    callbacks: CallbackTokens
    reconciler: Reconciler
    feed: RedisEventFeed
    closers: tuple[tuple[str, Callable[[], Awaitable[object]]], ...]

    async def aclose(self) -> None:
        """Stop the event feed, then close every client at once; each step is time-bounded
        (``adapter.core.shutdown``), so a client that hangs is abandoned, never awaited for good."""
        await self.feed.aclose()
        await close_all(self.closers)


def build_components(
    settings: Settings,
    *,
    simulator_url: str | None = None,
    redis: aioredis.Redis | None = None,
    store: RedisTaskStore | None = None,
    key_store: KeyStore | None = None,
    providers: Sequence[VideoProvider] | None = None,
    media: MediaInspector | None = None,
    webhooks: WebhookSender | None = None,
    clock: Callable[[], datetime],
    new_id: Callable[[], str] = new_task_id,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> Components:
    """Build the service and its adapters; anything injected is left for the caller to close."""
    closers: list[tuple[str, Callable[[], Awaitable[object]]]] = []
    catalog = load_catalog(settings)
    if redis is None:
        if store is not None:
            redis = store.redis
        else:
            redis = make_redis(settings)
            closers.append(("redis", redis.aclose))
    if store is None:
        store = RedisTaskStore(
            redis, namespace=settings.redis_namespace, task_ttl_s=settings.task_ttl_s
        )
    if key_store is None:
        key_store = RedisKeyStore(redis, namespace=settings.redis_namespace)
    if providers is None:
        upstream_http = build_http_client(
            timeout_s=settings.upstream_timeout_s,
            max_connections=settings.upstream_max_connections,
        )
        closers.append(("upstream http", upstream_http.aclose))
        providers = make_providers(settings, simulator_url, upstream_http, catalog)
    callbacks = CallbackTokens(
        settings.public_url,
        str(settings.callback_secret).encode() if settings.callback_secret else _random_secret(),
    )
    callback_url = callbacks.url_for if settings.public_url else None
    router = Router(
        providers, submit_timeout_s=settings.upstream_timeout_s, callback_url=callback_url
    )
    if media is None:
        media, media_http = make_media(settings, simulator_url)
        closers.append(("media http", media_http.aclose))
    if webhooks is None:
        webhooks, webhook_http = make_webhook_sender(settings)
        closers.append(("webhook http", webhook_http.aclose))
    keys = KeyService(key_store, clock=clock)
    models = ModelDirectory(catalog, router)
    writer = TaskWriter(store=store, catalog=catalog, router=router, clock=clock)
    recovery = Recovery(
        writer=writer,
        router=router,
        clock=clock,
        submit_window_s=settings.submit_window_s,
        give_up_after_s=settings.give_up_after_s,
    )
    refresher = Refresher(
        leases=store,
        writer=writer,
        recovery=recovery,
        router=router,
        interval_s=settings.refresh_interval_s,
        poll_timeout_s=settings.poll_timeout_s,
    )
    submitter = Submitter(
        store=store,
        claims=store,
        models=models,
        router=router,
        media=media,
        webhooks=webhooks,
        writer=writer,
        refresher=refresher,
        probe=settings.media_probe,
        clock=clock,
        idempotency_ttl_s=settings.idempotency_ttl_s,
        idempotency_wait_s=settings.idempotency_wait_s,
        submit_window_s=settings.submit_window_s,
        new_id=new_id,
        sleep=sleep,
    )
    tasks = TaskService(
        store=store,
        schedules=store,
        submitter=submitter,
        writer=writer,
        refresher=refresher,
        clock=clock,
    )
    feed = RedisEventFeed(redis, store.channel)
    reconciler = Reconciler(
        store=store,
        schedules=store,
        refresher=refresher,
        webhooks=WebhookDispatcher(
            store=store, schedules=store, sender=webhooks, keys=keys, clock=clock
        ),
        clock=clock,
        min_interval_s=settings.refresh_interval_s,
        max_interval_s=settings.reconcile_max_interval_s,
        deadline_s=settings.task_deadline_s,
        hold_s=settings.reconcile_hold_s,
        per_provider=settings.reconcile_concurrency,
    )
    return Components(
        store=store,
        tasks=tasks,
        refresher=refresher,
        keys=keys,
        router=router,
        catalog=catalog,
        models=models,
        events=EventStream(
            store=store, feed=feed, owned=tasks.owned, heartbeat_s=settings.sse_heartbeat_s
        ),
        callbacks=callbacks,
        reconciler=reconciler,
        feed=feed,
        closers=tuple(closers),
    )


def _random_secret() -> bytes:
    # One process (the embedded store): the URLs it makes are checked by itself alone.
    return secrets.token_bytes(32)


@contextlib.asynccontextmanager
async def running(reconciler: Reconciler, *, enabled: bool) -> AsyncIterator[None]:
    """Run the reconciler's loop in the background for the duration of the block.

    Leaving stops it within ``STEP_TIMEOUT_S``: its webhook deliveries and refreshes in
    flight are cut off (their holds lapse, and another round takes them up again).
    """
    task = asyncio.create_task(reconciler.run(), name="reconciler") if enabled else None
    try:
        yield
    finally:
        if task is not None:
            reconciler.stop()
            await stop_task(task, what="reconciler")
