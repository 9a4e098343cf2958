"""Running the API in one process, with the simulator beside it when no upstream is set."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import Iterator, Sequence
from typing import Literal

import uvicorn
import uvloop
from starlette.types import ASGIApp

from adapter.app import create_app
from adapter.components import simulator_config
from adapter.config.settings import Settings, shown_url
from adapter.core.shutdown import GRACE_S, Stopper
from adapter.logs import log_config
from adapter.simulator.app import create_simulator_app

#: Seconds a stopping simulator waits for open requests: they are scripted waits
#: (``[sim:slow=...]``) or answers that take milliseconds, and in ``serve`` it stops only
#: once the API that called it has.
SIMULATOR_GRACE_S = 1


def banner(settings: Settings, url: str, *, workers: int = 1, simulator_url: str = "") -> str:
    store = (
        shown_url(settings.redis_url)
        if settings.redis_url
        else "in-process fakeredis (tasks vanish when it stops)"
    )
    upstreams = (
        [f"built-in simulator {simulator_url}".rstrip()]
        if settings.uses_simulator
        else [f"{p.name}: {p.base_url} ({p.dialect})" for p in settings.providers]
    )
    lines = [
        f"mindvideo-adapter on {url}  (workers: {workers})",
        *(f"  upstream: {upstream}" for upstream in upstreams),
        f"  store:    {store}",
        f"  media:    probe {settings.media_probe}",
    ]
    if settings.bootstrap_key is not None:
        lines.append(f"  API key:  {settings.bootstrap_key!s}")
    else:
        lines.append("  API keys: mindvideo-adapter keys create --name NAME")
    return "\n".join(lines) + "\n"


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"  # a wildcard bind is reached, from this process, on loopback
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}"


class _Server(uvicorn.Server):
    """A uvicorn server that leaves SIGINT and SIGTERM to the process's :class:`Stopper`, so
    the servers of one process stop together and under one bound."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _server(
    app: ASGIApp,
    *,
    log_level: str,
    http: Literal["auto", "h11", "httptools"] = "auto",
    lifespan: Literal["auto", "on", "off"] = "auto",
    grace_s: int = GRACE_S,
) -> _Server:
    config = uvicorn.Config(
        app,
        http=http,
        lifespan=lifespan,
        access_log=False,
        log_level=log_level,
        log_config=log_config(log_level),
        # Open requests (event streams, slow upstream calls) would otherwise hold a stop
        # until they end.
        timeout_graceful_shutdown=grace_s,
    )
    return _Server(config)


async def serve_servers(servers: Sequence[tuple[uvicorn.Server, socket.socket]]) -> Stopper:
    """Run ``servers`` in this loop until a signal stops them (or the last one stops).

    The last server (the API) stops first, then the others (the simulator it calls). A stop
    ends within ``STOP_BOUND_S`` of the first signal, or at once on a second one. Returns
    the :class:`Stopper`, for :meth:`Stopper.die_of_signal` once the loop is closed.
    """
    last, _ = servers[-1]

    def stop() -> None:
        last.should_exit = True

    stopper = Stopper(stop)
    stopper.install(asyncio.get_running_loop())
    tasks = [asyncio.create_task(s.serve(sockets=[sock])) for s, sock in servers]
    await tasks[-1]
    for server, _ in servers:
        server.should_exit = True
    await asyncio.gather(*tasks)
    return stopper


async def _serve(settings: Settings, api_sock: socket.socket, sim_sock: socket.socket) -> Stopper:
    servers: list[tuple[uvicorn.Server, socket.socket]] = []
    simulator_url = None
    if settings.uses_simulator:
        simulator_url = _url(sim_sock)
        sim_app = create_simulator_app(simulator_config(settings))
        sim = _server(sim_app, log_level="warning", lifespan="on", grace_s=SIMULATOR_GRACE_S)
        servers.append((sim, sim_sock))
    else:
        sim_sock.close()
    url = _url(api_sock)

    def ready(_: object) -> None:
        sys.stdout.write(banner(settings, url, simulator_url=simulator_url or ""))
        sys.stdout.flush()

    app = create_app(settings, simulator_url=simulator_url, on_ready=ready)
    servers.append((_server(app, log_level=settings.log_level, http="httptools"), api_sock))
    return await serve_servers(servers)


def serve_in_process(settings: Settings, api_sock: socket.socket, sim_sock: socket.socket) -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        stopper = runner.run(_serve(settings, api_sock, sim_sock))
    stopper.die_of_signal()


def simulate_in_process(app: ASGIApp, sock: socket.socket, *, log_level: str) -> None:
    """``mindvideo-adapter simulate``: the simulator alone, stopping as ``serve`` does."""
    sim = _server(app, log_level=log_level, grace_s=SIMULATOR_GRACE_S)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        stopper = runner.run(serve_servers([(sim, sock)]))
    stopper.die_of_signal()
