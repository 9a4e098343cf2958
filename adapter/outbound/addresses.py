"""The SSRF guard: URLs are accepted only for hosts whose every address is public."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence

from adapter.core.errors import InvalidRequest, MediaUnreachable
from adapter.outbound.hosts import IPAddress, LocalName, MalformedHost, parse_host

#: ``host -> addresses``; raises ``OSError`` when the name does not resolve.
Resolver = Callable[[str], Awaitable[Sequence[str]]]

#: NAT64 (RFC 6052) carries an IPv4 address in its last 32 bits.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
NOT_PUBLIC = "a non-public address (private, loopback, link-local, multicast or reserved)"
#: How long a lookup for a URL handed on unfetched may take before it is not waited for.
UNFETCHED_LOOKUP_S = 2.0


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
    """The address when ``host`` is a canonical IP literal (brackets stripped), else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def resolved_address(name: str) -> IPAddress | None:
    """An address as ``getaddrinfo`` gives it; None (refused: fail closed) if it does not parse.

    IPv6 link-local addresses come with a zone ("fe80::1%eth0"), which is dropped.
    """
    return ip_literal(name.split("%", 1)[0])


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
    """Refuses hosts that are, or resolve to, anything but public addresses.

    Args:
        resolve: ``host -> addresses`` (default: ``getaddrinfo``).
        allow_setting: the variable that exempts hosts, named in refusals.
        unfetched_lookup_s: how long to wait for the lookup of a URL handed on unfetched.
    """

    def __init__(
        self,
        resolve: Resolver = system_resolve,
        *,
        allow_setting: str,
        unfetched_lookup_s: float = UNFETCHED_LOOKUP_S,
    ) -> None:
        self._resolve = resolve
        self._allow_setting = allow_setting
        self._unfetched_lookup_s = unfetched_lookup_s

    async def check(self, host: str, *, param: str, what: str, fetched: bool = True) -> None:
        """Raise ``InvalidRequest`` unless every address of ``host`` is public.

        ``what`` says how ``param`` leads to ``host`` ("points to", "redirects to"). A host
        that does not resolve is ``MediaUnreachable`` when this adapter will fetch it; for a
        URL handed on unfetched (``fetched=False``) it passes, since the upstream resolves it
        on its own.
        """
        try:
            literal = parse_host(host)
        except LocalName as exc:
            raise InvalidRequest(
                f"{param} {what} {host!r}, which is {exc.reason}; {self._only_public}", param
            ) from None
        except MalformedHost as exc:
            raise InvalidRequest(
                f"{param} {what} the host {host!r}, which is {exc.reason}.", param
            ) from None
        if literal is not None:
            spelled = repr(host) if str(literal) == host.lower() else f"{host!r} ({literal})"
            if not is_public(literal):
                raise InvalidRequest(
                    f"{param} {what} {spelled}, {NOT_PUBLIC}; {self._only_public}", param
                )
            return
        addresses = await self._addresses(host, param=param, fetched=fetched)
        if not all(address is not None and is_public(address) for address in addresses):
            raise InvalidRequest(
                f"{param} {what} {host!r}, which resolves to {NOT_PUBLIC}; {self._only_public}",
                param,
            )

    def refusal(self, param: str, reason: str) -> InvalidRequest:
        """The refusal of a host found non-public when connecting (``PublicAddressResolver``)."""
        return InvalidRequest(f"{param}: {reason}; {self._only_public}", param)

    @property
    def _only_public(self) -> str:
        return f"only public hosts are accepted, unless {self._allow_setting} lists the host."

    async def _addresses(self, host: str, *, param: str, fetched: bool) -> list[IPAddress | None]:
        try:
            if fetched:
                names = await self._resolve(host)
            else:
                async with asyncio.timeout(self._unfetched_lookup_s):
                    names = await self._resolve(host)
        except OSError as exc:  # TimeoutError too
            if not fetched:
                return []  # not ours to fetch: the upstream resolves it in its own network
            raise MediaUnreachable(
                f"{param}: the host {host!r} could not be resolved.", param
            ) from exc
        if not names and fetched:
            raise MediaUnreachable(f"{param}: the host {host!r} has no address.", param)
        return [resolved_address(name) for name in names]
