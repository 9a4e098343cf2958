"""KlingProvider construction, configuration and the small mapping helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from msgspec.structs import replace

from adapter.ports import VideoProvider
from adapter.providers.kling.provider import KlingProvider, raw_media
from tests.models import KLING

MakeProvider = Callable[..., KlingProvider]


def test_provider_fits_the_port_and_serves_its_table(make_provider: MakeProvider) -> None:
    """KlingProvider is a VideoProvider and serves the model table's slugs."""
    provider: VideoProvider = make_provider()
    assert provider.name == "kling-test"
    assert provider.serves("kling-v2-6-motion-control")
    assert not provider.serves("wan2-6-i2v-flash")
    assert KLING["kling-v2-6-motion-control"].mapping == "motion-control"


def test_models_can_narrow_what_is_served(make_provider: MakeProvider) -> None:
    """models= limits the provider to a subset of the table."""
    assert not make_provider(models=[]).serves("kling-v2-6-motion-control")


@pytest.mark.parametrize(
    ("dialect", "overrides", "message"),
    [
        ("gateway", {"api_key": None}, "gateway Kling dialect needs KLING_API_KEY"),
        ("official", {"secret_key": None}, "needs KLING_ACCESS_KEY and KLING_SECRET_KEY"),
        ("official", {"access_key": ""}, "needs KLING_ACCESS_KEY and KLING_SECRET_KEY"),
        ("openai", {}, "unknown Kling dialect"),
        ("gateway", {"base_url": "kling.example.com"}, "KLING_BASE_URL"),
        ("gateway", {"models": ["kling-v9"]}, "kling-v9"),
        ("gateway", {"carried": {"kling-x": replace(KLING["kling-v3"], mapping="nope")}}, "nope"),
    ],
)
def test_misconfiguration_fails_at_construction(
    make_provider: MakeProvider, keys: Any, dialect: str, overrides: dict[str, Any], message: str
) -> None:
    """Missing credentials or bad options raise ValueError naming what is wrong, no secrets."""
    with pytest.raises(ValueError, match=message) as caught:
        make_provider(dialect, **overrides)
    assert keys.api_key not in str(caught.value)
    assert keys.secret_key not in str(caught.value)


def test_repr_shows_no_secrets(make_provider: MakeProvider, keys: Any) -> None:
    """repr() names the provider and dialect only."""
    text = repr(make_provider("official")) + repr(make_provider("gateway"))
    assert keys.secret_key not in text
    assert keys.api_key not in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("data:image/png;base64,QUJD", "QUJD"),
        ("data:video/mp4;base64,", ""),
        ("https://example.com/a.png", "https://example.com/a.png"),
        ("data:text/plain,hello", "data:text/plain,hello"),
    ],
)
def test_raw_media_strips_only_base64_data_uri_headers(value: str, expected: str) -> None:
    """Kling wants raw base64: the data: header goes, URLs stay."""
    assert raw_media(value) == expected
