"""Two real ``serve`` processes on a local Redis Cluster, and on a Sentinel-managed master.

Process A runs the reconciler; process B does not, and its streams' heartbeat (30 s) is far
longer than any task here lives, so a stream on B learns of A's writes from the sharded pub/sub
announcement alone. The upstream is the simulator in this test process, counting each task's
submits by its ``external_task_id``.
"""

from __future__ import annotations

import asyncio
import collections
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import pytest
import redis
from redis.cluster import RedisCluster

from adapter.bootstrap.parts import key_service
from adapter.config.settings import Settings
from adapter.core.shards import owner_shard
from tests.conftest import topology_settings
from tests.e2e.counting import CountingSubmits, counting_simulator
from tests.e2e.live import Live, clean_env, serve
from tests.e2e.sse import read_sse
from tests.redis_topologies import LocalCluster, LocalSentinel, RedisNode

KEY = "mv_live_topologies"
#: B's heartbeat: no stream here lives this long, so B never re-reads on its own.
QUIET_S = 30.0


def text2video(prompt: str = "a cat") -> dict[str, object]:
    return {"model": "kling-v3", "input": {"prompt": prompt}}


@dataclass
class Deployment:
    """One topology with A and B on it, and a key per owner (on a cluster, one owner per
    master, so every node's channels carry a stream)."""

    topology: str
    setup: LocalCluster | LocalSentinel
    env: dict[str, str]
    upstream: CountingSubmits
    a: Live
    b: Live
    keys: list[str] = field(default_factory=list)
    owners: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[str, CountingSubmits]]:
    with counting_simulator() as found:
        yield found


def owners_apart(setup: LocalCluster | LocalSentinel) -> list[str]:
    """Three owners; on a cluster, each in a shard of another master."""
    if not isinstance(setup, LocalCluster):
        return ["owner-0", "owner-1", "owner-2"]
    assert setup.client is not None
    found: dict[int, str] = {}
    for n in range(1000):
        owner = f"owner-{n}"
        node = setup.client.get_node_from_key(f"{{{owner_shard(owner)}}}")  # type: ignore[no-untyped-call]
        port: int = node.port
        found.setdefault(port, owner)
        if len(found) == 3:
            return list(found.values())
    raise AssertionError("no owner found for some master")


def make_keys(settings: Settings, owners: list[str]) -> list[str]:
    async def create() -> list[str]:
        async with key_service(settings) as keys:
            return [(await keys.create({"name": o, "owner": o}))[1] for o in owners]

    return asyncio.run(create())


def delete_namespace(client: redis.Redis | RedisCluster, namespace: str) -> None:
    for key in list(client.scan_iter(match=f"{namespace}:*", count=500)):
        client.delete(key)


@pytest.fixture(scope="module", params=["cluster", "sentinel"])
def deployment(
    request: pytest.FixtureRequest, upstream: tuple[str, CountingSubmits]
) -> Iterator[Deployment]:
    topology: str = request.param
    setup: LocalCluster | LocalSentinel = request.getfixturevalue(
        "redis_cluster" if topology == "cluster" else "redis_sentinel"
    )
    settings = topology_settings(request, topology)
    namespace = f"mvatest{secrets.token_hex(6)}"
    url, counter = upstream
    env = clean_env(
        MVA_REDIS_MODE=topology,
        MVA_REDIS_NAMESPACE=namespace,
        MVA_BOOTSTRAP_KEY=KEY,
        KLING_BASE_URL=url,
        KLING_API_KEY="sim-key",
        # A submit window (upstream + 2 x media + 10 s) of 16 s: a key whose first attempt
        # died between its claim and its task is answered 409 in progress that long.
        MVA_UPSTREAM_TIMEOUT="4",
        MVA_MEDIA_TIMEOUT="1",
    )
    if topology == "cluster":
        assert settings.redis_url is not None
        env["REDIS_URL"] = settings.redis_url
    else:
        assert isinstance(setup, LocalSentinel)
        env["REDIS_SENTINELS"] = ",".join(f"{h}:{p}" for h, p in setup.sentinels)
        env["REDIS_SENTINEL_MASTER"] = setup.master_name
    started: list[Live] = []
    try:
        owners = owners_apart(setup)
        keys = make_keys(Settings.from_env(env), owners)
        started.append(serve(env))
        started.append(serve({**env, "MVA_RECONCILER": "off", "MVA_SSE_HEARTBEAT": str(QUIET_S)}))
        yield Deployment(topology, setup, env, counter, started[0], started[1], keys, owners)
    finally:
        for live in started:
            live.stop()
        assert setup.client is not None
        delete_namespace(setup.client, namespace)


