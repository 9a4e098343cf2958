"""What a key's limits cost a submit: a limited key against an unlimited one, in one run.

Starts the simulator and one adapter process on a real Redis, makes two live keys through the
admin API (one with no limits; one with ``rpm``, ``max_concurrent`` and a daily budget, all set
high enough never to refuse), then submits in alternating rounds, each key's round after the
other's, so both meet the same machine noise. Prints each round, the median ratio of the
limited key's submit rate to the unlimited key's, and the Redis commands per submit of each
(``INFO commandstats``, reconciler off): the limits are checked inside the script that creates
the task, so both should be the same.

Usage: python benchmarks/limits.py [--rounds 8] [--requests 400] [--concurrency 32]
                                   [--redis-url redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

import aiohttp
import httpx
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.submit import MODELS, Run, drive
from tests.e2e.live import clean_env, delete_namespace, serve, simulate

ADMIN = f"bench-admin-{secrets.token_hex(8)}"
LIMITS = {
    "rpm": 1_000_000,
    "max_concurrent": 1_000_000,
    "budget": {"amount": "9000000", "period": "day"},
}


def commands(db: redis.Redis) -> int:
    """Every command the Redis has run since its start."""
    stats: dict[str, dict[str, int]] = db.info("commandstats")  # type: ignore[assignment]
    return sum(entry["calls"] for entry in stats.values())


async def rounds(
    url: str, keys: dict[str, str], args: argparse.Namespace, db: redis.Redis
) -> tuple[dict[str, list[Run]], dict[str, float]]:
    model = MODELS["kling-v3"]
    connector = aiohttp.TCPConnector(limit=args.concurrency * 2)
    runs: dict[str, list[Run]] = {name: [] for name in keys}
    per_submit: dict[str, list[float]] = {name: [] for name in keys}
    async with aiohttp.ClientSession(connector=connector) as http:

        def submitter(key: str):  # type: ignore[no-untyped-def]
            async def submit(i: int) -> bool:
                headers = {
                    "Authorization": f"Bearer {key}",
                    "Idempotency-Key": f"bench-{time.time_ns()}-{i}",
                }
                async with http.post(
                    f"{url}/api/v1/tasks", json=model.body(), headers=headers
                ) as r:
                    await r.read()
                    return r.status == 200

            return submit

        pid = os.getpid()  # CPU is not compared here; any pid will do
        for name, key in keys.items():  # warm both paths
            await drive("warm-up", 100, args.concurrency, pid, submitter(key))
        for index in range(args.rounds):
            # Alternate which key goes first, so neither always follows the other.
            order = list(keys.items()) if index % 2 == 0 else list(keys.items())[::-1]
            for name, key in order:
                before = commands(db)
                run = await drive(name, args.requests, args.concurrency, pid, submitter(key))
                per_submit[name].append((commands(db) - before) / args.requests)
                runs[name].append(run)
    return runs, {name: statistics.median(v) for name, v in per_submit.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    )
    args = parser.parse_args()
    upstream = simulate()
    namespace = f"mvabench{secrets.token_hex(6)}"
    env = clean_env(
        REDIS_URL=args.redis_url,
        MVA_REDIS_NAMESPACE=namespace,
        MVA_ADMIN_TOKEN=ADMIN,
        KLING_BASE_URL=upstream.url,
        KLING_API_KEY="sim-key",
        MVA_RECONCILER="off",
        MVA_LOG_LEVEL="warning",
    )
    adapter = serve(env)
    db = redis.Redis.from_url(args.redis_url)
    try:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        keys = {}
        for name, limits in (("unlimited key", {}), ("limited key", LIMITS)):
            made = httpx.post(
                f"{adapter.url}/admin/v1/keys",
                headers=admin,
                json={"name": name.replace(" ", "-"), "mode": "live", **limits},
            )
            made.raise_for_status()
            keys[name] = made.json()["secret"]
        runs, per_submit = asyncio.run(rounds(adapter.url, keys, args, db))
    finally:
        adapter.stop()
        upstream.stop()
        db.close()
        delete_namespace(args.redis_url, namespace)
    out = sys.stdout.write
    out(
        f"kling-v3 submits: {args.rounds} rounds of {args.requests} per key, concurrency "
        f"{args.concurrency}, 1 adapter process, Redis {args.redis_url}, reconciler off, "
        f"{os.cpu_count()} cores\n"
    )
    ratios = []
    for index, (plain, limited) in enumerate(
        zip(runs["unlimited key"], runs["limited key"], strict=True)
    ):
        ratios.append(limited.rps / plain.rps)
        out(
            f"round {index + 1}: unlimited {plain.rps:6.0f} req/s  limited {limited.rps:6.0f} "
            f"req/s  ratio {ratios[-1]:.3f}  errors {plain.errors + limited.errors}\n"
        )
    out(
        f"median ratio limited/unlimited: {statistics.median(ratios):.3f} "
        f"(min {min(ratios):.3f}, max {max(ratios):.3f})\n"
    )
    for name, count in per_submit.items():
        out(f"Redis commands per submit, {name}: {count:.2f}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
