"""What every provider does with a refusal once its dialect has read it: one policy for all.

A dialect's error module reads its own codes into a :data:`Kind`; the HTTP status decides
when the code does not (:func:`kind_of_status`), and :func:`refusal` builds the error the
router acts on: ``rate`` and ``unavailable`` (and a provider's ``auth``/``account`` trouble)
may go to the next provider, ``rejected`` never, ``unknown`` keeps the task to reconcile.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import msgspec

from adapter.core.errors import (
    ProviderAuthFailed,
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)

Kind = Literal["auth", "account", "rate", "rejected", "unavailable", "unknown"]

MAX_MESSAGE = 500
#: How deep messages that wrap JSON error bodies are unwrapped.
_MAX_NESTING = 4
_decode_any = msgspec.json.Decoder().decode

_SUMMARY: dict[Kind, str] = {
    "auth": "upstream authentication failed",
    "account": "upstream account cannot take tasks",
    "rate": "upstream rate limit",
    "rejected": "upstream rejected the request",
    "unavailable": "upstream unavailable",
    "unknown": "upstream outcome unknown",
}

_ERRORS: dict[Kind, type[ProviderError]] = {
    "auth": ProviderAuthFailed,
    "account": ProviderUnavailable,
    "unavailable": ProviderUnavailable,
    "rejected": ProviderRejected,
    "unknown": ProviderOutcomeUnknown,
}


def kind_of_status(status: int, *, has_body: bool) -> Kind:
    """What an HTTP status alone says, when the body's code says nothing."""
    if status in (401, 407):
        return "auth"
    if status == 402:
        return "account"
    if status == 429:
        return "rate"
    if status == 408:
        return "unavailable"  # the server gave up reading our request
    if 400 <= status < 500 or 200 <= status < 300:
        return "rejected"
    if status in (502, 503):
        return "unavailable"
    if status >= 500 and status != 504 and has_body:
        return "unavailable"  # a structured 5xx is a handled refusal, not a crash mid-task
    if status >= 500:
        return "unknown"  # 504, or a crash: the request arrived, a task may exist
    return "unavailable"  # 1xx/3xx: not an answer to our request at all


def innermost(text: str) -> str:
    """The message inside a message that is itself a JSON error body, at any depth.

    new-api relays a provider's refusal as ``{"code": "fail_to_fetch_task", "message":
    "{\"code\":1201,\"message\":\"...\"}"}``: the client should read the provider's
    words, not escaped JSON. Text that is not such a body is returned as it is.
    """
    for _ in range(_MAX_NESTING):
        stripped = text.strip()
        if not stripped.startswith("{"):
            break
        try:
            inner = _message_of(_decode_any(stripped))
        except msgspec.DecodeError:
            break
        if not inner:
            break
        text = inner
    return text


def _message_of(body: Any) -> str | None:
    """``message``, else ``error`` (a string, or an object with a ``message``)."""
    if not isinstance(body, dict):
        return None
    message, error = body.get("message"), body.get("error")
    if isinstance(message, str) and message.strip():
        return message
    if isinstance(error, dict):
        error = error.get("message")
    return error if isinstance(error, str) and error.strip() else None


def clean(text: str | None, redact: Iterable[str]) -> str:
    """An upstream's words made safe to show: the innermost of nested JSON messages, secrets
    masked, one line, bounded length."""
    text = innermost(text or "")
    for secret in redact:
        if secret:
            text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def refusal(
    provider: str,
    kind: Kind,
    *,
    status: int,
    code: str | None,
    message: str,
    retry_after: int | None = None,
) -> ProviderError:
    """The ``ProviderError`` of ``kind``; a rejection carries the upstream's own reason."""
    if kind == "rejected" and message:
        text = message  # the client sees the upstream's own reason
    else:
        text = f"{_SUMMARY[kind]}: {message or code or f'HTTP {status}'}"
    if kind == "rate":
        return ProviderRateLimited(
            provider, text, status=status, code=code, retry_after=retry_after
        )
    return _ERRORS[kind](provider, text, status=status, code=code)
