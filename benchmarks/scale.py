"""Latency with many stored tasks: submit, GET and list p50 at 10^4 and at 10^6 (issue 15).

Goal: "with 10^6 stored tasks, submit, GET and list p50 stay within 10% of the 10^4 figures".

Starts an instant upstream (the simulator, tasks succeeding at their first query) and one adapter
(``mindvideo-adapter serve``, a live key, the Kling gateway dialect on that upstream, the
reconciler on) under a Redis namespace of its own. The adapter makes and finishes one task, the
template of the others: ``benchmarks/fill.py`` stores tasks like it through ``RedisTaskStore``
(created, then finished, as the service does) for ``--owners`` owners in turn, the key's owner
first, in several processes at once. Then:

1. load up to ``--base`` stored tasks; measure, ``--rounds`` times: submit at c=1 (then wait,
   bounded, for the reconciler to finish those tasks), GET of a finished task of the key's
   owner at c=1, and ``GET /api/v1/tasks?limit=20`` (the key's owner's newest page) at c=1;
2. load up to ``--tasks`` stored tasks (printing the load rate); measure the same again.

Figures are medians over rounds of each phase's p50 (p99 shown beside, no goal). At the end,
``INFO memory``'s used_memory less its value before the run, per stored task (the server is
shared: others' keys move it too), then the namespace is deleted (SCAN and UNLINK in batches).
Usage: python benchmarks/scale.py [--tasks 1000000] [--base 10000] [--owners 100] [--seconds 5]
                                  [--rounds 3] [--loaders 2] [--redis-url URL]
                                  [--load auto|wrk|aiohttp] [--quick]
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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import msgspec
import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from adapter.core.values import TaskRecord
from adapter.stores.redis import RedisTaskStore
from benchmarks import fill, load
from benchmarks.compare import AUTH, BODY, KEY, TERMINAL
from tests.e2e.live import clean_env, instant_upstream, serve

#: The goal: each p50 at ``--tasks`` at most this many times its figure at ``--base``.
GOAL = 1.10
PHASES = ("submit", "get", "list")
LABELS = {
    "submit": "submit (kling-v3) at c=1",
    "get": "GET of a finished task at c=1",
    "list": "list (limit=20, the key's owner) at c=1",
}
LIST_PATH = "/api/v1/tasks?limit=20"


@dataclass
class Point:
    """The figures at one number of stored tasks."""

    stored: int = 0
    owner_tasks: int = 0
    load_avg: float = 0.0
    results: dict[str, list[load.Load]] = field(default_factory=dict)

    def median(self, phase: str, figure: str) -> float:
        values = [r.p50_ms if figure == "p50" else r.p99_ms for r in self.results[phase]]
        return statistics.median(values)

    def spread(self, phase: str) -> str:
        values = [r.p50_ms for r in self.results[phase]]
        return f"{min(values):.2f}-{max(values):.2f}" if len(values) > 1 else "-"

    @property
    def errors(self) -> int:
        return sum(r.errors for rs in self.results.values() for r in rs)


class Rig:
    """The upstream and the adapter of one run, on a namespace of their own."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.namespace = f"mvascale{secrets.token_hex(6)}"
        self.url = ""

    @contextlib.contextmanager
    def running(self) -> Iterator[Rig]:
        with contextlib.ExitStack() as stack:
            upstream = instant_upstream()
            stack.callback(upstream.stop)
            adapter = serve(
                clean_env(
                    MVA_BOOTSTRAP_KEY=KEY,
                    KLING_BASE_URL=upstream.url,
                    KLING_API_KEY="sim-key",
                    MVA_SIMULATOR_URL=upstream.url,
                    REDIS_URL=self.redis_url,
                    MVA_REDIS_NAMESPACE=self.namespace,
                    MVA_REFRESH_INTERVAL="1",
                    MVA_LOG_LEVEL="warning",
                )
            )
            stack.callback(adapter.stop)
            self.url = adapter.url
            yield self

    def settle(self, timeout: float) -> float:
        """Wait until the reconciler has finished every submitted task (at most ``timeout``)."""
        started = time.monotonic()
        while (
            fill.scheduled(self.redis_url, self.namespace) and time.monotonic() - started < timeout
        ):
            time.sleep(0.05)
        return time.monotonic() - started


