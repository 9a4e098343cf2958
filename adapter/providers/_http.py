"""The providers' one HTTP boundary: the shared client and the translation of httpx errors.

Whether a failed call is *unavailable* (nothing reached the upstream: safe to retry elsewhere)
or *outcome unknown* (the request may have been acted on: reconcile, never resubmit) is the
distinction the idempotency design rests on, so it is decided here, once.
"""

from __future__ import annotations

import email.utils
import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC
from typing import TypeVar

import aiohttp
import httpx
import msgspec

from adapter.core.errors import (
    ProviderBadAnswer,
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderUnavailable,
)
from adapter.outbound.failures import describe

_log = logging.getLogger(__name__)

T = TypeVar("T")

# Raised before a byte of the request left this process.
_NOT_SENT: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)

# httpx-aiohttp maps *every* ``aiohttp.ClientConnectionError`` to ``httpx.ConnectTimeout``,
# including a server that hangs up after reading the request. Only these causes really are
# connect-phase failures; any other cause of a "connect" error is treated as after-sending.
# https://github.com/karpetrosyan/httpx-aiohttp/blob/main/src/httpx_aiohttp/transport.py
_AIOHTTP_CONNECT_PHASE: tuple[type[Exception], ...] = (
    aiohttp.ClientConnectorError,
    aiohttp.ConnectionTimeoutError,
)


def _was_sent(exc: httpx.HTTPError) -> bool:
    if not isinstance(exc, _NOT_SENT):
        return True
    cause = exc.__cause__
    return isinstance(cause, aiohttp.ClientConnectionError) and not isinstance(
        cause, _AIOHTTP_CONNECT_PHASE
    )


@contextmanager
def map_httpx_errors(provider: str) -> Iterator[None]:
    """Translate httpx exceptions raised in the block into the ``ProviderError`` family.

    Connect failures and pool timeouts become ``ProviderUnavailable``; anything that can happen
    after the request was sent (read/write timeouts, resets, protocol errors) becomes
    ``ProviderOutcomeUnknown``. Works around ``await`` in async code like any ``with`` block.
    """
    try:
        yield
    except aiohttp.ClientError as exc:
        # httpx-aiohttp re-raises what it does not map (a malformed status line, header or
        # chunk): the request had been sent, so the outcome is unknown.
        raise ProviderOutcomeUnknown(
            provider, f"unreadable answer from the upstream ({type(exc).__name__})"
        ) from exc
    except httpx.PoolTimeout as exc:
        raise ProviderUnavailable(
            provider, "could not reach the upstream: no free connection in this adapter's pool"
        ) from exc
    except httpx.HTTPError as exc:
        if _was_sent(exc):
            raise ProviderOutcomeUnknown(
                provider, f"no answer from the upstream after sending: {describe(exc)}"
            ) from exc
        raise ProviderUnavailable(
            provider, f"could not reach the upstream: {describe(exc)}"
        ) from exc


async def send_json(
    http: httpx.AsyncClient,
    provider: str,
    method: str,
    url: str,
    *,
    authorization: str,
    content: bytes | None = None,
) -> httpx.Response:
    """One call of a JSON API, with ``Authorization``, ``Accept`` and (with a body)
    ``Content-Type`` set; httpx's errors translated as :func:`map_httpx_errors` says."""
    headers = {"Authorization": authorization, "Accept": "application/json"}
    if content is not None:
        headers["Content-Type"] = "application/json"
    with map_httpx_errors(provider):
        return await http.request(method, url, content=content, headers=headers)


def read_json(
    provider: str,
    response: httpx.Response,
    decode: Callable[[bytes], T],
    refuse: Callable[[httpx.Response], ProviderError],
) -> T | None:
    """The decoded body of a 2xx answer, or ``None`` when it does not decode as ``T``.

    Raises:
        ProviderError: ``refuse``'s error for a non-2xx answer; ``ProviderBadAnswer`` for a 2xx
            that is not JSON at all (:func:`ensure_the_api`).
    """
    if not response.is_success:
        raise refuse(response)
    ensure_the_api(provider, response)
    try:
        return decode(response.content)
    except msgspec.DecodeError:
        return None


def ensure_the_api(provider: str, response: httpx.Response) -> None:
    """Raise (and log) ``not_the_api``'s error for a 2xx answer that is not the API's."""
    if (bad := not_the_api(provider, response)) is not None:
        _log.warning("provider.not_the_api provider=%s reason=%s", provider, bad.message)
        raise bad


def logged_refusal(provider: str, status: int, error: ProviderError) -> ProviderError:
    """``error``, a refusal an upstream answered with ``status``, once it is logged."""
    _log.info(
        "provider.refused provider=%s status=%s code=%s kind=%s",
        provider,
        status,
        error.code,
        type(error).__name__,
    )
    return error


def not_the_api(provider: str, response: httpx.Response) -> ProviderBadAnswer | None:
    """The error for a 2xx answer that is not JSON at all (a web page, text, nothing), else None.

    Such an answer is not the upstream's API speaking: stock new-api answers the routes it
    lacks (motion-control, omni-video) with its web UI, HTTP 200 ``text/html``. Nothing was
    made there, so the caller learns at once which route was called, and may go elsewhere.
    """
    content = response.content.lstrip()
    if content[:1] in (b"{", b"["):
        return None
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if "html" in kind:
        what = "a web page"
    elif not content:
        what = "an empty body"
    else:
        what = "a non-JSON answer"
    request = response.request
    url = request.url.copy_with(query=None, fragment=None)
    return ProviderBadAnswer(
        provider,
        f"the upstream answered {what} ({kind or 'no content type'}, HTTP "
        f"{response.status_code}) to {request.method} {url}, not its API: check the "
        "provider's base URL, and that the upstream has this route",
        status=response.status_code,
    )


def retry_after_s(value: str | None, now: float) -> int | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), if any."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" dates parse naive; HTTP dates are UTC
        when = when.replace(tzinfo=UTC)
    return max(0, math.ceil(when.timestamp() - now))
