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

import msgspec

from adapter.core.errors import (
    ProviderError,
)
from adapter.providers.dashscope import wire as dashscope_wire
from adapter.providers.dashscope.wire import ErrorBody, TaskBody
from adapter.providers.refusals import Kind, clean, kind_of_status, refusal

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
    return refusal(
        provider, kind, status=status, code=code, message=message, retry_after=retry_after
    )


def _kind(status: int, code: str | None, *, has_body: bool) -> Kind:
    if status == 504:
        return "unknown"  # a gateway gave up waiting: DashScope may have made the task
    return _kind_of_code(code) or kind_of_status(status, has_body=has_body)


def _kind_of_code(code: str | None) -> Kind | None:
    if code is None:
        return None
    for known, kind in _CODES:
        if code == known or code.startswith(known + "."):
            return kind
    return None
