"""The client's address: the peer, or, behind proxies the operator trusts, whom they name."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.requests import Request

from adapter.core.values import IPNetwork


def client_ip(request: Request, trusted: Sequence[IPNetwork]) -> str | None:
    """The address a request came from.

    ``X-Forwarded-For`` is read right to left, and only while the hop that added an entry is a
    trusted proxy (``MVA_TRUSTED_PROXIES``): a client cannot name itself someone else by sending
    the header, since its own entry is the leftmost one a trusted proxy vouches for.
    """
    address = request.client.host if request.client else None
    if address is None or not trusted:
        return address
    hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",")]
    hops = [hop for hop in hops if hop]
    while hops and _is_trusted(address, trusted):
        address = hops.pop()
    return address


def _is_trusted(address: str, trusted: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)
