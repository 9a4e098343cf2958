"""``DashboardGuard``: the dashboard answers 404 with no admin token (as the admin API does),
and every answer carries the security headers."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapter.http.errors import error_response
from adapter.http.services import Services


def policy(media: str = "'self'") -> str:
    """The Content-Security-Policy: this origin only, no inline script or style; ``media``
    widens where a ``<video>`` may load from (a task's output lives on its upstream's host)."""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        f"media-src {media}; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


HEADERS = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class DashboardGuard:
    """Pure ASGI, around everything under ``/dashboard``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = policy()
            await send(message)

        services: Services = scope["app"].state.services
        if services.admin_token is None:
            response = error_response(Request(scope), 404, "not_found", "Not Found")
            await response(scope, receive, guarded)
            return
        await self.app(scope, receive, guarded)
