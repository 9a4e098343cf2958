"""Where a submit and a GET spend the adapter's time: py-spy samples it under load.

Starts what ``benchmarks/compare.py`` starts, makes ``--tasks`` finished tasks, then drives
submits (kling-v3, c=N, the adapter with its reconciler) and then GETs of finished tasks for
``--seconds`` each while ``py-spy record`` samples the adapter's process; prints each phase's
functions by the share of samples they appear in (inclusive: with uvloop a stack starts at the
callback the loop ran, so outer frames are undercounted), then the samples' innermost frames by
layer (the package or library that was on the CPU), and keeps the raw stacks.
Usage: python benchmarks/profile.py [--seconds 10] [--concurrency 32] [--out DIR] [--top 25]
(py-spy is on PyPI: ``pip install py-spy``; it needs ptrace rights over the adapter.)
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import load
from benchmarks.compare import Phase, Rig, create_tasks, finish, run_phase


def record(pid: int, seconds: float, out: Path) -> threading.Thread:
    command = ["py-spy", "record", "--pid", str(pid), "-d", str(round(seconds)), "-f", "raw"]
    command += ["-o", str(out), "--nonblocking", "-r", "200"]
    thread = threading.Thread(
        target=subprocess.run, args=(command,), kwargs={"capture_output": True, "check": True}
    )
    thread.start()
    return thread


def shares(raw: Path, top: int) -> list[str]:
    """Each function's share of the samples it appears in (once per sample), largest first."""
    seen: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        frames = {f.split(" (", 1)[0] + " (" + _where(f) + ")" for f in stack.split(";")[1:]}
        for frame in frames:
            seen[frame] += n
    return [f"{100 * n / total:5.1f}%  {frame}" for frame, n in seen.most_common(top)]


def layers(raw: Path) -> str:
    """Where the samples' innermost frames are: ``adapter/service``, ``starlette``, ``redis``..."""
    found: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        parts = _where(stack.split(";")[-1]).split("/")
        found["/".join(parts[:2]) if parts[0] == "adapter" else parts[0]] += int(count)
    total = sum(found.values())
    return ", ".join(f"{name} {100 * n / total:.0f}%" for name, n in found.most_common(12))


def _where(frame: str) -> str:
    """``adapter/service/submit.py`` or ``starlette/routing.py`` of a py-spy frame."""
    path = frame.split(" (", 1)[1].split(":", 1)[0] if " (" in frame else "?"
    parts = Path(path).parts
    for anchor in ("site-packages", "wt-perf", "lib"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) + 1 :])
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    )
    args = parser.parse_args()
    if not shutil.which("py-spy"):
        sys.stderr.write("py-spy is not on PATH: pip install py-spy\n")
        return 2
    tool = "wrk" if load.wrk_path() else "aiohttp"
    rig = Rig(args.redis_url)
    with rig.running():
        ids = asyncio.run(create_tasks(rig.urls["on"], args.tasks, "profile"))
        asyncio.run(finish(rig.urls["on"], ids, within_s=60))
        paths = [f"/api/v1/tasks/{t}" for t in ids[:100]]
        for phase in (
            Phase("submit", "on", "post", args.concurrency),
            Phase("get", "on", "get", args.concurrency),
        ):
            raw = args.out / f"mva-profile-{phase.name}.txt"
            sampler = record(rig.pids["on"], args.seconds, raw)
            result = run_phase(tool, phase, rig.urls["on"], paths, args.seconds)
            sampler.join()
            sys.stdout.write(
                f"\n{phase.name}, c={args.concurrency}: {result.rps:,.0f} req/s under py-spy "
                f"(raw stacks: {raw}); share of samples per function:\n"
            )
            sys.stdout.write("\n".join(shares(raw, args.top)) + "\n")
            sys.stdout.write(f"innermost frames by layer: {layers(raw)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
