"""``serve`` and ``simulate``: the API in one process, with the simulator beside it (it serves
test keys, and every key when no upstream is set), or in several under a supervisor; and the
simulator alone."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Literal

import httpx
import msgspec
import uvicorn
import uvloop
from starlette.types import ASGIApp

from adapter.bootstrap.adapters import simulator_config
from adapter.bootstrap.app import create_app
from adapter.bootstrap.redis_clients import check_redis, where
from adapter.cli.logs import log_config
from adapter.cli.supervisor import run_workers
from adapter.config.settings import Settings, SettingsError
from adapter.core.shutdown import GRACE_S, Stopper
from adapter.simulator.app import create_simulator_app

#: Seconds a stopping simulator waits for open requests: they are scripted waits
#: (``[sim:slow=...]``) or answers that take milliseconds, and in ``serve`` it stops only
#: once the API that called it has.
SIMULATOR_GRACE_S = 1
#: Seconds ``serve --workers`` waits for its simulator to answer before starting the workers.
SIMULATOR_START_S = 20


def banner(settings: Settings, url: str, *, workers: int = 1) -> str:
    store = (
        where(settings)
        if settings.redis_configured
        else "in-process fakeredis (tasks vanish when it stops)"
    )
    simulator = f"built-in simulator {settings.simulator_url or ''}".rstrip()
    upstreams = (
        [simulator]
        if settings.uses_simulator
        else [f"{p.name}: {p.base_url} ({p.dialect})" for p in settings.providers]
    )
    lines = [
        f"mindvideo-adapter on {url}  (workers: {workers})",
        *(f"  upstream: {upstream}" for upstream in upstreams),
        *([] if settings.uses_simulator else [f"  test keys: {simulator}"]),
        f"  store:    {store}",
        f"  media:    probe {settings.media_probe}",
    ]
    if settings.bootstrap_key is not None:
        lines.append(f"  API key:  {settings.bootstrap_key!s}")
    else:
        lines.append("  API keys: mindvideo-adapter keys create --name NAME")
    return "\n".join(lines) + "\n"


def socket_url(sock: socket.socket) -> str:
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


def uvicorn_server(
    app: ASGIApp,
    *,
    log_level: str,
    log_format: str = "text",
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
        log_config=log_config(log_level, log_format),
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
    if settings.simulator_url is None:  # it serves test keys, and all keys with no provider
        settings = msgspec.structs.replace(settings, simulator_url=socket_url(sim_sock))
        sim_app = create_simulator_app(simulator_config(settings))
        sim = uvicorn_server(
            sim_app,
            log_level="warning",
            log_format=settings.log_format,
            lifespan="on",
            grace_s=SIMULATOR_GRACE_S,
        )
        servers.append((sim, sim_sock))
    else:
        sim_sock.close()
    url = socket_url(api_sock)

    def ready(_: object) -> None:
        sys.stdout.write(banner(settings, url))
        sys.stdout.flush()

    app = create_app(settings, on_ready=ready)
    api = uvicorn_server(
        app, log_level=settings.log_level, log_format=settings.log_format, http="httptools"
    )
    servers.append((api, api_sock))
    return await serve_servers(servers)


def serve_in_process(settings: Settings, api_sock: socket.socket, sim_sock: socket.socket) -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        stopper = runner.run(_serve(settings, api_sock, sim_sock))
    stopper.die_of_signal()


def simulate_in_process(
    app: ASGIApp, sock: socket.socket, *, log_level: str, log_format: str = "text"
) -> None:
    """``mindvideo-adapter simulate``: the simulator alone, stopping as ``serve`` does."""
    sim = uvicorn_server(app, log_level=log_level, log_format=log_format, grace_s=SIMULATOR_GRACE_S)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        stopper = runner.run(serve_servers([(sim, sock)]))
    stopper.die_of_signal()


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def simulate(settings: Settings, host: str, port: int) -> int:
    """``mindvideo-adapter simulate``: the simulated upstreams alone."""
    config = simulator_config(settings)
    sys.stdout.write(
        f"Simulated Kling upstream on http://{host}:{port}\n"
        f"  gateway token: {config.api_key}   official keys: {config.access_key} / "
        f"{config.secret_key}\n"
    )
    sys.stdout.flush()
    simulate_in_process(
        create_simulator_app(config),
        bind(host, port),
        log_level=settings.log_level,
        log_format=settings.log_format,
    )
    return 0


def serve(settings: Settings, env: dict[str, str], host: str, port: int, workers: int) -> int:
    """``mindvideo-adapter serve``: the API in one process, or in ``workers`` under a supervisor."""
    if workers > 1 and not settings.redis_configured:
        raise SettingsError(
            "--workers above 1 needs REDIS_URL: the embedded store lives inside one process."
        )
    if settings.redis_configured:
        check_redis(settings)  # before any process starts: one line, not tracebacks
    if settings.bootstrap_key is None and not settings.redis_configured:
        # The embedded store starts empty: make a key so the printed banner is usable.
        env["MVA_BOOTSTRAP_KEY"] = f"mv_test_{secrets.token_hex(20)}"
        settings = Settings.from_env(env)
    if workers > 1:
        return _serve_workers(settings, env, host, port, workers)
    serve_in_process(settings, bind(host, port), bind(settings.sim_host, settings.sim_port))
    return 0


def _wait_until_answering(process: subprocess.Popen[bytes], url: str) -> None:
    """Return once the simulator at ``url`` answers ``/healthz``; ``SettingsError`` if it
    exits first or stays silent for ``SIMULATOR_START_S`` seconds (it is then stopped)."""
    deadline = time.monotonic() + SIMULATOR_START_S
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=0.5).status_code == 200:
                return
        time.sleep(0.05)
    if process.poll() is None:
        process.kill()
        process.wait()
        raise SettingsError(
            f"the built-in simulator did not answer at {url} in {SIMULATOR_START_S} s"
        )
    raise SettingsError(f"the built-in simulator exited at start-up (status {process.returncode})")


def _serve_workers(
    settings: Settings, env: dict[str, str], host: str, port: int, workers: int
) -> int:
    simulator = None
    if settings.simulator_url is None:
        sim_sock = bind(settings.sim_host, settings.sim_port)
        sim_port = sim_sock.getsockname()[1]
        sim_sock.close()
        simulator = subprocess.Popen(
            [
                *(sys.executable, "-m", "adapter", "simulate"),
                *("--host", settings.sim_host, "--port", str(sim_port)),
            ],
            env=env,
        )
        # The workers' simulator (their one upstream when no provider is configured). It
        # answers before any worker does, or a first submit finds nothing listening there.
        env["MVA_SIMULATOR_URL"] = f"http://127.0.0.1:{sim_port}"
        _wait_until_answering(simulator, env["MVA_SIMULATOR_URL"])
    os.environ.update(env)  # the workers build their settings from the environment
    sys.stdout.write(banner(settings, f"http://{host}:{port}", workers=workers))
    sys.stdout.flush()
    config = uvicorn.Config(
        "adapter.bootstrap.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level=settings.log_level,
        log_config=log_config(settings.log_level, settings.log_format),
        timeout_graceful_shutdown=GRACE_S,
    )
    try:
        # The supervisor stops the simulator once the workers are gone (SIGKILL if it lingers).
        run_workers(config, companions=[simulator] if simulator is not None else [])
    finally:
        if simulator is not None and simulator.poll() is None:
            simulator.kill()  # the supervisor itself failed
            simulator.wait()
    return 0
