"""Upstream polling at scale (issue 15): upstream queries per task over its life, and the lag.

Starts the simulator in a process of its own, counting the task queries and list pages it answers,
with kling-v3 tasks that take 3 minutes (30 s queued, 150 s processing), and one adapter
process aimed at it as a configured Kling provider, no callbacks. Time is scaled down by
``--scale`` (30: a task runs 6 s) for the simulator and the adapter's intervals alike
(``MVA_REFRESH_INTERVAL`` 1 s, ``MVA_RECONCILE_MAX_INTERVAL`` 30 s and ``MVA_POLL_FIRST_AFTER``
120 s, the Kling default, each divided by it), so a run is short and bounded; every time printed
is scaled back to real seconds. No client polls a task (a GET of an unfinished task queries the
upstream itself): the adapter's task list, which reads the store only, says when tasks ended.

Per dialect, two batches: ``--warmup`` tasks while the adapter knows no duration yet (it waits
its default first), then ``--tasks`` more, submitted evenly over one task's life, once it has
learned from the first. For each batch: upstream requests per task (single queries and list
pages), how long after the upstream ended a task the adapter recorded it (p50, p95, max), and
the reconciler's lag (``mva_reconciler_lag_seconds``, the largest sampled). The official Kling
dialect refreshes from list pages; the gateway dialect (new-api) only queries one task at a
time. Then the p50 latency of a GET of a finished task while the reconciler polls (after the
batch's submits, while its tasks run), and idle. Last, with ``--full-load N``, N tasks that
never end, all past their first query: the upstream requests per task and minute (the issue's
baseline: 2.2), the lag, and the GET p50 against idle while the reconciler works on them.

Loopback only; stops by itself. The Redis keys (with ``--redis-url``) live under a namespace of
the run's own and are deleted after; without it the adapter runs on its embedded store.
With ``--budget Q`` the provider has ``queries_per_s`` (Q real queries a second).
Usage: python benchmarks/polling.py [--tasks 300] [--warmup 40] [--scale 30] [--full-load 1000]
                                    [--budget Q] [--dialect both|official|gateway] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from adapter.simulator import SimulatorConfig, create_simulator_app
from tests.e2e.live import Live, clean_env, delete_namespace, free_port, serve

KEY = "mv_live_polling"
QUEUED_S, PROCESSING_S = 30.0, 150.0
LIFE_S = QUEUED_S + PROCESSING_S


class Counter(Protocol):
    """A count shared with the simulator's process (``multiprocessing.Value``)."""

    value: int


LAG = re.compile(r'^mva_reconciler_lag_seconds\{schedule="tasks"\} (\S+)$', re.M)


class CountingQueries:
    """The simulator app, counting the GETs of Kling tasks it answers: single and list."""

    def __init__(self, app: ASGIApp, single: Counter, pages: Counter) -> None:
        self.app = app
        self.single = single
        self.pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            parts = scope["path"].strip("/").split("/")
            if parts[:2] == ["v1", "videos"]:
                self.pages.value += len(parts) == 3
                self.single.value += len(parts) == 4
            elif parts[:3] == ["v1", "video", "generations"] or parts[:3] == [
                "kling",
                "v1",
                "videos",
            ]:
                self.single.value += 1
        await self.app(scope, receive, send)


class Simulator:
    """The simulator in a process of its own (so that its work never slows this process's
    measurements), and the counts of what it answered."""

    def __init__(self, scale: float) -> None:
        context = multiprocessing.get_context("spawn")
        self.single: Counter = context.Value("q", 0)
        self.pages: Counter = context.Value("q", 0)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self._process = context.Process(
            target=run_simulator, args=(port, scale, self.single, self.pages), daemon=True
        )
        self._process.start()
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or not self._process.is_alive():
                self.stop()
                raise RuntimeError("the simulator did not start")
            time.sleep(0.05)

    def counts(self) -> tuple[int, int]:
        return self.single.value, self.pages.value

    def stop(self) -> None:
        self._process.terminate()
        self._process.join(10)


def run_simulator(port: int, scale: float, single: Counter, pages: Counter) -> None:
    config = SimulatorConfig(queue_s=QUEUED_S / scale, process_s=PROCESSING_S / scale)
    app = CountingQueries(create_simulator_app(config), single, pages)
    uvicorn.run(app, port=port, log_level="warning", access_log=False, lifespan="on")


