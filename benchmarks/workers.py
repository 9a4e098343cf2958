"""Submits per second with ``serve --workers 2`` beside ``--workers 1`` on this machine (issue 15).

Goal: "``--workers 2`` on this 2-core box gives at least 1.6x one worker's submit rate".

Starts an instant upstream (the simulator, tasks succeeding at their first query) and two
adapters (``mindvideo-adapter serve --workers 1`` and ``--workers 2``: uvicorn's processes under
the adapter's supervisor), each on a Redis namespace of its own (deleted after; never a
FLUSHDB), both with a live key on that upstream and the reconciler on (``--reconciler off`` to
leave it out). After a short warm-up of each, ``--rounds`` rounds each run a submit phase at
c=``--concurrency`` on one then the other (the other way round on odd rounds), with ``wrk -t1``
when it is on PATH, else an aiohttp loop in this process. After each phase the run waits
(bounded) for that adapter's reconcile schedule to empty, so no phase runs beside the
catching-up of the one before.

The figures are the medians over rounds, with each round's own ratio beside. On 2 cores the
load generator, Redis and the simulator share the CPU with the adapter: the CPU each process
used during the phases (``/proc``; cores = CPU seconds per second) is printed, with the whole
machine's, so what stands in the way shows.
Usage: python benchmarks/workers.py [--seconds 8] [--rounds 3] [--concurrency 32]
                                    [--redis-url URL] [--load auto|wrk|aiohttp]
                                    [--reconciler on|off] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import cpu, fill, load
from benchmarks.compare import AUTH, BODY, KEY
from tests.e2e.live import children, clean_env, instant_upstream, serve

#: The goal: ``--workers 2``'s submits a second at least this many times ``--workers 1``'s.
GOAL = 1.6
WORKERS = (1, 2)
UPSTREAM, REDIS = "simulator (upstream)", "Redis (whole server)"


@dataclass(frozen=True)
class Phase:
    """One submit phase on one adapter: its figures and the CPU each process used."""

    workers: int
    result: load.Load
    cores: dict[str, float]


class Rig:
    """The upstream and the two adapters of one run, each adapter on a namespace of its own."""

    def __init__(self, redis_url: str, reconciler: str) -> None:
        self.redis_url = redis_url
        self.reconciler = reconciler
        token = secrets.token_hex(6)
        self.ns = {n: f"mvaworkers{token}w{n}" for n in WORKERS}
        self.urls: dict[int, str] = {}
        self.adapter_pids: dict[int, dict[str, int]] = {}
        self.shared_pids: dict[str, int] = {}

    @contextlib.contextmanager
    def running(self) -> Iterator[Rig]:
        with contextlib.ExitStack() as stack:
            for namespace in self.ns.values():
                stack.callback(fill.delete_namespace, self.redis_url, namespace)
            upstream = instant_upstream()
            stack.callback(upstream.stop)
            self.shared_pids[UPSTREAM] = upstream.process.pid
            if (pid := redis_pid(self.redis_url)) is not None:
                self.shared_pids[REDIS] = pid
            for workers in WORKERS:
                adapter = serve(self._env(upstream.url, workers), "--workers", str(workers))
                stack.callback(adapter.stop)
                self.urls[workers] = adapter.url
                self.adapter_pids[workers] = adapter_processes(adapter.process.pid, workers)
            yield self

    def _env(self, upstream: str, workers: int) -> dict[str, str]:
        return clean_env(
            MVA_BOOTSTRAP_KEY=KEY,
            KLING_BASE_URL=upstream,  # one provider, "kling", in the gateway dialect
            KLING_API_KEY="sim-key",
            MVA_SIMULATOR_URL=upstream,  # no simulator of the adapter's own
            REDIS_URL=self.redis_url,
            MVA_REDIS_NAMESPACE=self.ns[workers],
            MVA_RECONCILER=self.reconciler,
            MVA_REFRESH_INTERVAL="1",
            MVA_LOG_LEVEL="warning",
        )

    def settle(self, workers: int, timeout: float) -> float:
        """Wait until that adapter's reconcile schedule is empty (at most ``timeout``); not at
        all without a reconciler (nothing would empty it)."""
        if self.reconciler == "off":
            return 0.0
        started = time.monotonic()
        namespace = self.ns[workers]
        while fill.scheduled(self.redis_url, namespace) and time.monotonic() - started < timeout:
            time.sleep(0.05)
        return time.monotonic() - started


def redis_pid(url: str) -> int | None:
    """The Redis server's pid, when it runs on this machine (its /proc entry says redis)."""
    db = redis.Redis.from_url(url)
    try:
        pid = int(db.info("server")["process_id"])
    finally:
        db.close()
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/comm").read_text().startswith("redis"):
            return pid
    return None


