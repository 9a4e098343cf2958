"""What a log line may say about the work in progress, beyond its message: the id of the HTTP
request being served (set by the request middleware, read by the JSON log format)."""

from __future__ import annotations

from contextvars import ContextVar

#: The ``X-Request-ID`` of the request this task serves; ``None`` outside a request.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