def adapter_env(
    dialect: str, sim_url: str, args: argparse.Namespace, providers_file: Path
) -> dict[str, str]:
    """The adapter's settings; with ``--budget``, its Kling provider comes from a providers
    file with ``queries_per_s`` (in the scaled time the adapter runs in)."""
    scale = args.scale
    creds = (
        {"KLING_ACCESS_KEY": "sim-ak", "KLING_SECRET_KEY": "sim-sk"}
        if dialect == "official"
        else {"KLING_API_KEY": "sim-key"}
    )
    env = clean_env(
        MVA_BOOTSTRAP_KEY=KEY,
        MVA_REFRESH_INTERVAL=f"{max(0.05, 1 / scale):g}",
        MVA_RECONCILE_MAX_INTERVAL=f"{30 / scale:g}",
        MVA_POLL_FIRST_AFTER=f"{120 / scale:g}",
        MVA_TASK_DEADLINE=f"{7200 / scale:g}",
        **creds,
    )
    if args.budget:
        keys = (
            'access_key_env = "KLING_ACCESS_KEY"\nsecret_key_env = "KLING_SECRET_KEY"'
            if dialect == "official"
            else 'api_key_env = "KLING_API_KEY"'
        )
        providers_file.write_text(
            f'[[provider]]\nname = "kling"\ndialect = "kling-{dialect}"\n'
            f'base_url = "{sim_url}"\n{keys}\nmodels = ["kling-v3"]\n'
            f"queries_per_s = {args.budget * scale:g}\n",
            encoding="utf-8",
        )
        env["MVA_PROVIDERS_FILE"] = str(providers_file)
    else:
        env["KLING_BASE_URL"] = sim_url
    if args.redis_url:
        env.update(REDIS_URL=args.redis_url, MVA_REDIS_NAMESPACE=f"poll{secrets.token_hex(6)}")
    return env