def adapter_processes(pid: int, workers: int) -> dict[str, int]:
    """The adapter's processes by name: the one process, or the supervisor and its workers."""
    if workers == 1:
        return {"adapter (one process)": pid}
    deadline = time.monotonic() + 20
    found = {f"adapter {name}": child for name, child in children(pid).items()}
    while len(found) < workers and time.monotonic() < deadline:
        time.sleep(0.1)
        found = {f"adapter {name}": child for name, child in children(pid).items()}
    if len(found) != workers:
        raise RuntimeError(f"expected {workers} worker processes under {pid}, found {found}")
    return {"adapter supervisor": pid, **found}


def submit_phase(rig: Rig, workers: int, args: argparse.Namespace) -> Phase:
    body = msgspec.json.encode(BODY)
    prefix = f"workers-{workers}-{secrets.token_hex(4)}"
    url = f"{rig.urls[workers]}/api/v1/tasks"
    with cpu.Meter({**rig.adapter_pids[workers], **rig.shared_pids}) as meter:
        result = load.post(args.load, url, AUTH, body, prefix, args.seconds, args.concurrency)
    return Phase(workers, result, meter.cores())


def measure(rig: Rig, args: argparse.Namespace) -> tuple[dict[int, list[Phase]], float]:
    """``--rounds`` submit phases on each adapter, alternating; answer them and the time spent
    waiting for the reconcilers after them."""
    phases: dict[int, list[Phase]] = {n: [] for n in WORKERS}
    settled = 0.0
    for workers in WORKERS:  # warm-up, not recorded
        warm = argparse.Namespace(**{**vars(args), "seconds": min(2.0, args.seconds)})
        submit_phase(rig, workers, warm)
        settled += rig.settle(workers, timeout=max(10.0, 2 * args.seconds))
    for round_ in range(args.rounds):
        for workers in WORKERS if round_ % 2 == 0 else WORKERS[::-1]:
            phases[workers].append(submit_phase(rig, workers, args))
            settled += rig.settle(workers, timeout=max(10.0, 2 * args.seconds))
    return phases, settled


def rate_line(phases: dict[int, list[Phase]], concurrency: int) -> str:
    one = [p.result.rps for p in phases[1]]
    two = [p.result.rps for p in phases[2]]
    ratio = statistics.median(two) / statistics.median(one) if statistics.median(one) else 0.0
    rounds = [b / a for a, b in zip(one, two, strict=True) if a]
    spread = f"{min(rounds):.2f}-{max(rounds):.2f}" if len(rounds) > 1 else "-"
    return (
        f"| submit (kling-v3), c={concurrency} | {statistics.median(one):,.0f} req/s "
        f"| {statistics.median(two):,.0f} req/s | {ratio:.2f} | {spread} | >= {GOAL} "
        f"| {'yes' if ratio >= GOAL else 'no'} |"
    )


def latency_line(phases: dict[int, list[Phase]]) -> str:
    one = statistics.median(p.result.p50_ms for p in phases[1])
    two = statistics.median(p.result.p50_ms for p in phases[2])
    return (
        f"| submit p50 at that load | {one:.1f} ms | {two:.1f} ms | {two / one:.2f}x | - | - | - |"
    )


