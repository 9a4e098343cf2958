"""The simulator in this test process, counting the Kling submits it receives by their
``external_task_id`` (the adapter's task id), so a test can tell how many times each task
reached the upstream."""

from __future__ import annotations

import collections
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapter.simulator.app import create_simulator_app
from adapter.simulator.config import SimulatorConfig
from tests.e2e.live import free_port


class CountingSubmits:
    """An ASGI app in front of the simulator: every Kling submit (a POST under ``/kling/``, the
    gateway dialect the adapter speaks with ``KLING_BASE_URL``) is counted under its body's
    ``external_task_id``, accepted or refused."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.by_external: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.by_external.values())

    def counts(self) -> collections.Counter[str]:
        with self._lock:
            return collections.Counter(self.by_external)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].startswith("/kling/")
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def reading() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    self._count(b"".join(chunks))
            return message

        await self.app(scope, reading, send)

    def _count(self, body: bytes) -> None:
        try:
            external = str(json.loads(body).get("external_task_id") or "")
        except (ValueError, AttributeError):
            external = ""
        with self._lock:
            self.by_external[external] += 1


@contextmanager
def counting_simulator(
    queue_s: float = 0.4, process_s: float = 0.8
) -> Iterator[tuple[str, CountingSubmits]]:
    """The simulator on a loopback port of its own (its URL, and its counter); stopped after."""
    app = CountingSubmits(
        create_simulator_app(SimulatorConfig(queue_s=queue_s, process_s=process_s))
    )
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="counting-simulator", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the simulator did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=10)
