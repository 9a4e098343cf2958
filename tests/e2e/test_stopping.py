"""SIGTERM in the middle of mixed traffic: every process, and each worker, exits within the bound.

Each round starts the real program and puts in flight what a busy server has: submits with
and without an Idempotency-Key and their GETs, event streams open, reconciler rounds over
tasks that stay queued, a submit the upstream holds for an hour (``[sim:slow=3600]``), a
webhook delivery the receiver never answers and one it refuses. Once that delivery has
arrived, the round sends SIGTERM and times the exit of the process and of its children.
Rounds run side by side: each stop spends the 5 s grace of its open streams.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial

import httpx
import pytest

from adapter.core.shutdown import FORCED_EXIT, STOP_BOUND_S
from tests.e2e.live import (
    ROOT,
    Live,
    alive,
    children,
    clean_env,
    delete_namespace,
    free_port,
    serve,
)
from tests.e2e.sse import read_sse, silent_receiver

KEY = "mv_live_stopping"
AUTH = {"Authorization": f"Bearer {KEY}"}
needs_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
#: Time to notice an exit, on a loaded machine.
SLACK_S = 1.0


@dataclass
class Stop:
    """What one SIGTERM did: seconds to each exit (None: still running at the bound)."""

    returncode: int | None
    exited_s: float | None
    children: dict[str, float | None] = field(default_factory=dict)
    output: str = ""

    def problems(self) -> list[str]:
        late = [] if self.exited_s is not None else ["the process"]
        late += [name for name, took in self.children.items() if took is None]
        return [f"{name} still running {STOP_BOUND_S + SLACK_S:g} s after SIGTERM" for name in late]


def text2video(prompt: str, **extra: object) -> dict[str, object]:
    return {"model": "kling-v3", "input": {"prompt": prompt}, **extra}


def submit(url: str, body: dict[str, object], key: str | None = None) -> str:
    headers = {**AUTH, "Idempotency-Key": key} if key else AUTH
    response = httpx.post(f"{url}/api/v1/tasks", json=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    task_id: str = response.json()["task_id"]
    return task_id


def quietly(call: Callable[[], object]) -> None:
    """Traffic that a stopping server may cut off: errors are what a client would see."""
    with suppress(httpx.HTTPError, AssertionError):
        call()


def burst(url: str, i: int) -> None:
    """One client's submit (every other one with an Idempotency-Key, some replayed), then GETs."""
    key = f"order-{i // 3}" if i % 2 else None
    task_id = submit(url, text2video("a cat" if i % 4 else "a dog [sim:fail]"), key)
    httpx.get(f"{url}/api/v1/tasks/{task_id}", headers=AUTH, timeout=30)
    httpx.get(f"{url}/api/v1/tasks/{task_id}/events", headers=AUTH, timeout=30)


@contextmanager
def busy(url: str, *, serving: bool = True) -> Iterator[None]:
    """Mixed traffic on ``url``, until a webhook delivery is in flight (then the block runs).

    ``serving=False`` leaves out what only the process serving ``url`` would hold (event
    streams, a submit held by the upstream), for rounds that stop another process.
    """
    with silent_receiver() as silent, ThreadPoolExecutor(24) as pool:
        refused = f"http://127.0.0.1:{free_port()}/hooks/refused"
        submit(url, text2video("hooked", webhook_url=silent.url))
        submit(url, text2video("refused", webhook_url=refused))
        queued = [submit(url, text2video(f"wait {i} [sim:stay-queued]")) for i in range(2)]
        if serving:
            pool.submit(quietly, partial(submit, url, text2video("held [sim:slow=3600]")))
            for task_id in queued:
                pool.submit(quietly, partial(read_sse, url, KEY, task_id, limit_s=60))
        started = time.monotonic()
        sent = 0
        while not silent.arrived.is_set() and time.monotonic() - started < 15:
            pool.submit(quietly, partial(burst, url, sent))
            sent += 1
            time.sleep(0.05)
        assert silent.arrived.is_set(), "no webhook delivery arrived"
        yield


def sigterm(live: Live | Worker, *, wait_for_workers: int = 0) -> Stop:
    """SIGTERM ``live`` and time its exit, and each child's, for up to the bound."""
    deadline = time.monotonic() + 10
    kids = children(live.process.pid)
    while len([k for k in kids if k.startswith("worker")]) < wait_for_workers:
        assert time.monotonic() < deadline, f"workers did not start: {kids}"
        time.sleep(0.1)
        kids = children(live.process.pid)
    started = time.monotonic()
    live.process.send_signal(signal.SIGTERM)
    stop = Stop(returncode=None, exited_s=None, children=dict.fromkeys(kids))
    while time.monotonic() - started < STOP_BOUND_S + SLACK_S:
        for name, pid in kids.items():
            if stop.children[name] is None and not alive(pid):
                stop.children[name] = time.monotonic() - started
        if live.process.poll() is not None and stop.exited_s is None:
            stop.exited_s = time.monotonic() - started
        if stop.exited_s is not None and None not in stop.children.values():
            break
        time.sleep(0.05)
    stop.returncode = live.process.poll()
    for pid in [live.process.pid, *kids.values()]:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)  # a failed round leaves nothing behind
    live.process.wait()
    stop.output = live.output()
    live.log.close()
    return stop


