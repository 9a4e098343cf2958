"""Classifying fal's refusals into the ``ProviderError`` family.

fal answers errors as ``{"detail": [{loc, msg, type}, ...]}`` (a model's own error, relayed
by the result endpoint: 422 ``content_policy_violation``, ...), as ``{"detail": "..."}`` on
APIs not yet migrated, or as ``{"detail", "error_type"}`` with ``X-Fal-Error-Type`` for a
request error (``request_timeout``, ``runner_disconnected``, ...): fal's model-apis/errors
and request-errors pages. The HTTP status decides, with the policy every dialect shares
(``refusals.kind_of_status``), except that 403 is our key lacking a permission (auth), and a
404 names a request fal does not hold (``ProviderTaskNotFound``, from the request routes) or
an endpoint it does not have (unavailable, from submit: another provider may have it).
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from adapter.core.errors import ProviderError, ProviderTaskNotFound
from adapter.providers.fal import wire as fal_wire
from adapter.providers.fal.wire import ErrorBody
from adapter.providers.refusals import Kind, clean, kind_of_status, refusal


def decode_error(content: bytes) -> ErrorBody | None:
    """The error fields of a body, or ``None`` when it is not a JSON error object."""
    try:
        body = fal_wire.decode_error(content)
    except msgspec.DecodeError:
        return None
    return body if body.detail or body.error_type else None


def reason_of(body: ErrorBody | None) -> tuple[str | None, str]:
    """``(code, message)``: the first item's ``type`` (else ``error_type``), and every
    item's ``msg`` with its ``loc``."""
    if body is None:
        return None, ""
    if isinstance(body.detail, str):
        return body.error_type, body.detail
    items = body.detail or []
    code = next((item.type for item in items if item.type), None) or body.error_type
    messages = []
    for item in items:
        where = ".".join(str(part) for part in item.loc or ())
        text = item.msg or item.type or ""
        messages.append(f"{text} ({where})" if where and text else text)
    return code, "; ".join(message for message in messages if message)


def classify(
    provider: str,
    status: int,
    body: ErrorBody | None,
    *,
    error_type: str | None = None,
    about_request: bool = False,
    retry_after: int | None = None,
    redact: Iterable[str] = (),
) -> ProviderError:
    """The ``ProviderError`` for a fal refusal (HTTP ``status``, parsed ``body``).

    ``about_request``: the call named a request (status, result, cancel), so a 404 says fal
    has no such request; ``error_type``: the ``X-Fal-Error-Type`` header, when sent.
    """
    code, text = reason_of(body)
    code = code or error_type
    message = clean(text, redact)
    if status == 404 and about_request:
        return ProviderTaskNotFound(
            provider, message or "fal has no such request", status=status, code=code
        )
    kind = _kind(status, has_body=body is not None)
    return refusal(
        provider, kind, status=status, code=code, message=message, retry_after=retry_after
    )


def _kind(status: int, *, has_body: bool) -> Kind:
    if status == 403:
        return "auth"  # fal keys carry permissions: this key lacks one
    if status == 404:
        return "unavailable"  # no such endpoint here; another provider may make the model
    return kind_of_status(status, has_body=has_body)
