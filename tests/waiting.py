"""Waiting in a test for another task to get somewhere: bounded generously, and over as soon
as it has got there, so a slow or loaded machine costs a passing test nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

#: The longest a test waits for what must happen soon. Generous: the wait ends as soon as it
#: has happened, and CI's machine is shared (a 0.3 s bound once timed out there).
SOON_S = 5.0


async def until(condition: Callable[[], bool], *, within_s: float = SOON_S) -> None:
    """Return once ``condition()`` holds; fail the test if it still does not after ``within_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not condition():
        if loop.time() >= deadline:
            raise AssertionError(f"not within {within_s} s")
        await asyncio.sleep(0.001)
