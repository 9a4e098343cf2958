"""Pure ASGI middleware: request id, body limit, access log and request metrics."""

from __future__ import annotations

import logging
import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapter.core import log_context
from adapter.core.errors import PayloadTooLarge
from adapter.http.errors import internal_error_body
from adapter.http.request_id import request_id_of
from adapter.ports import Metrics

log = logging.getLogger("adapter.access")

MAX_BODY_BYTES = 1024 * 1024


class RequestContextMiddleware:
    """Gives every request an id (``X-Request-ID``), caps its body, logs and counts it.

    It also turns an unexpected exception into a 500 ``internal_error`` body, so even a bug's
    answer carries the request id to quote and never a traceback.
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_of(scope)
        context = log_context.request_id.set(rid)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("X-Request-ID", rid)
            await send(message)

        try:
            await self.app(scope, self._limited(scope, receive), send_with_id)
        except Exception:
            # The one top-level handler: logged with its traceback, answered without it.
            log.exception("http.internal_error request_id=%s", rid)
            if status:
                raise  # the response had started; nothing sane can be sent now
            status = 500
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"x-request-id", rid.encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": internal_error_body(rid)})
        finally:
            self._record(scope, rid, status, time.perf_counter() - started)
            log_context.request_id.reset(context)

    def _limited(self, scope: Scope, receive: Receive) -> Receive:
        """``receive``, refusing bodies over the limit: at once when declared, else as read."""
        limit = self.max_body
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
        if declared.isdigit() and int(declared) > limit:

            async def refuse() -> Message:
                raise _too_large(limit)

            return refuse
        received = 0

        async def counting() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise _too_large(limit)
            return message

        return counting

    def _record(self, scope: Scope, rid: str, status: int, elapsed: float) -> None:
        route = getattr(scope.get("route"), "path", "unmatched")
        self.metrics.request(scope["method"], route, status, elapsed)
        if log.isEnabledFor(logging.INFO):
            log.info(
                "http.request request_id=%s method=%s path=%s status=%d duration_ms=%.2f",
                rid,
                scope["method"],
                scope["path"],
                status,
                elapsed * 1000,
            )


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is over {limit} bytes.")
