"""The simulator in-process (ASGI, real routes and validation) on a clock the tests move."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from adapter.simulator import create_simulator_app
from adapter.simulator.clock import ManualClock
from tests.contract.simulated import CONFIG, START


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def http(clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_simulator_app(CONFIG, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        yield client
