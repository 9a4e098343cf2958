"""``RedisTaskStore``: tasks, their events, indexes and schedules, on a real Redis or fakeredis.

The keys are those of ``KeySpace`` (``redis_keyspace.py``, with the layout). The scripts
(``redis_scripts.py``) touch a task's keys together with its owner's indexes and the schedules,
so they need a single Redis (or a replicated one), not Redis Cluster.
"""

from __future__ import annotations

import base64
import functools
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from adapter.errors import StoreUnavailable
from adapter.model import Event, TaskRecord, TaskStatus
from adapter.ports import IdempotencyClaim, Queue, TaskPage
from adapter.stores import redis_scripts as lua
from adapter.stores.redis_keyspace import KeySpace

log = logging.getLogger(__name__)
T = TypeVar("T")

_encode = msgspec.json.Encoder().encode
_decode_record = msgspec.json.Decoder(TaskRecord).decode
_decode_event = msgspec.json.Decoder(Event).decode

#: The order of the per-status indexes in the scripts' keys.
_STATUSES = tuple(TaskStatus)


#: How many index reads one list page may take to skip the entries of expired tasks.
_PAGE_READS = 4


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@contextmanager
def map_redis_errors() -> Iterator[None]:
    """Translate redis-py's exceptions into ``StoreUnavailable``, once, at this boundary."""
    try:
        yield
    except RedisError as exc:
        raise StoreUnavailable(f"The task store is unavailable: {exc.__class__.__name__}.") from exc