def rounds(count: int, at_once: int, one: Callable[[int], Stop]) -> list[Stop]:
    with ThreadPoolExecutor(at_once) as pool:
        return list(pool.map(one, range(count)))


def embedded_round(_: int) -> Stop:
    live = serve(
        clean_env(
            MVA_BOOTSTRAP_KEY=KEY, MVA_WEBHOOK_ALLOW_HOSTS="127.0.0.1", MVA_SSE_HEARTBEAT="0.3"
        )
    )
    with busy(live.url):
        return sigterm(live)


def test_serve_stops_within_the_bound_in_the_middle_of_traffic_every_time() -> None:
    """Six embedded servers, each SIGTERMed mid-traffic, each exits by the signal in time."""
    stops = rounds(6, 6, embedded_round)
    for stop in stops:
        assert stop.problems() == [], stop.output
        assert stop.returncode == -signal.SIGTERM, stop.output


def test_a_second_signal_ends_a_stopping_serve_at_once() -> None:
    """SIGTERM with a stream open (the 5 s grace), then SIGINT: the process exits at once."""
    live = serve(clean_env(MVA_BOOTSTRAP_KEY=KEY))
    try:
        task_id = submit(live.url, text2video("wait [sim:stay-queued]"))
        with ThreadPoolExecutor(1) as pool:
            pool.submit(quietly, partial(read_sse, live.url, KEY, task_id, limit_s=30))
            time.sleep(0.5)
            live.process.send_signal(signal.SIGTERM)
            time.sleep(1)
            assert live.process.poll() is None  # still giving the stream its grace
            live.process.send_signal(signal.SIGINT)
            started = time.monotonic()
            assert live.process.wait(timeout=5) == FORCED_EXIT
            assert time.monotonic() - started < 1
        assert "SIGINT while stopping: exiting now" in live.output()
    finally:
        live.stop()


@contextmanager
def redis_env(**extra: str) -> Iterator[dict[str, str]]:
    """A namespace of its own on the Redis at REDIS_URL, deleted after."""
    url = os.environ["REDIS_URL"]
    namespace = f"mvatest{secrets.token_hex(6)}"
    try:
        yield clean_env(
            REDIS_URL=url,
            MVA_REDIS_NAMESPACE=namespace,
            MVA_BOOTSTRAP_KEY=KEY,
            MVA_WEBHOOK_ALLOW_HOSTS="127.0.0.1",
            MVA_SSE_HEARTBEAT="0.3",
            **extra,
        )
    finally:
        delete_namespace(url, namespace)


def workers_round(_: int) -> Stop:
    with redis_env() as env:  # no upstream set: the simulator runs beside the workers
        live = serve(env, "--workers", "2")
        with busy(live.url):
            return sigterm(live, wait_for_workers=2)


@needs_redis
def test_serve_with_workers_stops_each_worker_within_the_bound_every_time() -> None:
    """``serve --workers 2`` on Redis: the supervisor, both workers and the simulator exit in
    time, with nothing killed."""
    stops = rounds(3, 3, workers_round)
    for stop in stops:
        assert stop.problems() == [], stop.output
        assert set(stop.children) >= {"simulator", "worker-1", "worker-2"}
        assert stop.returncode == 0, stop.output
        assert "Killing" not in stop.output


class Worker:
    """``mindvideo-adapter worker``, once it says what it reconciles."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by sigterm()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "adapter", "worker"],
            env=dict(env),
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while "reconciling tasks" not in self.output():
            assert self.process.poll() is None and time.monotonic() < deadline, self.output()
            time.sleep(0.1)

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


def worker_round(upstream: Live) -> Stop:
    with redis_env(
        MVA_RECONCILER="off", KLING_BASE_URL=upstream.url, KLING_API_KEY="sim-key"
    ) as env:
        front = serve(env)
        worker = Worker(env)
        try:
            with busy(front.url, serving=False):
                return sigterm(worker)
        finally:
            front.stop()


@needs_redis
def test_the_worker_command_stops_within_the_bound_every_time(upstream: Live) -> None:
    """``mindvideo-adapter worker`` SIGTERMed with rounds and a webhook delivery in flight."""
    stops = rounds(3, 3, lambda _: worker_round(upstream))
    for stop in stops:
        assert stop.problems() == [], stop.output
        assert stop.returncode == 0, stop.output
