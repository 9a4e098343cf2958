"""Stopping within a bound, whatever is running: the bounds, and the steps that keep them.

A stop gives open requests (event streams) ``GRACE_S``, then cancels them, then stops the
background tasks and closes the clients, each step in at most ``STEP_TIMEOUT_S``. Two things
would otherwise hold a stop for good:

- A lost cancellation. On Python 3.11, ``asyncio.wait_for`` returns the inner result when the
  cancel arrives in the loop iteration in which the inner awaitable finishes. redis-py sends
  every command through it (with ``socket_timeout`` set) and fakeredis waits for pub/sub
  messages through it, so a ``while True`` loop can swallow its cancel and run on, and
  ``await task`` never returns. Our own loops (the reconciler, the event feed's listener)
  also read a stop flag; :func:`stop_task` cancels again until the task ends, and gives up
  after its timeout.
- A close that waits on a peer or on a task that never ends. :func:`close_all` runs each
  close in a task of its own and abandons (logs) the ones still running at the timeout.

What no timeout reaches (a blocked loop, a thread) is cut by :class:`Stopper`: a process
still stopping ``STOP_BOUND_S`` after the signal exits at once, and so does one that gets a
second SIGINT or SIGTERM. ``serve --workers``' supervisor does the same to its workers with
SIGKILL (``adapter.cli.supervisor``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final

log = logging.getLogger(__name__)

#: Seconds a stopping server waits for open requests (event streams) before cancelling them.
GRACE_S: Final = 5
#: Seconds each later step of a stop may take: stopping a background task, closing clients.
STEP_TIMEOUT_S: Final = 1.5
#: Seconds from the first signal after which a process still stopping is ended.
STOP_BOUND_S: Final = 15.0
#: Exit status of a process ended by the bound or by a second signal.
FORCED_EXIT: Final = 1

#: Seconds between cancels of a task that has not ended yet (one may have been lost).
_RECANCEL_S: Final = 0.25


async def stop_task(
    task: asyncio.Task[Any], *, what: str, within_s: float = STEP_TIMEOUT_S
) -> bool:
    """Cancel ``task`` and wait at most ``within_s`` seconds for it to end; True if it ended.

    The cancel is repeated until the task ends (one can be lost, see above). A task still
    running by then is logged and left behind. Cancelling the caller cancels only
    the wait: it is never swallowed.
    """
    return await stop_tasks([task], what=what, within_s=within_s) == 0


async def stop_tasks(
    tasks: Iterable[asyncio.Task[Any]], *, what: str, within_s: float = STEP_TIMEOUT_S
) -> int:
    """:func:`stop_task` for many tasks at once, in ``within_s`` in all; how many are left."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    running = {task for task in tasks if not task.done()}
    while running:
        left = deadline - loop.time()
        if left <= 0:
            left_behind = len(running)
            log.error("shutdown.abandoned what=%s tasks=%d after_s=%g", what, left_behind, within_s)
            return left_behind
        for task in running:
            task.cancel()
        done, running = await asyncio.wait(running, timeout=min(_RECANCEL_S, left))
        for task in done:
            if not task.cancelled() and (exc := task.exception()) is not None:
                log.error("shutdown.failed what=%s", what, exc_info=exc)
    return 0


async def close_all(
    closers: Iterable[tuple[str, Callable[[], Awaitable[object]]]],
    *,
    within_s: float = STEP_TIMEOUT_S,
) -> None:
    """Run every ``(what, close)`` at once and wait at most ``within_s`` seconds for them.

    A close that fails is logged; one still running by then is cancelled, logged and
    left behind. Nothing is raised: one client's failure never keeps the others open.
    """
    jobs = {asyncio.create_task(_run(close), name=f"close {what}"): what for what, close in closers}
    if not jobs:
        return
    done, pending = await asyncio.wait(jobs, timeout=within_s)
    for job in done:
        if not job.cancelled() and (exc := job.exception()) is not None:
            log.error("shutdown.failed what=%s", jobs[job], exc_info=exc)
    for job in pending:
        job.cancel()
        log.error("shutdown.abandoned what=%s after_s=%g", jobs[job], within_s)


async def _run(close: Callable[[], Awaitable[object]]) -> None:
    await close()


class Stopper:
    """A process's answer to SIGINT and SIGTERM.

    The first signal calls ``stop`` (begin a graceful stop) and starts the clock: a process
    still running ``bound_s`` later exits at once with ``FORCED_EXIT``. A second signal exits
    at once. The clock runs on to the end of the process, interpreter exit included (it joins
    executor threads). ``exit_now`` is ``os._exit``, which no cleanup can hold up.
    """

    def __init__(
        self,
        stop: Callable[[], object],
        *,
        bound_s: float = STOP_BOUND_S,
        exit_now: Callable[[int], object] = os._exit,
    ) -> None:
        self._stop = stop
        self._bound_s = bound_s
        self._exit_now = exit_now
        self._timer: threading.Timer | None = None
        #: The first signal received, if any.
        self.signum: int | None = None

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Answer SIGINT and SIGTERM in ``loop``."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.on_signal, signum)

    def on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if self._timer is not None:
            self._give_up(f"{name} while stopping: exiting now")
            return
        self.signum = signum
        self._timer = threading.Timer(
            self._bound_s, self._give_up, (f"still stopping after {self._bound_s:g} s",)
        )
        self._timer.daemon = True
        self._timer.start()
        self._stop()

    def die_of_signal(self) -> None:
        """After a graceful stop, end the process by the signal that asked for it, as uvicorn
        does: its status says so, and the interpreter's teardown (seconds of garbage
        collection in a busy server) is skipped. Nothing happens if no signal came."""
        if self.signum is not None:
            sys.stdout.flush()
            sys.stderr.flush()
            signal.signal(self.signum, signal.SIG_DFL)
            signal.raise_signal(self.signum)

    def _give_up(self, why: str) -> None:
        sys.stderr.write(f"mindvideo-adapter: {why}; exiting with status {FORCED_EXIT}\n")
        sys.stderr.flush()
        sys.stdout.flush()
        self._exit_now(FORCED_EXIT)
