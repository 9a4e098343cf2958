"""Classifying Replicate's refusals into the ``ProviderError`` family.

Replicate answers errors as RFC 7807 problem details, ``{type, title, status, detail}``
(replicate-python ``exceptions.py``): 422 when the input fails validation at create, 429
``{"detail": "Request was throttled. ..."}``, 402 when the account cannot pay. The HTTP
status decides, with the policy every dialect shares (``refusals.kind_of_status``), except
that 403 is our token lacking a permission (auth), and a 404 names a prediction Replicate
does not hold (``ProviderTaskNotFound``, from the prediction routes) or a model it does not
have (unavailable, from create: another provider may have it).
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from adapter.core.errors import ProviderError, ProviderTaskNotFound
from adapter.providers.refusals import Kind, clean, kind_of_status, refusal
from adapter.providers.replicate import wire as rw
from adapter.providers.replicate.wire import Problem


def decode_problem(content: bytes) -> Problem | None:
    """The problem fields of a body, or ``None`` when it is not a JSON problem object."""
    try:
        body = rw.decode_problem(content)
    except msgspec.DecodeError:
        return None
    return body if body.detail or body.title else None


def classify(
    provider: str,
    status: int,
    body: Problem | None,
    *,
    about_prediction: bool = False,
    retry_after: int | None = None,
    redact: Iterable[str] = (),
) -> ProviderError:
    """The ``ProviderError`` for a Replicate refusal (HTTP ``status``, parsed ``body``).

    ``about_prediction``: the call named a prediction (get, cancel), so a 404 says Replicate
    has no such prediction. The code is the problem's ``title``; the message its ``detail``.
    """
    code = body.title if body is not None else None
    message = clean((body.detail or body.title) if body is not None else "", redact)
    if status == 404 and about_prediction:
        return ProviderTaskNotFound(
            provider, message or "Replicate has no such prediction", status=status, code=code
        )
    kind = _kind(status, has_body=body is not None)
    return refusal(
        provider, kind, status=status, code=code, message=message, retry_after=retry_after
    )


def _kind(status: int, *, has_body: bool) -> Kind:
    if status == 403:
        return "auth"  # the token lacks a permission
    if status == 404:
        return "unavailable"  # no such model here; another provider may make it
    return kind_of_status(status, has_body=has_body)
