"""The composition's lifetime: what ``serve`` and ``worker`` run, and how it stops."""

from __future__ import annotations

import asyncio
import time

import pytest

from adapter.bootstrap.parts import running
from adapter.core.shutdown import STEP_TIMEOUT_S

pytestmark = pytest.mark.anyio


async def _sent() -> None:
    """A write that fits the socket buffer: done in its first step."""


class CommandLoop:
    """A reconciler whose loop loses every cancel on Python 3.11, as a loop of redis-py
    commands can: redis-py sends each command through ``asyncio.wait_for``, which returns
    the inner result when the cancel lands in the step in which the inner awaitable ends."""

    def __init__(self) -> None:
        self.released = False

    async def run(self) -> None:
        while not self.released:
            await asyncio.wait_for(_sent(), timeout=5)

    def stop(self) -> None:
        """Asked to stop mid-round, in a round that never ends: the flag is never read."""


async def test_leaving_running_ends_in_its_bound_even_if_the_reconciler_loses_its_cancel(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Stopped, then cancelled again and again, then left behind, logged: never awaited for
    good (the stop that hung after "Waiting for application shutdown.")."""
    reconciler = CommandLoop()

    async def serve_briefly() -> None:
        async with running(reconciler, enabled=True):  # type: ignore[arg-type]
            await asyncio.sleep(0.05)

    started = time.monotonic()
    leaving = asyncio.create_task(serve_briefly())
    try:
        done, _ = await asyncio.wait({leaving}, timeout=STEP_TIMEOUT_S + 2)
        assert done, "leaving running() did not end"
        assert time.monotonic() - started < STEP_TIMEOUT_S + 1
    finally:
        reconciler.released = True
        await asyncio.wait([t for t in asyncio.all_tasks() if t.get_name() == "reconciler"])
    assert "shutdown.abandoned what=reconciler" in caplog.text
