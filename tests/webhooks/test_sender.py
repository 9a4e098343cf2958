"""HttpWebhookSender: the media SSRF rules on every attempt, the receiver's status, no redirects."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from adapter.core.errors import InvalidRequest, WebhookUndeliverable
from adapter.webhooks.sender import HttpWebhookSender
from tests.media.fakes import PUBLIC_V4, FakeDns

pytestmark = pytest.mark.anyio

HOOK = "https://hooks.example/mindvideo"
BODY = b'{"type":"task.succeeded"}'
HEADERS = {"content-type": "application/json", "webhook-id": "msg_1"}


class Receiver:
    """A webhook receiver behind httpx.MockTransport: answers ``status``, records each request."""

    def __init__(self) -> None:
        self.status = 200
        self.headers: dict[str, str] = {}
        self.error: Exception | None = None
        self.requests: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        return httpx.Response(self.status, headers=self.headers)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def dns() -> FakeDns:
    dns = FakeDns()
    dns.records.update({"hooks.example": [PUBLIC_V4], "hooks.local": ["127.0.0.1"]})
    return dns


@pytest.fixture
async def make_sender(
    receiver: Receiver, dns: FakeDns
) -> AsyncIterator[Callable[..., HttpWebhookSender]]:
    clients: list[httpx.AsyncClient] = []

    def make(*, follow_redirects: bool = False, **options: object) -> HttpWebhookSender:
        http = httpx.AsyncClient(
            transport=httpx.MockTransport(receiver.handle), follow_redirects=follow_redirects
        )
        clients.append(http)
        return HttpWebhookSender(http, resolve=dns, **options)  # type: ignore[arg-type]

    yield make
    for http in clients:
        await http.aclose()


@pytest.fixture
def sender(make_sender: Callable[..., HttpWebhookSender]) -> HttpWebhookSender:
    return make_sender()


async def test_a_public_https_url_gets_the_body_and_headers(
    sender: HttpWebhookSender, receiver: Receiver
) -> None:
    """The POST carries the signed body and headers as given."""
    await sender.check(HOOK, param="webhook_url")
    assert await sender.post(HOOK, BODY, HEADERS) == 200
    [request] = receiver.requests
    assert (request.method, str(request.url)) == ("POST", HOOK)
    assert request.content == BODY
    assert request.headers["webhook-id"] == "msg_1"


@pytest.mark.parametrize("status", [204, 400, 500, 503])
async def test_the_receivers_status_is_returned_as_it_is(
    sender: HttpWebhookSender, receiver: Receiver, status: int
) -> None:
    """Deciding what counts as delivered is the dispatcher's job."""
    receiver.status = status
    assert await sender.post(HOOK, BODY, HEADERS) == status


async def test_plain_http_to_a_public_host_is_refused(
    sender: HttpWebhookSender, receiver: Receiver
) -> None:
    """InvalidRequest naming the field at submit; undeliverable at attempt; nothing sent."""
    with pytest.raises(InvalidRequest, match="http://") as caught:
        await sender.check("http://hooks.example/mindvideo", param="webhook_url")
    assert caught.value.param == "webhook_url"
    with pytest.raises(WebhookUndeliverable):
        await sender.post("http://hooks.example/mindvideo", BODY, HEADERS)
    assert receiver.requests == []


@pytest.mark.parametrize("address", ["10.0.0.1", "127.0.0.1", "169.254.169.254", "::1"])
async def test_a_host_resolving_to_a_non_public_address_is_refused(
    sender: HttpWebhookSender, receiver: Receiver, dns: FakeDns, address: str
) -> None:
    """Private, loopback and link-local (cloud metadata) receivers are never POSTed to."""
    dns.records["hooks.example"] = [PUBLIC_V4, address]
    with pytest.raises(InvalidRequest, match="non-public") as caught:
        await sender.check(HOOK, param="webhook_url")
    assert caught.value.param == "webhook_url"
    with pytest.raises(WebhookUndeliverable, match="non-public"):
        await sender.post(HOOK, BODY, HEADERS)
    assert receiver.requests == []


