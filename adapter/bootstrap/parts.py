"""``build``: the service and its background work, on the adapters, as one set of ``Parts``.

Every part is made here and only here; the tests build through it too, injecting fakes for
the adapters (a store, providers, media checks, webhooks) and a clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import msgspec

from adapter.bootstrap.adapters import (
    load_catalog,
    make_media,
    make_providers,
    make_webhook_sender,
)
from adapter.bootstrap.redis_clients import make_redis
from adapter.config.settings import Settings
from adapter.core.clock import utc_now
from adapter.core.errors import StoreUnavailable
from adapter.core.shards import new_task_id
from adapter.core.shutdown import STEP_TIMEOUT_S, close_all, stop_task
from adapter.outbound.client import build_http_client
from adapter.ports import KeyStore, MediaInspector, Metrics, VideoProvider, WebhookSender
from adapter.service.admin import AdminKeys
from adapter.service.callbacks import CallbackTokens
from adapter.service.catalog import Catalog
from adapter.service.circuits import Circuits
from adapter.service.cpu_share import CpuShare
from adapter.service.events import EventStream
from adapter.service.keys import KeyService
from adapter.service.models import ModelDirectory
from adapter.service.poll_plan import PollPlan
from adapter.service.provider_board import ProviderBoard
from adapter.service.provider_stats import ProviderStats
from adapter.service.query_budget import QueryBudget
from adapter.service.reconciler import Reconciler
from adapter.service.recovery import Recovery
from adapter.service.refresh import Refresher
from adapter.service.routing import Router
from adapter.service.submission import Submitter
from adapter.service.tasks import TaskService
from adapter.service.upstream_calls import UpstreamCalls
from adapter.service.webhooks import WebhookDispatcher
from adapter.service.writer import TaskWriter
from adapter.stores.redis import RedisTaskStore
from adapter.stores.redis_circuits import RedisCircuitStore
from adapter.stores.redis_client import RedisClient
from adapter.stores.redis_feed import RedisEventFeed
from adapter.stores.redis_keys import RedisKeyStore
from adapter.stores.redis_pacing import RedisPacing
from adapter.stores.redis_provider_stats import RedisProviderStats
from adapter.telemetry.prometheus import PrometheusMetrics

log = logging.getLogger(__name__)

#: Seconds between two flushes of a process's provider stats to the store.
FLUSH_EVERY_S = 5.0


class Parts(msgspec.Struct, frozen=True):
    """Everything a process of the adapter runs on, and what it must close."""

    store: RedisTaskStore
    tasks: TaskService
    refresher: Refresher
    keys: KeyService
    admin: AdminKeys
    router: Router
    catalog: Catalog
    models: ModelDirectory
    events: EventStream
    callbacks: CallbackTokens
    reconciler: Reconciler
    feed: RedisEventFeed
    metrics: Metrics
    provider_stats: ProviderStats
    #: The providers page: routing order, circuits and recent calls per provider and model.
    board: ProviderBoard
    closers: tuple[tuple[str, Callable[[], Awaitable[object]]], ...]

    async def aclose(self) -> None:
        """Stop the event feed, then close every client at once; each step is time-bounded
        (``adapter.core.shutdown``), so a client that hangs is abandoned, never awaited for good."""
        await self.feed.aclose()
        await close_all(self.closers)


def build(
    settings: Settings,
    *,
    redis: RedisClient | None = None,
    store: RedisTaskStore | None = None,
    key_store: KeyStore | None = None,
    providers: Sequence[VideoProvider] | None = None,
    test_providers: Sequence[VideoProvider] | None = None,
    media: MediaInspector | None = None,
    webhooks: WebhookSender | None = None,
    metrics: Metrics | None = None,
    clock: Callable[[], datetime],
    new_id: Callable[[str], str] = new_task_id,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> Parts:
    """Build the service and its adapters; anything injected is left for the caller to close.

    Injected ``providers`` serve test keys too unless ``test_providers`` are given.
    """
    closers: list[tuple[str, Callable[[], Awaitable[object]]]] = []
    known_s: dict[str, float] = {}
    if metrics is None:
        metrics = PrometheusMetrics(multiprocess_dir=settings.metrics_dir)
    counted = metrics.store_unavailable
    catalog = load_catalog(settings)
    if redis is None:
        if store is not None:
            redis = store.redis
        else:
            redis = make_redis(settings)
            closers.append(("redis", redis.aclose))
    if store is None:
        store = RedisTaskStore(
            redis,
            namespace=settings.redis_namespace,
            task_ttl_s=settings.task_ttl_s,
            usage_ttl_s=settings.usage_ttl_s,
            on_unavailable=counted,
        )
    if key_store is None:
        # Beside the tasks: a GET reads the key and the task together, in the store's namespace.
        key_store = RedisKeyStore(store.redis, namespace=store.namespace, on_unavailable=counted)
    provider_stats = ProviderStats(
        # Beside the tasks, in the same namespace (an injected store may name its own).
        RedisProviderStats(store.redis, namespace=store.namespace, on_unavailable=counted),
        clock=clock,
    )
    if providers is None:
        upstream_http = build_http_client(
            timeout_s=settings.upstream_timeout_s,
            max_connections=settings.upstream_max_connections,
        )
        closers.append(("upstream http", upstream_http.aclose))
        providers, test_providers = make_providers(settings, upstream_http, catalog)
        simulated = [*(providers if settings.uses_simulator else ()), *(test_providers or ())]
        # The simulator's tasks are queued, then processing, for exactly this long: their
        # first query goes halfway through processing, so that every status shows.
        halfway_s = settings.sim_queue_s + settings.sim_process_s / 2
        known_s = {p.name: halfway_s for p in simulated}
    callbacks = CallbackTokens(
        settings.public_url,
        str(settings.callback_secret).encode() if settings.callback_secret else _random_secret(),
    )
    callback_url = callbacks.url_for if settings.public_url else None
    circuits = Circuits(
        RedisCircuitStore(store.redis, namespace=store.namespace, on_unavailable=counted),
        clock=clock,
        threshold=settings.circuit_failures,
        cooldown_s=settings.circuit_cooldown_s,
        metrics=metrics,
    )
    router = Router(
        providers,
        test_providers=test_providers,
        submit_timeout_s=settings.upstream_timeout_s,
        callback_url=callback_url,
        circuits=circuits,
        calls=UpstreamCalls(metrics, provider_stats),
        strategies=settings.strategies,
        prices={config.name: config.prices for config in settings.providers},
    )
    test_media = None
    if media is None:
        media, media_http = make_media(settings)
        closers.append(("media http", media_http.aclose))
        if settings.simulator_url is not None and not settings.uses_simulator:
            # Test tasks beside configured providers take the seeds' media from the simulator;
            # with no simulator they have no provider, and the live checks are the same.
            test_media, test_media_http = make_media(settings, "test")
            closers.append(("test media http", test_media_http.aclose))
    if webhooks is None:
        webhooks, webhook_http = make_webhook_sender(settings)
        closers.append(("webhook http", webhook_http.aclose))
    keys = KeyService(key_store, clock=clock)
    models = ModelDirectory(catalog, router)
    pacing = RedisPacing(store.redis, namespace=store.namespace, on_unavailable=counted)
    plan = PollPlan(
        pacing,
        clock=clock,
        min_interval_s=settings.refresh_interval_s,
        max_interval_s=settings.reconcile_max_interval_s,
        deadline_s=settings.task_deadline_s,
        first_after_s=settings.poll_first_after_s,
        known_s=known_s,
    )
    writer = TaskWriter(
        store=store, catalog=catalog, router=router, clock=clock, metrics=metrics, plan=plan
    )
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
        test_media=test_media,
        webhooks=webhooks,
        writer=writer,
        refresher=refresher,
        probe=settings.media_probe,
        clock=clock,
        idempotency_ttl_s=settings.idempotency_ttl_s,
        idempotency_wait_s=settings.idempotency_wait_s,
        submit_window_s=settings.submit_window_s,
        metrics=metrics,
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
    feed = RedisEventFeed(redis, store.channels)
    reconciler = Reconciler(
        store=store,
        schedules=store,
        refresher=refresher,
        webhooks=WebhookDispatcher(
            store=store, schedules=store, sender=webhooks, keys=keys, clock=clock, metrics=metrics
        ),
        clock=clock,
        metrics=metrics,
        min_interval_s=settings.refresh_interval_s,
        max_interval_s=settings.reconcile_max_interval_s,
        deadline_s=settings.task_deadline_s,
        hold_s=settings.reconcile_hold_s,
        per_provider=settings.reconcile_concurrency,
        plan=plan,
        budget=QueryBudget(
            pacing,
            {c.name: c.queries_per_s for c in settings.providers if c.queries_per_s},
            clock=clock,
            sleep=sleep,
        ),
        share=CpuShare(settings.reconcile_cpu_share) if settings.reconcile_cpu_share < 1 else None,
    )
    return Parts(
        store=store,
        tasks=tasks,
        refresher=refresher,
        keys=keys,
        admin=AdminKeys(
            keys,
            is_model=catalog.has,
            spend=store.key_spend,
            ledgers=store.key_usage,
            clock=clock,
        ),
        router=router,
        catalog=catalog,
        models=models,
        events=EventStream(
            store=store, feed=feed, owned=tasks.owned, heartbeat_s=settings.sse_heartbeat_s
        ),
        callbacks=callbacks,
        reconciler=reconciler,
        feed=feed,
        metrics=metrics,
        provider_stats=provider_stats,
        board=ProviderBoard(
            catalog=catalog, router=router, circuits=circuits, stats=provider_stats, clock=clock
        ),
        closers=tuple(closers),
    )


@contextlib.asynccontextmanager
async def key_service(settings: Settings) -> AsyncIterator[AdminKeys]:
    """The API keys alone, on the Redis at ``REDIS_URL`` (the ``keys`` commands); a key may be
    limited to any model of the catalogue."""
    catalog = load_catalog(settings)
    redis = make_redis(settings)
    try:
        namespace = settings.redis_namespace
        keys = KeyService(RedisKeyStore(redis, namespace=namespace), clock=utc_now)
        tasks = RedisTaskStore(
            redis,
            namespace=namespace,
            task_ttl_s=settings.task_ttl_s,
            usage_ttl_s=settings.usage_ttl_s,
        )
        yield AdminKeys(
            keys,
            is_model=catalog.has,
            spend=tasks.key_spend,
            ledgers=tasks.key_usage,
            clock=utc_now,
        )
    finally:
        await redis.aclose()


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


@contextlib.asynccontextmanager
async def flushing(stats: ProviderStats, *, every_s: float = FLUSH_EVERY_S) -> AsyncIterator[None]:
    """Flush ``stats`` to the store every ``every_s`` seconds for the duration of the block,
    and once more on leaving it (within ``STEP_TIMEOUT_S``)."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(every_s)
            await _flush(stats)

    task = asyncio.create_task(loop(), name="provider stats")
    try:
        yield
    finally:
        await stop_task(task, what="provider stats")
        try:
            async with asyncio.timeout(STEP_TIMEOUT_S):
                await _flush(stats)
        except TimeoutError:
            log.warning("provider_stats.flush_abandoned within_s=%s", STEP_TIMEOUT_S)


async def _flush(stats: ProviderStats) -> None:
    try:
        await stats.flush()
    except StoreUnavailable as exc:  # kept for the next flush
        log.warning("provider_stats.flush_failed reason=%s", exc.message)
