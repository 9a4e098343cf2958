"""Running the API in one process, with the simulator beside it when no upstream is set."""

from __future__ import annotations

import asyncio
import socket
import sys

import uvicorn
import uvloop

from adapter.app import create_app
from adapter.components import simulator_config
from adapter.config.settings import Settings, shown_url
from adapter.simulator.app import create_simulator_app

#: Seconds a stopping server waits for open requests (event streams) before cutting them.
SHUTDOWN_GRACE_S = 5


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


async def _serve(settings: Settings, api_sock: socket.socket, sim_sock: socket.socket) -> None:
    servers: list[tuple[uvicorn.Server, socket.socket]] = []
    simulator_url = None
    if settings.uses_simulator:
        simulator_url = _url(sim_sock)
        sim_app = create_simulator_app(simulator_config(settings))
        config = uvicorn.Config(sim_app, access_log=False, log_level="warning", lifespan="on")
        servers.append((uvicorn.Server(config), sim_sock))
    else:
        sim_sock.close()
    url = _url(api_sock)

    def ready(_: object) -> None:
        sys.stdout.write(banner(settings, url, simulator_url=simulator_url or ""))
        sys.stdout.flush()

    app = create_app(settings, simulator_url=simulator_url, on_ready=ready)
    config = uvicorn.Config(
        app,
        http="httptools",
        access_log=False,
        log_level=settings.log_level,
        # Open event streams would otherwise hold a stop until their tasks end.
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )
    api = uvicorn.Server(config)
    servers.append((api, api_sock))
    tasks = [asyncio.create_task(s.serve(sockets=[sock])) for s, sock in servers]
    await tasks[-1]
    for server, _ in servers:
        server.should_exit = True
    await asyncio.gather(*tasks)


def serve_in_process(settings: Settings, api_sock: socket.socket, sim_sock: socket.socket) -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_serve(settings, api_sock, sim_sock))
