"""``MsgspecResponse``: Starlette's JSONResponse, rendered with msgspec."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from adapter.core.task_body import encode


class MsgspecResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return encode(content)
