"""Classifying DashScope's refusals into the ``ProviderError`` family.

DashScope refuses with ``{request_id, code, message}`` (upstream-contracts.md 4.3; Model
Studio's error-code pages). A code we know decides, since one code comes with several HTTP
statuses (``Arrearage`` is sent as 400 or 403); otherwise the HTTP status decides, with the
policy of ``kling_errors``: our credentials or account -> unavailable (another provider may
work), 429 -> rate limited, other 4xx -> rejected with DashScope's own reason, 502/503 and a
structured 5xx -> unavailable, a bare 5xx and any 504 -> outcome unknown.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import msgspec

from adapter.errors import (
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from adapter.providers import dashscope_wire
from adapter.providers.dashscope_wire import ErrorBody, TaskBody

Kind = Literal["auth", "account", "rate", "rejected", "unavailable", "unknown"]

_MAX_MESSAGE = 500

#: DashScope codes, each matching itself and its dotted sub-codes; the first match wins.
_CODES: tuple[tuple[str, Kind], ...] = (
    ("InvalidApiKey", "auth"),
    # Includes AccessDenied.Unpurchased (the model is not enabled for this account).
    ("AccessDenied", "account"),
    ("Arrearage", "account"),
    # This account or region cannot make the model; another provider may.
    ("ModelNotFound", "unavailable"),
    ("Throttling", "rate"),  # Throttling, .RateQuota, .AllocationQuota
    # DashScope's own timeouts: the request arrived, so a task may exist.
    ("RequestTimeOut", "unknown"),
    ("InternalError.Timeout", "unknown"),
    ("InternalError", "unavailable"),  # a handled refusal, not a crash mid-task
    ("SystemError", "unavailable"),
    ("InvalidParameter", "rejected"),  # includes InvalidParameter.DataInspection
    ("DataInspectionFailed", "rejected"),
    ("BadRequest", "rejected"),
    ("InvalidURL", "rejected"),
    ("InvalidFile", "rejected"),
    ("UnsupportedOperation", "rejected"),
)

_SUMMARY: dict[Kind, str] = {
    "auth": "upstream authentication failed",
    "account": "upstream account cannot take tasks",
    "rate": "upstream rate limit",
    "rejected": "upstream rejected the request",
    "unavailable": "upstream unavailable",
    "unknown": "upstream outcome unknown",
}


def decode_error(content: bytes) -> ErrorBody | None:
    """The error fields of a body, or ``None`` when it is not a JSON error object."""
    try:
        body = dashscope_wire.decode_error(content)
    except msgspec.DecodeError:
        return None
    has_fields = body.code is not None or body.message is not None
    return body if has_fields else None


def is_refusal(body: TaskBody) -> bool:
    """Whether a 2xx body is a refusal: a top-level ``code`` and no task in ``output``.

    A failed task may carry a top-level ``code`` too; it still has its ``output``.
    """
    has_task = body.output is not None and bool(body.output.task_id or body.output.task_status)
    return code_of(body.code) is not None and not has_task


def code_of(value: str | int | None) -> str | None:
    """A code as text, or ``None`` when absent or blank."""
    text = "" if value is None else str(value).strip()
    return text or None


def classify(
    provider: str,
    status: int,
    body: ErrorBody | None,
    *,
    retry_after: int | None = None,
    redact: Iterable[str] = (),
) -> ProviderError:
    """The ``ProviderError`` for a DashScope refusal (HTTP ``status``, parsed ``body``)."""
    code = code_of(body.code) if body else None
    message = clean(body.message if body else None, redact)
    kind = _kind(status, code, has_body=body is not None)
    if kind == "rejected" and message:
        text = message  # the client sees the upstream's own reason
    else:
        text = f"{_SUMMARY[kind]}: {message or code or f'HTTP {status}'}"
    if kind == "rate":
        return ProviderRateLimited(
            provider, text, status=status, code=code, retry_after=retry_after
        )
    error_type: type[ProviderError] = {
        "auth": ProviderUnavailable,
        "account": ProviderUnavailable,
        "unavailable": ProviderUnavailable,
        "rejected": ProviderRejected,
        "unknown": ProviderOutcomeUnknown,
    }[kind]
    return error_type(provider, text, status=status, code=code)


def clean(text: str | None, redact: Iterable[str]) -> str:
    """An upstream's words made safe to show: secrets masked, one line, bounded length."""
    text = text or ""
    for secret in redact:
        if secret:
            text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def _kind(status: int, code: str | None, *, has_body: bool) -> Kind:
    if status == 504:
        return "unknown"  # a gateway gave up waiting: DashScope may have made the task
    return _kind_of_code(code) or _kind_of_status(status, has_body=has_body)


def _kind_of_code(code: str | None) -> Kind | None:
    if code is None:
        return None
    for known, kind in _CODES:
        if code == known or code.startswith(known + "."):
            return kind
    return None


def _kind_of_status(status: int, *, has_body: bool) -> Kind:
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
    if status >= 500 and has_body:
        return "unavailable"  # a structured 5xx is a handled refusal, not a crash mid-task
    if status >= 500:
        return "unknown"
    return "unavailable"  # 1xx/3xx: not an answer to our request at all