def cpu_lines(phases: dict[int, list[Phase]]) -> list[str]:
    """Cores each process used, median over each adapter's phases, side by side."""
    medians = {n: _median_cores(phases[n]) for n in WORKERS}
    names = [name for n in WORKERS for name in medians[n] if name.startswith("adapter ")]
    names += [UPSTREAM, REDIS, cpu.LOAD_GENERATOR, cpu.HARNESS]
    out = [
        "| CPU used, cores (median of phases) | during --workers 1 | during --workers 2 |",
        "| --- | ---: | ---: |",
    ]
    for name in dict.fromkeys(names):
        if any(name in medians[n] for n in WORKERS):
            out.append(f"| {name} | {_cell(medians[1], name)} | {_cell(medians[2], name)} |")
    for label, key in (
        ("adapter, all its processes", "adapter"),
        ("all of the above", "listed"),
        ("the whole machine (/proc/stat)", cpu.MACHINE),
        ("others (the machine less the above)", "others"),
    ):
        out.append(f"| {label} | {_cell(medians[1], key)} | {_cell(medians[2], key)} |")
    return out


def _median_cores(phases: list[Phase]) -> dict[str, float]:
    rows: dict[str, list[float]] = {}
    for phase in phases:
        cores = dict(phase.cores)
        adapter = sum(v for k, v in cores.items() if k.startswith("adapter "))
        listed = sum(v for k, v in cores.items() if k != cpu.MACHINE)
        cores.update(adapter=adapter, listed=listed, others=cores[cpu.MACHINE] - listed)
        for name, value in cores.items():
            rows.setdefault(name, []).append(value)
    return {name: statistics.median(values) for name, values in rows.items()}


def _cell(medians: dict[str, float], name: str) -> str:
    return f"{medians[name]:.2f}" if name in medians else "-"


def waited(reconciler: str, settled: float) -> str:
    if reconciler == "off":
        return "no reconciler: no wait after the phases"
    return f"the reconcilers' schedules took {settled:.1f} s in all to empty after the phases"


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per phase")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    load.add_arguments(parser)
    parser.add_argument("--reconciler", choices=("on", "off"), default="on")
    parser.add_argument("--quick", action="store_true", help="1 s phases, 1 round")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds = 1.0, 1
    args.load = load.tool(args.load)
    return args


def main() -> int:
    args = parse()
    started, load_avg = time.monotonic(), os.getloadavg()
    tool = load.describe(args.load)
    rig = Rig(args.redis_url, args.reconciler)
    with rig.running():
        phases, settled = measure(rig, args)
    left = {ns: fill.left(args.redis_url, ns) for ns in rig.ns.values()}
    out = sys.stdout
    out.write(
        f"mindvideo-adapter serve --workers 2 beside --workers 1: {args.rounds} round(s) "
        f"alternated, {args.seconds:g} s per phase, c={args.concurrency}, reconciler "
        f"{args.reconciler}\nload: {tool}\n"
        f"machine: {os.cpu_count()} cores, load average {load_avg[0]:.2f} at the start and "
        f"{os.getloadavg()[0]:.2f} at the end; Redis {args.redis_url}; upstream: the "
        "simulator's Kling gateway, instant\n\n"
        "| | --workers 1 | --workers 2 | ratio | per round | goal | met |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n"
        f"{rate_line(phases, args.concurrency)}\n{latency_line(phases)}\n\n"
    )
    out.write("\n".join(cpu_lines(phases)) + "\n\n")
    errors = {n: sum(p.result.errors for p in phases[n]) for n in WORKERS}
    failing = {f"--workers {n}": e for n, e in errors.items() if e}
    out.write(f"errors (4xx/5xx or failed connections): {failing or 0}\n")
    out.write(
        f"Redis namespaces (deleted after): {', '.join(rig.ns.values())} "
        f"({sum(left.values())} keys left)\n"
        f"{waited(args.reconciler, settled)}; the whole run took "
        f"{time.monotonic() - started:.0f} s\n"
    )
    return 1 if failing or any(left.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
