"""Idempotency keys: their rules, their scope, and the request fingerprint (DESIGN.md 2)."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from adapter.core.errors import InvalidRequest
from adapter.core.values import Mode

# Sorted keys and no whitespace: the canonical encoding the fingerprint is taken over.
_canonical = msgspec.json.Encoder(order="sorted").encode


def canonical_json(value: Any) -> bytes:
    return _canonical(value)


def check_key(key: str) -> None:
    """Keys are 1-255 visible ASCII characters (no spaces, no control characters)."""
    if not 1 <= len(key) <= 255 or not all("!" <= ch <= "~" for ch in key):
        raise InvalidRequest(
            "Idempotency-Key must be 1-255 visible ASCII characters (no spaces).",
            "Idempotency-Key",
        )


def scope(owner: str, key: str, mode: Mode) -> str:
    """Where a key is remembered: per key owner and mode, by the SHA-256 of the key (a live
    scope ends in hex digits, a test one in ``:test``: the two never meet)."""
    live = f"{owner}:{hashlib.sha256(key.encode()).hexdigest()}"
    return live if mode == "live" else f"{live}:test"


def fingerprint(model: str, values: dict[str, Any], webhook_url: str | None = None) -> str:
    """SHA-256 of ``{model, input}`` after defaults, so an omitted default is the same request.

    A ``webhook_url`` is part of the request too (a retry may not send its result elsewhere);
    without one the fingerprint is exactly that of ``{model, input}``.
    """
    request: dict[str, Any] = {"model": model, "input": values}
    if webhook_url is not None:
        request["webhook_url"] = webhook_url
    return hashlib.sha256(canonical_json(request)).hexdigest()
