"""Fixtures for provider tests: a scripted Kling-style upstream on ``httpx.MockTransport``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapter.core.values import VideoJob
from adapter.providers.kling.provider import KlingProvider
from tests.models import KLING, job

FIXTURES = Path(__file__).parent / "fixtures"

API_KEY = "sk-gateway-test-key-0123456789abcdef"
ACCESS_KEY = "ak-test-0123456789"
#: pyjwt warns about HMAC keys under 32 bytes, and warnings are errors here.
SECRET_KEY = "sk-official-test-secret-0123456789abcdef"
NOW = 1_774_805_076.4


class Upstream:
    """Records every request and answers from a script, oldest answer first."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._answers: list[httpx.Response | Exception] = []

    def answer(
        self,
        status: int = 200,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if json is not None:
            self._answers.append(httpx.Response(status, json=json, headers=headers))
        else:
            self._answers.append(httpx.Response(status, content=content or b"", headers=headers))

    def fail(self, exc: Exception) -> None:
        self._answers.append(exc)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self._answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def last_json(self) -> Any:
        return json.loads(self.last.content)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Keys:
    """The credentials and clock the provider fixtures use."""

    api_key = API_KEY
    access_key = ACCESS_KEY
    secret_key = SECRET_KEY
    now = NOW


@pytest.fixture
def keys() -> type[Keys]:
    return Keys


@pytest.fixture
def load() -> Callable[[str], Any]:
    """Read a JSON fixture from ``tests/providers/fixtures``."""

    def read(name: str) -> Any:
        return json.loads((FIXTURES / name).read_text(encoding="utf-8"))

    return read


@pytest.fixture
def upstream() -> Upstream:
    return Upstream()


@pytest.fixture
def make_provider(upstream: Upstream) -> Callable[..., KlingProvider]:
    """Build a ``KlingProvider`` of either dialect talking to ``upstream``."""

    def make(dialect: str = "gateway", **overrides: Any) -> KlingProvider:
        keys: dict[str, Any] = (
            {"api_key": API_KEY}
            if dialect == "gateway"
            else {"access_key": ACCESS_KEY, "secret_key": SECRET_KEY}
        )
        options: dict[str, Any] = {
            "base_url": "https://kling.example.com/",
            "http": httpx.AsyncClient(transport=httpx.MockTransport(upstream.handle)),
            "dialect": dialect,
            "clock": lambda: NOW,
            "carried": KLING,
            **keys,
            **overrides,
        }
        return KlingProvider("kling-test", **options)

    return make


@pytest.fixture
def make_job() -> Callable[..., VideoJob]:
    """Build a motion-control job; keyword arguments override input fields (None drops one)."""

    def make(*, callback_url: str | None = None, **fields: Any) -> VideoJob:
        values: dict[str, Any] = {
            "image_url": "https://example.com/ref-image.png",
            "video_url": "https://example.com/ref-video-8s.mp4",
            "character_orientation": "image",
            "mode": "std",
            "keep_original_sound": "yes",
            "prompt": "按参考视频完成转身挥手动作",
            "watermark_info": {"enabled": False},
            **fields,
        }
        present = {field: value for field, value in values.items() if value is not None}
        return job("kling-v2-6-motion-control", present, callback_url=callback_url)

    return make