def submit(live: Live, key: str, body: dict[str, object]) -> str:
    response = httpx.post(
        f"{live.url}/api/v1/tasks", json=body, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200, response.text
    task_id: str = response.json()["task_id"]
    return task_id


def assert_streamed_to_the_end(events: list[dict[str, str]]) -> None:
    """Every status the task was seen in, in order, numbered from 1, to its end. ("processing"
    may be missing: once the reconciler has learned how long these tasks take, its first
    query can come when the task is already done.)"""
    statuses = [e["status"] for e in events]
    assert statuses in (["queued", "processing", "succeeded"], ["queued", "succeeded"])
    assert [e["id"] for e in events] == [str(n) for n in range(1, len(events) + 1)]


def test_a_stream_on_one_process_carries_every_event_of_a_task_submitted_on_another(
    deployment: Deployment,
) -> None:
    """Three owners' tasks (on a cluster, one per master) submitted on A and followed on B:
    each stream carries its statuses to succeeded and closes, with no heartbeat, so every
    wake-up came over pub/sub from A's writes."""
    a, b = deployment.a, deployment.b
    tasks = [(key, submit(a, key, text2video())) for key in deployment.keys]
    started = time.monotonic()
    with ThreadPoolExecutor(len(tasks)) as pool:
        streams = [pool.submit(read_sse, b.url, key, task_id) for key, task_id in tasks]
        results = [stream.result(timeout=20) for stream in streams]
    took = time.monotonic() - started
    for events, heartbeats in results:
        assert_streamed_to_the_end(events)
        assert heartbeats == 0
    assert took < QUIET_S / 2


def test_a_duplicate_storm_over_two_processes_makes_one_task_and_one_upstream_submit(
    deployment: Deployment,
) -> None:
    """120 concurrent identical submits with one Idempotency-Key, half on A and half on B,
    while the upstream takes a second to answer the first: all 200, one task id, one
    submit reached the upstream."""
    headers = {"Authorization": f"Bearer {KEY}", "Idempotency-Key": secrets.token_hex(8)}
    body = text2video("storm [sim:slow=1]")
    before = deployment.upstream.counts()
    processes = (deployment.a, deployment.b)

    async def storm() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=None)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            return await asyncio.gather(
                *(
                    client.post(f"{processes[i % 2].url}/api/v1/tasks", json=body, headers=headers)
                    for i in range(120)
                )
            )

    responses = asyncio.run(storm())
    assert collections.Counter(r.status_code for r in responses) == {200: 120}
    task_ids = {r.json()["task_id"] for r in responses}
    assert len(task_ids) == 1
    assert sum("Idempotent-Replayed" not in r.headers for r in responses) == 1
    submitted = deployment.upstream.counts() - before
    assert submitted == {task_ids.pop(): 1}


# --- the failover drill ------------------------------------------------------------------

#: A request not answered within this is a hang (the adapter's own bounds: 3 s to connect to
#: Redis, 5 s a command).
HANG_S = 15.0
#: How long one submit is retried, with the same Idempotency-Key, while it meets 503s (or
#: 409s in progress, for up to the 16 s submit window).
RETRY_FOR_S = 30.0


@dataclass
class Submit:
    """One client submit with its own Idempotency-Key, retried while it meets 503s (or 409s
    while the first attempt is still being submitted)."""

    owner: str
    idempotency_key: str
    statuses: list[int] = field(default_factory=list)
    #: Every task id an answer named (a 503 names its task when the task may exist).
    task_ids: set[str] = field(default_factory=set)
    acknowledged: str | None = None
    #: When each 503 came (monotonic seconds).
    unavailable_at: list[float] = field(default_factory=list)
    failure: str | None = None


def submit_until_acknowledged(live: Live, key: str, owner: str) -> Submit:
    done = Submit(owner, secrets.token_hex(8))
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": done.idempotency_key}
    deadline = time.monotonic() + RETRY_FOR_S
    while time.monotonic() < deadline:
        try:
            response = httpx.post(
                f"{live.url}/api/v1/tasks", json=text2video(), headers=headers, timeout=HANG_S
            )
        except httpx.TimeoutException:
            done.failure = f"no answer within {HANG_S} s"
            return done
        except httpx.TransportError as exc:
            done.failure = f"{exc.__class__.__name__}: {exc}"
            return done
        done.statuses.append(response.status_code)
        body = response.json()
        if body.get("task_id"):
            done.task_ids.add(body["task_id"])
        if response.status_code == 200:
            done.acknowledged = body["task_id"]
            return done
        if response.status_code == 503:
            done.unavailable_at.append(time.monotonic())
        elif not (
            response.status_code == 409
            and body["error"]["code"] == "idempotency_request_in_progress"
        ):
            done.failure = f"{response.status_code} {response.text[:300]}"
            return done
        time.sleep(0.2)
    done.failure = f"still unavailable after {RETRY_FOR_S} s: {done.statuses}"
    return done


def keep_submitting(
    live: Live, key: str, owner: str, stop: threading.Event, limit: int
) -> list[Submit]:
    made: list[Submit] = []
    while not stop.is_set() and len(made) < limit:
        made.append(submit_until_acknowledged(live, key, owner))
        time.sleep(0.15)
    return made


