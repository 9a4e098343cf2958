"""The dashboard at a glance: its pages, its static files, and what guards them."""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from adapter.core.errors import AdapterError
from adapter.dashboard import keys, providers, signin, tasks, usage
from adapter.dashboard.access import ROOT, CsrfRefused, SignInRequired
from adapter.dashboard.guard import DashboardGuard
from adapter.dashboard.pages import csrf_refused, failed, to_sign_in

ROUTES = [
    Route("/", signin.index, methods=["GET"]),
    Route("/login", signin.login_form, methods=["GET"]),
    Route("/login", signin.login, methods=["POST"]),
    Route("/logout", signin.logout, methods=["POST"]),
    Route("/keys", keys.list_keys, methods=["GET"]),
    Route("/keys", keys.create_key, methods=["POST"]),
    Route("/keys/new", keys.new_key, methods=["GET"]),
    Route("/keys/{key_id}", keys.edit_key, methods=["GET"]),
    Route("/keys/{key_id}", keys.update_key, methods=["POST"]),
    Route("/keys/{key_id}/disable", keys.disable_key, methods=["POST"]),
    Route("/keys/{key_id}/enable", keys.enable_key, methods=["POST"]),
    Route("/keys/{key_id}/delete", keys.confirm_delete, methods=["GET"]),
    Route("/keys/{key_id}/delete", keys.delete_key, methods=["POST"]),
    Route("/tasks", tasks.list_tasks, methods=["GET"]),
    Route("/tasks/{task_id}", tasks.show_task, methods=["GET"]),
    Route("/tasks/{task_id}/events", tasks.task_events, methods=["GET"]),
    Route("/tasks/{task_id}/json", tasks.task_facts, methods=["GET"]),
    Route("/usage", usage.usage_page, methods=["GET"]),
    Route("/usage.csv", usage.usage_csv, methods=["GET"]),
    Route("/providers", providers.providers_page, methods=["GET"]),
    Mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static"),
]

#: Everything under ``/dashboard``: errors become pages inside the guard, so they carry its
#: headers too.
DASHBOARD = Mount(
    ROOT,
    routes=ROUTES,
    middleware=[
        Middleware(DashboardGuard),
        Middleware(
            ExceptionMiddleware,
            handlers={
                SignInRequired: to_sign_in,
                CsrfRefused: csrf_refused,
                AdapterError: failed,
                HTTPException: failed,
            },
        ),
    ],
)
