"""The one place that knows HTTP statuses: adapter errors -> MindVideo error bodies."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from adapter.core import errors
from adapter.core.causes import cause_chain
from adapter.core.task_body import encode
from adapter.http.request_id import request_id_of
from adapter.http.responses import MsgspecResponse
from adapter.http.wire import ErrorBody, ErrorDetail

log = logging.getLogger(__name__)

#: Most specific class first; the first ``isinstance`` match wins.
STATUS_CODES: list[tuple[type[errors.AdapterError], int, str]] = [
    (errors.InvalidJson, 400, "invalid_json"),
    (errors.UnsupportedMediaType, 415, "unsupported_media_type"),
    (errors.PayloadTooLarge, 413, "payload_too_large"),
    (errors.UnknownModel, 422, "unknown_model"),
    (errors.InvalidRequest, 422, "invalid_request"),
    (errors.MissingApiKey, 401, "missing_api_key"),
    (errors.InvalidApiKey, 401, "invalid_api_key"),
    (errors.ApiKeyDisabled, 401, "api_key_disabled"),
    (errors.ApiKeyExpired, 401, "api_key_expired"),
    (errors.ModelNotAllowed, 403, "model_not_allowed"),
    (errors.IpNotAllowed, 403, "ip_not_allowed"),
    (errors.KeyNotFound, 404, "key_not_found"),
    (errors.BudgetExceeded, 402, "budget_exceeded"),
    (errors.RateLimited, 429, "rate_limited"),
    (errors.ConcurrencyLimitReached, 429, "concurrency_limit_reached"),
    (errors.MissingAdminToken, 401, "missing_admin_token"),
    (errors.InvalidAdminToken, 401, "invalid_admin_token"),
    (errors.AdminTokenRequired, 403, "admin_token_required"),
    (errors.AdminApiOff, 404, "not_found"),
    (errors.TaskNotFound, 404, "task_not_found"),
    (errors.ModelNotFound, 404, "model_not_found"),
    (errors.TaskNotCancellable, 409, "task_not_cancellable"),
    (errors.IdempotencyKeyReused, 409, "idempotency_key_reused"),
    (errors.IdempotencyInProgress, 409, "idempotency_request_in_progress"),
    (errors.InvalidCallbackToken, 403, "invalid_callback_token"),
    (errors.StoreUnavailable, 503, "store_unavailable"),
    (errors.ProviderRejected, 422, "upstream_rejected"),
    (errors.AllProvidersFailed, 503, "upstream_unavailable"),
    (errors.ProviderOutcomeUnknown, 504, "upstream_unavailable"),
    (errors.ProviderUnavailable, 502, "upstream_unavailable"),
]

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    *,
    param: str | None = None,
    headers: Mapping[str, str] | None = None,
    task_id: str | None = None,
) -> Response:
    body = ErrorBody(ErrorDetail(code, message, param), request_id_of(request.scope), task_id)
    return MsgspecResponse(body, status_code=status, headers=headers)


def _is_misrouted(exc: errors.AdapterError) -> bool:
    """Every provider answered, but not as its API (a web page): a retry would not help."""
    return isinstance(exc, errors.AllProvidersFailed) and all(
        isinstance(e, errors.ProviderBadAnswer) for e in exc.errors
    )


def _retry_after(exc: errors.AdapterError) -> str | None:
    if isinstance(exc, errors.IdempotencyInProgress | errors.RateLimited):
        return str(exc.retry_after)
    if isinstance(exc, errors.AllProvidersFailed) and not _is_misrouted(exc):
        waits = [
            e.retry_after
            for e in exc.errors
            if isinstance(e, errors.ProviderRateLimited) and e.retry_after is not None
        ]
        return str(min(waits)) if waits else "1"
    return None


def log_unavailable(request: Request, status: int, code: str, exc: BaseException) -> None:
    """One line for a 5xx: the body says only what the client may know, the log keeps why."""
    log.warning(
        "http.unavailable request_id=%s status=%d code=%s cause=%s",
        request_id_of(request.scope),
        status,
        code,
        cause_chain(exc),
    )


def status_of(exc: errors.AdapterError) -> tuple[int, str]:
    """The HTTP status and error code of ``exc`` (``STATUS_CODES``; else 500)."""
    return next(
        ((s, c) for kind, s, c in STATUS_CODES if isinstance(exc, kind)), (500, "internal_error")
    )


async def adapter_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.AdapterError)
    status, code = status_of(exc)
    if _is_misrouted(exc):
        status = 502  # the upstreams answered badly, they are not busy (DESIGN 1)
    if status >= 500:
        log_unavailable(request, status, code, exc)
    wait = _retry_after(exc)
    headers = {"Retry-After": wait} if wait else {}
    if isinstance(exc, errors.RateLimited):
        # draft-ietf-httpapi-ratelimit-headers: the policy, and that none is left for wait s.
        headers["RateLimit-Policy"] = f'"rpm";q={exc.limit};w=60'
        headers["RateLimit"] = f'"rpm";r=0;t={exc.retry_after}'
    return error_response(
        request,
        status,
        code,
        exc.message,
        param=exc.param if isinstance(exc, errors.InvalidRequest) else None,
        headers=headers or None,
        task_id=exc.task_id if isinstance(exc, errors.StoreUnavailable) else None,
    )


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "invalid_request")
    return error_response(request, exc.status_code, code, str(exc.detail), headers=exc.headers)


def internal_error_body(request_id: str) -> bytes:
    detail = ErrorDetail("internal_error", "Something went wrong on our side.")
    return encode(ErrorBody(detail, request_id))


EXCEPTION_HANDLERS = {
    errors.AdapterError: adapter_error,
    HTTPException: http_error,
}
