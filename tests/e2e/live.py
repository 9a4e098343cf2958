"""Start the real ``mindvideo-adapter`` console program on loopback ports, and stop it."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import redis

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "schemas" / "examples"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(**extra: str) -> dict[str, str]:
    """The environment less any adapter or upstream setting, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MVA_", "KLING_", "DASHSCOPE_", "NEWAPI_", "FAL_", "REPLICATE_"))
        and k != "REDIS_URL"
    }
    env.update(
        MVA_SIM_QUEUE_SECONDS="0.4",
        MVA_SIM_PROCESS_SECONDS="0.8",
        MVA_REFRESH_INTERVAL="0.1",
        # A simulator run as a configured upstream: the first poll goes halfway through its
        # tasks' processing, as for the simulator's own providers.
        MVA_POLL_FIRST_AFTER="0.8",
        MVA_LOG_LEVEL="warning",
    )
    env.update(extra)
    return env


class Live:
    """One process of the adapter's CLI (or of another ``program`` run by this Python), waited
    on until it answers /healthz."""

    def __init__(
        self,
        args: list[str],
        env: Mapping[str, str],
        port: int,
        *,
        program: tuple[str, ...] = ("-m", "adapter"),
        cwd: Path = ROOT,
    ) -> None:
        """``cwd``: where it runs; ``-m adapter`` runs the adapter found there."""
        self.url = f"http://127.0.0.1:{port}"
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, *program, *args],
            env=dict(env),
            cwd=cwd,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.output()
                self.log.close()
                raise RuntimeError(f"{args} exited early:\n{output}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        output = self.output()
        self.stop()
        raise RuntimeError(f"{args} did not start:\n{output}")

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited and not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):  # gone, or reaped as it was read
        return False
    return state != "Z"


def children(pid: int) -> dict[str, int]:
    """The processes ``pid`` started, by what they are: ``simulator``, ``worker-1``, ..."""
    found: dict[str, int] = {}
    workers = 0
    for stat in sorted(Path("/proc").glob("[0-9]*/stat"), key=lambda p: int(p.parent.name)):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if parent != pid:
            continue
        if " simulate " in cmdline:
            found["simulator"] = int(stat.parent.name)
        elif "spawn_main" in cmdline:  # uvicorn's workers (not multiprocessing's tracker)
            workers += 1
            found[f"worker-{workers}"] = int(stat.parent.name)
    return found


def serve(env: Mapping[str, str], *extra: str) -> Live:
    port = free_port()
    return Live(["serve", "--port", str(port), *extra], env, port)


def simulate(**settings: str) -> Live:
    """``mindvideo-adapter simulate`` with ``settings`` (``MVA_SIM_*``) in its environment."""
    port = free_port()
    return Live(["simulate", "--port", str(port)], clean_env(**settings), port)


def instant_upstream() -> Live:
    """The simulator with tasks that succeed at their first query: what benchmarks measure
    the adapter against."""
    return simulate(MVA_SIM_QUEUE_SECONDS="0", MVA_SIM_PROCESS_SECONDS="0")


def seed_curl(base_url: str, key: str, model: str = "kling-v2-6-motion-control") -> str:
    """A seed's curl example (``schemas/examples``) with only the host and the key changed."""
    path = EXAMPLES / f"{model}.curl.sh"
    text = path.read_text(encoding="utf-8").split("\n", 1)[1]
    return text.replace("https://api.mindvideo.ai", base_url).replace("mv_live_xxx", key)


def run_seed_curl(base_url: str, key: str, model: str = "kling-v2-6-motion-control") -> Any:
    """Run a seed's curl and return its JSON answer.

    The seeds' ``Idempotency-Key: task_$(date +%s)`` repeats within a second, and one key with
    another body is a 409 by design; so each run starts in a second of its own.
    """
    global _last_second
    while int(time.time()) == _last_second:
        time.sleep(0.05)
    _last_second = int(time.time())
    done = subprocess.run(
        ["bash", "-c", seed_curl(base_url, key, model)],
        capture_output=True,
        check=True,
        timeout=30,
    )
    return json.loads(done.stdout)


_last_second = 0


def wait_terminal(client: httpx.Client, task_id: str, timeout: float = 20) -> list[str]:
    """Poll every 0.1 s until the task ends; return the statuses seen, in order, once each."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/api/v1/tasks/{task_id}").json()["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in ("succeeded", "failed", "cancelled"):
            return seen
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} did not end; saw {seen}")


def delete_namespace(url: str, namespace: str) -> None:
    """Delete the keys under ``namespace:`` and nothing else (never a FLUSHDB: the Redis is
    the user's own)."""
    db = redis.Redis.from_url(url)
    try:
        for key in db.scan_iter(match=f"{namespace}:*", count=500):
            db.delete(key)
    finally:
        db.close()


@contextmanager
def shared_redis_env(upstream: Live, key: str, **extra: str) -> Iterator[dict[str, str]]:
    """The environment of adapter processes sharing the Redis at ``REDIS_URL`` under a key
    namespace of their own, and the simulator ``upstream``; the namespace's keys are deleted
    after."""
    url = os.environ["REDIS_URL"]
    namespace = f"mvatest{secrets.token_hex(6)}"
    try:
        yield clean_env(
            REDIS_URL=url,
            MVA_REDIS_NAMESPACE=namespace,
            MVA_BOOTSTRAP_KEY=key,
            KLING_BASE_URL=upstream.url,
            KLING_API_KEY="sim-key",
            **extra,
        )
    finally:
        delete_namespace(url, namespace)
