"""``MindVideoServer``: the adapter on its embedded default, in a thread of the test's process.

For people who test their own code against MindVideo: a real HTTP server on loopback (the
API and the built-in simulator behind it, tasks in an in-process fakeredis), a test key, and
a way to script what the next tasks do without touching the prompts the code under test sends::

    with MindVideoServer() as server:
        server.fail_next("content risk control")
        client = MyMindVideoClient(base_url=server.base_url, api_key=server.api_key)
        ...

Tasks move fast (``queue_s`` queued, then ``process_s`` processing), and the prompt markers
(``[sim:fail]``, ``[sim:429]``, ...; README, "Simulator") work as on ``serve``.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from typing import Literal, Self

import uvicorn

from adapter.bootstrap.adapters import simulator_config
from adapter.bootstrap.app import create_app
from adapter.cli.serve import bind, socket_url, uvicorn_server
from adapter.config.settings import Settings
from adapter.simulator.app import create_simulator_app
from adapter.simulator.script import DEFAULT_FAIL_REASON, Script, ScriptQueue, parse_script

#: Seconds ``start`` waits for both servers to answer.
START_S = 20.0
#: Seconds ``stop`` waits for the servers to finish (open event streams are cut off).
STOP_S = 5


class MindVideoServer:
    """The API on ``base_url`` with ``api_key`` (a ``mv_test_`` key), the simulator behind it.

    Start it with ``start()`` or ``with``; stop it with ``stop()``. The scripting methods may
    be called at any time, from any thread: each queues the outcome of the next task submitted
    (in order), whatever its prompt says, until ``clear()``.
    """

    def __init__(
        self,
        *,
        queue_s: float = 0.2,
        process_s: float = 0.5,
        api_key: str | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        """``queue_s`` and ``process_s``: how long each task stays queued, then processing."""
        self.api_key = api_key or f"mv_test_{secrets.token_hex(20)}"
        self._env = {
            "MVA_BOOTSTRAP_KEY": self.api_key,
            "MVA_SIM_QUEUE_SECONDS": str(queue_s),
            "MVA_SIM_PROCESS_SECONDS": str(process_s),
            "MVA_LOG_LEVEL": "warning",
        }
        self._api_sock = bind(host, 0)
        self._sim_sock = bind(host, 0)
        self.base_url = socket_url(self._api_sock)
        self.simulator_url = socket_url(self._sim_sock)
        self._scripted = ScriptQueue()
        self._servers: list[uvicorn.Server] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    # -- scripting -----------------------------------------------------------------------

    def fail_next(self, reason: str = DEFAULT_FAIL_REASON) -> None:
        """The next task is accepted, then ends ``failed`` with ``reason``."""
        self._scripted.push(Script(fail_reason=reason))

    def refuse_next(self, status: Literal[429, 500] = 429) -> None:
        """The upstream refuses the next submit: 429 (rate limited: the client gets 503
        ``upstream_unavailable`` with ``Retry-After``) or 500; no task is made."""
        self._scripted.push(Script(submit_status=status))

    def script_next(self, markers: str) -> None:
        """The next task does what ``markers`` say (``"[sim:stay-queued]"``, ...).

        Raises:
            ValueError: a marker is unknown or malformed (the message names it).
        """
        self._scripted.push(parse_script(markers))

    def clear(self) -> None:
        """Forget the outcomes queued and not yet used."""
        self._scripted.clear()

    @property
    def queued(self) -> int:
        """How many queued outcomes no task has taken yet."""
        return len(self._scripted)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Self:
        """Start both servers in a thread of their own; return once both answer.

        Raises:
            RuntimeError: a server failed to start, or did not within ``START_S`` seconds.
        """
        settings = Settings.from_env({**self._env, "MVA_SIMULATOR_URL": self.simulator_url})
        self._thread = threading.Thread(
            target=self._run, args=(settings,), name="mindvideo-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + START_S
        while not (self._servers and all(s.started for s in self._servers)):
            if self._failure is not None or not self._thread.is_alive():
                raise RuntimeError(f"the MindVideo test server failed: {self._failure!r}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the MindVideo test server did not start in {START_S:g} s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop both servers and wait for their thread (at most ``STOP_S`` seconds more)."""
        loop, thread = self._loop, self._thread
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._exit)
        if thread is not None:
            thread.join(timeout=STOP_S + 5)
        for sock in (self._api_sock, self._sim_sock):
            sock.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _exit(self) -> None:
        for server in self._servers:
            server.should_exit = True

    def _run(self, settings: Settings) -> None:
        try:
            asyncio.run(self._serve(settings))
        except Exception as exc:  # noqa: BLE001 - reported to start(), where the test waits
            self._failure = exc

    async def _serve(self, settings: Settings) -> None:
        self._loop = asyncio.get_running_loop()
        sim_app = create_simulator_app(simulator_config(settings), scripted=self._scripted)
        api_app = create_app(settings)
        self._servers = [
            uvicorn_server(sim_app, log_level="warning", lifespan="on", grace_s=STOP_S),
            uvicorn_server(api_app, log_level="warning", grace_s=STOP_S),
        ]
        await asyncio.gather(
            self._servers[0].serve(sockets=[self._sim_sock]),
            self._servers[1].serve(sockets=[self._api_sock]),
        )
