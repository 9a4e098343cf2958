"""Submit and read throughput of the adapter against the simulator, with a same-run baseline.

Starts the simulator and the adapter as separate processes on loopback, then drives a fixed
number of requests at a fixed concurrency with aiohttp, and prints figures:

* baseline: POSTs straight to the simulator's submit route (what the adapter calls per task);
* adapter submit: POST /api/v1/tasks (auth, validation, idempotency claim, media probe over
  HTTP ranges, task write, upstream submit, CAS update);
* adapter get: GET /api/v1/tasks/{id} (auth + one task read; refresh when due).

Ratios compare against the baseline measured in the same run, since these machines are shared.
Usage: python benchmarks/submit.py [--requests 2000] [--concurrency 32] [--redis-url URL]
                                  [--model kling-v2-6-motion-control|kling-v3|wan2-6-i2v-flash]
With MVA_BENCH_PROFILE=<file> (and py-spy on PATH) the adapter is sampled during the run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.e2e.live import Live, clean_env, delete_namespace, serve, simulate

KEY = "mv_live_benchmark"  # live: it goes to the simulator configured below as its upstream
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    name: str
    seconds: float
    latencies: list[float]
    errors: int
    cpu_s: float

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds

    def line(self, baseline: Run | None = None) -> str:
        lat = sorted(self.latencies)
        p50 = lat[len(lat) // 2] * 1000
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        cpu = self.cpu_s / max(1, len(lat)) * 1e6
        ratio = f"  {self.rps / baseline.rps:5.2f}x baseline" if baseline else ""
        return (
            f"{self.name:<28} {self.rps:8.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms"
            f"  cpu {cpu:6.0f} us/req  errors {self.errors}{ratio}"
        )


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / TICKS


async def drive(name: str, n: int, concurrency: int, pid: int, call) -> Run:  # type: ignore[no-untyped-def]
    latencies: list[float] = []
    errors = 0
    queue = iter(range(n))

    async def worker() -> None:
        nonlocal errors
        for i in queue:
            started = time.perf_counter()
            ok = await call(i)
            latencies.append(time.perf_counter() - started)
            errors += not ok

    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Run(name, time.perf_counter() - t0, latencies, errors, cpu_seconds(pid) - cpu0)


class Model:
    """One model's adapter submit, and the upstream call it makes: the baseline."""

    def __init__(
        self, slug: str, values: dict[str, object], path: str, upstream_body: dict[str, object]
    ) -> None:
        self.slug = slug
        self.values = values
        self.path = path
        self.upstream_body = upstream_body

    def body(self) -> dict[str, object]:
        return {"model": self.slug, "input": self.values}

    def direct(self, i: int) -> tuple[dict[str, object], dict[str, str]]:
        if self.path.startswith("/api/"):  # DashScope: no client-side id
            auth = {"Authorization": "Bearer sim-dashscope-key", "X-DashScope-Async": "enable"}
            return self.upstream_body, auth
        external = f"bench-{time.time_ns()}-{i}"
        return {**self.upstream_body, "external_task_id": external}, {
            "Authorization": "Bearer sim-key"
        }


MOTION = {
    "prompt": "benchmark",
    "character_orientation": "image",
    "mode": "std",
    "image_url": "https://example.com/ref-image.png",
    "video_url": "https://example.com/ref-video-8s.mp4",
}
IMAGE = "https://example.com/portrait.jpg"
MODELS = {
    "kling-v2-6-motion-control": Model(
        "kling-v2-6-motion-control",
        MOTION,
        "/kling/v1/videos/motion-control",
        {**MOTION, "model_name": "kling-v2-6", "keep_original_sound": "yes"},
    ),
    "kling-v3": Model(
        "kling-v3",
        {"prompt": "benchmark", "aspect_ratio": "16:9", "duration": 5, "mode": "std"},
        "/kling/v1/videos/text2video",
        {
            "model_name": "kling-v3",
            "prompt": "benchmark",
            "aspect_ratio": "16:9",
            "duration": "5",
            "mode": "std",
            "sound": "off",
        },
    ),
    "wan2-6-i2v-flash": Model(
        "wan2-6-i2v-flash",
        {"prompt": "benchmark", "resolution": "1080p", "duration": 5, "image_urls": [IMAGE]},
        "/api/v1/services/aigc/video-generation/video-synthesis",
        {
            "model": "wan2.6-i2v-flash",
            "input": {"prompt": "benchmark", "img_url": IMAGE},
            "parameters": {"resolution": "1080P", "duration": 5, "audio": True},
        },
    ),
}


