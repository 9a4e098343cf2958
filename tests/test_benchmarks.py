"""Short runs of the benchmarks (--quick, or polling.py's few tasks): every row of their
tables, the bytes per task by key type, no failed request, and nothing left in Redis or git.
No timing is asserted."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import redis

from benchmarks.redis_bytes import kind_of
from benchmarks.redis_pool import POOLS
from tests.benchmark_runs import ROOT, run_benchmark

ROWS = [
    "submit (kling-v3), c=32, reconciler on",
    "submit (kling-v3), c=32, reconciler off",
    "GET of a finished task, c=32",
    "submit p50 at c=1",
    "submit p99 at c=1",
    "GET p50 at c=1",
    "GET p99 at c=1",
    "server CPU per submit, c=32, reconciler off",
    "server CPU per GET, c=32",
    "Redis bytes per finished task (30 tasks)",
]
#: A key per task each (30 tasks), then the indexes (keys shared by the tasks: the owner's in
#: one shard, every task's in each shard with a task).
PER_TASK = ["task (with its events)", "idempotency entry"]
INDEXES = ["owner index entries", "every-task index entries"]
#: compare.py runs on wrk where it is on PATH (CI installs it), revisions.py on the aiohttp
#: loop: the two load generators of ``benchmarks/load.py``, each run once.
LOAD = "wrk" if shutil.which("wrk") else "aiohttp"


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
def test_quick_run_prints_the_whole_table() -> None:
    url = os.environ["REDIS_URL"]
    out = run_benchmark("compare.py", "--quick", "--load", LOAD, "--redis-url", url)
    assert ("load: wrk" if LOAD == "wrk" else "load: an aiohttp loop") in out
    for row in ROWS:
        assert re.search(rf"^\| {re.escape(row)} \| [\d,.]+ (req/s|ms|µs)? ?\|", out, re.M), row
    for kind in PER_TASK:
        assert re.search(rf"^\| {re.escape(kind)} \| 30 \| [\d,]+ \|", out, re.M), kind
    for kind in INDEXES:
        assert re.search(rf"^\| {re.escape(kind)} \| \d+ \| [\d,]+ \|", out, re.M), kind
    assert re.search(
        r"^\| total per task \| 30 tasks \| [\d,]+ \| 30 tasks \| [\d,]+ \|$", out, re.M
    )
    assert "errors (4xx/5xx or failed connections): 0\n" in out
    assert_namespaces_deleted(out, url)


def assert_namespaces_deleted(out: str, url: str) -> None:
    """The namespaces a run printed hold no key any more."""
    namespaces = re.search(r"^Redis namespaces \(deleted after\): (.+)$", out, re.M)
    assert namespaces is not None
    db = redis.Redis.from_url(url)
    try:
        for namespace in namespaces.group(1).split(", "):
            assert not list(db.scan_iter(match=f"{namespace}:*", count=1000)), namespace
    finally:
        db.close()


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("{17}:t:task_11ab12", "task (with its events)"),
        ("task:task_ab12", "task (with its events)"),
        ("{17}:r:task_11ab12", "refresh lease (PX, transient)"),
        ("{17}:i:9hq_Sa_idbGEI0VIFkQmkl", "idempotency entry"),
        ("idem:9f", "idempotency entry"),
        ("{17}:o:bootstrap:succeeded", "owner index entries"),
        ("{17}:k:key_11ab:tasks", "API key's task index entries"),
        ("{17}:tasks", "every-task index entries"),
        ("{17}:due:tasks", "schedule entries (due:*)"),
        ("{17}:k:key_11ab:usage:2026-11-29", "not per task (API key, usage, counters)"),
        ("apikeys", "not per task (API key, usage, counters)"),
    ],
)
def test_keys_sort_into_their_types(key: str, kind: str) -> None:
    assert kind_of(key) == kind


#: A short run: 5 and 20 tasks of 3 s (a 3 minute task scaled 1/60), then 40 that never end,
#: on the embedded store.
POLLING_QUICK = [
    *("--tasks", "20", "--warmup", "5", "--scale", "60", "--full-load", "40"),
    *("--redis-url", ""),
]


def test_the_polling_benchmark_prints_requests_per_task_and_lag_for_both_dialects() -> None:
    """A short run of benchmarks/polling.py: every row, every task ended; no timing asserted."""
    out = run_benchmark("polling.py", *POLLING_QUICK)
    number = r"[\d.]+"
    for dialect in ("official", "gateway"):
        for batch, n in (("warm-up \\(defaults\\)", 5), ("after learning", 20)):
            row = rf"^\| {dialect} \| {batch} \| {n} \| {n} \|( {number} \|){{3}}"
            assert re.search(row + rf"( -?{number} \|){{4}}$", out, re.M), (dialect, batch, out)
        assert re.search(rf"^\| {dialect} \| GET of a finished task, p50 \| polling ", out, re.M)
        loaded = rf"^\| {dialect} \| full load: 40 live tasks that never end \| {number} requests"
        assert re.search(loaded, out, re.M), (dialect, out)
    pages = re.search(
        r"^\| gateway \| after learning \| 20 \| 20 \| [\d.]+ \| \d+ \| (\d+) \|", out, re.M
    )
    assert pages is not None and pages.group(1) == "0"  # the gateway dialect lists nothing


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
@pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout"
)
def test_quick_revisions_run_compares_two_checkouts_and_cleans_up() -> None:
    """benchmarks/revisions.py against HEAD itself: both rows, no worktree or key left."""
    url = os.environ["REDIS_URL"]
    out = run_benchmark(
        "revisions.py", "--quick", "--base", "HEAD", "--load", "aiohttp", "--redis-url", url
    )
    assert "load: an aiohttp loop" in out
    for phase in ("submit", "get"):
        assert re.search(rf"^\| {phase} \| [\d,]+ µs \| [\d,]+ µs \| [\d.]+x \|", out, re.M), out
    assert_namespaces_deleted(out, url)
    tree = re.search(r"^the base ran in (\S+) \(removed after\)", out, re.M)
    assert tree is not None
    trees = subprocess.run(
        ["git", "worktree", "list"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert tree.group(1) not in trees.stdout
    assert not Path(tree.group(1)).exists()


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
def test_quick_pool_run_prints_each_pools_cost_and_deletes_its_key() -> None:
    url = os.environ["REDIS_URL"]
    out = run_benchmark("redis_pool.py", "--quick", "--redis-url", url)
    for pool in POOLS:
        assert re.search(rf"^  {re.escape(pool)} +[\d.]+ µs  \([\d.-]+\)  [\d.]+x base$", out, re.M)
    with redis.Redis.from_url(url) as client:
        assert not list(client.scan_iter(match="mvabench:pool:*"))


def test_quick_share_run_prints_both_ways_of_waiting() -> None:
    out = run_benchmark("cpu_share.py", "--quick")
    assert re.search(
        r"^  each item looks on its own \(before, base\) +[\d.]+ ms .* 1\.00x base$", out, re.M
    )
    assert re.search(
        r"^  CpuShare\.turn \(one looks for all\) +[\d.]+ ms .* [\d.]+x base$", out, re.M
    )
