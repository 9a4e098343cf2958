"""One URL rule for every URL field: images, videos, audio (unfetched or not) and webhooks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest

from adapter.core.errors import InvalidRequest, MediaUnreachable, WebhookUndeliverable
from adapter.media import HttpMediaInspector
from adapter.webhooks.sender import HttpWebhookSender
from tests.media.fakes import PUBLIC_V4, FakeDns, MediaServer

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Field:
    """One URL field: its name in errors, how it is checked, the setting that exempts hosts."""

    param: str
    check: Callable[[str], Awaitable[object]]
    setting: str
    fetched: bool


KINDS = ("image", "video", "audio", "webhook")


@pytest.fixture
async def fields(server: MediaServer, dns: FakeDns) -> AsyncIterator[dict[str, Field]]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(server.handle)) as http:
        inspector = HttpMediaInspector(http, resolve=dns)
        sender = HttpWebhookSender(http, resolve=dns)
        media = "MVA_MEDIA_ALLOW_HOSTS"

        async def image(url: str) -> object:
            return await inspector.inspect_image(url, param="input.image_url")

        async def video(url: str) -> object:
            return await inspector.inspect_video(url, param="input.video_url")

        async def audio(url: str) -> object:
            return await inspector.check_url(url, param="input.audio_url")

        async def webhook(url: str) -> object:
            await sender.check(url, param="webhook_url")
            return await sender.post(url, b"{}", {})

        yield {
            "image": Field("input.image_url", image, media, fetched=False),
            "video": Field("input.video_url", video, media, fetched=True),
            "audio": Field("input.audio_url", audio, media, fetched=False),
            "webhook": Field("webhook_url", webhook, "MVA_WEBHOOK_ALLOW_HOSTS", fetched=True),
        }


async def refused(field: Field, url: str) -> InvalidRequest:
    """Assert ``url`` is refused as invalid (not merely unreachable), naming the field."""
    with pytest.raises(InvalidRequest) as caught:
        await field.check(url)
    assert not isinstance(caught.value, MediaUnreachable), caught.value.message
    assert caught.value.param == field.param
    return caught.value


#: Loopback, private and link-local hosts in the spellings getaddrinfo and URL parsers take
#: (issue 9, and a few more), and names only a local network resolves.
NON_PUBLIC_HOSTS = [
    "127.2",
    "0x7f000002",
    "2130706434",
    "0x7f.0.0.1",
    "0",
    "127.0.0.1.",
    "localhost",
    "LOCALHOST.",
    "foo.localhost",
    "10.1",
    "0xa9fea9fe",
    "169.254.43518",
    "017700000001",
    "0x7f.1",
    "0x",
    "[::ffff:127.0.0.1]",
    "[::ffff:a9fe:a9fe]",
    "[0:0:0:0:0:ffff:10.0.0.1]",
    "[64:ff9b::a9fe:a9fe]",
    "[2002:7f00:1::1]",
    "[::1]",
    "metadata.google.internal",
    "printer.local",
    "metadata",
]
#: Hosts no resolver should be asked about: refused, never decoded one way here and
#: another way at the upstream.
MALFORMED_HOSTS = [
    "%31%32%37.0.0.1",
    "127.0.0.1%2e",
    "ex%61mple.com",
    "012.0.0.1",  # four dotted parts with a leading zero: httpx refuses the URL
    "0177.0.0.1",
    "127.0.0.1\\.media.example",
    "1.2.3.4.5",
    "[fe80::1%25eth0]",
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("host", NON_PUBLIC_HOSTS)
async def test_a_non_public_host_in_any_spelling_is_refused_naming_the_setting(
    fields: dict[str, Field], server: MediaServer, dns: FakeDns, kind: str, host: str
) -> None:
    """Judged on its face, with no lookup (here none would resolve), for every URL field."""
    field = fields[kind]
    error = await refused(field, f"https://{host}/media/file")
    assert field.setting in error.message
    assert server.requests == []
    assert dns.lookups == []


async def test_the_refusal_shows_how_an_odd_spelling_was_read(fields: dict[str, Field]) -> None:
    """The client sees which address its host is, not just that it was refused."""
    error = await refused(fields["image"], "https://0xa9fea9fe/latest/meta-data/")
    assert "'0xa9fea9fe' (169.254.169.254)" in error.message


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("host", MALFORMED_HOSTS)
async def test_a_malformed_host_is_refused(
    fields: dict[str, Field], server: MediaServer, dns: FakeDns, kind: str, host: str
) -> None:
    """Percent-encoded, backslashed or numerically impossible hosts are not hosts."""
    await refused(fields[kind], f"https://{host}/media/file")
    assert server.requests == []
    assert dns.lookups == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "url",
    [
        "https://user:password@media.example/file",
        "https://user@media.example/file",
        "https://:password@media.example/file",
        "https://media.example\\@127.0.0.1/file",
    ],
)
async def test_credentials_in_a_url_are_refused_naming_the_field(
    fields: dict[str, Field], server: MediaServer, kind: str, url: str
) -> None:
    """user:password@ is a 422 on the field, before any lookup or request."""
    error = await refused(fields[kind], url)
    assert "user name or password" in error.message
    assert server.requests == []


@pytest.mark.parametrize("kind", KINDS)
async def test_plain_http_is_refused_naming_the_setting(
    fields: dict[str, Field], server: MediaServer, kind: str
) -> None:
    """http:// needs the host in the field's allow-list, and the message says which."""
    field = fields[kind]
    error = await refused(field, "http://media.example/file")
    assert "http://" in error.message and field.setting in error.message
    assert server.requests == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("addresses", [["10.0.0.1"], [PUBLIC_V4, "127.0.0.1"], ["::1"]])
