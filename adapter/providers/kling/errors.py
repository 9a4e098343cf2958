"""Classifying a Kling-style upstream's refusals into the ``ProviderError`` family.

Three body families carry errors (upstream-contracts.md 1.7 and 3.6): Kling-native
``{code: int, message, request_id}``, new-api task errors ``{code: "<string>", message,
data: null}`` and new-api middleware ``{error: {message, type, code}}``. A Kling code, when
there is one, decides; otherwise new-api's string code or the HTTP status does.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from adapter.core.errors import (
    ProviderError,
    ProviderRejected,
)
from adapter.providers.kling import wire as kling_wire
from adapter.providers.kling.shapes import error_message, is_openai_video
from adapter.providers.kling.wire import ErrorBody, ErrorInfo, TaskBody
from adapter.providers.refusals import Kind, clean, kind_of_status, refusal

_OK_CODES = frozenset({"success", "", "0"})
_NOT_FOUND_CODES = frozenset({"1203", "task_not_exist"})

# new-api's own string codes whose meaning does not follow from the HTTP status.
_STRING_CODES: dict[str, Kind] = {
    "task_not_exist": "rejected",
    "invalid_request": "rejected",
    # The gateway sent the request upstream but could not read the answer.
    "do_request_failed": "unknown",
    "read_response_body_failed": "unknown",
    "unmarshal_response_failed": "unknown",
    # The gateway failed before sending anything upstream: its configuration, not our input.
    "build_request_failed": "unavailable",
    "gen_relay_info_failed": "unavailable",
    "invalid_api_platform": "unavailable",
    "model_price_error": "unavailable",
}


def is_error(body: TaskBody) -> bool:
    """Whether a 2xx body is a refusal rather than a task.

    An OpenAI-video object's ``error`` is a failed task's reason, not a refusal.
    """
    code = body.code
    if isinstance(code, int):
        return code != 0
    if isinstance(code, str) and code.strip().lower() not in _OK_CODES:
        return True
    if is_openai_video(body):
        return False
    if isinstance(body.error, ErrorInfo):
        return bool(body.error.message) or body.error.code not in (None, "", 0)
    return bool(body.error)


def is_not_found(error: ProviderError) -> bool:
    """Whether a query's refusal means "no such task": Kling 1203, new-api ``task_not_exist``,
    or an HTTP 404 with an error code of its own. A bare 404 (an HTML or empty page) says the
    route is missing, not the task."""
    return isinstance(error, ProviderRejected) and (
        error.code in _NOT_FOUND_CODES or (error.status == 404 and error.code is not None)
    )


def decode_error(content: bytes) -> ErrorBody | None:
    """The error fields of a body, or ``None`` when it is not a JSON error object."""
    try:
        body = kling_wire.decode_error(content)
    except msgspec.DecodeError:
        return None
    has_fields = body.code is not None or body.message is not None or body.error is not None
    return body if has_fields else None


def classify(
    provider: str,
    status: int,
    body: ErrorBody | None,
    *,
    retry_after: int | None = None,
    redact: Iterable[str] = (),
) -> ProviderError:
    """The ``ProviderError`` for an upstream refusal (HTTP ``status``, parsed ``body``)."""
    code = _code(body)
    message = clean(_text(body), redact)
    kind = _kind_of_code(code, body) or kind_of_status(status, has_body=body is not None)
    return refusal(
        provider, kind, status=status, code=code, message=message, retry_after=retry_after
    )


def _kind_of_code(code: str | None, body: ErrorBody | None) -> Kind | None:
    if code is None:
        return None
    if code.isdigit():
        return _kind_of_kling_code(int(code))
    if code in _STRING_CODES:
        return _STRING_CODES[code]
    # new-api's fail_to_fetch_task carries the upstream's raw body as its message.
    inner = decode_error(body.message.encode()) if body and body.message else None
    inner_code = inner.code if inner else None
    return _kind_of_kling_code(inner_code) if isinstance(inner_code, int) else None


def _kind_of_kling_code(code: int) -> Kind | None:
    if 1000 <= code <= 1099:
        return "auth"
    if 1100 <= code <= 1199:
        # 1103 "no permission for this model" is an account property too: another provider
        # may well have it, so it falls back like the arrears codes.
        return "account"
    if 1302 <= code <= 1304:
        return "rate"
    if 1200 <= code <= 1399:
        return "rejected"
    if code == 5002:
        return "unknown"  # Kling's own internal timeout: the task may exist
    if 5000 <= code <= 5999:
        return "unavailable"
    return None


def _code(body: ErrorBody | None) -> str | None:
    if body is None:
        return None
    for code in (body.code, body.error.code if isinstance(body.error, ErrorInfo) else None):
        if code is not None and str(code).strip() and str(code).strip().lower() not in _OK_CODES:
            return str(code).strip()
    return None


def _text(body: ErrorBody | None) -> str | None:
    if body is None:
        return None
    return body.message or error_message(body.error)
