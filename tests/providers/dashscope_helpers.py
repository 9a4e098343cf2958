"""Shared by the DashScope provider tests: a provider on a MockTransport, and a Wan job."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from adapter.core.values import VideoJob
from adapter.providers.dashscope.provider import DashScopeProvider
from tests.models import DASHSCOPE, job

API_KEY = "sk-dashscope-test-key-0123456789abcdef"
NOW = 1_774_805_076.4
TASK_ID = "0385dc79-5ff8-4d82-bcb6-a1b2c3d4e5f6"
SUBMIT_PATH = "/api/v1/services/aigc/video-generation/video-synthesis"
PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ"


def dashscope(
    handler: Callable[[httpx.Request], httpx.Response], **overrides: Any
) -> DashScopeProvider:
    """A provider whose every request goes to ``handler`` (e.g. ``upstream.handle``)."""
    options: dict[str, Any] = {
        "base_url": "https://dashscope.example.com/",
        "http": httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        "api_key": API_KEY,
        "clock": lambda: NOW,
        "carried": DASHSCOPE,
        **overrides,
    }
    return DashScopeProvider("dashscope-test", **options)


def wan_job(model: str = "wan2-6-i2v-flash", **fields: Any) -> VideoJob:
    """A wan2-6-i2v-flash job with the schema's defaults; keyword arguments override."""
    values: dict[str, Any] = {"image_urls": ["https://example.com/first-frame.png"], **fields}
    return job(model, values)