def tracebacks(log: str) -> list[str]:
    """The tracebacks a process logged, each with the line before it."""
    lines = log.splitlines()
    found: list[str] = []
    for n, line in enumerate(lines):
        if line.startswith("Traceback"):
            end = next((m for m in range(n + 1, len(lines)) if not lines[m][:1].isspace()), n)
            found.append("\n".join(lines[max(0, n - 1) : end + 1]))
    return found


def dead_nodes(setup: LocalCluster | LocalSentinel) -> list[RedisNode]:
    nodes = setup.nodes if isinstance(setup, LocalCluster) else setup.servers
    return [node for node in nodes if node.pid() is None]


def wait_all_succeeded(live: Live, tasks: dict[str, str], within_s: float) -> dict[str, str]:
    """Poll each task (id -> its owner's key) until it ends; the last status of each."""
    last: dict[str, str] = {}
    pending = dict(tasks)
    deadline = time.monotonic() + within_s
    with httpx.Client(base_url=live.url, timeout=HANG_S) as client:
        while pending and time.monotonic() < deadline:
            for task_id, key in list(pending.items()):
                answer = client.get(
                    f"/api/v1/tasks/{task_id}", headers={"Authorization": f"Bearer {key}"}
                )
                last[task_id] = f"{answer.status_code} {answer.json().get('status')}"
                if answer.status_code == 200 and answer.json()["status"] in (
                    "succeeded",
                    "failed",
                    "cancelled",
                ):
                    del pending[task_id]
            time.sleep(0.2)
    return last


def test_a_master_killed_under_submits_costs_503s_only_and_loses_no_acknowledged_task(
    deployment: Deployment,
) -> None:
    """Four clients submit on A and B (each submit its own Idempotency-Key, a 503 retried with
    it) while the master serving the first owner's shard is SIGKILLed and its replica takes
    over. Clients see 200s, 503s and at most a 409 in progress, never a 500 or a hang; every
    acknowledged task reads back and succeeds; each Idempotency-Key reached the upstream
    at most once, and every task the upstream got was answered to its client."""
    setup = deployment.setup
    processes = (deployment.a, deployment.b)
    keys, owners = deployment.keys, deployment.owners
    before = deployment.upstream.counts()
    stop = threading.Event()
    victim_key = f"{{{owner_shard(owners[0])}}}"
    try:
        with ThreadPoolExecutor(4) as pool:
            clients = [
                pool.submit(keep_submitting, processes[i % 2], keys[i % 3], owners[i % 3], stop, 60)
                for i in range(4)
            ]
            time.sleep(1.5)
            killed_at = time.monotonic()
            if isinstance(setup, LocalCluster):
                setup.kill_master(victim_key)
            else:
                setup.kill_master()
            failed_over_at = time.monotonic()
            time.sleep(2)
            stop.set()
            submits = [s for client in clients for s in client.result(timeout=120)]
    finally:
        stop.set()
        for node in dead_nodes(setup):
            setup.revive(node)

    failures = [(s.idempotency_key, s.failure) for s in submits if s.failure]
    if failures:  # what the processes logged of them, for the report
        for live in processes:
            print(f"--- {live.url}\n" + "\n".join(tracebacks(live.output())))
    assert failures == []
    assert {code for s in submits for code in s.statuses} <= {200, 409, 503}
    unavailable = sorted(t for s in submits for t in s.unavailable_at)
    window = unavailable[-1] - unavailable[0] if unavailable else 0.0
    by_owner = collections.Counter(s.owner for s in submits for _ in s.unavailable_at)
    in_progress = sum(s.statuses.count(409) for s in submits)
    print(
        f"\n[{deployment.topology}] {len(submits)} submits; master killed at +0.0 s, "
        f"failed over (as the fixture saw it) at +{failed_over_at - killed_at:.2f} s; "
        f"{len(unavailable)} 503s"
        + (
            f" from +{unavailable[0] - killed_at:.2f} s to +{unavailable[-1] - killed_at:.2f} s "
            f"(a window of {window:.2f} s), by owner {dict(by_owner)}"
            if unavailable
            else ""
        )
        + f"; {in_progress} 409s in progress"
    )

    acknowledged = {s.acknowledged: keys[owners.index(s.owner)] for s in submits}
    assert None not in acknowledged and len(acknowledged) == len(submits)
    ended = wait_all_succeeded(deployment.b, acknowledged, within_s=40)  # type: ignore[arg-type]
    assert {status for status in ended.values()} == {"200 succeeded"}
    assert len(ended) == len(acknowledged)

    submitted = deployment.upstream.counts() - before
    assert [t for t, n in submitted.items() if n > 1] == []
    for s in submits:
        assert sum(submitted[t] for t in s.task_ids) == 1, (s.idempotency_key, s.task_ids)
    told = {t for s in submits for t in s.task_ids}
    assert set(submitted) <= told

    # And B's feed followed the failover: a new task of the first owner streams to its end.
    task_id = submit(deployment.a, keys[0], text2video())
    events, _ = read_sse(deployment.b.url, keys[0], task_id)
    assert_streamed_to_the_end(events)
