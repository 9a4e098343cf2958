"""``create_api``: the HTTP surface (routes, middleware, error handlers) over the services.

It assembles HTTP and nothing else: the services, their metrics and what the app does when it
starts and stops are built by the composition root (``adapter.bootstrap.app``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from adapter.http.errors import EXCEPTION_HANDLERS
from adapter.http.middleware import RequestContextMiddleware
from adapter.http.routes import ROUTES
from adapter.http.services import Services

Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]


def create_api(
    services: Services, *, lifespan: Lifespan, pages: Sequence[BaseRoute] = ()
) -> Starlette:
    """The API's routes, then ``pages`` (the dashboard, which the composition root adds)."""
    app = Starlette(
        routes=[*ROUTES, *pages],
        middleware=[Middleware(RequestContextMiddleware, metrics=services.metrics)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.services = services
    return app
