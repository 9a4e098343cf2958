"""A cold duplicate storm: many concurrent submits with one Idempotency-Key over several processes.

Starts the simulator (in this process, counting the submits it receives) and ``--processes``
fresh adapter processes on one Redis (or one ``serve --workers`` of that many with
``--workers``), then fires ``--requests`` submits at once, all with the same Idempotency-Key and
body, spread evenly over the processes. Prints the statuses and error codes, the latency, the
causes the adapters logged for their 503s, how many tasks the store holds and how many submits
reached the upstream (both must be exactly 1). ``--slow`` makes the upstream take that long to
answer the submit, so the duplicates wait for the first request meanwhile.

The Redis keys live under a namespace of the run's own and are deleted after (never a FLUSHDB).
Usage: python benchmarks/storm.py [--requests 1000] [--processes 4] [--workers] [--slow SECONDS]
                                  [--redis-url URL] [--idempotency-wait SECONDS]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import re
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import redis
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from adapter.simulator.app import create_simulator_app
from tests.e2e.live import Live, clean_env, delete_namespace, free_port, serve

KEY = "mv_live_storm"
BODY = {
    "model": "kling-v2-6-motion-control",
    "input": {
        "prompt": "storm",
        "character_orientation": "image",
        "mode": "std",
        "image_url": "https://example.com/me.png",
        "video_url": "https://example.com/ref-6s.mp4",
    },
}
#: The line an adapter logs for each 5xx it answers (``adapter.http.errors``).
CAUSE = re.compile(r"http\.unavailable .*?status=(\d+) code=(\S+) cause=(.*)$")


class CountingSubmits:
    """The simulator app, counting the task submits (POSTs under ``/kling/``) it receives."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.submits = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            self.submits += scope["path"].startswith("/kling/")
        await self.app(scope, receive, send)


def start_simulator() -> tuple[CountingSubmits, str, uvicorn.Server]:
    app = CountingSubmits(create_simulator_app())
    port = free_port()
    config = uvicorn.Config(app, port=port, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the simulator did not start")
        time.sleep(0.05)
    return app, f"http://127.0.0.1:{port}", server


async def storm(adapters: list[Live], n: int, body: dict[str, Any]) -> list[tuple[int, str, float]]:
    headers = {"Authorization": f"Bearer {KEY}", "Idempotency-Key": f"storm-{secrets.token_hex(6)}"}
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def submit(i: int) -> tuple[int, str, float]:
            url = f"{adapters[i % len(adapters)].url}/api/v1/tasks"
            started = time.perf_counter()
            try:
                async with http.post(url, json=body, headers=headers) as r:
                    data = await r.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError) as exc:
                return 0, exc.__class__.__name__, time.perf_counter() - started
            took = time.perf_counter() - started
            if r.status == 200:
                return 200, data["task_id"], took
            return r.status, data["error"]["code"], took

        return await asyncio.gather(*(submit(i) for i in range(n)))


def count_tasks(url: str, namespace: str) -> int:
    db = redis.Redis.from_url(url)
    try:
        return sum(1 for _ in db.scan_iter(match=f"{namespace}:*:task", count=500))
    finally:
        db.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument(
        "--workers",
        action="store_true",
        help="one serve --workers N (the kernel spreads the connections) instead of N serves",
    )
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument(
        "--slow", type=float, default=0, help="seconds the upstream takes to answer the submit"
    )
    parser.add_argument("--idempotency-wait", default="", help="MVA_IDEMPOTENCY_WAIT, seconds")
    args = parser.parse_args()
    if not args.redis_url:
        parser.error("--redis-url (or REDIS_URL) is needed: the processes share one Redis")
    simulator, sim_url, sim_server = start_simulator()
    namespace = f"storm{secrets.token_hex(6)}"
    env = clean_env(
        REDIS_URL=args.redis_url,
        MVA_REDIS_NAMESPACE=namespace,
        MVA_BOOTSTRAP_KEY=KEY,
        KLING_BASE_URL=sim_url,
        KLING_API_KEY="sim-key",
        MVA_MEDIA_REWRITES=f"example.com={sim_url}/media",
        MVA_MEDIA_ALLOW_HOSTS="127.0.0.1",
    )
    if args.idempotency_wait:
        env["MVA_IDEMPOTENCY_WAIT"] = args.idempotency_wait
    adapters: list[Live] = []
    try:
        if args.workers:
            adapters = [serve(env, "--workers", str(args.processes))]
        else:
            adapters = [serve(env) for _ in range(args.processes)]
        started = time.perf_counter()
        body = BODY
        if args.slow:
            prompt = f"storm [sim:slow={args.slow:g}]"
            body = {**BODY, "input": {**BODY["input"], "prompt": prompt}}  # type: ignore[dict-item]
        results = asyncio.run(storm(adapters, args.requests, body))
        seconds = time.perf_counter() - started
        time.sleep(0.5)  # let the last log lines reach the files
        logs = "\n".join(live.output() for live in adapters)
        tasks = count_tasks(args.redis_url, namespace)
    finally:
        for live in adapters:
            live.stop()
        sim_server.should_exit = True
        delete_namespace(args.redis_url, namespace)
    statuses = collections.Counter(status for status, _, _ in results)
    codes = collections.Counter(f"{s} {c}" for s, c, _ in results if s != 200)
    task_ids = {value for status, value, _ in results if status == 200}
    took = sorted(seconds for _, _, seconds in results)
    causes = collections.Counter(
        f"{m[1]} {m[2]}: {m[3]}" for m in (CAUSE.search(line) for line in logs.splitlines()) if m
    )
    out = sys.stdout.write
    how = "serve --workers" if args.workers else "serve"
    out(
        f"{args.requests} submits, one Idempotency-Key, {args.processes} fresh adapter processes "
        f"({how}), "
        f"{os.cpu_count()} cores, store {args.redis_url}: {seconds:.2f} s\n"
    )
    out(f"statuses: {dict(sorted(statuses.items()))}\n")
    p50, p99 = took[len(took) // 2], took[min(len(took) - 1, int(len(took) * 0.99))]
    out(f"latency: p50 {p50:.2f} s  p99 {p99:.2f} s  max {took[-1]:.2f} s\n")
    for code, count in codes.most_common():
        out(f"  {count:5d}  {code}\n")
    out(f"503s logged with a cause: {sum(causes.values())}\n")
    for cause, count in causes.most_common(10):
        out(f"  {count:5d}  {cause[:200]}\n")
    out(f"task ids answered: {len(task_ids)}   tasks stored: {tasks}   ")
    out(f"upstream submits: {simulator.submits}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
