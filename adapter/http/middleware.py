"""Pure ASGI middleware: request id, body limit, access log and request metrics."""

from __future__ import annotations

import logging
import secrets
import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapter.errors import PayloadTooLarge
from adapter.http.metrics import Metrics

log = logging.getLogger("adapter.access")

MAX_BODY_BYTES = 1024 * 1024


def new_request_id() -> str:
    return f"req_{secrets.token_hex(12)}"


def request_id_of(scope: Scope) -> str:
    state = scope.setdefault("state", {})
    rid = state.get("request_id")
    if rid is None:
        rid = state["request_id"] = new_request_id()
    return str(rid)


class RequestContextMiddleware:
    """Gives every request an id (``X-Request-ID``), caps its body, logs and counts it."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_of(scope)
        started = time.perf_counter()
        status = 500
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise PayloadTooLarge(f"The request body is over {self.max_body} bytes.")
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("X-Request-ID", rid)
            await send(message)

        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body:
                # Refuse before reading a byte; the endpoint raises through the handler.
                async def refuse() -> Message:
                    raise PayloadTooLarge(f"The request body is over {self.max_body} bytes.")

                limited_receive = refuse
                break
        try:
            await self.app(scope, limited_receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            self.metrics.observe(scope["method"], path, status, elapsed)
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "http.request request_id=%s method=%s path=%s status=%d ms=%.2f",
                    rid,
                    scope["method"],
                    scope["path"],
                    status,
                    elapsed * 1000,
                )
