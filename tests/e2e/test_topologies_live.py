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
from tests.redis_topologies import LocalCluster, LocalSentinel

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
        keys = make_keys(Settings.from_env(env), owners_apart(setup))
        started.append(serve(env))
        started.append(serve({**env, "MVA_RECONCILER": "off", "MVA_SSE_HEARTBEAT": str(QUIET_S)}))
        yield Deployment(topology, setup, env, counter, started[0], started[1], keys)
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


def test_a_stream_on_one_process_carries_every_event_of_a_task_submitted_on_another(
    deployment: Deployment,
) -> None:
    """Three owners' tasks (on a cluster, one per master) submitted on A and followed on B:
    each stream carries queued, processing and succeeded and closes, with no heartbeat, so
    every wake-up came over pub/sub from A's writes."""
    a, b = deployment.a, deployment.b
    tasks = [(key, submit(a, key, text2video())) for key in deployment.keys]
    started = time.monotonic()
    with ThreadPoolExecutor(len(tasks)) as pool:
        streams = [pool.submit(read_sse, b.url, key, task_id) for key, task_id in tasks]
        results = [stream.result(timeout=20) for stream in streams]
    took = time.monotonic() - started
    for events, heartbeats in results:
        assert [e["status"] for e in events] == ["queued", "processing", "succeeded"]
        assert [e["id"] for e in events] == ["1", "2", "3"]
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
