"""Request ids: ``req_`` and 24 hex characters, kept in the ASGI scope's state."""

from __future__ import annotations

import secrets

from starlette.types import Scope


def new_request_id() -> str:
    return f"req_{secrets.token_hex(12)}"


def request_id_of(scope: Scope) -> str:
    state = scope.setdefault("state", {})
    rid = state.get("request_id")
    if rid is None:
        rid = state["request_id"] = new_request_id()
    return str(rid)