def template(rig: Rig) -> TaskRecord:
    """A task the adapter made and the upstream finished, read back through the store."""
    headers = {"Authorization": AUTH, "Idempotency-Key": f"scale-template-{secrets.token_hex(4)}"}
    with httpx.Client(base_url=rig.url, timeout=10) as http:
        answer = http.post("/api/v1/tasks", json=BODY, headers=headers)
        answer.raise_for_status()
        task_id = answer.json()["task_id"]
        deadline = time.monotonic() + 30
        while (
            http.get(f"/api/v1/tasks/{task_id}", headers={"Authorization": AUTH}).json()["status"]
            not in TERMINAL
        ):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the template task {task_id} did not finish in 30 s")
            time.sleep(0.1)
    return asyncio.run(_read(rig, task_id))


async def _read(rig: Rig, task_id: str) -> TaskRecord:
    client = aioredis.Redis.from_url(rig.redis_url)
    try:
        store = RedisTaskStore(client, namespace=rig.namespace, task_ttl_s=fill.TASK_TTL_S)
        record = await store.get_task(task_id)
    finally:
        await client.aclose()
    if record is None:
        raise RuntimeError(f"the template task {task_id} is not in the store")
    return record


def finished_paths(url: str, count: int = 100) -> list[str]:
    """GET paths of the key's owner's newest finished tasks (from its list)."""
    with httpx.Client(base_url=url, timeout=10, headers={"Authorization": AUTH}) as http:
        answer = http.get("/api/v1/tasks", params={"limit": count})
        answer.raise_for_status()
        tasks = answer.json()["data"]
    paths = [f"/api/v1/tasks/{t['task_id']}" for t in tasks if t["status"] == "succeeded"]
    if not paths:
        raise RuntimeError("the key's owner has no finished task to GET")
    return paths


def run_phase(tool: str, phase: str, url: str, paths: list[str], seconds: float) -> load.Load:
    if phase == "submit":
        prefix = f"scale-{secrets.token_hex(4)}"
        body = msgspec.json.encode(BODY)
        return load.post(tool, f"{url}/api/v1/tasks", AUTH, body, prefix, seconds, 1)
    return load.get(tool, url, AUTH, paths if phase == "get" else [LIST_PATH], seconds, 1)


def measure(rig: Rig, args: argparse.Namespace, owner: str) -> Point:
    """``--rounds`` of each phase at c=1, after an unrecorded warm-up of each."""
    paths = finished_paths(rig.url)
    point = Point(
        stored=fill.stored(rig.redis_url, rig.namespace),
        owner_tasks=fill.owner_tasks(rig.redis_url, rig.namespace, owner),
        load_avg=os.getloadavg()[0],
        results={phase: [] for phase in PHASES},
    )
    for phase in PHASES:
        run_phase(args.load, phase, rig.url, paths, min(1.0, args.seconds))
    rig.settle(timeout=30)
    for _ in range(args.rounds):
        for phase in PHASES:
            point.results[phase].append(run_phase(args.load, phase, rig.url, paths, args.seconds))
            if phase == "submit":
                rig.settle(timeout=max(10.0, 2 * args.seconds))
    return point


def table(small: Point, large: Point) -> list[str]:
    out = [
        f"| c=1, p50 (median of rounds) | {small.stored:,} stored | {large.stored:,} stored "
        "| ratio | p50 per round (small; large) | goal | met |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for phase in PHASES:
        before, after = small.median(phase, "p50"), large.median(phase, "p50")
        ratio = after / before if before else float("nan")
        out.append(
            f"| {LABELS[phase]} | {before:.2f} ms | {after:.2f} ms | {ratio:.2f}x "
            f"| {small.spread(phase)}; {large.spread(phase)} | <= {GOAL:.2f}x "
            f"| {'yes' if ratio <= GOAL else 'no'} |"
        )
    for phase in PHASES:
        before, after = small.median(phase, "p99"), large.median(phase, "p99")
        ratio = after / before if before else float("nan")
        out.append(
            f"| {LABELS[phase]}, p99 | {before:.2f} ms | {after:.2f} ms | {ratio:.2f}x "
            "| - | - | - |"
        )
    return out


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1_000_000, help="stored tasks at the end")
    parser.add_argument("--base", type=int, default=10_000, help="stored tasks, first figures")
    parser.add_argument("--owners", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5.0, help="per phase and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--loaders", type=int, default=2, help="processes storing tasks")
    load.add_arguments(parser)
    parser.add_argument(
        "--quick", action="store_true", help="2,000 then 20,000 tasks, 1 s phases, 1 round"
    )
    args = parser.parse_args()
    if args.quick:
        args.base, args.tasks, args.seconds, args.rounds = 2_000, 20_000, 1.0, 1
    if args.tasks <= args.base:
        parser.error("--tasks must be above --base")
    args.load = load.tool(args.load)
    return args


