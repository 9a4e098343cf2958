"""What httpx-aiohttp lets through unmapped is still translated at our boundaries."""

from __future__ import annotations

import aiohttp
import pytest
from multidict import CIMultiDict
from yarl import URL

from adapter.core.errors import MediaUnreachable, ProviderOutcomeUnknown
from adapter.media.httpfile import _mapped_errors
from adapter.providers._http import map_httpx_errors


def malformed_answer() -> aiohttp.ClientResponseError:
    info = aiohttp.RequestInfo(
        URL("http://upstream.test/"), "POST", CIMultiDict(), URL("http://upstream.test/")
    )
    return aiohttp.ClientResponseError(info, (), status=400, message="invalid status line")


def test_a_malformed_upstream_answer_is_an_unknown_outcome() -> None:
    """The request was sent; a garbled answer must not become a 500 or a resubmit."""
    with pytest.raises(ProviderOutcomeUnknown), map_httpx_errors("kling"):
        raise malformed_answer()


def test_a_malformed_media_answer_is_unreachable_media() -> None:
    """A media server answering garbage is the user's URL at fault, not our bug."""
    with pytest.raises(MediaUnreachable) as caught, _mapped_errors("input.video_url"):
        raise malformed_answer()
    assert caught.value.param == "input.video_url"
