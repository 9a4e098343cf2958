"""Kling's ``callback_url``: the task's ``data`` object, POSTed on every status change.

Real Kling POSTs the task to the submit's ``callback_url`` on every status change
(``reference/upstream-contracts.md`` section 3.5), with no signature. :class:`CallbackSender`
does the same from one asyncio task per Kling task. It walks the lifecycle that
:func:`~adapter.simulator.state.progress_of` computes for queries (``next_change_at``),
sleeping in real time until each change is due by the injected clock, and POSTs as
``application/json`` the ``data`` a query would answer at that moment: ``submitted`` at the
submit, ``processing``, then ``succeed`` (with ``task_result.videos``) or ``failed`` (with
``task_status_msg``). A ``[sim:stay-queued]`` task gets its ``submitted`` callback only;
``[sim:poll-...]`` and ``[sim:shape=...]`` change queries, not callbacks. A status that
lasts no time (``queue_s`` or ``process_s`` of 0) is skipped, as queries skip it.

Delivery is bounded: one POST per status change (two with ``[sim:callback-dup]``), each
retried at most twice, after a connection error, a timeout or a 5xx, with 2 s timeouts. A
4xx, a bad URL or the last failure is logged and dropped.

Callbacks go out only while :meth:`CallbackSender.running` is open (the simulator app's
lifespan). Leaving it cancels every pending callback and closes the client it built, each
within ``adapter.core.shutdown.STEP_TIMEOUT_S``, so nothing outlives the app and no receiver
holds up its stop. ``httpx.ASGITransport`` does not run a lifespan: tests that want
callbacks enter ``app.router.lifespan_context(app)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Final

import httpx
import msgspec

from adapter.core.shutdown import close_all, stop_tasks
from adapter.simulator import wire
from adapter.simulator.state import SimTask, Status, progress_of

log = logging.getLogger(__name__)

#: Seconds before each retry of a failed POST: two retries, then the callback is dropped.
RETRY_DELAYS: Final = (0.1, 0.5)
#: Each phase of an attempt (connect, write, read): a dead receiver cannot hold a task long.
TIMEOUT: Final = httpx.Timeout(2.0)

_HEADERS: Final = {"Content-Type": "application/json"}
_encode = msgspec.json.Encoder().encode


class CallbackSender:
    """Sends the callbacks of Kling tasks that asked for them.

    Args:
        clock: the simulator's clock; the lifecycle is computed in its time.
        queue_s: as in ``SimulatorConfig``.
        process_s: as in ``SimulatorConfig``.
        http: the client to POST with (its timeout is overridden by :data:`TIMEOUT`); by
            default one is built on first use and closed when :meth:`running` ends.
        retry_delays: seconds before each retry of a failed POST, one per retry.
    """

    __slots__ = (
        "_clock",
        "_http",
        "_is_running",
        "_own_http",
        "_pending",
        "_process_s",
        "_queue_s",
        "_retry_delays",
        "_warned_idle",
    )

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        queue_s: float,
        process_s: float,
        http: httpx.AsyncClient | None = None,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        self._clock = clock
        self._queue_s = queue_s
        self._process_s = process_s
        self._http = http
        self._retry_delays = retry_delays
        self._own_http: httpx.AsyncClient | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._is_running = False
        self._warned_idle = False

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Send callbacks while open; on exit, cancel the pending ones and close our client."""
        self._is_running = True
        try:
            yield
        finally:
            self._is_running = False
            # Each step is time-bounded: a stopping simulator never waits on a receiver.
            await stop_tasks(self._pending, what="simulator callbacks")
            if self._own_http is not None:
                await close_all([("simulator callback http", self._own_http.aclose)])
                self._own_http = None

    def schedule(self, task: SimTask, callback_url: str, video_url: str) -> None:
        """Send ``task``'s callbacks to ``callback_url``; ``video_url`` is its output's link."""
        if not self._is_running:
            if not self._warned_idle:
                self._warned_idle = True
                log.warning("sim.callback_skipped reason=the app's lifespan is not running")
            return
        job = asyncio.create_task(
            self._run(task, callback_url, video_url), name=f"sim.callback {task.task_id}"
        )
        self._pending.add(job)
        job.add_done_callback(self._forget)

    def _forget(self, job: asyncio.Task[None]) -> None:
        self._pending.discard(job)
        if not job.cancelled() and (exc := job.exception()) is not None:
            log.error("sim.callback_crashed task=%s", job.get_name(), exc_info=exc)

    async def _run(self, task: SimTask, url: str, video_url: str) -> None:
        at = task.created_at
        while True:
            # Each step lands on a new status: progress_of never answers one that ends at `at`.
            progress = progress_of(task, at, queue_s=self._queue_s, process_s=self._process_s)
            body = _encode(wire.task_data(task, progress, video_url))
            for _ in range(2 if task.script.callback_dup else 1):
                await self._deliver(url, body, task.task_id, progress.status)
            if progress.next_change_at is None:
                return
            at = progress.next_change_at
            await asyncio.sleep(max(0.0, at - self._clock()))

    async def _deliver(self, url: str, body: bytes, task_id: str, status: Status) -> None:
        """POST ``body``; retry connection errors, timeouts and 5xx (twice, by default)."""
        failure = ""
        for retry_in in (*self._retry_delays, None):
            try:
                response = await self._client().post(
                    url, content=body, headers=_HEADERS, timeout=TIMEOUT
                )
            except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
                failure = f"{type(exc).__name__}: {exc}"
                break
            except httpx.RequestError as exc:
                failure = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 400:
                    return
                failure = f"HTTP {response.status_code}"
                if response.status_code < 500:
                    break
            if retry_in is not None:
                await asyncio.sleep(retry_in)
        log.warning("sim.callback_failed task_id=%s status=%s reason=%s", task_id, status, failure)

    def _client(self) -> httpx.AsyncClient:
        if self._http is not None:
            return self._http
        if self._own_http is None:
            self._own_http = httpx.AsyncClient(timeout=TIMEOUT)
        return self._own_http
