"""Two revisions of the adapter side by side, in one run: the server's CPU per request.

Checks ``--base`` (default ``HEAD~1``) out in a temporary git worktree, then starts an instant
upstream (the simulator) and two ``serve`` processes on it, the base's (run in the worktree)
and this checkout's, each under a Redis namespace of its own (deleted after; reconciler off).
It makes 20 finished kling-v3 tasks on each, then, ``--rounds`` times, runs a submit phase and
a GET phase (finished tasks) at c=N on each side in turn (the base first on even rounds).

For each phase it prints each side's CPU per request (the server process's, from ``/proc``)
and rate, as medians over rounds, and the median and range of the rounds' own ratios of CPU
(this checkout / base). The base runs on this checkout's virtualenv and settings, so a base
older than the settings it is given (``MVA_SIMULATOR_URL``, ``MVA_RECONCILER``) is not
comparable. On a shared machine a rate moves by a third from one round to the next; CPU
per request, compared round by round, shows a change of a few percent.
Usage: python benchmarks/revisions.py [--base REV] [--rounds 6] [--seconds 5] [--concurrency 32]
                                     [--redis-url URL] [--load auto|wrk|aiohttp] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import load
from benchmarks.compare import Phase, adapter_env, create_tasks, finish, run_phase
from benchmarks.cpu import process_seconds
from tests.e2e.live import ROOT, Live, delete_namespace, free_port, instant_upstream

SIDES = ("base", "head")


def git(*args: str) -> str:
    """What ``git`` printed, run in this checkout."""
    done = subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@contextlib.contextmanager
def worktree(commit: str) -> Iterator[Path]:
    """``commit`` checked out in a temporary directory (a detached git worktree), removed
    after; git forgets it even if the removal fails."""
    with tempfile.TemporaryDirectory(prefix="mva-base-") as parent:
        path = Path(parent) / "tree"
        git("worktree", "add", "--detach", "-q", str(path), commit)
        try:
            yield path
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)])
    git("worktree", "prune")


def side_env(env: dict[str, str], tree: Path) -> dict[str, str]:
    """``env`` for a server that imports the adapter of ``tree`` (``-m adapter`` run there,
    ``tree`` first on the path, whatever the virtualenv's editable install points at)."""
    env = {k: v for k, v in env.items() if k != "PYTHONSAFEPATH"}
    env["PYTHONPATH"] = str(tree)
    imported = subprocess.run(
        [sys.executable, "-c", "import adapter; print(adapter.__file__)"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(imported).resolve().is_relative_to(tree.resolve()):
        raise RuntimeError(f"a server run in {tree} would import {imported}")
    return env


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD~1", help="the revision to compare against")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=5.0, help="per phase and side")
    parser.add_argument("--concurrency", type=int, default=32)
    load.add_arguments(parser)
    parser.add_argument("--quick", action="store_true", help="1 s phases, 1 round")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds = 1.0, 1
    args.load = load.tool(args.load)
    return args


Samples = dict[tuple[str, str], list[tuple[float, float]]]  # (phase, side) -> (µs, req/s)


def measure(
    args: argparse.Namespace, servers: dict[str, Live], gets: dict[str, list[str]]
) -> Samples:
    samples: Samples = defaultdict(list)
    phases = [
        Phase("submit", "", "post", args.concurrency),
        Phase("get", "", "get", args.concurrency),
    ]
    for side in SIDES:  # warm each server's connections and code paths (not recorded)
        for phase in phases:
            run_phase(args.load, phase, servers[side].url, gets[side], min(1.0, args.seconds))
    for round_ in range(args.rounds):
        for phase in phases:
            for side in SIDES if round_ % 2 == 0 else SIDES[::-1]:
                server = servers[side]
                before = process_seconds(server.process.pid)
                ran = run_phase(args.load, phase, server.url, gets[side], args.seconds)
                spent = process_seconds(server.process.pid) - before
                if ran.errors:
                    raise RuntimeError(
                        f"{side} answered {ran.errors} errors in {phase.name}:\n"
                        f"{server.output()[-2000:]}"
                    )
                samples[(phase.name, side)].append((1e6 * spent / max(1, ran.requests), ran.rps))
    return samples


def lines(samples: Samples, concurrency: int) -> list[str]:
    out = [
        f"| c={concurrency} | base CPU per request | this checkout | median ratio | rounds "
        "| base rate | this checkout's rate |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for phase in ("submit", "get"):
        base, head = samples[(phase, "base")], samples[(phase, "head")]
        ratios = [h[0] / b[0] for h, b in zip(head, base, strict=True) if b[0]]
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}" if len(ratios) > 1 else "-"
        cpu = [statistics.median(s[0] for s in side) for side in (base, head)]
        rps = [statistics.median(s[1] for s in side) for side in (base, head)]
        out.append(
            f"| {phase} | {cpu[0]:,.0f} µs | {cpu[1]:,.0f} µs "
            f"| {statistics.median(ratios):.2f}x | {spread} "
            f"| {rps[0]:,.0f} req/s | {rps[1]:,.0f} req/s |"
        )
    return out


def main() -> int:
    args = parse()
    base = git("rev-parse", "--verify", "--short", f"{args.base}^{{commit}}")
    described = {"base": git("log", "-1", "--format=%h %s", base)[:100]}
    described["head"] = git("log", "-1", "--format=%h %s", "HEAD")[:100]
    if git("status", "--porcelain"):
        described["head"] += " (with changes not committed)"
    token = secrets.token_hex(6)
    namespaces = {side: f"mvarev{token}{side}" for side in SIDES}
    # A SIGTERM (a cancelled job, a timeout) unwinds like an error: servers stopped, keys
    # deleted, the worktree removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with contextlib.ExitStack() as stack:
        base_tree = stack.enter_context(worktree(base))
        for namespace in namespaces.values():
            stack.callback(delete_namespace, args.redis_url, namespace)
        upstream = instant_upstream()
        stack.callback(upstream.stop)
        servers: dict[str, Live] = {}
        gets: dict[str, list[str]] = {}
        for side, tree in (("base", base_tree), ("head", ROOT)):
            port = free_port()
            env = adapter_env(upstream.url, args.redis_url, namespaces[side], "off")
            servers[side] = Live(
                ["serve", "--port", str(port)], side_env(env, tree), port, cwd=tree
            )
            stack.callback(servers[side].stop)
            ids = asyncio.run(create_tasks(servers[side].url, 20, f"rev-{token}"))
            if asyncio.run(finish(servers[side].url, ids, within_s=30)) < len(ids):
                raise RuntimeError(
                    f"the {side}'s tasks did not all succeed:\n{servers[side].output()[-2000:]}"
                )
            gets[side] = [f"/api/v1/tasks/{task_id}" for task_id in ids]
        samples = measure(args, servers, gets)
    sys.stdout.write(
        f"base: {described['base']}\nthis checkout: {described['head']}\n"
        f"the base ran in {base_tree} (removed after), on this checkout's virtualenv and "
        "settings\n"
        f"{args.rounds} round(s), {args.seconds:g} s per phase and side, c={args.concurrency}, "
        f"load: {load.describe(args.load)}; reconciler off; Redis {args.redis_url}; "
        f"load average {os.getloadavg()[0]:.2f} at the end\n\n"
        + "\n".join(lines(samples, args.concurrency))
        + f"\n\nRedis namespaces (deleted after): {', '.join(namespaces.values())}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
