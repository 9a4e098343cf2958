"""``build_http_client``: the one way this adapter makes an outbound HTTP client.

httpx's API over the aiohttp transport (DESIGN.md section 4: several times httpx's default
transport's throughput), explicit timeouts, a keep-alive pool, and optionally a resolver
that every connection goes through (the media and webhook clients connect only to vetted
addresses through one).
"""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
import httpx
import httpx_aiohttp
from aiohttp.abc import AbstractResolver


def build_http_client(
    *,
    timeout_s: float = 30.0,
    connect_timeout_s: float = 5.0,
    pool_timeout_s: float = 10.0,
    max_connections: int = 512,
    keepalive_expiry_s: float = 60.0,
    resolver: AbstractResolver | None = None,
) -> httpx.AsyncClient:
    """The production client for one upstream: aiohttp transport, explicit timeouts, a pool.

    ``max_connections`` should sit above the expected concurrency: every connection is kept
    alive for reuse. ``resolver`` replaces aiohttp's for every connection the client makes
    (the media and webhook clients connect only to vetted addresses through it). The caller
    owns the client and closes it with ``aclose()``.
    """
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=keepalive_expiry_s,
    )
    session = None if resolver is None else _session_factory(limits, resolver)
    transport = httpx_aiohttp.AiohttpTransport(limits=limits, client=session)
    # aiohttp's "connect" budget covers waiting for a pooled connection and connecting, so the
    # transport receives the pool timeout there; keep it at least the connect timeout.
    timeout = httpx.Timeout(
        timeout_s,
        connect=connect_timeout_s,
        pool=max(pool_timeout_s, connect_timeout_s),
    )
    return httpx.AsyncClient(
        transport=transport,
        timeout=timeout,
        headers={"Accept": "application/json", "User-Agent": "mindvideo-adapter"},
    )


def _session_factory(
    limits: httpx.Limits, resolver: AbstractResolver
) -> Callable[[], aiohttp.ClientSession]:
    """What the transport would build on first use, with ``resolver`` for every connection."""
    ssl_context = httpx.create_ssl_context()

    def session() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=limits.max_connections or 0,
            keepalive_timeout=limits.keepalive_expiry,
            ssl=ssl_context,
            resolver=resolver,
        )
        return aiohttp.ClientSession(connector=connector)

    return session