def moment(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Batch:
    """One batch's tasks, and what was seen of them."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.ids: set[str] = set()
        self.ended: dict[str, dict[str, Any]] = {}
        self.requests = (0, 0)
        self.lag_s = 0.0


async def submit_batch(http: httpx.AsyncClient, batch: Batch, n: int, over_s: float) -> None:
    body = {"model": "kling-v3", "input": {"prompt": "a lighthouse at dusk", "duration": 5}}
    for _ in range(n):
        response = await http.post("/api/v1/tasks", json=body)
        response.raise_for_status()
        batch.ids.add(response.json()["task_id"])
        await asyncio.sleep(over_s / n)


async def ended_tasks(http: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """Every ended task, from the list (store reads only), newest first."""
    found: dict[str, dict[str, Any]] = {}
    cursor = ""
    while True:
        query = f"?status=succeeded&limit=100{'&cursor=' + cursor if cursor else ''}"
        page = (await http.get(f"/api/v1/tasks{query}")).json()
        found.update({task["task_id"]: task for task in page["data"]})
        cursor = page["next_cursor"] or ""
        if not cursor:
            return found


async def lag_s(http: httpx.AsyncClient) -> float:
    found = LAG.search((await http.get("/metrics")).text)
    return float(found.group(1)) if found else 0.0


async def run_batch(
    http: httpx.AsyncClient,
    simulator: Simulator,
    batch: Batch,
    n: int,
    scale: float,
    probe: str | None = None,
) -> float | None:
    """Submit ``n`` tasks over one task's life, sampling the lag meanwhile; then, with
    ``probe`` (a finished task), the p50 latency of its GET while the batch's tasks still run
    and nothing else is asked of the adapter; then wait until every task ended."""
    life_s = LIFE_S / scale
    before = simulator.counts()
    submitting = asyncio.create_task(submit_batch(http, batch, n, life_s))
    while not submitting.done():
        await asyncio.sleep(min(0.2, life_s / 30))
        batch.lag_s = max(batch.lag_s, await lag_s(http))
    await submitting
    busy_ms = await get_p50_ms(http, probe, 100) if probe is not None else None
    deadline = time.monotonic() + 6 * life_s + 30
    while time.monotonic() < deadline:
        batch.lag_s = max(batch.lag_s, await lag_s(http))
        ended = await ended_tasks(http)
        batch.ended = {tid: ended[tid] for tid in batch.ids if tid in ended}
        if len(batch.ended) == n:
            break
        await asyncio.sleep(min(0.2, life_s / 30))
    after = simulator.counts()
    batch.requests = (after[0] - before[0], after[1] - before[1])
    return busy_ms


async def get_p50_ms(http: httpx.AsyncClient, task_id: str, n: int) -> float:
    took = []
    for _ in range(n):
        started = time.perf_counter()
        (await http.get(f"/api/v1/tasks/{task_id}")).raise_for_status()
        took.append(time.perf_counter() - started)
        await asyncio.sleep(0.01)
    return statistics.median(took) * 1000


async def full_load(
    http: httpx.AsyncClient, simulator: Simulator, n: int, scale: float, probe: str
) -> tuple[float, float, float]:
    """``n`` tasks that never end, all past their first query: the reconciler at full load.
    Returns the upstream requests per live task and real minute, the largest lag (real s),
    and the p50 of a GET of the finished task ``probe`` meanwhile (ms)."""
    body = {"model": "kling-v3", "input": {"prompt": "a stone [sim:stay-queued]"}}

    async def one(_: int) -> None:
        (await http.post("/api/v1/tasks", json=body)).raise_for_status()

    for start in range(0, n, 32):
        await asyncio.gather(*(one(i) for i in range(start, min(n, start + 32))))
    await asyncio.sleep(1.2 * 120 / scale + 0.5)  # past every first query
    before, started = simulator.counts(), time.monotonic()
    lag = 0.0
    took = []
    while time.monotonic() - started < max(3.0, 60 / scale):
        begun = time.perf_counter()
        (await http.get(f"/api/v1/tasks/{probe}")).raise_for_status()
        took.append(time.perf_counter() - begun)
        if len(took) % 20 == 0:
            lag = max(lag, await lag_s(http))
        await asyncio.sleep(0.01)
    elapsed = time.monotonic() - started
    after = simulator.counts()
    sent = (after[0] - before[0]) + (after[1] - before[1])
    per_task_minute = sent / elapsed / scale * 60 / n
    return per_task_minute, lag * scale, statistics.median(took) * 1000


async def scenario(
    dialect: str, simulator: Simulator, live: Live, args: argparse.Namespace
) -> list[str]:
    headers = {"Authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(base_url=live.url, headers=headers, timeout=30) as http:
        warmup, measured = Batch("warm-up (defaults)"), Batch("after learning")
        await run_batch(http, simulator, warmup, args.warmup, args.scale)
        finished = next(iter(warmup.ended))
        busy_ms = await run_batch(http, simulator, measured, args.tasks, args.scale, finished)
        idle_ms = await get_p50_ms(http, finished, 100)
        loaded = None
        if args.full_load:
            loaded = await full_load(http, simulator, args.full_load, args.scale, finished)
    lines = []
    for batch in (warmup, measured):
        single, pages = batch.requests
        delays = sorted(
            (moment(t["updated_at"]) - moment(t["created_at"])) * args.scale - LIFE_S
            for t in batch.ended.values()
        )
        n = len(batch.ids)
        p95 = delays[min(len(delays) - 1, int(0.95 * len(delays)))] if delays else float("nan")
        lines.append(
            f"| {dialect} | {batch.name} | {n} | {len(batch.ended)} | "
            f"{(single + pages) / max(1, n):.2f} | {single} | {pages} | "
            f"{statistics.median(delays) if delays else float('nan'):.1f} | {p95:.1f} | "
            f"{delays[-1] if delays else float('nan'):.1f} | {batch.lag_s * args.scale:.1f} |"
        )
    lines.append(
        f"| {dialect} | GET of a finished task, p50 | polling {busy_ms or 0:.2f} ms | "
        f"idle {idle_ms:.2f} ms | ratio {(busy_ms or 0) / idle_ms:.2f} | | | | | | |"
    )
    if loaded is not None:
        per_minute, lag, loaded_ms = loaded
        lines.append(
            f"| {dialect} | full load: {args.full_load} live tasks that never end | "
            f"{per_minute:.2f} requests per task and minute | lag max {lag:.1f} s | "
            f"GET p50 {loaded_ms:.2f} ms, {loaded_ms / idle_ms:.2f}x idle | | | | | | |"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--scale", type=float, default=30.0)
    parser.add_argument("--dialect", choices=("both", "official", "gateway"), default="both")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument(
        "--full-load", type=int, default=1000, help="tasks that never end, last (0: none)"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=0,
        help="the provider's queries_per_s, in real queries a second (0: none)",
    )
    args = parser.parse_args()
    if args.warmup < 1 or args.tasks < 1 or args.scale <= 0:
        parser.error("--warmup and --tasks must be at least 1, --scale above 0")
    dialects = ("official", "gateway") if args.dialect == "both" else (args.dialect,)
    out = sys.stdout.write
    out(
        f"kling-v3 tasks of {LIFE_S:g} s ({QUEUED_S:g} s queued), time scaled 1/{args.scale:g}, "
        f"no callbacks, store {args.redis_url or 'embedded'}, query budget "
        f"{f'{args.budget:g}/s' if args.budget else 'none'}; times in real seconds\n\n"
    )
    out(
        "| dialect | batch | tasks | ended | upstream requests per task | single queries "
        "| list pages | seen late p50 s | p95 s | max s | reconciler lag max s |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    with tempfile.TemporaryDirectory() as workdir:
        for dialect in dialects:
            simulator = Simulator(args.scale)
            env = adapter_env(dialect, simulator.url, args, Path(workdir) / "providers.toml")
            try:
                live = serve(env)
                try:
                    lines = asyncio.run(scenario(dialect, simulator, live, args))
                finally:
                    live.stop()
            finally:
                simulator.stop()
                if args.redis_url:
                    delete_namespace(args.redis_url, env["MVA_REDIS_NAMESPACE"])
            out("".join(f"{line}\n" for line in lines))
    out("\ngoal (issue 15): at most 5 upstream requests per task without callbacks\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
