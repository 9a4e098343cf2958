"""The SSRF guard: media is fetched only from hosts whose every address is public."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence

from adapter.errors import InvalidRequest, MediaUnreachable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: ``host -> addresses``; raises ``OSError`` when the name does not resolve.
Resolver = Callable[[str], Awaitable[Sequence[str]]]

#: NAT64 (RFC 6052) carries an IPv4 address in its last 32 bits.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NOT_PUBLIC = "a non-public address (private, loopback, link-local, multicast or reserved)"


async def system_resolve(host: str) -> list[str]:
    """Resolve ``host`` with the event loop's ``getaddrinfo``."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except UnicodeError as exc:
        # The idna codec refuses empty or over-long labels before any lookup.
        raise OSError(f"invalid host name {host!r}") from exc
    return [str(info[4][0]) for info in infos]


def ip_literal(host: str) -> IPAddress | None:
    """The address when ``host`` is an IP literal (brackets already stripped), else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_public(address: IPAddress) -> bool:
    """Whether ``address`` is globally routable unicast, judging embedded IPv4 by itself."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return is_public(embedded)
    # is_global alone lets multicast (224.0.0.0/4) through, hence the explicit checks.
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
    )


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


class AddressGuard:
    """Refuses hosts that are, or resolve to, anything but public addresses."""

    def __init__(self, resolve: Resolver = system_resolve) -> None:
        self._resolve = resolve

    async def check(self, host: str, *, param: str, what: str, resolve: bool = True) -> None:
        """Raise ``InvalidRequest`` unless every address of ``host`` is public.

        ``what`` says how ``param`` leads to ``host`` ("points to", "redirects to"). With
        ``resolve=False`` only IP literals are judged (for URLs handed on unfetched).
        """
        literal = ip_literal(host)
        addresses: list[IPAddress | None]
        if literal is not None:
            addresses = [literal]
        elif resolve:
            addresses = await self._addresses(host, param=param)
        else:
            return
        if not all(address is not None and is_public(address) for address in addresses):
            raise InvalidRequest(
                f"{param} {what} {host!r}, which is {_NOT_PUBLIC}; only public hosts are fetched.",
                param,
            )

    async def _addresses(self, host: str, *, param: str) -> list[IPAddress | None]:
        try:
            names = await self._resolve(host)
        except OSError as exc:
            raise MediaUnreachable(
                f"{param}: the host {host!r} could not be resolved.", param
            ) from exc
        if not names:
            raise MediaUnreachable(f"{param}: the host {host!r} has no address.", param)
        # getaddrinfo gives IPv6 link-local addresses with a zone ("fe80::1%eth0"); an
        # address that does not parse stays None and is refused (fail closed).
        return [ip_literal(name.split("%", 1)[0]) for name in names]
