"""Server-sent events: a task's live events in the ``text/event-stream`` format.

Each event is ``id:`` (its opaque id; a reconnecting client sends it back as
``Last-Event-ID``), ``event:`` (its type) and ``data:`` (the same JSON object as in the JSON
list). A quiet stream gets a ``: heartbeat`` comment every ``MVA_SSE_HEARTBEAT`` seconds, so
proxies keep it open and a dead client is noticed.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from starlette.responses import StreamingResponse

from adapter.core.errors import AdapterError
from adapter.core.task_body import encode
from adapter.core.values import Event
from adapter.http.wire import ErrorDetail, event_body

log = logging.getLogger(__name__)

HEARTBEAT = b": heartbeat\n\n"


def sse_event(event: Event) -> bytes:
    data = encode(event_body(event))
    return b"id: %s\nevent: %s\ndata: %s\n\n" % (event.id.encode(), event.type.encode(), data)


async def sse_lines(events: AsyncIterator[Event | None]) -> AsyncIterator[bytes]:
    """Frame ``events`` (``None`` is a heartbeat); a failure mid-stream ends it with ``error``."""
    try:
        async for event in events:
            yield HEARTBEAT if event is None else sse_event(event)
    except AdapterError as exc:
        log.warning("events.stream_failed reason=%s", exc.message)
        detail = encode(ErrorDetail("store_unavailable", exc.message))
        yield b"event: error\ndata: %s\n\n" % detail


def sse_response(events: AsyncIterator[Event | None]) -> StreamingResponse:
    """The ``text/event-stream`` answer of ``events``, kept from caches and proxy buffers."""
    return StreamingResponse(
        sse_lines(events),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
