"""``mindvideo-adapter``: serve, simulate, manage API keys, and use the task API."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence

from adapter.cli.keys import add_scope_flags
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
    add_scope_flags(create)
    update = keys_sub.add_parser("update", help="change a key's models, expiry or addresses")
    update.add_argument("id")
    add_scope_flags(update)
    keys_sub.add_parser("list", help="id, name, mode, status, expiry, created")
    for verb in ("disable", "enable", "delete"):
        keys_sub.add_parser(verb, help=f"{verb} a key by id").add_argument("id")
    usage = sub.add_parser("usage", help="usage rows from the keys' ledgers (needs REDIS_URL)")
    usage.add_argument("--key", help="one key's id (default: every key)")
    usage.add_argument("--since", help="first UTC day, YYYY-MM-DD (default: 29 days ago)")
    usage.add_argument("--until", help="last UTC day, YYYY-MM-DD (default: today)")
    usage.add_argument("--model", help="one model's slug")
    usage.add_argument(
        "--by", default="day,model", help="group by day, model and/or key (comma-separated)"
    )
    usage.add_argument("--csv", action="store_true", help="CSV instead of a table")
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
            from adapter.cli.serve import serve

            return serve(settings, env, args.host, args.port, args.workers)
        if args.command == "simulate":
            from adapter.cli.serve import simulate

            return simulate(settings, args.host, args.port)
        if args.command == "worker":
            from adapter.cli.worker import run_worker

            return run_worker(settings)
        if args.command == "providers":
            from adapter.cli.providers import run_providers

            return run_providers(settings, args)
        from adapter.cli.keys import run_keys

        return run_keys(settings, args)
    except SettingsError as exc:
        sys.stderr.write(f"mindvideo-adapter: {exc}\n")
        return 2
