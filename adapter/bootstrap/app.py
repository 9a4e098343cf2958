"""``create_app``: the parts (``build``) with the HTTP surface on them, and what the app does
when it starts (register the bootstrap key, run the reconciler) and stops (close the parts).

It is also the factory uvicorn imports in each ``serve --workers`` process (settings from the
environment).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette

from adapter import __version__
from adapter.bootstrap.parts import Parts, build, flushing, running
from adapter.config.settings import Settings
from adapter.core.clock import utc_now
from adapter.dashboard.routes import DASHBOARD
from adapter.http.app import create_api
from adapter.http.openapi import build_openapi
from adapter.http.services import Services


def create_app(
    settings: Settings | None = None,
    *,
    parts: Parts | None = None,
    on_ready: Callable[[Services], object] | None = None,
) -> Starlette:
    """The app on ``parts`` (built from ``settings`` when not given; tests build theirs with
    fakes injected, see ``build``). The app closes the parts when it stops.

    Its lifespan runs the reconciler in the background unless ``MVA_RECONCILER=off``, and
    flushes the provider stats every few seconds.
    """
    settings = settings or Settings.from_env(os.environ)
    if parts is None:
        parts = build(settings, clock=utc_now)
    models = parts.models
    services = Services(
        tasks=parts.tasks,
        events=parts.events,
        callbacks=parts.callbacks,
        keys=parts.keys,
        admin=parts.admin,
        models=models,
        store=parts.store,
        metrics=parts.metrics,
        board=parts.board,
        openapi=build_openapi(models.served(None), __version__),  # for live and test keys
        admin_token=str(settings.admin_token) if settings.admin_token else None,
        trusted_proxies=settings.trusted_proxies,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.bootstrap_key is not None:
            await parts.keys.register(str(settings.bootstrap_key), name="bootstrap")
        try:
            async with (
                flushing(parts.provider_stats),
                running(parts.reconciler, enabled=settings.reconciler),
            ):
                if on_ready is not None:
                    on_ready(services)
                yield
        finally:
            await parts.aclose()

    return create_api(services, lifespan=lifespan, pages=[DASHBOARD])
