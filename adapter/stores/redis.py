"""``RedisTaskStore``: tasks, their events, indexes and schedules, on a real Redis or fakeredis.

The keys are those of ``KeySpace`` (``redis_keyspace.py``, with the layout). The scripts
(``redis_scripts.py``) touch a task's keys together with its owner's indexes and the schedules,
so they need a single Redis (or a replicated one), not Redis Cluster.
"""

from __future__ import annotations

import base64
import functools
import logging
import math
import re
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from adapter.core.errors import (
    BudgetExceeded,
    ConcurrencyLimitReached,
    RateLimited,
    StoreUnavailable,
)
from adapter.core.values import (
    Admission,
    Event,
    Mode,
    TaskRecord,
    TaskStatus,
    from_nanos,
    nanos,
)
from adapter.ports import IdempotencyClaim, Schedule, TaskPage
from adapter.stores.redis_keyspace import KeySpace
from adapter.stores.redis_scripts import TaskScripts
from adapter.stores.redis_scripts import text as text  # re-exported: the feed and keys use it

log = logging.getLogger(__name__)
T = TypeVar("T")

_encode = msgspec.json.Encoder().encode
_decode_record = msgspec.json.Decoder(TaskRecord).decode
_decode_event = msgspec.json.Decoder(Event).decode

_SCHEDULES: tuple[Schedule, ...] = ("tasks", "webhooks")
#: How many index reads one list page may take to skip the entries of expired tasks.
_PAGE_READS = 4
#: Reads of a filtered list (the admin API's) before a short page is answered with a cursor.
_FILTERED_READS = 10


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class StoreErrors:
    """Translates redis-py's exceptions into ``StoreUnavailable``, once, at this boundary, and
    counts each by the store operation that raised it (``on_unavailable(operation)``)."""

    __slots__ = ("_on_unavailable",)

    def __init__(self, on_unavailable: Callable[[str], None] | None = None) -> None:
        self._on_unavailable = on_unavailable

    @contextmanager
    def mapped(self, operation: str) -> Iterator[None]:
        try:
            yield
        except RedisError as exc:
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
            except RedisConnectionError as exc:
                if isinstance(exc.__cause__, TimeoutError):
                    raise  # no free connection in time: waiting again would only double it
                log.info("store.retry reason=%s", exc)
            return await command()


#: How long a day of a key's usage ledger is kept by default (``MVA_USAGE_TTL``).
USAGE_TTL_S = 400 * 86_400


