"""Stored tasks for ``benchmarks/scale.py``, made through the store as the service makes them.

Each task is ``RedisTaskStore.create_task`` (queued, version 1, its first event, admitted under
its owner's key with no limits), then ``update_task`` to the finished state of a template (a
task the running adapter made and finished), with its final event: the same scripts, keys and
bytes as a submit the upstream finished. Ids are ``new_task_id(owner)``; tasks go to the owners
in turn, so each owner's list and shard grow alike. Several processes load at once, each with
many coroutines; a namespace is counted by its every-task indexes and deleted with SCAN and
UNLINK in batches (never a FLUSHDB).
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
import redis
import redis.asyncio as aioredis

from adapter.core.shards import SHARDS, new_key_id, new_task_id
from adapter.core.values import Admission, Event, TaskRecord, TaskStatus
from adapter.stores.redis import RedisTaskStore
from adapter.stores.redis_keyspace import KeySpace

#: The store's default task expiry (``MVA_TASK_TTL``): the loaded tasks outlive the run.
TASK_TTL_S = 7 * 86_400


@dataclass(frozen=True)
class Job:
    """What one loader process makes: tasks ``start`` to ``stop`` (their numbers pick owners)."""

    url: str
    namespace: str
    template: bytes  # a finished TaskRecord, as JSON
    owners: tuple[tuple[str, str], ...]  # (owner, their key id), in turn
    start: int
    stop: int
    concurrency: int


@dataclass(frozen=True)
class Filled:
    tasks: int
    seconds: float
    processes: int

    @property
    def rate(self) -> float:
        return self.tasks / self.seconds if self.seconds else 0.0


def owners(key_owner: str, key_id: str, count: int) -> tuple[tuple[str, str], ...]:
    """``count`` owners with a key each: the live key's owner first, then made-up ones."""
    others = (f"scale-owner-{n:03d}" for n in range(1, count))
    return ((key_owner, key_id), *((owner, new_key_id(owner)) for owner in others))


def task_pair(template: TaskRecord, owner: str, key_id: str) -> tuple[TaskRecord, TaskRecord]:
    """A new task of ``owner`` as created (queued, version 1) and as finished (version 2)."""
    now = datetime.now(UTC)
    upstream_id = secrets.token_hex(max(1, len(template.upstream_id or "") // 2))
    finished = msgspec.structs.replace(
        template,
        task_id=new_task_id(owner),
        owner=owner,
        admitted_by=key_id,
        created_at=now,
        updated_at=now,
        version=2,
        upstream_id=upstream_id,
    )
    created = msgspec.structs.replace(
        finished,
        status=TaskStatus.QUEUED,
        version=1,
        cost_actual=None,
        videos=None,
        error=None,
        provider=None,
        upstream_id=None,
        upstream_route=None,
        submit_state="submitting",
        upstream_cost=None,
    )
    return created, finished


async def store_one(store: RedisTaskStore, template: TaskRecord, owner: str, key_id: str) -> None:
    created, finished = task_pair(template, owner, key_id)
    at = created.created_at
    await store.create_task(
        created, Event(type="status", status=TaskStatus.QUEUED, at=at), Admission(key_id)
    )
    final = Event(type="status", status=finished.status, at=at)
    if not await store.update_task(finished, final):
        raise RuntimeError(f"task {finished.task_id} changed under the loader")


async def _load(job: Job) -> None:
    pool = aioredis.BlockingConnectionPool.from_url(job.url, max_connections=job.concurrency)
    client = aioredis.Redis.from_pool(pool)
    store = RedisTaskStore(client, namespace=job.namespace, task_ttl_s=TASK_TTL_S)
    template = msgspec.json.decode(job.template, type=TaskRecord)
    numbers = iter(range(job.start, job.stop))

    async def worker() -> None:
        for n in numbers:
            owner, key_id = job.owners[n % len(job.owners)]
            await store_one(store, template, owner, key_id)

    try:
        await asyncio.gather(*(worker() for _ in range(job.concurrency)))
    finally:
        await client.aclose()


def _run(job: Job) -> None:
    asyncio.run(_load(job))


def fill(
    url: str,
    namespace: str,
    template: TaskRecord,
    owners: Sequence[tuple[str, str]],
    span: tuple[int, int],
    *,
    processes: int = 2,
    concurrency: int = 32,
) -> Filled:
    """Store tasks numbered ``span`` (start, stop) in ``processes`` processes at once."""
    start, stop = span
    if stop <= start:
        return Filled(0, 0.0, 0)
    encoded = msgspec.json.encode(template)
    bounds = [start + (stop - start) * p // processes for p in range(processes + 1)]
    jobs = [
        Job(url, namespace, encoded, tuple(owners), lo, hi, concurrency)
        for lo, hi in itertools.pairwise(bounds)
        if hi > lo
    ]
    began = time.monotonic()
    context = multiprocessing.get_context("spawn")
    loaders = [context.Process(target=_run, args=(job,)) for job in jobs]
    for loader in loaders:
        loader.start()
    for loader in loaders:
        loader.join()
    failed = [loader.exitcode for loader in loaders if loader.exitcode != 0]
    if failed:
        raise RuntimeError(f"a loader process failed (exit codes {failed})")
    return Filled(stop - start, time.monotonic() - began, len(jobs))


def stored(url: str, namespace: str) -> int:
    """How many tasks the namespace holds (its every-task indexes, one per shard)."""
    keys = KeySpace(namespace)
    db = redis.Redis.from_url(url)
    try:
        pipe = db.pipeline(transaction=False)
        for shard in range(SHARDS):
            pipe.zcard(keys.every_task(shard))
        return sum(pipe.execute())
    finally:
        db.close()


def scheduled(url: str, namespace: str) -> int:
    """Unfinished tasks on the namespace's reconcile schedules (one per shard)."""
    keys = KeySpace(namespace)
    db = redis.Redis.from_url(url)
    try:
        pipe = db.pipeline(transaction=False)
        for shard in range(SHARDS):
            pipe.zcard(keys.due("tasks", shard))
        return sum(pipe.execute())
    finally:
        db.close()


def owner_tasks(url: str, namespace: str, owner: str) -> int:
    """How many live tasks ``owner`` has (their list index of all)."""
    db = redis.Redis.from_url(url)
    try:
        return int(db.zcard(KeySpace(namespace).owner_index(owner, None, "live")))
    finally:
        db.close()


def used_memory(url: str) -> int:
    """``INFO memory``'s ``used_memory`` of the whole server (shared: others' keys count)."""
    db = redis.Redis.from_url(url)
    try:
        return int(db.info("memory")["used_memory"])
    finally:
        db.close()


def delete_namespace(url: str, namespace: str, batch: int = 1000) -> int:
    """UNLINK every key under ``namespace:`` (SCAN, ``batch`` keys at a time); answer how many."""
    db = redis.Redis.from_url(url)
    deleted = 0
    try:
        cursor = None
        while cursor != 0:
            cursor, keys = db.scan(cursor or 0, match=f"{namespace}:*", count=batch)
            if keys:
                deleted += db.unlink(*keys)
    finally:
        db.close()
    return deleted


def left(url: str, namespace: str) -> int:
    """How many keys remain under ``namespace:``."""
    db = redis.Redis.from_url(url)
    try:
        return sum(1 for _ in db.scan_iter(match=f"{namespace}:*", count=1000))
    finally:
        db.close()
