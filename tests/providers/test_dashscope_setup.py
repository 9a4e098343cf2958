"""DashScopeProvider construction and configuration."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapter.core.errors import ProviderError, ProviderOutcomeUnknown, ProviderUnavailable
from adapter.ports import VideoProvider
from tests.models import DASHSCOPE
from tests.providers.dashscope_helpers import API_KEY, dashscope, wan_job

pytestmark = pytest.mark.anyio


def test_provider_fits_the_port_and_serves_its_table(upstream: Any) -> None:
    """DashScopeProvider is a VideoProvider serving wan2-6-i2v-flash as wan2.6-i2v-flash."""
    provider: VideoProvider = dashscope(upstream.handle)
    assert provider.name == "dashscope-test"
    assert provider.serves("wan2-6-i2v-flash")
    assert not provider.serves("kling-v2-6-motion-control")
    carrier = DASHSCOPE["wan2-6-i2v-flash"]
    assert (carrier.mapping, carrier.model_name) == ("wan-i2v", "wan2.6-i2v-flash")


def test_models_can_narrow_what_is_served(upstream: Any) -> None:
    """models= limits the provider to a subset of the table."""
    assert not dashscope(upstream.handle, models=[]).serves("wan2-6-i2v-flash")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"api_key": ""}, "needs an API key"),
        ({"base_url": "dashscope.aliyuncs.com"}, "http"),
        ({"models": ["wan2-6-i2v-flash", "wan9"]}, "wan9"),
    ],
)
def test_misconfiguration_fails_at_construction(
    upstream: Any, overrides: dict[str, Any], message: str
) -> None:
    """A missing key, a bad URL or an unknown model raise ValueError naming it, no secret."""
    with pytest.raises(ValueError, match=message) as caught:
        dashscope(upstream.handle, **overrides)
    assert API_KEY not in str(caught.value)


def test_repr_shows_no_secret(upstream: Any) -> None:
    """repr() names the provider only."""
    assert API_KEY not in repr(dashscope(upstream.handle))


@pytest.mark.parametrize(
    "base_url",
    ["https://dashscope.example.com", "https://dashscope.example.com/api/v1/"],
)
async def test_a_base_url_with_or_without_api_v1_works(
    upstream: Any, load: Any, base_url: str
) -> None:
    """The host, or the SDK-style base ending in /api/v1: the path is the same."""
    upstream.answer(json=load("dashscope_submit_ok.json"))
    await dashscope(upstream.handle, base_url=base_url).submit(wan_job())
    assert upstream.last.url.path == "/api/v1/services/aigc/video-generation/video-synthesis"


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ConnectError("refused"), ProviderUnavailable),
        (httpx.ReadTimeout("slow"), ProviderOutcomeUnknown),
        (httpx.RemoteProtocolError("reset"), ProviderOutcomeUnknown),
    ],
)
async def test_transport_errors_are_translated(
    upstream: Any, exc: Exception, expected: type[ProviderError]
) -> None:
    """Not connected -> unavailable; a timeout or reset after sending -> outcome unknown."""
    upstream.fail(exc)
    with pytest.raises(expected) as caught:
        await dashscope(upstream.handle).submit(wan_job())
    assert type(caught.value) is expected
