"""What a URL's host denotes, read the way URL libraries and the C resolver read it.

``https://0x7f000002/`` and ``https://127.2/`` are loopback to ``getaddrinfo`` (it takes every
``inet_aton`` form) and to WHATWG URL parsers (browsers, Node, many HTTP clients), although
they are not IP literals to ``ipaddress``. ``parse_host`` reads them as those do, so that
one address rule holds whichever library later connects, here or at an upstream:

- IPv4 in 1-4 dot-separated parts, each decimal, octal (leading ``0``) or hex (``0x``), the
  last filling the remaining bytes (``127.1`` is 127.0.0.1, ``2130706433`` too); one trailing
  dot allowed. A host whose last label is a number but that is no such address is malformed.
- IPv6 literals as ``ipaddress`` reads them; a zone (``%eth0``) is refused.
- Names: ASCII labels of letters, digits, ``-`` and ``_`` (IDNs arrive here as punycode), so
  a percent-encoded or backslashed host is refused rather than decoded one way here and
  another way elsewhere. Names only a local network can resolve are refused outright.
"""

from __future__ import annotations

import ipaddress
import re

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_LABEL = re.compile(r"[a-z0-9_-]{1,63}")
_DIGITS = {8: frozenset("01234567"), 10: frozenset("0123456789"), 16: frozenset("0123456789abcdef")}
#: Special-use names no public resolver answers: RFC 6761 (localhost), RFC 6762 (local),
#: RFC 8375 (home.arpa), and ICANN's 2024 private-use TLD (internal).
LOCAL_SUFFIXES = ("localhost", "local", "home.arpa", "internal")


class HostError(ValueError):
    """A host that is refused before any lookup; ``reason`` completes "the host ... is"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MalformedHost(HostError):
    """Not a host name or address any resolver should be asked about."""


class LocalName(HostError):
    """A name that only resolves inside a local network (an allow-list may still admit it)."""


def parse_host(host: str) -> IPAddress | None:
    """The address ``host`` spells (brackets stripped), or None when it is a DNS name.

    Raises:
        MalformedHost: not a valid name or address (percent-encoding, a zone, a bad number).
        LocalName: ``localhost``, ``*.localhost``, ``.local``, ``.internal``, ``.home.arpa``,
            or a single label (completed by local search domains).
    """
    host = host.lower()
    if ":" in host:
        if "%" in host:
            raise MalformedHost("an IPv6 address with a zone")
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise MalformedHost("not a valid IPv6 address") from None
    name = host.removesuffix(".")
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in name.split(".")):
        raise MalformedHost(
            "not a valid host name (dot-separated labels of letters, digits, '-' and '_'; "
            "no percent-encoding)"
        )
    labels = name.split(".")
    if labels[-1].isdigit() or _ipv4_part(labels[-1]) is not None:
        # WHATWG's "ends in a number": an IPv4 address, or no valid host at all.
        return _ipv4(labels)
    if name == "localhost" or name.endswith(tuple(f".{suffix}" for suffix in LOCAL_SUFFIXES)):
        raise LocalName("a name for this machine or a local network")
    if name in LOCAL_SUFFIXES or len(labels) == 1:
        raise LocalName("a name without a domain, which only a local network resolves")
    return None


def _ipv4(labels: list[str]) -> ipaddress.IPv4Address:
    """``inet_aton``: a.b.c.d, a.b.c (c: 16 bits), a.b (b: 24 bits), a (32 bits)."""
    numbers = [_ipv4_part(label) for label in labels]
    if len(numbers) > 4 or any(number is None for number in numbers):
        raise MalformedHost("a number that is not an IPv4 address")
    *head, last = [number for number in numbers if number is not None]
    if any(number > 255 for number in head) or last >= 256 ** (4 - len(head)):
        raise MalformedHost("an IPv4 address with a part out of range")
    value = last
    for index, number in enumerate(head):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _ipv4_part(label: str) -> int | None:
    """One part as ``inet_aton`` reads it: ``0x`` hex, leading-``0`` octal, else decimal."""
    if label.startswith("0x"):
        digits, base = label[2:], 16
    elif len(label) > 1 and label.startswith("0"):
        digits, base = label[1:], 8
    else:
        digits, base = label, 10
    if not digits:
        return 0  # "0x" alone is zero, to inet_aton and to WHATWG parsers alike
    if not set(digits) <= _DIGITS[base]:
        return None
    return int(digits, base)