@pytest.mark.parametrize("url", ["https://10.0.0.1/hook", "https://[::1]/hook"])
async def test_an_ip_literal_that_is_not_public_is_refused(
    sender: HttpWebhookSender, receiver: Receiver, url: str
) -> None:
    """No DNS needed to refuse an address written into the URL."""
    with pytest.raises(InvalidRequest):
        await sender.check(url, param="webhook_url")
    with pytest.raises(WebhookUndeliverable):
        await sender.post(url, BODY, HEADERS)
    assert receiver.requests == []


async def test_the_address_is_checked_again_before_every_attempt(
    sender: HttpWebhookSender, receiver: Receiver, dns: FakeDns
) -> None:
    """Retries span hours: a name that moved to a private address since submit is refused."""
    await sender.check(HOOK, param="webhook_url")
    dns.records["hooks.example"] = ["10.0.0.1"]
    with pytest.raises(WebhookUndeliverable):
        await sender.post(HOOK, BODY, HEADERS)
    assert receiver.requests == []


async def test_a_host_that_does_not_resolve_is_refused(
    sender: HttpWebhookSender, receiver: Receiver
) -> None:
    """Refused at submit naming the field, undeliverable at attempt."""
    with pytest.raises(InvalidRequest) as caught:
        await sender.check("https://nowhere.example/hook", param="webhook_url")
    assert caught.value.param == "webhook_url"
    with pytest.raises(WebhookUndeliverable, match="could not be resolved"):
        await sender.post("https://nowhere.example/hook", BODY, HEADERS)


@pytest.mark.parametrize("url", ["data:text/plain,hi", "ftp://hooks.example/x", "not a url"])
async def test_anything_but_an_http_url_is_refused(sender: HttpWebhookSender, url: str) -> None:
    """Data URIs, other schemes and non-URLs name the field."""
    with pytest.raises(InvalidRequest) as caught:
        await sender.check(url, param="webhook_url")
    assert caught.value.param == "webhook_url"


async def test_an_allow_listed_host_may_be_local_and_plain_http(
    make_sender: Callable[..., HttpWebhookSender], receiver: Receiver, dns: FakeDns
) -> None:
    """MVA_WEBHOOK_ALLOW_HOSTS: a local receiver over http, without the address check."""
    sender = make_sender(allow_hosts=frozenset({"hooks.local"}))
    await sender.check("http://hooks.local:8080/in", param="webhook_url")
    assert await sender.post("http://hooks.local:8080/in", BODY, HEADERS) == 200
    assert [str(r.url) for r in receiver.requests] == ["http://hooks.local:8080/in"]
    assert "hooks.local" not in dns.lookups


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (httpx.ConnectError("refused"), "the connection failed (ConnectError)"),
        (httpx.RemoteProtocolError("reset"), "the transfer failed (RemoteProtocolError)"),
        (httpx.ConnectTimeout("slow"), "timeout: the server did not answer within 10 s"),
        (httpx.ReadTimeout("slow"), "timeout: the server did not answer within 10 s"),
    ],
)
async def test_no_answer_is_undeliverable(
    sender: HttpWebhookSender, receiver: Receiver, error: Exception, reason: str
) -> None:
    """Connection errors and timeouts become WebhookUndeliverable (a retried attempt)."""
    receiver.error = error
    with pytest.raises(WebhookUndeliverable) as caught:
        await sender.post(HOOK, BODY, HEADERS)
    assert caught.value.message == reason


@pytest.mark.parametrize("follow_redirects", [False, True])
async def test_a_redirect_is_not_followed(
    make_sender: Callable[..., HttpWebhookSender], receiver: Receiver, follow_redirects: bool
) -> None:
    """A 3xx is the attempt's answer (a failure), even on a client that follows redirects."""
    sender = make_sender(follow_redirects=follow_redirects)
    receiver.status = 307
    receiver.headers = {"location": "http://127.0.0.1:6379/"}
    assert await sender.post(HOOK, BODY, HEADERS) == 307
    assert [str(r.url) for r in receiver.requests] == [HOOK]
