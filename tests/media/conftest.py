"""Fixtures for the media checks: the fake web server and DNS, and inspectors over them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from adapter.media import HttpMediaInspector
from tests.media.fakes import FakeDns, MediaServer


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def server() -> MediaServer:
    return MediaServer()


@pytest.fixture
def dns() -> FakeDns:
    return FakeDns()


@pytest.fixture
async def make_inspector(
    server: MediaServer, dns: FakeDns
) -> AsyncIterator[Callable[..., HttpMediaInspector]]:
    """A factory of inspectors over ``server`` and ``dns``; keyword arguments pass through."""
    async with httpx.AsyncClient(transport=httpx.MockTransport(server.handle)) as http:

        def make(**options: Any) -> HttpMediaInspector:
            return HttpMediaInspector(http, resolve=dns, **options)

        yield make


@pytest.fixture
def inspector(make_inspector: Callable[..., HttpMediaInspector]) -> HttpMediaInspector:
    return make_inspector()
