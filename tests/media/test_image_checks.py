"""``inspect_image``: jpg/png data URIs up to 10 MB; URLs checked, not fetched."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from adapter.core.errors import InvalidRequest, MediaUnreachable
from adapter.core.values import ImageInfo
from adapter.media import HttpMediaInspector
from tests.media.fakes import FakeDns, MediaServer

pytestmark = pytest.mark.anyio

PARAM = "input.image_url"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
JPEG = b"\xff\xd8\xff\xe0" + bytes(64)
GIF = b"GIF89a" + bytes(64)


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


@pytest.mark.parametrize(("data", "expected"), [(PNG, "png"), (JPEG, "jpg")])
async def test_png_and_jpeg_data_uris_are_accepted(
    inspector: HttpMediaInspector, data: bytes, expected: str
) -> None:
    """The format comes from the magic bytes, whatever the declared type."""
    info = await inspector.inspect_image(data_uri(data, "application/octet-stream"), param=PARAM)
    assert info == ImageInfo(source="data", format=expected, size_bytes=len(data))


async def test_gif_data_uri_is_refused_by_name(inspector: HttpMediaInspector) -> None:
    """A GIF is refused with a message that says what it is and what is accepted."""
    with pytest.raises(InvalidRequest, match="is a GIF image; accepted here: JPEG, PNG") as caught:
        await inspector.inspect_image(data_uri(GIF, "image/png"), param=PARAM)
    assert caught.value.param == PARAM


WEBP = b"RIFF" + bytes(4) + b"WEBP" + bytes(64)


async def test_a_webp_is_accepted_where_the_model_allows_it(inspector: HttpMediaInspector) -> None:
    """DashScope takes WEBP and BMP; Kling does not: the allowed formats are per model."""
    wan = frozenset({"jpg", "png", "bmp", "webp"})
    info = await inspector.inspect_image(data_uri(WEBP, "image/webp"), param=PARAM, formats=wan)
    assert info.format == "webp"
    with pytest.raises(InvalidRequest, match="is a WEBP image; accepted here: JPEG, PNG"):
        await inspector.inspect_image(data_uri(WEBP, "image/webp"), param=PARAM)


async def test_unrecognised_bytes_are_refused(inspector: HttpMediaInspector) -> None:
    """Bytes with no known image signature are refused."""
    with pytest.raises(InvalidRequest, match="not a recognised image"):
        await inspector.inspect_image(data_uri(b"hello world"), param=PARAM)


async def test_image_over_10_mb_is_refused(inspector: HttpMediaInspector) -> None:
    """One byte over 10 MB is too large, and the message states the limit."""
    big = PNG + bytes(10 * 1024 * 1024 + 1 - len(PNG))
    with pytest.raises(InvalidRequest, match="may be at most 10 MB") as caught:
        await inspector.inspect_image(data_uri(big), param=PARAM)
    assert caught.value.param == PARAM


async def test_image_of_exactly_10_mb_is_accepted(inspector: HttpMediaInspector) -> None:
    """The limit is inclusive."""
    exact = PNG + bytes(10 * 1024 * 1024 - len(PNG))
    info = await inspector.inspect_image(data_uri(exact), param=PARAM)
    assert info.size_bytes == 10 * 1024 * 1024


@pytest.mark.parametrize("payload", ["iVBOR*w0K", "iVBORw0KGgé="])
async def test_bad_base64_is_refused(inspector: HttpMediaInspector, payload: str) -> None:
    """A payload that is not base64 is an invalid request, not a crash."""
    with pytest.raises(InvalidRequest, match="not valid base64"):
        await inspector.inspect_image(f"data:image/png;base64,{payload}", param=PARAM)


async def test_unpadded_base64_is_refused(inspector: HttpMediaInspector) -> None:
    """Truncated base64 (missing padding) is refused."""
    with pytest.raises(InvalidRequest, match="not valid base64"):
        await inspector.inspect_image("data:image/png;base64,iVBORw0KGgo", param=PARAM)


async def test_base64_wrapped_over_lines_is_accepted(inspector: HttpMediaInspector) -> None:
    """Line breaks inside the payload (76-column encoders) carry no data and are skipped."""
    wrapped = base64.encodebytes(PNG).decode()
    info = await inspector.inspect_image(f"data:image/png;base64,{wrapped}", param=PARAM)
    assert info.format == "png"


@pytest.mark.parametrize(
    "value", ["data:image/png,rawbytes", "data:image/png;base64", "data:;base64,"]
)
async def test_data_uri_without_base64_payload_is_refused(
    inspector: HttpMediaInspector, value: str
) -> None:
    """Data URIs must be ``data:<type>;base64,<payload>`` with a payload."""
    with pytest.raises(InvalidRequest, match="data URI") as caught:
        await inspector.inspect_image(value, param=PARAM)
    assert caught.value.param == PARAM


async def test_image_url_is_handed_on_unfetched(
    inspector: HttpMediaInspector, server: MediaServer, dns: FakeDns
) -> None:
    """An https image URL is accepted without a request; its host is only looked up."""
    info = await inspector.inspect_image("https://media.example/cat.png", param=PARAM)
    assert info == ImageInfo(source="url")
    assert server.requests == []
    assert dns.lookups == ["media.example"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("http://media.example/cat.png", "plain http:// URL; only https://"),
        ("ftp://media.example/cat.png", "is a ftp: URL; send an https:// URL or a data URI"),
        ("file:///etc/passwd", "is a file: URL"),
        ("cat.png", "is not a URL; send an https:// URL"),
        ("https:///cat.png", "without a host"),
        ("https://127.0.0.1/cat.png", "non-public address"),
        ("https://[::ffff:10.0.0.1]/cat.png", "non-public address"),
    ],
)
async def test_image_url_of_wrong_form_is_refused(
    inspector: HttpMediaInspector, value: str, message: str
) -> None:
    """Only https URLs to hosts that are not internal IP literals are accepted."""
    with pytest.raises(InvalidRequest, match=message) as caught:
        await inspector.inspect_image(value, param=PARAM)
    assert not isinstance(caught.value, MediaUnreachable)
    assert caught.value.param == PARAM


async def test_allow_listed_host_may_use_http_for_images(
    make_inspector: Callable[..., HttpMediaInspector],
) -> None:
    """allow_hosts permits plain http and internal addresses (local development)."""
    inspector = make_inspector(allow_hosts=frozenset({"127.0.0.1"}))
    info = await inspector.inspect_image("http://127.0.0.1:8000/cat.png", param=PARAM)
    assert info.source == "url"