class RedisTaskStore:
    """Tasks, events, idempotency claims, refresh leases, list indexes and schedules."""

    __slots__ = ("_errors", "_keys", "_redis", "_scripts", "_ttl_ms", "_usage_ttl_ms")

    def __init__(
        self,
        redis: aioredis.Redis,
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
        self._errors = StoreErrors(on_unavailable)
        self._keys = KeySpace(namespace)
        self._ttl_ms = task_ttl_s * 1000
        self._usage_ttl_ms = usage_ttl_s * 1000
        self._scripts = TaskScripts(redis, self._keys)

    @property
    def redis(self) -> aioredis.Redis:
        return self._redis

    @property
    def namespace(self) -> str:
        """The prefix of this store's keys (``MVA_REDIS_NAMESPACE``)."""
        return self._keys.namespace

    @property
    def channel(self) -> str:
        """Where every append to a task's events is announced (see ``RedisEventFeed``)."""
        return self._keys.channel

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
                doc=_encode(record),
                event=_encode(event),
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
        doc = await self._errors.repeatable(
            "get_task", lambda: self._redis.hget(self._keys.task(task_id), "doc")
        )
        return None if doc is None else _decode_record(doc)

    async def update_task(self, record: TaskRecord, event: Event | None) -> bool:
        webhook_due_ms = None
        if event is not None and event.is_final and record.webhook_url:
            webhook_due_ms = _ms(event.at)
        with self._errors.mapped("update_task"):
            return await self._scripts.update(
                task_id=record.task_id,
                owner=record.owner,
                mode=record.mode,
                version=record.version,
                status=record.status,
                doc=_encode(record),
                event=None if event is None else _encode(event),
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
        if after is not None and not _is_stream_id(after):
            raise ValueError(f"{after!r} is not an event id")
        start = "-" if after is None else f"({after}"
        found = await self._errors.repeatable(
            "list_events", lambda: self._redis.xrange(self._keys.events(task_id), min=start)
        )
        entries: list[Any] = found or []
        return [
            msgspec.structs.replace(_decode_event(fields[b"e"]), id=text(entry_id))
            for entry_id, fields in entries
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
            index, lambda record: record.owner == owner and record.mode == mode, limit, cursor
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
        index = self._keys.key_tasks(key_id) if key_id else self._keys.every_task

        def keep(record: TaskRecord) -> bool:
            return (status is None or record.status is status) and (
                model is None or record.model == model
            )

        if cursor is None and until is not None:
            # Start the read just after ``until``: "~" sorts after every task id at that ms.
            cursor = _write_cursor(_ms(until), "~")
        oldest_ms = _ms(since) if since is not None else None
        return await self._list(
            index, keep, limit, cursor, reads=_FILTERED_READS, oldest_ms=oldest_ms
        )

    async def _list(
        self,
        index: str,
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
                functools.partial(self._page, index, keep, limit - len(records), cursor, oldest_ms),
            )
            records += page
            if cursor is None or len(records) == limit:
                break
        return TaskPage(records=records, next_cursor=cursor)

    async def _page(
        self,
        index: str,
        keep: Callable[[TaskRecord], bool],
        limit: int,
        cursor: str | None,
        oldest_ms: int | None = None,
    ) -> tuple[list[TaskRecord], str | None]:
        """Up to ``limit`` of the index's tasks after ``cursor`` that ``keep`` keeps, and the
        next cursor; the read ends at the first entry older than ``oldest_ms``."""
        after = _read_cursor(cursor) if cursor else None
        entries = await self._scripts.page(index=index, count=limit + 1, after=after)
        if oldest_ms is not None:
            entries = [(task_id, score) for task_id, score in entries if score >= oldest_ms]
        ids = [task_id for task_id, _ in entries]
        docs = await self._docs(ids[:limit])
        gone = [task_id for task_id, doc in zip(ids, docs, strict=False) if doc is None]
        if gone:
            await self._redis.zrem(index, *gone)
        records = [
            record
            for record in (_decode_record(doc) for doc in docs if doc is not None)
            if keep(record)
        ]
        if len(entries) <= limit:
            return records, None
        last_id, last_score = entries[limit - 1]
        return records, _write_cursor(last_score, last_id)

    async def _docs(self, task_ids: Sequence[str]) -> list[Any]:
        if not task_ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for task_id in task_ids:
                pipe.hget(self._keys.task(task_id), "doc")
            return list(await pipe.execute())

    async def claim_due(
        self, queue: Schedule, *, now: datetime, limit: int, hold_s: float
    ) -> list[str]:
        with self._errors.mapped("claim_due"):
            return await self._scripts.claim_due(
                queue=queue,
                now_ms=_ms(now),
                limit=limit,
                held_until_ms=_ms(now) + int(hold_s * 1000),
            )

    async def reschedule(self, queue: Schedule, task_id: str, at: datetime) -> None:
        with self._errors.mapped("reschedule"):
            await self._redis.zadd(self._keys.due(queue), {task_id: _ms(at)}, xx=True)

    async def unschedule(self, queue: Schedule, task_id: str) -> None:
        with self._errors.mapped("unschedule"):
            await self._redis.zrem(self._keys.due(queue), task_id)

    async def oldest_due(self) -> dict[Schedule, datetime | None]:
        async def read() -> list[Any]:
            async with self._redis.pipeline(transaction=False) as pipe:
                for queue in _SCHEDULES:
                    pipe.zrange(self._keys.due(queue), 0, 0, withscores=True)
                found: list[Any] = await pipe.execute()
                return found

        firsts = await self._errors.repeatable("oldest_due", read)
        return {
            queue: datetime.fromtimestamp(first[0][1] / 1000, UTC) if first else None
            for queue, first in zip(_SCHEDULES, firsts, strict=True)
        }

    async def record_attempt(self, task_id: str, event: Event, next_at: datetime | None) -> None:
        with self._errors.mapped("record_attempt"):
            await self._scripts.attempt(
                task_id=task_id,
                event=_encode(event),
                next_at_ms=None if next_at is None else _ms(next_at),
                ttl_ms=self._ttl_ms,
            )

    async def claim_idempotency(
        self, scope: str, fingerprint: str, task_id: str, now: datetime, ttl_s: int
    ) -> IdempotencyClaim:
        # Repeatable: a claim by the same task id answers "new" again (see the script).
        return await self._errors.repeatable(
            "claim_idempotency",
            lambda: self._scripts.claim_idempotency(
                scope=scope, fingerprint=fingerprint, task_id=task_id, now=now, ttl_s=ttl_s
            ),
        )

    async def release_idempotency(self, scope: str, task_id: str) -> None:
        await self._errors.repeatable(
            "release_idempotency",
            lambda: self._scripts.release_idempotency(scope=scope, task_id=task_id),
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


#: Stream entry ids, as Redis makes them: ``<ms>-<seq>``, each part at most 2**64 - 1.
_STREAM_ID = re.compile(r"\d{1,20}-\d{1,20}")
_MAX_ID_PART = 2**64 - 1


def _day(moment: datetime) -> str:
    """The UTC day a task was created on: its row of its key's usage ledger."""
    return f"{moment.astimezone(UTC):%Y-%m-%d}"


def _millis(record: TaskRecord) -> int:
    """The length of the videos a finished task made, in ms (those the upstream measured)."""
    found = record.videos or ()
    lengths = (video.duration for video in found if video.duration is not None)
    # An upstream may send nonsense ("NaN", -1): it counts for nothing.
    return sum(round(s * 1000) for s in lengths if math.isfinite(s) and s > 0)


def _is_stream_id(value: str) -> bool:
    return _STREAM_ID.fullmatch(value) is not None and all(
        int(part) <= _MAX_ID_PART for part in value.split("-")
    )


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
