"""``parse_host``: a URL's host read as getaddrinfo and WHATWG URL parsers read it."""

from __future__ import annotations

import ipaddress

import pytest

from adapter.outbound.hosts import LocalName, MalformedHost, parse_host


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.2", "127.0.0.2"),  # a.b: b fills 24 bits
        ("127.0.2", "127.0.0.2"),  # a.b.c: c fills 16 bits
        ("0x7f000002", "127.0.0.2"),  # one hex number
        ("0X7F000002", "127.0.0.2"),
        ("2130706434", "127.0.0.2"),  # one decimal number
        ("017700000002", "127.0.0.2"),  # one octal number
        ("0x7f.0.0.1", "127.0.0.1"),  # hex part
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),  # octal part
        ("012.0.0.1", "10.0.0.1"),  # a leading zero is octal, not decimal 12
        ("0", "0.0.0.0"),
        ("0x", "0.0.0.0"),  # an empty hex number is zero
        ("10.1", "10.0.0.1"),
        ("0xa9fea9fe", "169.254.169.254"),  # cloud metadata
        ("169.254.43518", "169.254.169.254"),
        ("127.0.0.1.", "127.0.0.1"),  # one trailing dot
        ("0x7f000001.", "127.0.0.1"),
        ("93.184.216.34", "93.184.216.34"),
        ("0x5db8d822", "93.184.216.34"),  # a public address in any spelling is one
        ("::1", "::1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("0:0:0:0:0:ffff:127.0.0.1", "::ffff:7f00:1"),
        ("::FFFF:7F00:1", "::ffff:7f00:1"),
    ],
)
def test_every_ipv4_spelling_reads_as_its_address(host: str, address: str) -> None:
    """inet_aton's 1-4 parts in decimal, octal or hex, a trailing dot, and IPv6 literals."""
    assert parse_host(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize(
    "host",
    ["media.example", "cdn.media.example.", "xn--bcher-kva.de", "a_b.example", "0x7f.example"],
)
def test_names_are_left_for_dns(host: str) -> None:
    """A host whose last label is not a number is a name, to be resolved."""
    assert parse_host(host) is None


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "LOCALHOST",
        "localhost.",
        "foo.localhost",
        "a.b.localhost.",
        "printer.local",
        "metadata.google.internal",
        "router.home.arpa",
        "metadata",  # one label: completed by the local search domains
        "redis.",
        "internal",
    ],
)
def test_local_only_names_are_refused_without_a_lookup(host: str) -> None:
    """localhost and *.localhost, mDNS, private-use TLDs and single labels resolve locally only."""
    with pytest.raises(LocalName):
        parse_host(host)


@pytest.mark.parametrize(
    "host",
    [
        "%31%32%37.0.0.1",  # percent-encoded 127.0.0.1
        "ex%61mple.com",
        "127.0.0.1%00",
        "127.0.0.1\\.media.example",  # a WHATWG parser ends the host at the backslash
        "%20media.example",
        "a..b",
        "127.0.0.1..",
        ".",
        "",
        "1.2.3.4.5",  # ends in a number, but five parts
        "256.0.0.1",
        "1.2.3.08",  # 8 is no octal digit
        "0x100000000",
        "1.2.65536",
        "fe80::1%eth0",  # a zone
        "fe80::1%25eth0",
        "::ffff:127.0.0.1:80",
        "a" * 64 + ".example",
    ],
)
def test_malformed_hosts_are_refused_rather_than_decoded(host: str) -> None:
    """Percent-encoding, stray characters, empty labels and bad numbers are no host at all."""
    with pytest.raises(MalformedHost):
        parse_host(host)
