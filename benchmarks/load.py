"""Load for ``benchmarks/compare.py``: wrk when it is on PATH, else an aiohttp loop.

Either drives one URL for a fixed time at a fixed number of connections and answers a
:class:`Load`: requests, errors (connection failures and 4xx/5xx answers), p50 and p99.
POSTs carry an ``Idempotency-Key`` of their own each; GETs go through a list of paths in turn.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

SCRIPT = Path(__file__).resolve().parent / "wrk" / "load.lua"


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def wrk_path() -> str | None:
    return shutil.which("wrk")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--redis-url`` (``REDIS_URL``, else the local Redis) and ``--load`` (see :func:`tool`)."""
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    )
    parser.add_argument("--load", choices=("auto", "wrk", "aiohttp"), default="auto")


def tool(choice: str) -> str:
    """The load generator ``--load`` names: ``auto`` is wrk when it is on PATH, else aiohttp."""
    if choice != "auto":
        return choice
    return "wrk" if wrk_path() else "aiohttp"


def describe(tool: str) -> str:
    if tool == "wrk":
        done = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
        version = (done.stdout or done.stderr).split(" [", 1)[0].strip()
        return f"{version}, 1 thread, a Lua script for bodies and Idempotency-Keys"
    return "an aiohttp loop in the harness's process (wrk is not on PATH)"


def post(
    tool: str, url: str, auth: str, body: bytes, prefix: str, seconds: float, connections: int
) -> Load:
    """POST ``body`` to ``url`` for ``seconds``, each request with its own Idempotency-Key."""
    if tool == "wrk":
        return _wrk(url, ["post", auth, prefix, body.decode()], seconds, connections)
    counter = itertools.count()

    def make() -> tuple[str, str, dict[str, str], bytes | None]:
        headers = {
            "Authorization": auth,
            "Content-Type": "application/json",
            "Idempotency-Key": f"{prefix}-{next(counter)}",
        }
        return "POST", "", headers, body

    return asyncio.run(_aiohttp(url, make, seconds, connections))


def get(tool: str, base_url: str, auth: str, paths: list[str], seconds: float, c: int) -> Load:
    """GET ``paths`` of ``base_url`` in turn for ``seconds``."""
    if tool == "wrk":
        return _wrk(base_url + paths[0], ["get", auth, *paths], seconds, c)
    cycle = itertools.cycle(paths)
    headers = {"Authorization": auth}

    def make() -> tuple[str, str, dict[str, str], bytes | None]:
        return "GET", next(cycle), headers, None

    return asyncio.run(_aiohttp(base_url, make, seconds, c))


def _wrk(url: str, args: list[str], seconds: float, connections: int) -> Load:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
    command += ["-s", str(SCRIPT), url, "--", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{done.stdout}\n{done.stderr}")
    fig = json.loads(line[4:])
    return Load(
        requests=fig["requests"],
        seconds=fig["duration_us"] / 1e6,
        errors=fig["errors"],
        p50_ms=fig["p50_us"] / 1000,
        p99_ms=fig["p99_us"] / 1000,
    )


async def _aiohttp(url: str, make, seconds: float, connections: int) -> Load:  # type: ignore[no-untyped-def]
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                method, path, headers, body = make()
                started = time.perf_counter()
                try:
                    async with http.request(method, url + path, headers=headers, data=body) as r:
                        await r.read()
                        ok = r.status < 400
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors += not ok

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - t0
    latencies.sort()
    n = len(latencies)
    return Load(
        requests=n,
        seconds=elapsed,
        errors=errors,
        p50_ms=latencies[n // 2] * 1000 if n else 0.0,
        p99_ms=latencies[min(n - 1, int(n * 0.99))] * 1000 if n else 0.0,
    )