async def test_a_name_resolving_to_a_non_public_address_is_refused(
    fields: dict[str, Field], server: MediaServer, dns: FakeDns, kind: str, addresses: list[str]
) -> None:
    """URLs handed on unfetched are resolved too: every address must be public."""
    field = fields[kind]
    dns.records["cdn.media.example"] = addresses
    error = await refused(field, "https://cdn.media.example/file")
    assert "non-public address" in error.message and field.setting in error.message
    assert server.requests == []


@pytest.mark.parametrize("kind", ["image", "audio"])
async def test_an_unfetched_url_whose_host_does_not_resolve_here_is_accepted(
    fields: dict[str, Field], server: MediaServer, dns: FakeDns, kind: str
) -> None:
    """The upstream resolves what it fetches; a lookup failing here is no refusal."""
    await fields[kind].check("https://nowhere.example/file")
    assert dns.lookups == ["nowhere.example"]
    assert server.requests == []


@pytest.mark.parametrize("kind", ["image", "audio"])
async def test_an_unfetched_url_whose_lookup_stalls_is_accepted_after_a_bound(
    server: MediaServer, dns: FakeDns, kind: str
) -> None:
    """A slow lookup holds the request up for at most ``unfetched_lookup_s``."""
    dns.delay = 5
    async with httpx.AsyncClient(transport=httpx.MockTransport(server.handle)) as http:
        inspector = HttpMediaInspector(http, resolve=dns, unfetched_lookup_s=0.05)
        if kind == "image":
            await inspector.inspect_image("https://media.example/a.png", param="input.image_url")
        else:
            await inspector.check_url("https://media.example/a.mp3", param="input.audio_url")


@pytest.mark.parametrize("kind", ["image", "audio", "webhook"])
@pytest.mark.parametrize("host", ["93.184.216.34", "0x5db8d822", "media.example"])
async def test_a_public_host_passes_in_any_spelling(
    fields: dict[str, Field], server: MediaServer, kind: str, host: str
) -> None:
    """The rule refuses what is not public, not what is spelled unusually."""
    server.answer(f"https://{host}/file", 204)
    await fields[kind].check(f"https://{host}/file")


async def test_audio_takes_no_data_uri(fields: dict[str, Field]) -> None:
    """The upstream fetches audio by URL only."""
    error = await refused(fields["audio"], "data:audio/mpeg;base64,SUQz")
    assert "send an https:// URL" in error.message


async def test_a_webhook_attempt_to_a_refused_url_is_undeliverable(
    server: MediaServer,
) -> None:
    """A URL stored before the rule (credentials) fails each attempt, recorded as such."""
    async with httpx.AsyncClient(transport=httpx.MockTransport(server.handle)) as http:
        sender = HttpWebhookSender(http, resolve=FakeDns())
        with pytest.raises(WebhookUndeliverable, match="user name or password"):
            await sender.post("https://user:pw@media.example/hook", b"{}", {})
    assert server.requests == []
