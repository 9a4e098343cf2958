"""Real connections from the media and webhook clients as ``adapter.bootstrap.parts`` builds them:
only vetted addresses are connected to, and a failure says what happened."""

from __future__ import annotations

import socket
from collections.abc import Sequence

import pytest

from adapter.bootstrap.adapters import make_media, make_webhook_sender
from adapter.config.settings import Settings
from adapter.core.errors import InvalidRequest, MediaUnreachable, WebhookUndeliverable
from adapter.outbound.addresses import Resolver
from adapter.outbound.resolver import PublicAddressResolver
from tests.media.fakes import PUBLIC_V4, PUBLIC_V6, TcpServer, closed_port

pytestmark = pytest.mark.anyio

KINDS = ("video", "webhook")


class Rebinding:
    """DNS that answers ``first`` to the first lookup of a name and ``then`` to the rest."""

    def __init__(self, first: Sequence[str], then: Sequence[str]) -> None:
        self.first, self.then = list(first), list(then)
        self.lookups: list[str] = []

    async def __call__(self, host: str) -> list[str]:
        self.lookups.append(host)
        return self.first if len(self.lookups) == 1 else self.then


def table(**records: list[str]) -> Resolver:
    """DNS from keyword arguments (``hooks_test=[...]`` is ``hooks.test``); others fail."""

    async def resolve(host: str) -> list[str]:
        try:
            return records[host.replace(".", "_")]
        except KeyError:
            raise OSError(f"Name or service not known: {host}") from None

    return resolve


async def attempt(
    kind: str,
    url: str,
    resolve: Resolver,
    *,
    allow: frozenset[str] = frozenset(),
    timeout_s: float = 5.0,
) -> InvalidRequest | WebhookUndeliverable:
    """Probe ``url`` as a reference video, or POST a webhook to it; return the failure."""
    if kind == "video":
        settings = Settings(media_allow_hosts=allow, media_timeout_s=timeout_s)
        inspector, http = make_media(settings, resolve=resolve)
        try:
            with pytest.raises(InvalidRequest) as caught:
                await inspector.inspect_video(url, param="input.video_url")
        finally:
            await http.aclose()
        assert caught.value.param == "input.video_url"
        return caught.value
    settings = Settings(webhook_allow_hosts=allow, webhook_timeout_s=timeout_s)
    sender, http = make_webhook_sender(settings, resolve=resolve)
    try:
        with pytest.raises(WebhookUndeliverable) as undeliverable:
            await sender.post(url, b"{}", {"content-type": "application/json"})
    finally:
        await http.aclose()
    return undeliverable.value


@pytest.mark.parametrize("kind", KINDS)
async def test_a_name_rebound_to_loopback_after_the_check_is_never_connected_to(
    kind: str,
) -> None:
    """DNS rebinding: public to the check, 127.0.0.1 to the connection; nothing connects."""
    dns = Rebinding([PUBLIC_V4], ["127.0.0.1"])
    async with TcpServer() as server:
        error = await attempt(kind, f"https://rebind.example:{server.port}/file", dns)
    assert server.connections == 0
    assert len(dns.lookups) == 2  # the check's, then the connection's (refused)
    assert "non-public address" in error.message
    assert not isinstance(error, MediaUnreachable)  # refused, not "unreachable"


@pytest.mark.parametrize("kind", KINDS)
async def test_credentials_never_reach_the_connection(kind: str) -> None:
    """user:password@ is refused before connecting, even to an allow-listed host (was a 500)."""
    async with TcpServer() as server:
        url = f"http://user:pw@127.0.0.1:{server.port}/file"
        error = await attempt(kind, url, table(), allow=frozenset({"127.0.0.1"}))
    assert "user name or password" in error.message
    assert server.connections == 0


@pytest.mark.parametrize("kind", KINDS)
async def test_a_refused_connection_is_called_refused(kind: str) -> None:
    """ECONNREFUSED is "refused", not "did not answer in time"."""
    url = f"http://127.0.0.1:{closed_port()}/file"
    error = await attempt(kind, url, table(), allow=frozenset({"127.0.0.1"}))
    assert "the connection was refused by the server" in error.message
    assert "time" not in error.message


@pytest.mark.parametrize("kind", KINDS)
async def test_a_failed_lookup_at_connect_is_called_a_dns_failure(kind: str) -> None:
    """An allow-listed name is not checked first: its lookup fails as the connection's."""
    url = "http://hooks.test:8080/file"
    error = await attempt(kind, url, table(), allow=frozenset({"hooks.test"}))
    assert "DNS failure" in error.message


@pytest.mark.parametrize("kind", KINDS)
async def test_a_server_that_does_not_speak_tls_is_a_tls_failure(kind: str) -> None:
    """https:// to a plain-TCP server: the handshake fails, and the message says TLS."""
    async with TcpServer(b"HTTP/1.1 400 Bad Request\r\n\r\n") as server:
        url = f"https://127.0.0.1:{server.port}/file"
        error = await attempt(kind, url, table(), allow=frozenset({"127.0.0.1"}))
    assert server.connections == 1
    assert "TLS failure" in error.message


@pytest.mark.parametrize("kind", KINDS)
async def test_a_server_that_never_answers_is_a_timeout(kind: str) -> None:
    """Connected, then silence: a timeout, after the configured time."""
    async with TcpServer(reply=None) as server:
        url = f"http://127.0.0.1:{server.port}/file"
        error = await attempt(kind, url, table(), allow=frozenset({"127.0.0.1"}), timeout_s=0.2)
    assert server.connections == 1
    assert "timeout: " in error.message and "within 0.2 s" in error.message


async def test_an_allow_listed_name_connects_to_its_private_address() -> None:
    """Trusted hosts are resolved without the rule: a local receiver on localhost works."""
    async with TcpServer() as server:
        settings = Settings(webhook_allow_hosts=frozenset({"localhost"}))
        sender, http = make_webhook_sender(settings, resolve=table(localhost=["127.0.0.1"]))
        try:
            url = f"http://localhost:{server.port}/hook"
            assert await sender.post(url, b"{}", {}) == 204
        finally:
            await http.aclose()
    assert server.connections == 1


async def test_the_resolver_answers_exactly_the_addresses_it_vetted() -> None:
    """Public answers are returned as resolved, filtered by the family asked for."""
    resolver = PublicAddressResolver(table(cdn_example=[PUBLIC_V4, PUBLIC_V6]))
    found = await resolver.resolve("cdn.example", 443, socket.AF_UNSPEC)
    assert [(r["host"], r["port"], r["family"]) for r in found] == [
        (PUBLIC_V4, 443, socket.AF_INET),
        (PUBLIC_V6, 443, socket.AF_INET6),
    ]
    only_v6 = await resolver.resolve("cdn.example", 443, socket.AF_INET6)
    assert [r["host"] for r in only_v6] == [PUBLIC_V6]


@pytest.mark.parametrize(
    ("host", "addresses"),
    [
        ("cdn.example", [PUBLIC_V4, "10.0.0.1"]),
        ("cdn.example", ["fe80::1%eth0"]),
        ("0x7f000001", []),  # aiohttp hands non-canonical IPv4 spellings to the resolver
        ("localhost", ["127.0.0.1"]),
    ],
)
async def test_the_resolver_refuses_any_non_public_answer(host: str, addresses: list[str]) -> None:
    """One non-public address refuses the host; the refusal is an OSError aiohttp passes on."""
    resolver = PublicAddressResolver(table(cdn_example=addresses, localhost=addresses))
    with pytest.raises(OSError, match=r"non-public|local network"):
        await resolver.resolve(host, 443, socket.AF_UNSPEC)
