"""Which video URLs are fetched, how: the SSRF guard, redirects, allow-list, rewrites, errors."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from adapter.core.errors import InvalidRequest, MediaUnreachable
from adapter.media import HttpMediaInspector
from adapter.simulator.mp4 import build_mp4
from tests.media.fakes import PUBLIC_V6, FakeDns, MediaServer

pytestmark = pytest.mark.anyio

PARAM = "input.video_url"
URL = "https://media.example/ref.mp4"
VIDEO = build_mp4(8)


async def refused(inspector: HttpMediaInspector, url: str, match: str) -> InvalidRequest:
    """Assert ``url`` is refused as invalid (not unreachable), naming the param."""
    with pytest.raises(InvalidRequest, match=match) as caught:
        await inspector.inspect_video(url, param=PARAM)
    assert not isinstance(caught.value, MediaUnreachable)
    assert caught.value.param == PARAM
    return caught.value


async def unreachable(inspector: HttpMediaInspector, url: str, match: str) -> None:
    """Assert ``url`` is refused as unreachable, naming the param."""
    with pytest.raises(MediaUnreachable, match=match) as caught:
        await inspector.inspect_video(url, param=PARAM)
    assert caught.value.param == PARAM


@pytest.mark.parametrize(
    ("addresses", "label"),
    [
        (["10.0.0.5"], "private"),
        (["127.0.0.1"], "loopback"),
        (["169.254.169.254"], "link-local metadata"),
        (["::ffff:127.0.0.1"], "IPv4-mapped loopback"),
        (["fe80::1%eth0"], "IPv6 link-local with zone"),
        (["93.184.216.34", "192.168.0.10"], "one public, one private"),
        (["not-an-address"], "unparsable"),
    ],
)
async def test_host_resolving_to_internal_address_is_refused_unfetched(
    inspector: HttpMediaInspector,
    server: MediaServer,
    dns: FakeDns,
    addresses: list[str],
    label: str,
) -> None:
    """If any resolved address is not public, nothing is fetched."""
    dns.records["sneaky.example"] = addresses
    await refused(inspector, "https://sneaky.example/ref.mp4", "non-public address")
    assert server.requests == [], label


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/ref.mp4",
        "https://10.1.1.1:8443/ref.mp4",
        "https://[::1]/ref.mp4",
        "https://[::ffff:169.254.169.254]/ref.mp4",
        "https://0.0.0.0/ref.mp4",
    ],
)
async def test_internal_ip_literal_is_refused_without_dns(
    inspector: HttpMediaInspector, server: MediaServer, dns: FakeDns, url: str
) -> None:
    """IP literals in the URL are judged as they are."""
    await refused(inspector, url, "non-public address")
    assert server.requests == []
    assert dns.lookups == []


async def test_public_ipv6_host_is_fetched(
    inspector: HttpMediaInspector, server: MediaServer, dns: FakeDns
) -> None:
    """A host with only public IPv6 addresses passes the guard."""
    dns.records["v6.example"] = [PUBLIC_V6]
    server.serve("https://v6.example/ref.mp4", VIDEO)
    info = await inspector.inspect_video("https://v6.example/ref.mp4", param=PARAM)
    assert info.duration_s == 8


async def test_host_is_resolved_before_every_request(
    inspector: HttpMediaInspector, server: MediaServer, dns: FakeDns
) -> None:
    """Each range request re-checks the address, so a later answer cannot slip through."""
    server.serve(URL, build_mp4(8, moov_at_end=True, mdat_size=200_000))
    await inspector.inspect_video(URL, param=PARAM)
    assert dns.lookups == ["media.example", "media.example"]


async def test_redirect_to_private_address_is_refused(
    inspector: HttpMediaInspector, server: MediaServer, dns: FakeDns
) -> None:
    """A public URL that redirects inside the network is refused before the second hop."""
    dns.records["internal.example"] = ["10.0.0.7"]
    server.redirect(URL, "https://internal.example/admin")
    error = await refused(inspector, URL, "redirects to 'internal.example'")
    assert "non-public address" in error.message
    assert [str(r.url) for r in server.requests] == [URL]


async def test_redirect_to_ip_literal_is_refused(
    inspector: HttpMediaInspector, server: MediaServer
) -> None:
    """A redirect straight to the metadata address is refused."""
    server.redirect(URL, "http://169.254.169.254/latest/meta-data/")
    await refused(inspector, URL, "plain http://")
    server.redirect(URL, "https://169.254.169.254/latest/meta-data/")
    await refused(inspector, URL, "non-public address")


async def test_redirects_are_followed_by_hand_and_remembered(
    inspector: HttpMediaInspector, server: MediaServer, dns: FakeDns
) -> None:
    """Relative and absolute redirects are followed; later ranges go to the final URL."""
    dns.records["cdn.example"] = ["151.101.1.1"]
    final = "https://cdn.example/store/ref.mp4"
    server.redirect(URL, "/signed/ref.mp4", status=301)
    server.redirect("https://media.example/signed/ref.mp4", final, status=307)
    server.serve(final, build_mp4(8, moov_at_end=True, mdat_size=200_000))
    info = await inspector.inspect_video(URL, param=PARAM)
    assert info.duration_s == 8
    assert [str(r.url) for r in server.requests] == [
        URL,
        "https://media.example/signed/ref.mp4",
        final,
        final,
    ]


async def test_more_than_five_redirects_are_unreachable(
    inspector: HttpMediaInspector, server: MediaServer
) -> None:
    """A redirect loop stops after five hops."""
    server.redirect(URL, URL)
    await unreachable(inspector, URL, "more than 5 redirects")
    assert len(server.requests) == 6


async def test_redirect_to_another_scheme_is_refused(
    inspector: HttpMediaInspector, server: MediaServer
) -> None:
    """Only http(s) Locations are followed."""
    server.redirect(URL, "file:///etc/passwd")
    await refused(inspector, URL, "redirects to a file: URL")


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("http://media.example/ref.mp4", "plain http:// URL; only https://"),
        ("ftp://media.example/ref.mp4", "is a ftp: URL; send an https:// URL or a data URI"),
        ("//media.example/ref.mp4", "is not a URL"),
        ("https://media.example:abc/ref.mp4", "is not a valid URL"),
    ],
)
async def test_video_url_of_wrong_form_is_refused(
    inspector: HttpMediaInspector, server: MediaServer, url: str, match: str
) -> None:
    """Only https URLs are fetched for ordinary hosts."""
    await refused(inspector, url, match)
    assert server.requests == []


async def test_allow_listed_host_may_be_loopback_over_http(
    make_inspector: Callable[..., HttpMediaInspector], server: MediaServer, dns: FakeDns
) -> None:
    """allow_hosts exempts a host from the address rule and permits plain http."""
    dns.records["localhost"] = ["127.0.0.1"]
    server.serve("http://localhost:9100/ref.mp4", VIDEO)
    inspector = make_inspector(allow_hosts=frozenset({"localhost"}))
    info = await inspector.inspect_video("http://localhost:9100/ref.mp4", param=PARAM)
    assert info.duration_s == 8
    assert dns.lookups == []


async def test_rewritten_host_is_fetched_from_its_base(
    make_inspector: Callable[..., HttpMediaInspector], server: MediaServer, dns: FakeDns
) -> None:
    """A rewrite maps the host onto a base URL, keeping path and query, with no DNS check."""
    server.serve("http://127.0.0.1:9100/media/a/ref-8s.mp4?sig=a%2Fb", VIDEO)
    inspector = make_inspector(rewrites={"example.com": "http://127.0.0.1:9100/media/"})
    info = await inspector.inspect_video("https://example.com/a/ref-8s.mp4?sig=a%2Fb", param=PARAM)
    assert info.duration_s == 8
    assert [str(r.url) for r in server.requests] == [
        "http://127.0.0.1:9100/media/a/ref-8s.mp4?sig=a%2Fb"
    ]
    assert dns.lookups == []


async def test_rewrite_trusts_its_target_origin_only(
    make_inspector: Callable[..., HttpMediaInspector], server: MediaServer
) -> None:
    """Trusting 127.0.0.1:9100 for a rewrite does not open other ports on it."""
    inspector = make_inspector(rewrites={"example.com": "http://127.0.0.1:9100/media"})
    server.serve("http://127.0.0.1:9100/media/ref.mp4", VIDEO)
    info = await inspector.inspect_video("http://127.0.0.1:9100/media/ref.mp4", param=PARAM)
    assert info.duration_s == 8
    await refused(inspector, "http://127.0.0.1:6379/", "plain http://")
    await refused(inspector, "https://127.0.0.1:6379/", "non-public address")


async def test_http_404_is_unreachable(inspector: HttpMediaInspector) -> None:
    """A URL that answers 404 could not be read."""
    await unreachable(inspector, "https://media.example/missing.mp4", "answered HTTP 404")


@pytest.mark.parametrize("status", [403, 500, 503])
async def test_http_error_statuses_are_unreachable(
    inspector: HttpMediaInspector, server: MediaServer, status: int
) -> None:
    """Any status of 400 and above means the file could not be read."""
    server.answer(URL, status)
    await unreachable(inspector, URL, f"answered HTTP {status}")


@pytest.mark.parametrize(
    ("error", "match"),
    [
        (httpx.ConnectError, r"the connection failed \(ConnectError\)"),
        (httpx.ConnectTimeout, "timeout: the server did not answer"),
        (httpx.ReadTimeout, "timeout: the server did not answer"),
        (httpx.RemoteProtocolError, r"transfer failed \(RemoteProtocolError\)"),
    ],
)
async def test_network_errors_are_unreachable(
    inspector: HttpMediaInspector,
    server: MediaServer,
    error: type[httpx.TransportError],
    match: str,
) -> None:
    """httpx's errors become MediaUnreachable, with the original as the cause."""
    server.fail(URL, error)
    with pytest.raises(MediaUnreachable, match=match) as caught:
        await inspector.inspect_video(URL, param=PARAM)
    assert isinstance(caught.value.__cause__, error)


async def test_unresolvable_host_is_unreachable(inspector: HttpMediaInspector) -> None:
    """A name that does not resolve could not be read."""
    await unreachable(inspector, "https://nowhere.example/ref.mp4", "could not be resolved")


async def test_whole_probe_is_bounded_by_the_timeout(
    make_inspector: Callable[..., HttpMediaInspector], dns: FakeDns
) -> None:
    """A stalled step (here DNS) ends in MediaUnreachable when the timeout passes."""
    dns.delay = 5
    inspector = make_inspector(timeout=0.05)
    await unreachable(inspector, URL, "could not be read: timeout: no answer within 0.05 s")