def load_to(rig: Rig, args: argparse.Namespace, record: TaskRecord, target: int) -> fill.Filled:
    """Store tasks until the namespace holds ``target``; progress on stderr."""
    have = fill.stored(rig.redis_url, rig.namespace)
    owners = fill.owners(record.owner, record.admitted_by or "", args.owners)
    sys.stderr.write(f"loading {max(0, target - have):,} tasks ({have:,} stored) ...\n")
    return fill.fill(
        rig.redis_url, rig.namespace, record, owners, (have, target), processes=args.loaders
    )


@dataclass(frozen=True)
class Run:
    """What a run found besides the table."""

    loaded: fill.Filled
    stored: int
    memory_before: int
    memory_after: int
    deleted: int
    left: int


def report(args: argparse.Namespace, rig: Rig, small: Point, large: Point, run: Run) -> None:
    out = sys.stdout
    out.write(
        f"mindvideo-adapter with many stored tasks: {args.rounds} round(s), {args.seconds:g} s "
        f"per phase, c=1\nload: {load.describe(args.load)}\n"
        f"machine: {os.cpu_count()} cores, load average {small.load_avg:.2f} before the first "
        f"figures, {large.load_avg:.2f} before the second; Redis {args.redis_url}; "
        "upstream: the simulator's Kling gateway, instant\n"
        f"owners: {args.owners}, the key's owner first ({small.owner_tasks:,} then "
        f"{large.owner_tasks:,} tasks of its own stored)\n\n"
    )
    out.write("\n".join(table(small, large)) + "\n\n")
    loaded = run.loaded
    out.write(
        f"load: {loaded.tasks:,} tasks through RedisTaskStore (create_task, then update_task to "
        f"succeeded) in {loaded.seconds:.1f} s: {loaded.rate:,.0f} tasks/s "
        f"({loaded.processes} processes x 32 coroutines)\n"
    )
    grown = run.memory_after - run.memory_before
    per_task = grown / run.stored if run.stored else 0.0
    out.write(
        f"Redis used_memory (INFO memory): {run.memory_before / 2**20:,.1f} MiB before the run, "
        f"{run.memory_after / 2**20:,.1f} MiB with {run.stored:,} tasks stored: "
        f"{per_task:,.0f} B per stored task, {per_task * 1e6 / 2**20:,.0f} MiB per million "
        "(the server is shared: others' keys move it too)\n"
    )
    errors = {phase: sum(r.errors for r in rs) for phase, rs in large.results.items()}
    for phase, rs in small.results.items():
        errors[phase] += sum(r.errors for r in rs)
    failing = {phase: n for phase, n in errors.items() if n}
    out.write(f"errors (4xx/5xx or failed connections): {failing or 0}\n")
    out.write(
        f"Redis namespace (deleted after): {rig.namespace} ({run.deleted:,} keys unlinked, "
        f"{run.left} left)\n"
    )


def main() -> int:
    args = parse()
    started = time.monotonic()
    memory_before = fill.used_memory(args.redis_url)
    rig = Rig(args.redis_url)
    try:
        with rig.running():
            record = template(rig)
            load_to(rig, args, record, args.base)
            small = measure(rig, args, record.owner)
            loaded = load_to(rig, args, record, args.tasks)
            large = measure(rig, args, record.owner)
            stored = fill.stored(args.redis_url, rig.namespace)
            memory_after = fill.used_memory(args.redis_url)
    finally:
        deleted = fill.delete_namespace(args.redis_url, rig.namespace)
        remaining = fill.left(args.redis_url, rig.namespace)
    run = Run(loaded, stored, memory_before, memory_after, deleted, remaining)
    report(args, rig, small, large, run)
    sys.stdout.write(f"the whole run took {time.monotonic() - started:.0f} s\n")
    return 1 if small.errors or large.errors or remaining else 0


if __name__ == "__main__":
    raise SystemExit(main())
