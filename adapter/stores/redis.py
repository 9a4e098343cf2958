"""``RedisTaskStore``: tasks, their events, indexes and schedules, on a real Redis or fakeredis.

The keys are those of ``KeySpace`` (``redis_keyspace.py``, with the layout), a task kept as
``redis_record`` packs it. The scripts (``redis_scripts.py``) touch a task's keys together
with its owner's indexes and its shard's schedules, all in one hash slot, so they run on
Redis Cluster as on one Redis; what spans shards (the schedules, the admin list) is read
shard by shard here.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import functools
import heapq
import itertools
import logging
import math
import os
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import msgspec
import redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError, ResponseError

from adapter.core.errors import (
    BudgetExceeded,
    ConcurrencyLimitReached,
    RateLimited,
    StoreUnavailable,
)
from adapter.core.shards import SHARDS, id_shard
from adapter.core.values import (
    Admission,
    ApiKey,
    Event,
    Mode,
    TaskRecord,
    TaskStatus,
    from_nanos,
    nanos,
)
from adapter.ports import IdempotencyClaim, Schedule, TaskPage
from adapter.stores.redis_client import RedisClient
from adapter.stores.redis_keyspace import LAYOUT, KeySpace
from adapter.stores.redis_record import doc_of, events_of, pack
from adapter.stores.redis_scripts import TaskScripts
from adapter.stores.redis_scripts import text as text  # re-exported: the feed and keys use it

log = logging.getLogger(__name__)
T = TypeVar("T")

_encode = msgspec.json.Encoder().encode
_decode_record = msgspec.json.Decoder(TaskRecord).decode
_decode_event = msgspec.json.Decoder(Event).decode
_decode_key = msgspec.json.Decoder(ApiKey).decode


def _bytes(stored: bytes | str | None) -> bytes | None:
    """A reply as bytes: the client never decodes replies, and a string is encoded back."""
    return stored.encode() if isinstance(stored, str) else stored


def _pack(value: TaskRecord | Event) -> bytes:
    return pack(_encode(value))


_SCHEDULES: tuple[Schedule, ...] = ("tasks", "webhooks")
#: How many index reads one list page may take to skip the entries of expired tasks.
_PAGE_READS = 4
#: Reads of a filtered list (the admin API's) before a short page is answered with a cursor.
_FILTERED_READS = 10


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _torn_down(exc: BaseException) -> bool:
    """redis-py's connection was closed under a command (a Redis node killed as it connected
    or wrote), which redis-py lets through: the event loop says so with a ``RuntimeError``, or
    redis-py, finding its stream already gone, with an ``AttributeError`` on ``None`` raised in
    its own code."""
    if isinstance(exc, RuntimeError):
        return "unable to perform operation on" in str(exc)
    if isinstance(exc, AttributeError) and str(exc).startswith("'NoneType' object"):
        last = exc.__traceback__
        while last is not None and last.tb_next is not None:
            last = last.tb_next
        return last is not None and _REDIS_PY in last.tb_frame.f_code.co_filename
    return False


#: Where redis-py's modules are (a frame's file under it is redis-py's code).
_REDIS_PY = os.path.dirname(redis.__file__)


class StoreErrors:
    """Translates redis-py's exceptions into ``StoreUnavailable``, once, at this boundary, and
    counts each by the store operation that raised it (``on_unavailable(operation)``).

    Besides ``RedisError``: ``RedisClusterException`` (a cluster whose slots no node could be
    asked for; not a ``RedisError``) and a connection closed under a command (see
    ``_torn_down``) mean the store is unreachable too.
    """

    __slots__ = ("_on_unavailable",)

    def __init__(self, on_unavailable: Callable[[str], None] | None = None) -> None:
        self._on_unavailable = on_unavailable

    @contextmanager
    def mapped(self, operation: str) -> Iterator[None]:
        try:
            yield
        except (RedisError, RedisClusterException, RuntimeError, AttributeError) as exc:
            if isinstance(exc, (RuntimeError, AttributeError)) and not _torn_down(exc):
                raise
            if self._on_unavailable is not None:
                self._on_unavailable(operation)
            raise StoreUnavailable(
                f"The task store is unavailable: {exc.__class__.__name__}."
            ) from exc

    async def repeatable(self, operation: str, command: Callable[[], Awaitable[T]]) -> T:
        """Run a command that is safe to run twice, and once more if its connection was dead.

        A connection that the network reset while it sat in the pool looks healthy until it
        is used. Only reads, and writes whose repeat changes nothing, come here: any other
        write whose connection broke may have run in Redis already, and is left failed.
        """
        with self.mapped(operation):
            try:
                return await command()
            except (RedisConnectionError, RuntimeError, AttributeError) as exc:
                if isinstance(exc, (RuntimeError, AttributeError)) and not _torn_down(exc):
                    raise
                if isinstance(exc.__cause__, TimeoutError):
                    raise  # no free connection in time: waiting again would only double it
                log.info("store.retry reason=%s", exc)
            return await command()


class UnusableStore(Exception):
    """The server is too old for the scripts, or the namespace holds data in the layout of an
    earlier version."""


#: The oldest Redis the scripts run on (``SPUBLISH``, sharded pub/sub, came with 7.0).
OLDEST_REDIS = (7, 0)


#: How long a day of a key's usage ledger is kept by default (``MVA_USAGE_TTL``).
USAGE_TTL_S = 400 * 86_400


class RedisTaskStore:
    """Tasks, events, idempotency claims, refresh leases, list indexes and schedules."""

    __slots__ = ("_errors", "_keys", "_redis", "_scripts", "_server", "_ttl_ms", "_usage_ttl_ms")

    def __init__(
        self,
        redis: RedisClient,
        *,
        namespace: str = "mva",
        task_ttl_s: int,
        usage_ttl_s: int = USAGE_TTL_S,
        on_unavailable: Callable[[str], None] | None = None,
    ) -> None:
        """``usage_ttl_s``: how long a day of a key's usage ledger is kept;
        ``on_unavailable(operation)``: called for each operation that fails with
        ``StoreUnavailable``."""
        self._redis = redis
        # Known once: an isinstance check against RedisCluster (a typing Protocol) is slow.
        self._server = None if isinstance(redis, RedisCluster) else redis
        self._errors = StoreErrors(on_unavailable)
        self._keys = KeySpace(namespace)
        self._ttl_ms = task_ttl_s * 1000
        self._usage_ttl_ms = usage_ttl_s * 1000
        self._scripts = TaskScripts(redis, self._keys)

    @property
    def redis(self) -> RedisClient:
        return self._redis

    @property
    def namespace(self) -> str:
        """The prefix of this store's keys (``MVA_REDIS_NAMESPACE``)."""
        return self._keys.namespace

    @property
    def channels(self) -> list[str]:
        """Where every append to a task's events is announced, one sharded channel per shard
        (see ``RedisEventFeed``)."""
        return self._keys.channels()

    async def create_task(
        self, record: TaskRecord, event: Event, admission: Admission | None = None
    ) -> None:
        if record.admitted_by != (admission.key_id if admission else None):
            raise ValueError("a task's admitted_by must be the key it is admitted under")
        record = msgspec.structs.replace(record, version=1)
        created_ms = _ms(record.created_at)
        with self._errors.mapped("create_task"):
            code, wait_ms = await self._scripts.create(
                task_id=record.task_id,
                owner=record.owner,
                mode=record.mode,
                status=record.status,
                doc=_pack(record),
                event=_pack(event),
                created_ms=created_ms,
                ttl_ms=self._ttl_ms,
                expired_before_ms=created_ms - self._ttl_ms,
                admission=admission,
                now_ms=created_ms,
                cost_nanos=nanos(record.cost_estimate),
                period=admission.budget.period_at(record.created_at)
                if admission and admission.budget
                else "",
                model=record.model,
                day=_day(record.created_at),
                ledger_ttl_ms=self._usage_ttl_ms,
            )
        if code == 0:
            raise ValueError(f"task {record.task_id} already exists")
        if code == -1 and admission is not None:
            wait_s = max(1, math.ceil(wait_ms / 1000))
            raise RateLimited(
                f"This API key may submit {admission.per_minute} tasks a minute; retry in "
                f"{wait_s} s.",
                retry_after=wait_s,
                limit=admission.per_minute or 0,
            )
        if code == -3 and admission is not None and admission.budget is not None:
            budget = admission.budget
            each = "in total" if budget.period == "total" else f"a {budget.period}"
            raise BudgetExceeded(
                f"This API key's budget is {budget.amount} {each}; {from_nanos(wait_ms)} of it "
                f"remains, and this task would cost {record.cost_estimate}."
            )
        if code == -2 and admission is not None:
            raise ConcurrencyLimitReached(
                f"This API key may have {admission.max_open} unfinished tasks at once; one "
                "must end (or be cancelled) first."
            )

    async def key_usage(
        self, key_ids: Sequence[str], days: Sequence[str]
    ) -> dict[tuple[str, str], dict[str, int]]:
        wanted = [(key_id, day) for key_id in key_ids for day in days]
        if not wanted:
            return {}

        async def read() -> list[Any]:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key_id, day in wanted:
                    pipe.hgetall(self._keys.usage(key_id, day))
                found: list[Any] = await pipe.execute()
                return found

        found = await self._errors.repeatable("key_usage", read)
        return {
            where: {text(field): int(value) for field, value in counters.items()}
            for where, counters in zip(wanted, found, strict=True)
            if counters
        }

    async def key_spend(self, key_id: str, period: str) -> tuple[Decimal, Decimal]:
        spend = self._keys.api_key_load(key_id)[2]
        found = await self._errors.repeatable(
            "key_spend", lambda: self._redis.hmget(spend, [f"{period}:r", f"{period}:c"])
        )
        reserved, charged = (from_nanos(int(value or 0)) for value in found)
        return reserved, charged

    async def get_task(self, task_id: str) -> TaskRecord | None:
        stored = await self._errors.repeatable("get_task", functools.partial(self._get, task_id))
        return None if stored is None else _decode_record(doc_of(stored))

    async def get_task_and_key(
        self, task_id: str, key_hash: str
    ) -> tuple[TaskRecord | None, ApiKey | None]:
        both = (self._keys.task(task_id), self._keys.api_key(key_hash))
        read = functools.partial(self._strings, both)
        found, key = await self._errors.repeatable("get_task_and_key", read)
        stored = _bytes(found)
        record = None if stored is None else _decode_record(doc_of(stored))
        return record, None if key is None else _decode_key(key)

    async def get_tasks(self, task_ids: Sequence[str]) -> list[TaskRecord | None]:
        keys = [self._keys.task(task_id) for task_id in task_ids]
        docs = await self._errors.repeatable("get_tasks", functools.partial(self._strings, keys))
        stored = [_bytes(doc) for doc in docs]
        return [None if doc is None else _decode_record(doc_of(doc)) for doc in stored]

    async def _get(self, task_id: str) -> bytes | None:
        """The task as stored (the client answers bytes: it never decodes replies)."""
        return _bytes(await self._redis.get(self._keys.task(task_id)))

    async def update_task(self, record: TaskRecord, event: Event | None) -> bool:
        if event is None:  # no status moves: the record alone changes
            with self._errors.mapped("update_task"):
                return await self._scripts.replace(
                    task_id=record.task_id,
                    version=record.version,
                    doc=_pack(record),
                    ttl_ms=self._ttl_ms,
                )
        webhook_due_ms = None
        if event.is_final and record.webhook_url:
            webhook_due_ms = _ms(event.at)
        with self._errors.mapped("update_task"):
            return await self._scripts.update(
                task_id=record.task_id,
                owner=record.owner,
                mode=record.mode,
                version=record.version,
                status=record.status,
                doc=_pack(record),
                event=_pack(event),
                created_ms=_ms(record.created_at),
                ttl_ms=self._ttl_ms,
                terminal=record.status.is_terminal,
                webhook_due_ms=webhook_due_ms,
                key_id=record.admitted_by,
                charge_nanos=nanos(record.cost_actual)
                if record.status.is_terminal and record.cost_actual is not None
                else 0,
                outcome=record.status.value,
                millis=_millis(record),
                day=_day(record.created_at),
                upstream_nanos=nanos(record.upstream_cost)
                if record.status.is_terminal and record.upstream_cost is not None
                else 0,
            )

    async def delete_task(self, task_id: str, version: int) -> bool:
        record = await self.get_task(task_id)
        if record is None:
            return False
        with self._errors.mapped("delete_task"):
            return await self._scripts.delete(
                task_id=task_id,
                owner=record.owner,
                mode=record.mode,
                version=version,
                key_id=record.admitted_by,
                day=_day(record.created_at),
            )

    async def list_events(self, task_id: str, after: str | None = None) -> list[Event]:
        # An event's id is its place in the task's events (1 for the first).
        if after is not None and _EVENT_ID.fullmatch(after) is None:
            raise ValueError(f"{after!r} is not an event id")
        seen = 0 if after is None else int(after)
        stored = await self._errors.repeatable("list_events", functools.partial(self._get, task_id))
        if stored is None:
            return []
        return [
            msgspec.structs.replace(_decode_event(event), id=str(place))
            for place, event in enumerate(events_of(stored), start=1)
            if place > seen
        ]

    async def list_tasks(
        self,
        owner: str,
        *,
        status: TaskStatus | None,
        limit: int,
        cursor: str | None,
        mode: Mode = "live",
    ) -> TaskPage:
        index = self._keys.owner_index(owner, status, mode)
        return await self._list(
            [index], lambda record: record.owner == owner and record.mode == mode, limit, cursor
        )

    async def list_every_task(
        self,
        *,
        key_id: str | None,
        status: TaskStatus | None,
        model: str | None,
        limit: int,
        cursor: str | None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> TaskPage:
        # A key's tasks are in its shard; every task is in the index of its own shard.
        indexes = (
            [self._keys.key_tasks(key_id)]
            if key_id
            else [self._keys.every_task(shard) for shard in range(SHARDS)]
        )

        def keep(record: TaskRecord) -> bool:
            return (status is None or record.status is status) and (
                model is None or record.model == model
            )

        if cursor is None and until is not None:
            # Start the read just after ``until``: "~" sorts after every task id at that ms.
            cursor = _write_cursor(_ms(until), "~")
        oldest_ms = _ms(since) if since is not None else None
        return await self._list(
            indexes, keep, limit, cursor, reads=_FILTERED_READS, oldest_ms=oldest_ms
        )

    async def _list(
        self,
        indexes: Sequence[str],
        keep: Callable[[TaskRecord], bool],
        limit: int,
        cursor: str | None,
        *,
        reads: int = _PAGE_READS,
        oldest_ms: int | None = None,
    ) -> TaskPage:
        records: list[TaskRecord] = []
        # Entries of expired tasks (and, filtered, of others) are passed over as they are met,
        # and the page read on past them, for at most ``reads`` reads: a short page with a
        # cursor is not the end.
        for _ in range(reads):
            # A page read changes nothing but to drop entries of expired tasks: repeatable.
            page, cursor = await self._errors.repeatable(
                "list_tasks",
                functools.partial(
                    self._page, indexes, keep, limit - len(records), cursor, oldest_ms
                ),
            )
            records += page
            if cursor is None or len(records) == limit:
                break
        return TaskPage(records=records, next_cursor=cursor)

    async def _page(
        self,
        indexes: Sequence[str],
        keep: Callable[[TaskRecord], bool],
        limit: int,
        cursor: str | None,
        oldest_ms: int | None = None,
    ) -> tuple[list[TaskRecord], str | None]:
        """Up to ``limit`` of the indexes' tasks after ``cursor`` that ``keep`` keeps, and the
        next cursor; the read ends at the first entry older than ``oldest_ms``. Several
        indexes are read as one: each from the cursor on, merged newest first."""
        after = _read_cursor(cursor) if cursor else None
        pages = await asyncio.gather(
            *(self._scripts.page(index=index, count=limit + 1, after=after) for index in indexes)
        )
        # Newest first as each index orders itself: by score, then by id, both descending.
        merged = heapq.merge(
            *(
                [(score, task_id, index) for task_id, score in page]
                for index, page in zip(indexes, pages, strict=True)
            ),
            reverse=True,
        )
        entries = [
            (task_id, score, index)
            for score, task_id, index in itertools.islice(merged, limit + 1)
            if oldest_ms is None or score >= oldest_ms
        ]
        ids = [task_id for task_id, _, _ in entries]
        docs = await self._strings([self._keys.task(task_id) for task_id in ids[:limit]])
        gone = [entry for entry, doc in zip(entries, docs, strict=False) if doc is None]
        for task_id, _, index in gone:
            await self._redis.zrem(index, task_id)
        records = [
            record
            for record in (_decode_record(doc_of(doc)) for doc in docs if doc is not None)
            if keep(record)
        ]
        if len(entries) <= limit:
            return records, None
        last_id, last_score, _ = entries[limit - 1]
        return records, _write_cursor(last_score, last_id)

    async def _strings(self, keys: Sequence[str]) -> list[Any]:
        """The values of string ``keys`` of any slots, in their order, in one round trip: an
        ``MGET`` on one server (a pipeline costs the client about 1.6 times the CPU), a
        pipeline of ``GET``s on a cluster (one per node: their slots differ)."""
        if not keys:
            return []
        if self._server is not None:
            return list(await self._server.mget(keys))
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.get(key)
            return list(await pipe.execute())

    async def claim_due(
        self, queue: Schedule, *, now: datetime, limit: int, hold_s: float
    ) -> list[str]:
        now_ms = _ms(now)
        # The schedule is one per shard. Count what each has due (one round trip); read the
        # earliest of each shard that has some, as many as its share of ``limit`` (one more:
        # a backlog of any size costs about ``limit`` entries read, not ``limit`` a shard);
        # take the ``limit`` earliest of those, and claim as many from each shard as it has
        # among them (one more, in parallel): each claim takes its shard's earliest.
        counts = await self._errors.repeatable(
            "claim_due", functools.partial(self._due_counts, queue, now_ms)
        )
        total = sum(counts)
        if not total:
            return []
        shares_of_limit = {
            shard: count if total <= limit else -(-limit * count // total)
            for shard, count in enumerate(counts)
            if count
        }
        due = await self._errors.repeatable(
            "claim_due", functools.partial(self._due, queue, now_ms, shares_of_limit)
        )
        earliest = heapq.nsmallest(limit, itertools.chain.from_iterable(due))
        shares = collections.Counter(shard for _, shard, _ in earliest).items()
        with self._errors.mapped("claim_due"):
            claimed = await asyncio.gather(
                *(
                    self._scripts.claim_due(
                        queue=queue,
                        shard=shard,
                        now_ms=now_ms,
                        limit=take,
                        held_until_ms=now_ms + int(hold_s * 1000),
                    )
                    for shard, take in shares
                )
            )
        # Earliest first, as read (an entry claimed by another since sorts last).
        place = {task_id: n for n, (_, _, task_id) in enumerate(earliest)}
        return sorted(
            (task_id for ids in claimed for task_id in ids), key=lambda t: place.get(t, limit)
        )

    async def _due_counts(self, queue: Schedule, now_ms: int) -> list[int]:
        """How many entries each shard has due by ``now_ms``."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for shard in range(SHARDS):
                pipe.zcount(self._keys.due(queue, shard), "-inf", now_ms)
            return [int(count) for count in await pipe.execute()]

    async def _due(
        self, queue: Schedule, now_ms: int, wanted: dict[int, int]
    ) -> list[list[tuple[float, int, str]]]:
        """Per shard of ``wanted``, the (due time, shard, task id) of its earliest entries due
        by ``now_ms``, as many as ``wanted`` says."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for shard, count in wanted.items():
                pipe.zrangebyscore(
                    self._keys.due(queue, shard),
                    "-inf",
                    now_ms,
                    start=0,
                    num=count,
                    withscores=True,
                )
            found = await pipe.execute()
        return [
            [(score, shard, text(task_id)) for task_id, score in entries]
            for shard, entries in zip(wanted, found, strict=True)
        ]

    async def reschedule(self, queue: Schedule, due: Mapping[str, datetime]) -> None:
        if not due:
            return
        by_shard: dict[int, dict[str, int]] = {}
        for task_id, at in due.items():
            by_shard.setdefault(id_shard(task_id), {})[task_id] = _ms(at)
        with self._errors.mapped("reschedule"):
            if len(by_shard) == 1:
                ((shard, entries),) = by_shard.items()
                await self._redis.zadd(self._keys.due(queue, shard), entries, xx=True)
                return
            async with self._redis.pipeline(transaction=False) as pipe:
                for shard, entries in by_shard.items():
                    pipe.zadd(self._keys.due(queue, shard), entries, xx=True)
                await pipe.execute()

    async def unschedule(self, queue: Schedule, task_id: str) -> None:
        with self._errors.mapped("unschedule"):
            await self._redis.zrem(self._keys.due(queue, id_shard(task_id)), task_id)

    async def oldest_due(self) -> dict[Schedule, datetime | None]:
        async def read() -> list[Any]:
            async with self._redis.pipeline(transaction=False) as pipe:
                for queue in _SCHEDULES:
                    for shard in range(SHARDS):
                        pipe.zrange(self._keys.due(queue, shard), 0, 0, withscores=True)
                found: list[Any] = await pipe.execute()
                return found

        firsts = await self._errors.repeatable("oldest_due", read)
        oldest: dict[Schedule, datetime | None] = {}
        for place, queue in enumerate(_SCHEDULES):
            scores = [
                first[0][1] for first in firsts[place * SHARDS : (place + 1) * SHARDS] if first
            ]
            oldest[queue] = datetime.fromtimestamp(min(scores) / 1000, UTC) if scores else None
        return oldest

    async def record_attempt(self, task_id: str, event: Event, next_at: datetime | None) -> None:
        with self._errors.mapped("record_attempt"):
            await self._scripts.attempt(
                task_id=task_id,
                event=_pack(event),
                next_at_ms=None if next_at is None else _ms(next_at),
                ttl_ms=self._ttl_ms,
            )

    async def claim_idempotency(
        self, owner: str, scope: str, fingerprint: str, task_id: str, now: datetime, ttl_s: int
    ) -> IdempotencyClaim:
        made, _ = await self._claim(
            "claim_idempotency", None, owner, scope, fingerprint, task_id, now, ttl_s
        )
        return made

    async def claim_idempotency_and_key(
        self,
        key_hash: str,
        owner: str,
        scope: str,
        fingerprint: str,
        task_id: str,
        now: datetime,
        ttl_s: int,
    ) -> tuple[IdempotencyClaim, ApiKey | None]:
        read = self._keys.api_key(key_hash)
        made, key = await self._claim(
            "claim_idempotency_and_key", read, owner, scope, fingerprint, task_id, now, ttl_s
        )
        return made, None if key is None else _decode_key(key)

    async def _claim(
        self,
        operation: str,
        read: str | None,
        owner: str,
        scope: str,
        fingerprint: str,
        task_id: str,
        now: datetime,
        ttl_s: int,
    ) -> tuple[IdempotencyClaim, Any]:
        # Repeatable: a claim by the same task id answers "new" again (see the script).
        return await self._errors.repeatable(
            operation,
            lambda: self._scripts.claim_idempotency(
                owner=owner,
                scope=scope,
                fingerprint=fingerprint,
                task_id=task_id,
                now=now,
                ttl_s=ttl_s,
                read=read,
            ),
        )

    async def release_idempotency(self, owner: str, scope: str, task_id: str) -> None:
        await self._errors.repeatable(
            "release_idempotency",
            lambda: self._scripts.release_idempotency(owner=owner, scope=scope, task_id=task_id),
        )

    async def acquire_refresh(self, task_id: str, hold_ms: int) -> bool:
        with self._errors.mapped("acquire_refresh"):
            got = await self._redis.set(
                self._keys.refresh(task_id), b"1", nx=True, px=max(1, hold_ms)
            )
        return bool(got)

    async def extend_refresh(self, task_id: str, hold_ms: int) -> None:
        with self._errors.mapped("extend_refresh"):
            await self._redis.set(self._keys.refresh(task_id), b"1", px=max(1, hold_ms))

    async def ping(self) -> None:
        await self._errors.repeatable("ping", self._redis.ping)

    async def prepare(self) -> None:
        """At start-up: check the server and the namespace, and mark the namespace as this
        layout's.

        Raises:
            UnusableStore: the server is older than ``OLDEST_REDIS``, or the namespace holds
                tasks this version cannot read.
        """
        keys = self._keys
        with self._errors.mapped("prepare"):
            version = await _server_version_of(self._redis)
            if version < OLDEST_REDIS:
                raise UnusableStore(
                    f"Redis {'.'.join(map(str, version))} is too old: the adapter needs Redis "
                    f"{'.'.join(map(str, OLDEST_REDIS))} or later (sharded pub/sub)."
                )
            legacy = await asyncio.gather(*(self._redis.exists(key) for key in keys.legacy))
            if any(legacy):
                raise UnusableStore(
                    f"Redis namespace {keys.namespace!r} holds tasks in the layout of an "
                    "earlier version, which this one cannot read. Let that version finish "
                    "them, and give this one a new MVA_REDIS_NAMESPACE (see the README's "
                    "'Upgrading')."
                )
            await self._redis.set(keys.layout, LAYOUT)


async def _server_version_of(redis: RedisClient) -> tuple[int, int]:
    """The oldest version among the servers (a cluster answers per node); fakeredis, which
    has no INFO, stands for the version it emulates (7 and later)."""
    try:
        found: Any = await redis.info("server")
    except ResponseError:
        return OLDEST_REDIS
    servers = found.values() if "redis_version" not in found else [found]
    return min(_version(server["redis_version"]) for server in servers)


def _version(text: Any) -> tuple[int, int]:
    major, minor, *_ = str(text).split(".")
    return int(major), int(minor)


#: Event ids: an event's place among its task's events.
_EVENT_ID = re.compile(r"[1-9][0-9]{0,8}")


def _day(moment: datetime) -> str:
    """The UTC day a task was created on: its row of its key's usage ledger."""
    return f"{moment.astimezone(UTC):%Y-%m-%d}"


def _millis(record: TaskRecord) -> int:
    """The length of the videos a finished task made, in ms (those the upstream measured)."""
    found = record.videos or ()
    lengths = (video.duration for video in found if video.duration is not None)
    # An upstream may send nonsense ("NaN", -1): it counts for nothing.
    return sum(round(s * 1000) for s in lengths if math.isfinite(s) and s > 0)


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
