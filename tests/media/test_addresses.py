"""The public-address rule of the SSRF guard."""

from __future__ import annotations

import ipaddress

import pytest

from adapter.outbound.addresses import is_public, system_resolve


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "8.8.8.8",
        "2606:2800:220:1:248:1893:25c8:1946",
        "::ffff:8.8.8.8",
        "2002:808:808::1",  # 6to4 around 8.8.8.8
        "64:ff9b::808:808",  # NAT64 around 8.8.8.8
    ],
)
def test_globally_routable_addresses_are_public(address: str) -> None:
    """Ordinary internet addresses, and public IPv4 inside IPv6 wrappers, pass."""
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",  # private
        "172.16.0.1",
        "192.168.1.1",
        "127.0.0.1",  # loopback
        "169.254.169.254",  # link-local: cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",  # unspecified
        "224.0.0.1",  # multicast, which is_global alone lets through
        "239.255.255.250",
        "240.0.0.1",  # reserved
        "255.255.255.255",
        "192.0.2.1",  # documentation
        "::1",
        "::",
        "fe80::1",
        "fc00::1",  # unique local
        "fec0::1",  # site-local
        "ff02::1",  # multicast
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:169.254.169.254",
        "::ffff:10.0.0.1",
        "::127.0.0.1",  # IPv4-compatible (deprecated)
        "2002:7f00:1::1",  # 6to4 around 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
        "64:ff9b:1::808:808",  # local-use NAT64 (RFC 8215): reserved, whatever it carries
        "2001:db8::1",  # documentation
    ],
)
def test_internal_and_special_addresses_are_not_public(address: str) -> None:
    """Private, loopback, link-local, multicast, reserved and wrapped internal addresses fail."""
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.anyio
async def test_system_resolver_returns_addresses_of_an_ip_literal() -> None:
    """The default resolver answers through getaddrinfo (no network needed for a literal)."""
    assert await system_resolve("127.0.0.1") == ["127.0.0.1"]


@pytest.mark.anyio
async def test_system_resolver_raises_oserror_for_malformed_names() -> None:
    """An over-long label fails as OSError, like any other name that does not resolve."""
    with pytest.raises(OSError, match="invalid host name"):
        await system_resolve("a" * 70 + ".example")
