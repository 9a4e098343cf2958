"""``CpuShare``: the reconciler starts no new work while its process is busy, so requests
come first.

Every ``window_s`` it reads how much CPU the process used (requests and reconciler alike) over
the last window; above ``most`` of one core, a round's next item waits a window and looks
again. A ``serve`` process at full reconciler load then leaves its requests the share they
need (measured: the GET p50 near idle, where it was 2x to 3x), at the cost of slower rounds,
which the schedule's lag shows. The ``worker`` command, which serves no requests, has none.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


class CpuShare:
    __slots__ = (
        "_at",
        "_busy",
        "_cpu",
        "_cpu_time",
        "_most",
        "_now",
        "_sleep",
        "_watch",
        "_window_s",
    )

    def __init__(
        self,
        most: float,
        *,
        window_s: float = 0.05,
        now: Callable[[], float] = time.monotonic,
        cpu_time: Callable[[], float] = time.process_time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        """``most``: the share of one core (0 to 1) above which new work waits."""
        if not 0 < most <= 1:
            raise ValueError("most must be above 0 and at most 1")
        self._most = most
        self._window_s = window_s
        self._now = now
        self._cpu_time = cpu_time
        self._sleep = sleep
        self._at = now()
        self._cpu = cpu_time()
        self._busy = False
        #: Set once the one caller looking at the load finds it fallen (or stops looking).
        self._watch: asyncio.Event | None = None

    async def turn(self) -> None:
        """Return once the process was not busy over the last window (at once, mostly).

        However many wait (a round's items, up to a thousand), one of them looks at the load
        once a window and the others wait for it: a busy process is not made busier by its
        waiting work."""
        while self.busy():
            if self._watch is not None:
                await self._watch.wait()
                continue
            watch = self._watch = asyncio.Event()
            try:
                while self.busy():
                    await self._sleep(self._window_s)
            finally:
                self._watch = None
                watch.set()  # the others look again; if this one was cancelled, one takes over

    def busy(self) -> bool:
        """Whether the process used more than its share over the last full window."""
        now = self._now()
        if now - self._at >= self._window_s:
            cpu = self._cpu_time()
            self._busy = (cpu - self._cpu) / (now - self._at) > self._most
            self._at, self._cpu = now, cpu
        return self._busy
