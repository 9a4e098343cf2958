"""``mindvideo-adapter``: serve, simulate, manage API keys, and use the task API."""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence

from adapter.client.cli import CLIENT_COMMANDS, add_client_commands, run_client
from adapter.config.settings import Settings, SettingsError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mindvideo-adapter", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API (embedded store and simulator by default)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="processes; >1 needs REDIS_URL")
    simulate = sub.add_parser("simulate", help="run the simulated Kling upstream alone")
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument("--port", type=int, default=9100)
    sub.add_parser(
        "worker", help="run only the reconciler and webhook deliveries (needs REDIS_URL)"
    )
    keys = sub.add_parser("keys", help="manage API keys in the store named by REDIS_URL")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="issue a key; it is printed once")
    create.add_argument("--name", required=True)
    create.add_argument("--owner", help="whose tasks the key sees (default: the name)")
    create.add_argument("--test", action="store_true", help="issue an mv_test_ key")
    keys_sub.add_parser("list", help="id, name, status, created")
    for verb in ("disable", "enable", "delete"):
        keys_sub.add_parser(verb, help=f"{verb} a key by id").add_argument("id")
    providers = sub.add_parser("providers", help="check the configured upstream providers")
    providers_sub = providers.add_subparsers(dest="providers_command", required=True)
    check = providers_sub.add_parser(
        "check",
        help="ask each provider a harmless question: reachable, credentials, dialect, models",
    )
    check.add_argument(
        "--timeout", type=float, default=10.0, help="seconds each provider may take to answer"
    )
    add_client_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = _parser().parse_args(argv)
    env = dict(os.environ if environ is None else environ)
    if args.command in CLIENT_COMMANDS:
        return run_client(args, env)
    try:
        settings = Settings.from_env(env)
        if args.command == "serve":
            return _serve(settings, env, args.host, args.port, args.workers)
        if args.command == "simulate":
            return _simulate(settings, args.host, args.port)
        if args.command == "worker":
            from adapter.worker import run_worker

            return run_worker(settings)
        if args.command == "providers":
            from adapter.providers_cli import run_providers

            return run_providers(settings, args)
        from adapter.keys_cli import run_keys

        return run_keys(settings, args)
    except SettingsError as exc:
        sys.stderr.write(f"mindvideo-adapter: {exc}\n")
        return 2


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def _simulate(settings: Settings, host: str, port: int) -> int:
    from adapter.components import simulator_config
    from adapter.server import simulate_in_process
    from adapter.simulator.app import create_simulator_app

    config = simulator_config(settings)
    sys.stdout.write(
        f"Simulated Kling upstream on http://{host}:{port}\n"
        f"  gateway token: {config.api_key}   official keys: {config.access_key} / "
        f"{config.secret_key}\n"
    )
    sys.stdout.flush()
    simulate_in_process(
        create_simulator_app(config), _bind(host, port), log_level=settings.log_level
    )
    return 0


def _serve(settings: Settings, env: dict[str, str], host: str, port: int, workers: int) -> int:
    if workers > 1 and not settings.redis_url:
        raise SettingsError(
            "--workers above 1 needs REDIS_URL: the embedded store lives inside one process."
        )
    if settings.redis_url:
        from adapter.components import check_redis

        check_redis(settings)  # before any process starts: one line, not tracebacks
    if settings.bootstrap_key is None and not settings.redis_url:
        # The embedded store starts empty: make a key so the printed banner is usable.
        env["MVA_BOOTSTRAP_KEY"] = f"mv_test_{secrets.token_hex(20)}"
        settings = Settings.from_env(env)
    if workers > 1:
        return _serve_workers(settings, env, host, port, workers)
    from adapter.server import serve_in_process

    serve_in_process(settings, _bind(host, port), _bind(settings.sim_host, settings.sim_port))
    return 0


def _serve_workers(
    settings: Settings, env: dict[str, str], host: str, port: int, workers: int
) -> int:
    import uvicorn

    from adapter.logs import log_config

    simulator = None
    if settings.uses_simulator:
        sim_sock = _bind(settings.sim_host, settings.sim_port)
        sim_port = sim_sock.getsockname()[1]
        sim_sock.close()
        simulator = subprocess.Popen(
            [
                *(sys.executable, "-m", "adapter", "simulate"),
                *("--host", settings.sim_host, "--port", str(sim_port)),
            ],
            env=env,
        )
        sim_url = f"http://127.0.0.1:{sim_port}"
        from adapter.components import SIMULATOR_DASHSCOPE_KEY, SIMULATOR_KEY

        env.update(
            KLING_BASE_URL=sim_url,
            KLING_API_KEY=SIMULATOR_KEY,
            DASHSCOPE_BASE_URL=sim_url,
            DASHSCOPE_API_KEY=SIMULATOR_DASHSCOPE_KEY,
            MVA_MEDIA_PROBE=env.get("MVA_MEDIA_PROBE") or "best_effort",
            MVA_MEDIA_REWRITES=",".join(
                filter(None, [env.get("MVA_MEDIA_REWRITES"), f"example.com={sim_url}/media"])
            ),
            MVA_MEDIA_ALLOW_HOSTS=",".join(
                filter(None, [env.get("MVA_MEDIA_ALLOW_HOSTS"), "127.0.0.1"])
            ),
        )
    os.environ.update(env)  # the workers build their settings from the environment
    from adapter.core.shutdown import GRACE_S
    from adapter.server import banner
    from adapter.supervisor import run_workers

    sys.stdout.write(banner(settings, f"http://{host}:{port}", workers=workers))
    sys.stdout.flush()
    config = uvicorn.Config(
        "adapter.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level=settings.log_level,
        log_config=log_config(settings.log_level),
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
