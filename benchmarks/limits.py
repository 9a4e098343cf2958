"""What a key's limits cost a submit: a limited key against an unlimited one, in one run.

Starts the simulator and one adapter process on a real Redis, makes two live keys through the
admin API (one with no limits; one with ``rpm``, ``max_concurrent`` and a daily budget, all set
high enough never to refuse), then submits in alternating rounds, each key's round after the
other's, so both meet the same machine noise. Prints each round, the median ratio of the
limited key's submit rate to the unlimited key's, and the Redis round trips per submit of each
(commands clients send, counted by ``MONITOR`` over submits made one at a time, reconciler
off): the limits are checked inside the script that creates the task, so both should be equal.

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
import threading
import time
from pathlib import Path
from typing import NamedTuple

import aiohttp
import httpx
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.submit import MODELS, Run, drive
from tests.e2e.live import clean_env, delete_namespace, serve, simulate

ADMIN = f"bench-admin-{secrets.token_hex(8)}"
#: Submits traced one at a time for their Redis round trips.
TRACED = 50
LIMITS = {
    "rpm": 1_000_000,
    "max_concurrent": 1_000_000,
    "budget": {"amount": "9000000", "period": "day"},
}


class RoundTrips:
    """Counts the commands clients send Redis (not those scripts run), by ``MONITOR``."""

    def __init__(self, url: str) -> None:
        self._db = redis.Redis.from_url(url)
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        with self._db.monitor() as monitor:
            for command in monitor.listen():
                if self._stop.is_set():
                    return
                if command["client_type"] != "lua" and command["command"] != "PING":
                    self.count += 1

    def __enter__(self) -> RoundTrips:
        self._thread.start()
        time.sleep(0.3)
        return self

    def __exit__(self, *_: object) -> None:
        time.sleep(0.3)
        self._stop.set()
        self._db.ping()  # wakes the watcher to see the stop
        self._thread.join(timeout=5)
        self._db.close()


def redis_cpu_s(db: redis.Redis) -> float:
    """The CPU time the Redis server has used since its start (all its work, scripts too)."""
    cpu: dict[str, float] = db.info("cpu")  # type: ignore[assignment]
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


class Round(NamedTuple):
    run: Run
    redis_cpu_s: float


async def rounds(
    url: str, pid: int, keys: dict[str, str], args: argparse.Namespace
) -> tuple[dict[str, list[Round]], dict[str, float]]:
    model = MODELS["kling-v3"]
    connector = aiohttp.TCPConnector(limit=args.concurrency * 2)
    runs: dict[str, list[Round]] = {name: [] for name in keys}
    db = redis.Redis.from_url(args.redis_url)
    per_submit: dict[str, float] = {}
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

        for key in keys.values():  # warm both paths
            await drive("warm-up", 100, args.concurrency, pid, submitter(key))
        for name, key in keys.items():  # one at a time: every command seen is this key's
            with RoundTrips(args.redis_url) as seen:
                await drive(name, TRACED, 1, pid, submitter(key))
            per_submit[name] = seen.count / TRACED
        for index in range(args.rounds):
            # Alternate which key goes first, so neither always follows the other.
            order = list(keys.items()) if index % 2 == 0 else list(keys.items())[::-1]
            for name, key in order:
                before = redis_cpu_s(db)
                run = await drive(name, args.requests, args.concurrency, pid, submitter(key))
                runs[name].append(Round(run, redis_cpu_s(db) - before))
    db.close()
    return runs, per_submit


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
        runs, per_submit = asyncio.run(rounds(adapter.url, adapter.process.pid, keys, args))
    finally:
        adapter.stop()
        upstream.stop()
        delete_namespace(args.redis_url, namespace)
    out = sys.stdout.write
    out(
        f"kling-v3 submits: {args.rounds} rounds of {args.requests} per key, concurrency "
        f"{args.concurrency}, 1 adapter process, Redis {args.redis_url}, reconciler off, "
        f"{os.cpu_count()} cores\n"
    )
    ratios: dict[str, list[float]] = {"req/s": [], "adapter CPU": [], "Redis CPU": []}
    for index, (plain, limited) in enumerate(
        zip(runs["unlimited key"], runs["limited key"], strict=True)
    ):
        n = args.requests
        cpu = [r.run.cpu_s / n * 1e6 for r in (plain, limited)]
        db_cpu = [r.redis_cpu_s / n * 1e6 for r in (plain, limited)]
        ratios["req/s"].append(limited.run.rps / plain.run.rps)
        ratios["adapter CPU"].append(cpu[1] / cpu[0])
        ratios["Redis CPU"].append(db_cpu[1] / db_cpu[0])
        out(
            f"round {index + 1:2}: req/s {plain.run.rps:4.0f} / {limited.run.rps:4.0f}  "
            f"adapter CPU {cpu[0]:5.0f} / {cpu[1]:5.0f} us  Redis CPU {db_cpu[0]:4.0f} / "
            f"{db_cpu[1]:4.0f} us per submit (unlimited / limited)  errors "
            f"{plain.run.errors + limited.run.errors}\n"
        )
    for what, values in ratios.items():
        out(
            f"median ratio limited/unlimited, {what}: {statistics.median(values):.3f} "
            f"(min {min(values):.3f}, max {max(values):.3f})\n"
        )
    for name, count in per_submit.items():
        out(f"Redis round trips per submit (c=1, {TRACED} traced), {name}: {count:.2f}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
