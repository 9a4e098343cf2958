"""The adapter beside the ceiling prototype, in one run, interleaved: the table of issue 15.

Starts an instant upstream (the simulator, tasks succeeding at their first query), the ceiling
(``benchmarks/ceiling.py``) and two adapters (``mindvideo-adapter serve``, a live key, the Kling
gateway dialect on that upstream), one with the reconciler and one without, each under a Redis
namespace of its own (deleted after; never a FLUSHDB). Then:

1. bytes: ``--tasks`` kling-v3 submits to the adapter (reconciler on) and to the ceiling; once
   the adapter's have all succeeded, ``MEMORY USAGE`` of every key of both namespaces by type;
2. load, ``--rounds`` times, each phase on the adapter then the ceiling (the other way round on
   odd rounds): submit at c=N (reconciler on; then off), GET of a finished task at c=N, submit
   and GET at c=1. After each submit phase of the adapter with the reconciler, the run waits
   (bounded) for its schedule to empty, so the ceiling's next phase does not run beside the
   reconciler catching up; the wait is printed. A short warm-up of each server comes first.

Figures are the median over rounds; the ratio is adapter / ceiling of the medians, with each
round's own ratio beside it (the spread is the noise of a shared machine).
Usage: python benchmarks/compare.py [--seconds 8] [--rounds 3] [--concurrency 32] [--tasks 2000]
                                   [--redis-url URL] [--load auto|wrk|aiohttp] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import msgspec
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from adapter.core.shards import SHARDS
from benchmarks import load, redis_bytes
from benchmarks.cpu import process_seconds
from tests.e2e.live import Live, clean_env, delete_namespace, free_port, instant_upstream, serve

KEY = "mv_live_benchmark"  # live: its tasks go to the upstream configured below
AUTH = f"Bearer {KEY}"
BODY = {
    "model": "kling-v3",
    "input": {"prompt": "benchmark", "aspect_ratio": "16:9", "duration": 5, "mode": "std"},
}
TERMINAL = ("succeeded", "failed", "cancelled")
CEILING = Path(__file__).resolve().parent / "ceiling.py"


@dataclass(frozen=True)
class Phase:
    name: str
    adapter: str  # "on" or "off": which adapter (reconciler on or off)
    method: str  # "post" or "get"
    concurrency: int


@dataclass(frozen=True)
class Row:
    label: str
    phase: str
    figure: str  # "rps", "p50", "p99" or "cpu"
    goal: float | None  # rps: ratio at least; latency and CPU: ratio at most


@dataclass(frozen=True)
class Sample:
    """One phase on one side: the load's figures, and the CPU the server process spent per
    request it answered (µs; the adapter's or the ceiling's process, not the upstream's)."""

    ran: load.Load
    cpu_us: float


def adapter_env(upstream: str, redis_url: str, namespace: str, reconciler: str) -> dict[str, str]:
    """``serve``'s environment: a live key, one provider on ``upstream``, ``namespace``."""
    return clean_env(
        MVA_BOOTSTRAP_KEY=KEY,
        KLING_BASE_URL=upstream,  # one provider, "kling", in the gateway dialect
        KLING_API_KEY="sim-key",
        MVA_SIMULATOR_URL=upstream,  # no second simulator inside the adapter's process
        REDIS_URL=redis_url,
        MVA_REDIS_NAMESPACE=namespace,
        MVA_RECONCILER=reconciler,
        MVA_REFRESH_INTERVAL="1",  # the default (clean_env's is the tests' 0.1)
        MVA_LOG_LEVEL="warning",
    )


class Rig:
    """The processes of one run and their Redis namespaces."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        token = secrets.token_hex(6)
        self.ns = {s: f"mvabench{token}{s}" for s in ("on", "off", "ceiling")}
        self.urls: dict[str, str] = {}
        self.pids: dict[str, int] = {}

    @contextlib.contextmanager
    def running(self) -> Iterator[Rig]:
        with contextlib.ExitStack() as stack:
            for namespace in self.ns.values():
                stack.callback(delete_namespace, self.redis_url, namespace)
            upstream = instant_upstream()
            stack.callback(upstream.stop)
            port = free_port()
            ceiling = Live(
                [
                    *("--port", str(port), "--redis-url", self.redis_url),
                    *("--upstream", upstream.url, "--namespace", self.ns["ceiling"]),
                ],
                clean_env(),
                port,
                program=(str(CEILING),),
            )
            stack.callback(ceiling.stop)
            self.urls = {"upstream": upstream.url, "ceiling": ceiling.url}
            self.pids = {"upstream": upstream.process.pid, "ceiling": ceiling.process.pid}
            for reconciler in ("on", "off"):
                adapter = serve(self._adapter_env(upstream.url, reconciler))
                stack.callback(adapter.stop)
                self.urls[reconciler] = adapter.url
                self.pids[reconciler] = adapter.process.pid
            yield self

    def _adapter_env(self, upstream: str, reconciler: str) -> dict[str, str]:
        return adapter_env(upstream, self.redis_url, self.ns[reconciler], reconciler)

    def _scheduled(self, db: redis.Redis) -> int:
        """Unfinished tasks on the reconciling adapter's schedule (one per shard)."""
        pipe = db.pipeline(transaction=False)
        for shard in range(SHARDS):
            pipe.zcard(f"{self.ns['on']}:{{{shard}}}:due:tasks")
        return sum(pipe.execute())

    def settle(self, timeout: float) -> float:
        """Wait until the reconciling adapter's schedule is empty (at most ``timeout``)."""
        db = redis.Redis.from_url(self.redis_url)
        started = time.monotonic()
        try:
            while self._scheduled(db) and (time.monotonic() - started < timeout):
                time.sleep(0.05)
        finally:
            db.close()
        return time.monotonic() - started


async def create_tasks(url: str, n: int, prefix: str, connections: int = 16) -> list[str]:
    """Submit ``n`` tasks, each with an Idempotency-Key of its own; answer their ids."""
    ids: list[str] = []
    numbers = iter(range(n))
    body = msgspec.json.encode(BODY)
    async with aiohttp.ClientSession() as http:

        async def worker() -> None:
            for i in numbers:
                headers = {
                    "Authorization": AUTH,
                    "Content-Type": "application/json",
                    "Idempotency-Key": f"{prefix}-{i}",
                }
                async with http.post(f"{url}/api/v1/tasks", data=body, headers=headers) as r:
                    if r.status != 200:
                        raise RuntimeError(f"submit answered {r.status}: {await r.text()}")
                    ids.append((await r.json())["task_id"])

        await asyncio.gather(*(worker() for _ in range(connections)))
    return ids


async def finish(url: str, ids: list[str], within_s: float) -> int:
    """Read the tasks until every one has ended (or ``within_s``); answer how many succeeded."""
    waiting, succeeded = set(ids), 0
    deadline = time.monotonic() + within_s
    async with aiohttp.ClientSession(headers={"Authorization": AUTH}) as http:

        async def read(task_id: str) -> None:
            nonlocal succeeded
            async with http.get(f"{url}/api/v1/tasks/{task_id}") as r:
                status = (await r.json())["status"]
            if status in TERMINAL:
                waiting.discard(task_id)
                succeeded += status == "succeeded"

        while waiting and time.monotonic() < deadline:
            pending = sorted(waiting)
            for start in range(0, len(pending), 16):
                await asyncio.gather(*(read(t) for t in pending[start : start + 16]))
            if waiting:
                await asyncio.sleep(0.5)
    return succeeded


def phases(concurrency: int) -> list[Phase]:
    return [
        Phase("submit_on", "on", "post", concurrency),
        Phase("submit_off", "off", "post", concurrency),
        Phase("get", "on", "get", concurrency),
        Phase("submit_c1", "on", "post", 1),
        Phase("get_c1", "on", "get", 1),
    ]


def rows(concurrency: int) -> list[Row]:
    c = concurrency
    return [
        Row(f"submit (kling-v3), c={c}, reconciler on", "submit_on", "rps", 0.8),
        Row(f"submit (kling-v3), c={c}, reconciler off", "submit_off", "rps", 0.8),
        Row(f"GET of a finished task, c={c}", "get", "rps", 0.8),
        Row("submit p50 at c=1", "submit_c1", "p50", 1.25),
        Row("submit p99 at c=1", "submit_c1", "p99", None),
        Row("GET p50 at c=1", "get_c1", "p50", 1.25),
        Row("GET p99 at c=1", "get_c1", "p99", None),
        Row(f"server CPU per submit, c={c}, reconciler off", "submit_off", "cpu", None),
        Row(f"server CPU per GET, c={c}", "get", "cpu", None),
    ]


Results = dict[tuple[str, str], list[Sample]]


def figure(sample: Sample, name: str) -> float:
    if name == "cpu":
        return sample.cpu_us
    result = sample.ran
    return {"rps": result.rps, "p50": result.p50_ms, "p99": result.p99_ms}[name]


def table_line(row: Row, results: Results) -> str:
    ours = [figure(r, row.figure) for r in results[(row.phase, "adapter")]]
    theirs = [figure(r, row.figure) for r in results[(row.phase, "ceiling")]]
    mine, best = statistics.median(ours), statistics.median(theirs)
    ratio = mine / best if best else float("nan")
    rounds = [a / b for a, b in zip(ours, theirs, strict=True) if b]
    spread = f"{min(rounds):.2f}-{max(rounds):.2f}" if len(rounds) > 1 else "-"
    if row.figure == "rps":
        cells = [f"{mine:,.0f} req/s", f"{best:,.0f} req/s", f"{ratio:.2f}", spread]
        goal, met = f">= {row.goal}", row.goal is not None and ratio >= row.goal
    else:
        unit = "µs" if row.figure == "cpu" else "ms"
        digits = 0 if row.figure == "cpu" else 2
        cells = [
            f"{mine:,.{digits}f} {unit}",
            f"{best:,.{digits}f} {unit}",
            f"{ratio:.2f}x",
            spread,
        ]
        goal = f"<= {row.goal}x" if row.goal else "-"
        met = row.goal is not None and ratio <= row.goal
    verdict = ("yes" if met else "no") if row.goal else "-"
    return f"| {row.label} | {' | '.join(cells)} | {goal} | {verdict} |"


def run_phase(tool: str, phase: Phase, url: str, paths: list[str], seconds: float) -> load.Load:
    if phase.method == "post":
        body = msgspec.json.encode(BODY)
        prefix = f"bench-{phase.name}-{secrets.token_hex(4)}"
        return load.post(
            tool, f"{url}/api/v1/tasks", AUTH, body, prefix, seconds, phase.concurrency
        )
    return load.get(tool, url, AUTH, paths, seconds, phase.concurrency)


def measure(
    rig: Rig, args: argparse.Namespace, tool: str, gets: dict[str, list[str]]
) -> tuple[Results, float]:
    results: Results = defaultdict(list)
    # Warm every server's connections and code paths first (not recorded).
    warm = Phase("warm-up", "off", "post", args.concurrency)
    for url in (rig.urls["on"], rig.urls["off"], rig.urls["ceiling"]):
        run_phase(tool, warm, url, [], min(2.0, args.seconds))
    settled = rig.settle(timeout=max(5.0, 2 * args.seconds))
    for round_ in range(args.rounds):
        for phase in phases(args.concurrency):
            sides = ["adapter", "ceiling"] if round_ % 2 == 0 else ["ceiling", "adapter"]
            for side in sides:
                server = phase.adapter if side == "adapter" else "ceiling"
                url, paths = rig.urls[server], gets.get(server, [])
                before = process_seconds(rig.pids[server])
                ran = run_phase(tool, phase, url, paths, args.seconds)
                spent = process_seconds(rig.pids[server]) - before
                cpu_us = 1e6 * spent / ran.requests if ran.requests else float("nan")
                results[(phase.name, side)].append(Sample(ran, cpu_us))
                if side == "adapter" and phase.adapter == "on" and phase.method == "post":
                    settled += rig.settle(timeout=max(5.0, 2 * args.seconds))
    return results, settled


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per phase and side")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--tasks", type=int, default=2000, help="finished tasks for the bytes")
    load.add_arguments(parser)
    parser.add_argument("--quick", action="store_true", help="1 s phases, 1 round, 30 tasks")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds, args.tasks = 1.0, 1, 30
    args.load = load.tool(args.load)
    return args


