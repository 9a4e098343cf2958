"""Live events: how fast a status change reaches open SSE streams, and what idle streams cost.

Starts the simulator and one adapter process (reconciler off, so nothing else moves the
tasks) on loopback. For ``--streams`` tasks that stay queued upstream it opens one event
stream each, then cancels every task through the API and measures, per task, the time from
sending the cancel to its ``cancelled`` event arriving on the stream. The baseline, in the
same run, is the cancel request's own round trip: delivery adds the difference. It also
reads the adapter's CPU while the streams sit idle, to show they cost nothing between events.

    python benchmarks/events.py [--streams 200] [--redis-url redis://127.0.0.1:6379/13]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.live import clean_env, serve, simulate

KEY = "mv_live_bench_events"


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _stream(
    session: aiohttp.ClientSession, url: str, opened: asyncio.Event, arrived: dict[str, float]
) -> None:
    headers = {"Accept": "text/event-stream"}
    async with session.get(url, headers=headers) as response:
        if response.status != 200:
            sys.stderr.write(f"{url}: {response.status} {await response.text()}\n")
        opened.set()
        async for raw in response.content:
            if raw.startswith(b"data:") and b'"cancelled"' in raw:
                arrived[url] = time.perf_counter()
            elif raw.startswith(b"event: error") or raw.startswith(b'data: {"code'):
                sys.stderr.write(f"{url}: {raw!r}\n")


async def bench(base: str, streams: int, pid: int) -> list[str]:
    auth = {"Authorization": f"Bearer {KEY}"}
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=0)  # one connection per stream, and the cancels
    async with aiohttp.ClientSession(
        base, headers=auth, timeout=timeout, connector=connector
    ) as session:
        body = {"model": "kling-v3", "input": {"prompt": "still [sim:stay-queued]"}}
        ids = []
        for _ in range(streams):
            async with session.post("/api/v1/tasks", json=body) as response:
                ids.append((await response.json())["task_id"])
        arrived: dict[str, float] = {}
        opened = [asyncio.Event() for _ in ids]
        readers = [
            asyncio.create_task(_stream(session, f"/api/v1/tasks/{task_id}/events", o, arrived))
            for task_id, o in zip(ids, opened, strict=True)
        ]
        await asyncio.gather(*(o.wait() for o in opened))
        await asyncio.sleep(0.5)
        idle_from = _cpu_s(pid)
        await asyncio.sleep(5)
        idle_cpu = (_cpu_s(pid) - idle_from) / 5
        sent: dict[str, float] = {}
        round_trips = []
        for task_id in ids:
            sent[f"/api/v1/tasks/{task_id}/events"] = started = time.perf_counter()
            async with session.post(f"/api/v1/tasks/{task_id}/cancel") as response:
                assert response.status == 200, await response.text()
            round_trips.append(time.perf_counter() - started)
        await asyncio.wait_for(asyncio.gather(*readers), timeout=60)
    delivery = [arrived[url] - sent[url] for url in sent]
    ms = 1000
    return [
        f"{streams} open event streams, one adapter process, {os.cpu_count()} cores",
        f"adapter CPU while the streams are idle: {idle_cpu * 100:.1f}% of one core",
        f"cancel round trip (baseline)   p50 {statistics.median(round_trips) * ms:6.2f} ms"
        f"  p99 {_pct(round_trips, 0.99) * ms:6.2f} ms",
        f"cancel sent -> event on stream p50 {statistics.median(delivery) * ms:6.2f} ms"
        f"  p99 {_pct(delivery, 0.99) * ms:6.2f} ms"
        f"  ({statistics.median(delivery) / statistics.median(round_trips):.2f}x baseline)",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    args = parser.parse_args()
    upstream = simulate()
    env = clean_env(
        MVA_BOOTSTRAP_KEY=KEY,
        KLING_BASE_URL=upstream.url,
        KLING_API_KEY="sim-key",
        MVA_RECONCILER="off",
        MVA_LOG_LEVEL="warning",
    )
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
    adapter = serve(env)
    try:
        lines = asyncio.run(bench(adapter.url, args.streams, adapter.process.pid))
    finally:
        adapter.stop()
        upstream.stop()
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
