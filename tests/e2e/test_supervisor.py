"""``serve --workers``' supervisor: a worker that never finishes stopping is killed in time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.e2e.live import ROOT, alive, children, free_port


@contextmanager
def stuck_workers(bound_s: float) -> Iterator[tuple[subprocess.Popen[bytes], list[int]]]:
    """The supervisor over two workers whose shutdown never ends, serving; and their pids."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.stuck_app", str(port), str(bound_s)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 20
            workers: list[int] = []
            while len(workers) < 2 or not answers(port):
                assert time.monotonic() < deadline, "the workers did not start"
                time.sleep(0.1)
                workers = [
                    pid for name, pid in children(supervisor.pid).items() if name != "simulator"
                ]
            yield supervisor, workers
        finally:
            for pid in [supervisor.pid, *children(supervisor.pid).values()]:
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
            supervisor.wait()


def answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def exits_within(process: subprocess.Popen[bytes], seconds: float) -> float:
    started = time.monotonic()
    process.wait(timeout=seconds)
    return time.monotonic() - started


def test_a_worker_still_stopping_at_the_bound_is_killed() -> None:
    """SIGTERM; the workers hang in shutdown; at the bound they get SIGKILL, and all exit."""
    with stuck_workers(bound_s=2) as (supervisor, workers):
        supervisor.send_signal(signal.SIGTERM)
        took = exits_within(supervisor, 10)
        assert 2 <= took < 4
        assert supervisor.returncode == 0
        assert not any(alive(pid) for pid in workers)


@pytest.mark.parametrize("second", [signal.SIGTERM, signal.SIGINT])
def test_a_second_signal_kills_the_workers_at_once(second: signal.Signals) -> None:
    """A second SIGTERM or SIGINT to the supervisor is never a no-op: it ends the wait."""
    with stuck_workers(bound_s=60) as (supervisor, workers):
        supervisor.send_signal(signal.SIGTERM)
        time.sleep(1.5)
        assert supervisor.poll() is None and all(alive(pid) for pid in workers)
        supervisor.send_signal(second)
        assert exits_within(supervisor, 10) < 2
        assert not any(alive(pid) for pid in workers)