def main() -> int:
    args = parse()
    out = sys.stdout
    started, load_avg = time.monotonic(), os.getloadavg()
    rig = Rig(args.redis_url)
    with rig.running():
        prefix = f"bench-bytes-{secrets.token_hex(4)}"
        ours = asyncio.run(create_tasks(rig.urls["on"], args.tasks, prefix))
        theirs = asyncio.run(create_tasks(rig.urls["ceiling"], args.tasks, prefix))
        succeeded = asyncio.run(finish(rig.urls["on"], ours, within_s=60 + args.tasks / 20))
        adapter_bytes = redis_bytes.measure(args.redis_url, rig.ns["on"])
        ceiling_bytes = redis_bytes.measure(args.redis_url, rig.ns["ceiling"])
        gets = {
            "on": [f"/api/v1/tasks/{t}" for t in ours[:100]],
            "ceiling": [f"/api/v1/tasks/{t}" for t in theirs[:100]],
        }
        results, settled = measure(rig, args, args.load, gets)
    out.write(
        f"mindvideo-adapter beside the ceiling prototype (benchmarks/ceiling.py): {args.rounds} "
        f"round(s) interleaved, {args.seconds:g} s per phase and side, c={args.concurrency}\n"
        f"load: {load.describe(args.load)}\n"
        f"machine: {os.cpu_count()} cores, load average {load_avg[0]:.2f} at the start; "
        f"Redis {args.redis_url}; upstream: the simulator's Kling gateway, instant\n\n"
        "| | this adapter | ceiling prototype | ratio | per round | goal | met |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n"
    )
    for row in rows(args.concurrency):
        out.write(table_line(row, results) + "\n")
    per_task = adapter_bytes.total_per_task
    out.write(
        f"| Redis bytes per finished task ({succeeded:,} tasks) | {per_task:,.0f} "
        f"| {ceiling_bytes.total_per_task:,.0f} "
        f"| {per_task / max(1.0, ceiling_bytes.total_per_task):.2f}x | - | <= 1,536 "
        f"| {'yes' if per_task <= 1536 else 'no'} |\n\n"
        "Redis bytes per task by key type (MEMORY USAGE ... SAMPLES 0 of every key, by SCAN):\n\n"
    )
    out.write("\n".join(redis_bytes.lines(adapter_bytes, ceiling_bytes)) + "\n\n")
    errors = {f"{p} {s}": sum(r.ran.errors for r in rs) for (p, s), rs in results.items()}
    failing = {k: v for k, v in errors.items() if v}
    out.write(f"errors (4xx/5xx or failed connections): {failing or 0}\n")
    out.write(f"Redis namespaces (deleted after): {', '.join(rig.ns.values())}\n")
    out.write(
        f"the reconciling adapter's schedule took {settled:.1f} s in all to empty after its "
        f"submit phases; the whole run took {time.monotonic() - started:.0f} s\n"
    )
    return 1 if failing or succeeded < args.tasks else 0


if __name__ == "__main__":
    raise SystemExit(main())
