"""Smoke runs of benchmarks/scale.py and benchmarks/workers.py (--quick): every row of their
tables, no failed request, and nothing left in Redis. No timing is asserted."""

from __future__ import annotations

import os
import re

import pytest
import redis

from tests.benchmark_runs import run_benchmark

NEEDS_REDIS = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
P50_ROWS = [
    "submit (kling-v3) at c=1",
    "GET of a finished task at c=1",
    "list (limit=20, the key's owner) at c=1",
]
CPU_ROWS = [
    "adapter (one process)",
    "adapter supervisor",
    "adapter worker-1",
    "adapter worker-2",
    "simulator (upstream)",
    "adapter, all its processes",
    "the whole machine (/proc/stat)",
]


def run(script: str, url: str) -> str:
    return run_benchmark(script, "--quick", "--redis-url", url)


def keys_under(url: str, namespace: str) -> list[bytes]:
    db = redis.Redis.from_url(url)
    try:
        return list(db.scan_iter(match=f"{namespace}:*", count=1000))
    finally:
        db.close()


@NEEDS_REDIS
def test_scale_quick_run_prints_both_figures_per_row_and_leaves_nothing() -> None:
    url = os.environ["REDIS_URL"]
    out = run("scale.py", url)
    header = re.search(
        r"^\| c=1, p50 \(median of rounds\) \| ([\d,]+) stored \| ([\d,]+) stored", out, re.M
    )
    assert header is not None, out
    small, large = (int(n.replace(",", "")) for n in header.groups())
    assert 2_000 <= small < large and large >= 20_000
    for row in P50_ROWS:
        figures = (
            rf"^\| {re.escape(row)} \| [\d.]+ ms \| [\d.]+ ms \| [\d.]+x \| [^|]+ "
            r"\| <= 1\.10x \| (yes|no) \|$"
        )
        assert re.search(figures, out, re.M), row
        assert re.search(rf"^\| {re.escape(row)}, p99 \| [\d.]+ ms \| [\d.]+ ms \|", out, re.M), row
    assert re.search(r"^load: [\d,]+ tasks through RedisTaskStore .* [\d,]+ tasks/s", out, re.M)
    assert re.search(r"^Redis used_memory \(INFO memory\): .* [\d,]+ B per stored task", out, re.M)
    assert "errors (4xx/5xx or failed connections): 0\n" in out
    namespace = re.search(
        r"^Redis namespace \(deleted after\): (\S+) \([\d,]+ keys unlinked, 0 left\)", out, re.M
    )
    assert namespace is not None, out
    assert not keys_under(url, namespace.group(1))


@NEEDS_REDIS
def test_workers_quick_run_prints_both_rates_and_each_process_cpu_and_leaves_nothing() -> None:
    url = os.environ["REDIS_URL"]
    out = run("workers.py", url)
    rate = (
        r"^\| submit \(kling-v3\), c=32 \| [\d,]+ req/s \| [\d,]+ req/s \| [\d.]+ \| - "
        r"\| >= 1\.6 \| (yes|no) \|$"
    )
    assert re.search(rate, out, re.M), out
    for row in CPU_ROWS:
        assert re.search(rf"^\| {re.escape(row)} \| ([\d.]+|-) \| ([\d.]+|-) \|$", out, re.M), row
    assert re.search(r"^machine: \d+ cores, load average [\d.]+ at the start", out, re.M)
    assert "errors (4xx/5xx or failed connections): 0\n" in out
    namespaces = re.search(r"^Redis namespaces \(deleted after\): (.+) \(0 keys left\)$", out, re.M)
    assert namespaces is not None, out
    for namespace in namespaces.group(1).split(", "):
        assert not keys_under(url, namespace), namespace
