"""``mindvideo-adapter worker``: the reconciler and webhook deliveries, without the HTTP API.

For deployments that run ``serve`` with ``MVA_RECONCILER=off`` and the background work in
processes of its own. It needs the shared Redis and the real upstreams: on the embedded
default the store lives inside the ``serve`` process, which reconciles by itself.
"""

from __future__ import annotations

import asyncio
import sys

import msgspec
import uvloop

from adapter.bootstrap.parts import build, flushing, running
from adapter.bootstrap.redis_clients import check_redis
from adapter.cli.logs import configure_logging
from adapter.config.settings import Settings, SettingsError
from adapter.core.clock import utc_now
from adapter.core.shutdown import Stopper


def run_worker(settings: Settings) -> int:
    if not settings.redis_configured:
        raise SettingsError(
            "worker needs REDIS_URL (or MVA_REDIS_MODE=sentinel's sentinels): the embedded "
            "store lives inside the serve process, which runs the reconciler itself."
        )
    if settings.uses_simulator:
        raise SettingsError(
            "worker needs the upstreams configured (KLING_BASE_URL, DASHSCOPE_API_KEY, "
            "NEWAPI_BASE_URL, FAL_KEY, REPLICATE_API_TOKEN or MVA_PROVIDERS_FILE), the same as "
            "the serve processes."
        )
    check_redis(settings)
    configure_logging(settings.log_level, settings.log_format)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_work(settings))
    return 0


async def _work(settings: Settings) -> None:
    # No requests to leave CPU for: the reconciler may keep the whole core busy.
    parts = build(msgspec.structs.replace(settings, reconcile_cpu_share=1.0), clock=utc_now)
    stop = asyncio.Event()
    # The stop is bounded: the reconciler and each close have STEP_TIMEOUT_S, and a process
    # still running STOP_BOUND_S after the signal (or given a second one) exits at once.
    Stopper(stop.set).install(asyncio.get_running_loop())
    providers = ", ".join(p.name for p in settings.providers)
    sys.stdout.write(f"mindvideo-adapter worker: reconciling tasks for {providers}\n")
    sys.stdout.flush()
    try:
        async with flushing(parts.provider_stats), running(parts.reconciler, enabled=True):
            await stop.wait()
    finally:
        await parts.aclose()
