from __future__ import annotations

import asyncio
import socket

import aiohttp
import httpx
import httpx_aiohttp
import pytest

from adapter.core.errors import ProviderOutcomeUnknown, ProviderUnavailable
from adapter.outbound.client import build_http_client
from adapter.providers._http import map_httpx_errors, retry_after_s


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow connect"),
        httpx.PoolTimeout("pool full"),
    ],
)
def test_failures_before_sending_are_unavailable(exc: httpx.HTTPError) -> None:
    """Connect errors and pool timeouts mean nothing reached the upstream."""
    with pytest.raises(ProviderUnavailable) as caught, map_httpx_errors("kling"):
        raise exc
    assert type(caught.value) is ProviderUnavailable
    assert caught.value.provider == "kling"
    assert caught.value.__cause__ is exc


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("slow answer"),
        httpx.WriteTimeout("slow upload"),
        httpx.RemoteProtocolError("server hung up"),
        httpx.ReadError("reset"),
        httpx.TimeoutException("aiohttp server timeout"),
    ],
)
def test_failures_after_sending_are_outcome_unknown(exc: httpx.HTTPError) -> None:
    """Timeouts and resets after the request went out leave the outcome unknown."""
    with pytest.raises(ProviderOutcomeUnknown), map_httpx_errors("kling"):
        raise exc


def test_aiohttp_disconnect_mapped_to_connect_timeout_is_outcome_unknown() -> None:
    """httpx-aiohttp's ConnectTimeout caused by a server hang-up is not a connect failure."""
    with pytest.raises(ProviderOutcomeUnknown), map_httpx_errors("kling"):
        raise httpx.ConnectTimeout("disconnected") from aiohttp.ServerDisconnectedError()


def test_non_httpx_errors_pass_through() -> None:
    """Only httpx errors are translated; bugs stay bugs."""
    with pytest.raises(KeyError), map_httpx_errors("kling"):
        raise KeyError("x")


@pytest.mark.anyio
async def test_real_hang_up_after_request_is_outcome_unknown() -> None:
    """Through the aiohttp transport, a server closing after reading the POST is unknown."""

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with build_http_client(timeout_s=5) as client:
            with pytest.raises(ProviderOutcomeUnknown), map_httpx_errors("kling"):
                await client.post(f"http://127.0.0.1:{port}/v1/videos/motion-control", json={})
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.anyio
async def test_real_connection_refused_is_unavailable() -> None:
    """Through the aiohttp transport, a refused connection is unavailable."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with build_http_client(timeout_s=5, connect_timeout_s=1) as client:
        with pytest.raises(ProviderUnavailable) as caught, map_httpx_errors("kling"):
            await client.get(f"http://127.0.0.1:{port}/")
    assert type(caught.value) is ProviderUnavailable


@pytest.mark.anyio
async def test_client_has_explicit_timeouts_and_a_large_keepalive_pool() -> None:
    """The production client uses the aiohttp transport, explicit timeouts and the pool size."""
    async with build_http_client(
        timeout_s=30, connect_timeout_s=3, pool_timeout_s=8, max_connections=640
    ) as client:
        assert client.timeout == httpx.Timeout(30, connect=3, pool=8)
        transport = client._transport
        assert isinstance(transport, httpx_aiohttp.AiohttpTransport)
        assert transport.limits.max_connections == 640
        assert transport.limits.max_keepalive_connections == 640


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7),
        (" 12 ", 12),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0),
        ("soon", None),
        (None, None),
        ("", None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(header: str | None, expected: int | None) -> None:
    """Retry-After is delta-seconds or an HTTP date relative to the injected clock."""
    now = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert retry_after_s(header, now) == expected