async def repeatable(command: Callable[[], Awaitable[T]]) -> T:
    """Run a command that is safe to run twice, and once more if its connection was dead.

    A connection that the network reset while it sat in the pool looks healthy until it is
    used. Only reads, and writes whose repeat changes nothing, come here: any other write
    whose connection broke may have run in Redis already, and is left failed.
    """
    with map_redis_errors():
        try:
            return await command()
        except RedisConnectionError as exc:
            if isinstance(exc.__cause__, TimeoutError):
                raise  # no free connection in time: waiting again would only double the wait
            log.info("store.retry reason=%s", exc)
        return await command()


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisTaskStore:
    """Tasks, events, idempotency claims, refresh leases, list indexes and schedules."""

    __slots__ = ("_keys", "_redis", "_scripts", "_ttl_ms")

    def __init__(self, redis: aioredis.Redis, *, namespace: str = "mva", task_ttl_s: int) -> None:
        self._redis = redis
        self._keys = KeySpace(namespace)
        self._ttl_ms = task_ttl_s * 1000
        self._scripts = {
            name: redis.register_script(getattr(lua, name))
            for name in (
                "CREATE",
                "UPDATE",
                "DELETE",
                "CLAIM_DUE",
                "ATTEMPT",
                "PAGE",
                "CLAIM_IDEMPOTENCY",
                "RELEASE_IDEMPOTENCY",
            )
        }

    @property
    def redis(self) -> aioredis.Redis:
        return self._redis

    @property
    def channel(self) -> str:
        """Where every append to a task's events is announced (see ``RedisEventFeed``)."""
        return self._keys.channel

    def _task_keys(self, task_id: str, owner: str) -> list[str]:
        keys = self._keys
        return [
            keys.task(task_id),
            keys.events(task_id),
            *keys.owner_indexes(owner),
            keys.due("tasks"),
            keys.due("webhooks"),
        ]

    async def create_task(self, record: TaskRecord, event: Event) -> None:
        record = msgspec.structs.replace(record, version=1)
        created_ms = _ms(record.created_at)
        with map_redis_errors():
            created = await self._scripts["CREATE"](
                keys=self._task_keys(record.task_id, record.owner),
                args=[
                    _encode(record),
                    _encode(event),
                    self._ttl_ms,
                    created_ms,
                    record.task_id,
                    self.channel,
                    created_ms - self._ttl_ms,
                    _STATUSES.index(record.status) + 1,
                ],
            )
        if not created:
            raise ValueError(f"task {record.task_id} already exists")

    async def get_task(self, task_id: str) -> TaskRecord | None:
        doc = await repeatable(lambda: self._redis.hget(self._keys.task(task_id), "doc"))
        return None if doc is None else _decode_record(doc)

    async def update_task(self, record: TaskRecord, event: Event | None) -> bool:
        terminal = record.status.is_terminal
        webhook_due = ""
        if event is not None and event.is_final and record.webhook_url:
            webhook_due = str(_ms(event.at))
        with map_redis_errors():
            done = await self._scripts["UPDATE"](
                keys=self._task_keys(record.task_id, record.owner),
                args=[
                    record.version,
                    _encode(record),
                    b"" if event is None else _encode(event),
                    self._ttl_ms,
                    _STATUSES.index(record.status) + 1,
                    _ms(record.created_at),
                    record.task_id,
                    self.channel,
                    "1" if terminal else "0",
                    webhook_due,
                ],
            )
        return bool(done)

    async def delete_task(self, task_id: str, version: int) -> bool:
        record = await self.get_task(task_id)
        if record is None:
            return False
        with map_redis_errors():
            deleted = await self._scripts["DELETE"](
                keys=self._task_keys(task_id, record.owner), args=[version, task_id]
            )
        return bool(deleted)

    async def list_events(self, task_id: str, after: str | None = None) -> list[Event]:
        start = "-" if after is None else f"({after}"
        found = await repeatable(lambda: self._redis.xrange(self._keys.events(task_id), min=start))
        entries: list[Any] = found or []
        return [
            msgspec.structs.replace(_decode_event(fields[b"e"]), id=text(entry_id))
            for entry_id, fields in entries
        ]

    async def list_tasks(
        self, owner: str, *, status: TaskStatus | None, limit: int, cursor: str | None
    ) -> TaskPage:
        index = self._keys.owner_index(owner, status)
        records: list[TaskRecord] = []
        # Entries of expired tasks are dropped as they are met, and the page read on past them.
        for _ in range(_PAGE_READS):
            # A page read changes nothing but to drop entries of expired tasks: repeatable.
            page, cursor = await repeatable(
                functools.partial(self._page, index, owner, limit - len(records), cursor)
            )
            records += page
            if cursor is None or len(records) == limit:
                break
        return TaskPage(records=records, next_cursor=cursor)

    async def _page(
        self, index: str, owner: str, limit: int, cursor: str | None
    ) -> tuple[list[TaskRecord], str | None]:
        score, after = _read_cursor(cursor) if cursor else ("", "")
        flat: list[Any] = await self._scripts["PAGE"](keys=[index], args=[limit + 1, score, after])
        ids = [text(member) for member in flat[0::2]]
        scores = [int(float(text(value))) for value in flat[1::2]]
        docs = await self._docs(ids[:limit])
        gone = [task_id for task_id, doc in zip(ids, docs, strict=False) if doc is None]
        if gone:
            await self._redis.zrem(index, *gone)
        records = [
            record
            for record in (_decode_record(doc) for doc in docs if doc is not None)
            if record.owner == owner
        ]
        more = len(ids) > limit
        return records, _write_cursor(scores[limit - 1], ids[limit - 1]) if more else None

    async def _docs(self, task_ids: Sequence[str]) -> list[Any]:
        if not task_ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for task_id in task_ids:
                pipe.hget(self._keys.task(task_id), "doc")
            return list(await pipe.execute())

    async def claim_due(
        self, queue: Queue, *, now: datetime, limit: int, hold_s: float
    ) -> list[str]:
        with map_redis_errors():
            ids: list[Any] = await self._scripts["CLAIM_DUE"](
                keys=[self._keys.due(queue)], args=[_ms(now), limit, _ms(now) + int(hold_s * 1000)]
            )
        return [text(task_id) for task_id in ids]

    async def reschedule(self, queue: Queue, task_id: str, at: datetime) -> None:
        with map_redis_errors():
            await self._redis.zadd(self._keys.due(queue), {task_id: _ms(at)}, xx=True)

    async def unschedule(self, queue: Queue, task_id: str) -> None:
        with map_redis_errors():
            await self._redis.zrem(self._keys.due(queue), task_id)

    async def record_attempt(self, task_id: str, event: Event, next_at: datetime | None) -> None:
        with map_redis_errors():
            await self._scripts["ATTEMPT"](
                keys=[
                    self._keys.events(task_id),
                    self._keys.due("webhooks"),
                    self._keys.task(task_id),
                ],
                args=[
                    _encode(event),
                    self._ttl_ms,
                    "" if next_at is None else _ms(next_at),
                    task_id,
                    self.channel,
                ],
            )

    async def claim_idempotency(
        self, scope: str, fingerprint: str, task_id: str, now: datetime, ttl_s: int
    ) -> IdempotencyClaim:
        # Repeatable: a claim by the same task id answers "new" again (see the script).
        is_new, fp, owner_task, at = await repeatable(
            lambda: self._scripts["CLAIM_IDEMPOTENCY"](
                keys=[self._keys.idempotency(scope)],
                args=[fingerprint, task_id, now.isoformat(), ttl_s],
            )
        )
        return IdempotencyClaim(
            is_new=bool(is_new),
            fingerprint=text(fp),
            task_id=text(owner_task),
            claimed_at=datetime.fromisoformat(text(at)),
        )

    async def release_idempotency(self, scope: str, task_id: str) -> None:
        await repeatable(
            lambda: self._scripts["RELEASE_IDEMPOTENCY"](
                keys=[self._keys.idempotency(scope)], args=[task_id]
            )
        )

    async def acquire_refresh(self, task_id: str, hold_ms: int) -> bool:
        with map_redis_errors():
            got = await self._redis.set(
                self._keys.refresh(task_id), b"1", nx=True, px=max(1, hold_ms)
            )
        return bool(got)

    async def extend_refresh(self, task_id: str, hold_ms: int) -> None:
        with map_redis_errors():
            await self._redis.set(self._keys.refresh(task_id), b"1", px=max(1, hold_ms))

    async def ping(self) -> None:
        await repeatable(self._redis.ping)


def _write_cursor(score: int, task_id: str) -> str:
    return base64.urlsafe_b64encode(f"{score}:{task_id}".encode()).decode().rstrip("=")


def _read_cursor(cursor: str) -> tuple[str, str]:
    """The cursor's score and task id; ``ValueError`` when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        score, _, task_id = raw.partition(":")
        int(score)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("not a cursor") from None
    if not task_id:
        raise ValueError("not a cursor")
    return score, task_id
