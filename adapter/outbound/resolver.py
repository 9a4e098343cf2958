"""``PublicAddressResolver``: the connection itself goes only to addresses that were vetted.

``AddressGuard`` judges a host before a request; the HTTP client then resolves the name
again to connect, and a name with a short TTL can answer a public address to the first
lookup and ``127.0.0.1`` to the second (DNS rebinding). This resolver is the one the media
and webhook clients connect through: it resolves, refuses the host unless every address is
public, and returns exactly the addresses it checked, so nothing else is ever connected to.
Hosts an operator listed (allow-lists, rewrite targets) are resolved without the check.
"""

from __future__ import annotations

import socket

from aiohttp.abc import AbstractResolver, ResolveResult

from adapter.outbound.addresses import (
    NOT_PUBLIC,
    Resolver,
    is_public,
    resolved_address,
    system_resolve,
)
from adapter.outbound.failures import NonPublicAddress
from adapter.outbound.hosts import HostError, IPAddress, parse_host

_FLAGS = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


class PublicAddressResolver(AbstractResolver):
    """An aiohttp resolver that answers only public addresses for hosts not in ``trusted``."""

    def __init__(
        self, resolve: Resolver = system_resolve, *, trusted: frozenset[str] = frozenset()
    ) -> None:
        self._resolve = resolve
        self._trusted = frozenset(host.lower() for host in trusted)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await self._vetted(host)
        results: list[ResolveResult] = [
            {
                "hostname": host,
                "host": str(address),
                "port": port,
                "family": socket.AF_INET if address.version == 4 else socket.AF_INET6,
                "proto": 0,
                "flags": _FLAGS,
            }
            for address in addresses
        ]
        if family != socket.AF_UNSPEC:
            results = [result for result in results if result["family"] == family]
        if not results:
            raise OSError(f"the host {host!r} has no address")
        return results

    async def close(self) -> None:
        return None

    async def _vetted(self, host: str) -> list[IPAddress]:
        if host.lower() in self._trusted:
            return [a for a in map(resolved_address, await self._resolve(host)) if a is not None]
        try:
            literal = parse_host(host)
        except HostError as exc:
            raise NonPublicAddress(f"the host {host!r} is {exc.reason}") from None
        if literal is not None:
            addresses: list[IPAddress | None] = [literal]
        else:
            addresses = [resolved_address(name) for name in await self._resolve(host)]
        public = [address for address in addresses if address is not None and is_public(address)]
        if len(public) < len(addresses):
            raise NonPublicAddress(f"the host {host!r} resolves to {NOT_PUBLIC}")
        return public