async def bench(upstream: Live, adapter: Live, n: int, concurrency: int, model: Model) -> list[str]:
    connector = aiohttp.TCPConnector(limit=concurrency * 2)
    async with aiohttp.ClientSession(connector=connector) as http:
        direct = f"{upstream.url}{model.path}"
        auth = {"Authorization": f"Bearer {KEY}"}
        task_ids: list[str] = []

        async def direct_submit(i: int) -> bool:
            payload, sim_auth = model.direct(i)
            async with http.post(direct, json=payload, headers=sim_auth) as r:
                await r.read()
                return r.status == 200

        async def submit(i: int) -> bool:
            headers = {**auth, "Idempotency-Key": f"bench-{time.time_ns()}-{i}"}
            body = model.body()
            async with http.post(f"{adapter.url}/api/v1/tasks", json=body, headers=headers) as r:
                data = await r.json()
                task_ids.append(data.get("task_id", ""))
                return r.status == 200

        async def get(i: int) -> bool:
            url = f"{adapter.url}/api/v1/tasks/{task_ids[i % len(task_ids)]}"
            async with http.get(url, headers=auth) as r:
                await r.read()
                return r.status == 200

        # Warm both paths, then measure.
        await drive("warm-up", 100, concurrency, upstream.process.pid, direct_submit)
        await drive("warm-up", 100, concurrency, adapter.process.pid, submit)
        task_ids.clear()
        one = min(n, 300)
        direct_c1 = await drive("c=1 simulator submit", one, 1, upstream.process.pid, direct_submit)
        submit_c1 = await drive("c=1 adapter POST /tasks", one, 1, adapter.process.pid, submit)
        task_ids.clear()
        baseline = await drive(
            f"c={concurrency} simulator submit", n, concurrency, upstream.process.pid, direct_submit
        )
        submits = await drive(
            f"c={concurrency} adapter POST /tasks", n, concurrency, adapter.process.pid, submit
        )
        gets = await drive(
            f"c={concurrency} GET, refreshing", n, concurrency, adapter.process.pid, get
        )
        # Read again at once: every task was just refreshed, so this is Redis only.
        cached = await drive(
            f"c={concurrency} GET, from Redis", n, concurrency, adapter.process.pid, get
        )
        added = statistics.median(submit_c1.latencies) - statistics.median(direct_c1.latencies)
        probe = ", incl. the media probe" if "video_url" in model.values else ""
        return [
            direct_c1.line(),
            submit_c1.line(direct_c1),
            f"added latency per submit at c=1 (p50{probe}): {added * 1000:.2f} ms",
            baseline.line(),
            submits.line(baseline),
            gets.line(baseline),
            cached.line(baseline),
        ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument(
        "--reconciler",
        choices=("on", "off"),
        default="on",
        help="run the background reconciler in the adapter process (the default) or not",
    )
    parser.add_argument("--model", choices=sorted(MODELS), default="kling-v2-6-motion-control")
    args = parser.parse_args()
    upstream = simulate()
    env = clean_env(
        MVA_BOOTSTRAP_KEY=KEY,
        KLING_BASE_URL=upstream.url,
        KLING_API_KEY="sim-key",
        DASHSCOPE_BASE_URL=upstream.url,
        DASHSCOPE_API_KEY="sim-dashscope-key",
        MVA_MEDIA_REWRITES=f"example.com={upstream.url}/media",
        MVA_MEDIA_ALLOW_HOSTS="127.0.0.1",
        MVA_REFRESH_INTERVAL="1",
        MVA_LOG_LEVEL="warning",
        MVA_RECONCILER=args.reconciler,
    )
    namespace = f"mvabench{secrets.token_hex(6)}"
    if args.redis_url:
        # A namespace of its own, deleted after: the Redis is left as it was found.
        env.update(REDIS_URL=args.redis_url, MVA_REDIS_NAMESPACE=namespace)
    adapter = serve(env)
    try:
        if os.environ.get("MVA_BENCH_PROFILE"):
            import subprocess

            subprocess.Popen(
                [
                    "py-spy",
                    "record",
                    "-d",
                    "12",
                    "-o",
                    os.environ["MVA_BENCH_PROFILE"],
                    "-f",
                    "raw",
                    "--pid",
                    str(adapter.process.pid),
                    "--nonblocking",
                ]
            )
        lines = asyncio.run(
            bench(upstream, adapter, args.requests, args.concurrency, MODELS[args.model])
        )
    finally:
        adapter.stop()
        upstream.stop()
        if args.redis_url:
            delete_namespace(args.redis_url, namespace)
    store = args.redis_url or "in-process fakeredis"
    sys.stdout.write(
        f"{args.model}: {args.requests} requests per phase, concurrency {args.concurrency}, "
        f"store {store}, 1 adapter process, reconciler {args.reconciler}, "
        f"{os.cpu_count()} cores\n"
    )
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
