"""``serve --workers 2``: one scrape of ``/metrics``, whichever worker answers it, adds up the
metrics of both (needs REDIS_URL; CI sets it)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from tests.e2e.live import Live, children, serve, shared_redis_env
from tests.fakes import MODEL
from tests.metrics import sample

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
KEY = "mv_live_metrics_workers"
#: Gives up on seeing both workers take tasks after this many submits.
MAX_SUBMITS = 60


@pytest.fixture(scope="module")
def workers(upstream: Live) -> Iterator[Live]:
    with shared_redis_env(
        upstream,
        KEY,
        MVA_MEDIA_REWRITES=f"example.com={upstream.url}/media",
        MVA_MEDIA_ALLOW_HOSTS="127.0.0.1",
    ) as env:
        live = serve(env, "--workers", "2")
        yield live
        live.stop()


def metrics_dir(worker: int) -> Path:
    environ = Path(f"/proc/{worker}/environ").read_bytes().split(b"\0")
    [value] = [v for v in environ if v.startswith(b"PROMETHEUS_MULTIPROC_DIR=")]
    return Path(value.split(b"=", 1)[1].decode())


def created_by(directory: Path, pid: int) -> float:
    """The tasks one worker created, from its own files alone."""
    files = [str(f) for f in directory.glob(f"*_{pid}.db")]
    for family in MultiProcessCollector.merge(files, accumulate=True):
        for found in family.samples:
            if found.name == "mva_tasks_created_total":
                return float(found.value)
    return 0.0


def submit(live: Live, i: int) -> None:
    body = {
        "model": MODEL,
        "input": {
            "prompt": f"wave {i}",
            "character_orientation": "image",
            "mode": "std",
            "image_url": "https://example.com/me.png",
            "video_url": "https://example.com/ref-6s.mp4",
        },
    }
    # A connection of its own each time: the kernel hands it to either worker.
    answer = httpx.post(
        f"{live.url}/api/v1/tasks",
        json=body,
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text


def test_a_scrape_adds_up_the_tasks_both_workers_created(workers: Live) -> None:
    pids = [pid for name, pid in children(workers.process.pid).items() if name != "simulator"]
    assert len(pids) == 2
    directory = metrics_dir(pids[0])
    assert metrics_dir(pids[1]) == directory and directory.is_dir()
    submitted = 0
    while submitted < MAX_SUBMITS and not all(created_by(directory, pid) for pid in pids):
        submit(workers, submitted)
        submitted += 1
    each = [created_by(directory, pid) for pid in pids]
    assert all(each), f"one worker took all {submitted} tasks"
    assert sum(each) == submitted
    for _ in range(4):  # each scrape lands on either worker: every one sees the sum
        scrape = httpx.get(f"{workers.url}/metrics", timeout=10).text
        assert sample(scrape, "mva_tasks_created_total", model=MODEL) == submitted
        submits = sample(
            scrape,
            "mva_upstream_requests_total",
            provider="kling",
            operation="submit",
            model=MODEL,
            outcome="ok",
        )
        assert submits == submitted


def test_the_supervisor_removes_the_metrics_directory_when_it_stops(upstream: Live) -> None:
    with shared_redis_env(upstream, KEY) as env:
        live = serve(env, "--workers", "2")
        pids = [pid for name, pid in children(live.process.pid).items() if name != "simulator"]
        directory = metrics_dir(pids[0])
        assert directory.is_dir()
        live.stop()
    assert not directory.exists()
