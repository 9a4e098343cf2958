"""``RedisTaskStore`` and ``RedisKeyStore``: the one store, on a real Redis or fakeredis.

Key layout (every key of one task shares the ``{task_id}`` hash tag, so it works on Redis
Cluster too)::

    {ns}:{task_id}:task       hash  v=<version>, doc=<TaskRecord JSON>     TTL task_ttl
    {ns}:{task_id}:events     stream, one entry per event (field e)       TTL task_ttl
    {ns}:{task_id}:refresh    string, the refresh lease                    PX hold
    {ns}:idem:{scope}         hash  task_id, fp, at                      TTL idempotency_ttl
    {ns}:apikey:{sha256}      string <ApiKey JSON>                         no TTL (credentials)
    {ns}:apikeys              hash  key id -> sha256                       no TTL
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from adapter.errors import StoreUnavailable
from adapter.model import ApiKey, Event, TaskRecord
from adapter.ports import IdempotencyClaim

_encode = msgspec.json.Encoder().encode
_decode_record = msgspec.json.Decoder(TaskRecord).decode
_decode_event = msgspec.json.Decoder(Event).decode
_decode_key = msgspec.json.Decoder(ApiKey).decode

_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'v', 1, 'doc', ARGV[1])
redis.call('XADD', KEYS[2], '*', 'e', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
"""

# Compare-and-set on the version; the event goes in with the change or not at all.
_UPDATE = """
local v = redis.call('HGET', KEYS[1], 'v')
if (not v) or tonumber(v) ~= tonumber(ARGV[1]) - 1 then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'doc', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if ARGV[3] ~= '' then
  redis.call('XADD', KEYS[2], '*', 'e', ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
return 1
"""

# Forget a task only while it is still the version the caller created.
_DELETE = """
local v = redis.call('HGET', KEYS[1], 'v')
if v and tonumber(v) == tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1], KEYS[2])
  return 1
end
return 0
"""

_CLAIM = """
if redis.call('HSETNX', KEYS[1], 'task_id', ARGV[2]) == 1 then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'at', ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  return {1, ARGV[1], ARGV[2], ARGV[3]}
end
local r = redis.call('HMGET', KEYS[1], 'fp', 'task_id', 'at')
return {0, r[1], r[2], r[3]}
"""

_RELEASE = """
if redis.call('HGET', KEYS[1], 'task_id') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@contextmanager
def map_redis_errors() -> Iterator[None]:
    """Translate redis-py's exceptions into ``StoreUnavailable``, once, at this boundary."""
    try:
        yield
    except RedisError as exc:
        raise StoreUnavailable(f"The task store is unavailable: {exc.__class__.__name__}.") from exc


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisTaskStore:
    """Tasks, events, idempotency claims and refresh leases in Redis."""

    __slots__ = ("_claim", "_create", "_delete", "_ns", "_redis", "_release", "_ttl_ms", "_update")

    def __init__(self, redis: aioredis.Redis, *, namespace: str = "mva", task_ttl_s: int) -> None:
        self._redis = redis
        self._ns = namespace
        self._ttl_ms = task_ttl_s * 1000
        self._create = redis.register_script(_CREATE)
        self._update = redis.register_script(_UPDATE)
        self._delete = redis.register_script(_DELETE)
        self._claim = redis.register_script(_CLAIM)
        self._release = redis.register_script(_RELEASE)

    def _task_keys(self, task_id: str) -> list[str]:
        return [f"{self._ns}:{{{task_id}}}:task", f"{self._ns}:{{{task_id}}}:events"]

    def _idem_key(self, scope: str) -> str:
        return f"{self._ns}:idem:{{{scope}}}"

    async def create_task(self, record: TaskRecord, event: Event) -> None:
        record = msgspec.structs.replace(record, version=1)
        with map_redis_errors():
            created = await self._create(
                keys=self._task_keys(record.task_id),
                args=[_encode(record), _encode(event), self._ttl_ms],
            )
        if not created:
            raise ValueError(f"task {record.task_id} already exists")

    async def get_task(self, task_id: str) -> TaskRecord | None:
        with map_redis_errors():
            doc = await self._redis.hget(self._task_keys(task_id)[0], "doc")
        return None if doc is None else _decode_record(doc)

    async def update_task(self, record: TaskRecord, event: Event | None) -> bool:
        with map_redis_errors():
            done = await self._update(
                keys=self._task_keys(record.task_id),
                args=[
                    record.version,
                    _encode(record),
                    b"" if event is None else _encode(event),
                    self._ttl_ms,
                ],
            )
        return bool(done)

    async def delete_task(self, task_id: str, version: int) -> bool:
        with map_redis_errors():
            deleted = await self._delete(keys=self._task_keys(task_id), args=[version])
        return bool(deleted)

    async def list_events(self, task_id: str) -> list[Event]:
        with map_redis_errors():
            entries: list[Any] = await self._redis.xrange(self._task_keys(task_id)[1]) or []
        return [
            msgspec.structs.replace(_decode_event(fields[b"e"]), id=_text(entry_id))
            for entry_id, fields in entries
        ]

    async def claim_idempotency(
        self, scope: str, fingerprint: str, task_id: str, now: datetime, ttl_s: int
    ) -> IdempotencyClaim:
        with map_redis_errors():
            is_new, fp, owner_task, at = await self._claim(
                keys=[self._idem_key(scope)], args=[fingerprint, task_id, now.isoformat(), ttl_s]
            )
        return IdempotencyClaim(
            is_new=bool(is_new),
            fingerprint=_text(fp),
            task_id=_text(owner_task),
            claimed_at=datetime.fromisoformat(_text(at)),
        )

    async def release_idempotency(self, scope: str, task_id: str) -> None:
        with map_redis_errors():
            await self._release(keys=[self._idem_key(scope)], args=[task_id])

    async def acquire_refresh(self, task_id: str, hold_ms: int) -> bool:
        with map_redis_errors():
            got = await self._redis.set(
                f"{self._ns}:{{{task_id}}}:refresh", b"1", nx=True, px=max(1, hold_ms)
            )
        return bool(got)

    async def extend_refresh(self, task_id: str, hold_ms: int) -> None:
        with map_redis_errors():
            await self._redis.set(f"{self._ns}:{{{task_id}}}:refresh", b"1", px=max(1, hold_ms))

    async def ping(self) -> None:
        with map_redis_errors():
            await self._redis.ping()


class RedisKeyStore:
    """API keys by SHA-256, plus an id index for the admin commands."""

    __slots__ = ("_ns", "_redis")

    def __init__(self, redis: aioredis.Redis, *, namespace: str = "mva") -> None:
        self._redis = redis
        self._ns = namespace

    def _key(self, key_hash: str) -> str:
        return f"{self._ns}:apikey:{key_hash}"

    async def add_key(self, key: ApiKey) -> None:
        with map_redis_errors():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(self._key(key.key_hash), _encode(key))
                pipe.hset(f"{self._ns}:apikeys", key.id, key.key_hash)
                await pipe.execute()

    async def key_by_hash(self, key_hash: str) -> ApiKey | None:
        with map_redis_errors():
            doc = await self._redis.get(self._key(key_hash))
        return None if doc is None else _decode_key(doc)

    async def key_by_id(self, key_id: str) -> ApiKey | None:
        with map_redis_errors():
            key_hash = await self._redis.hget(f"{self._ns}:apikeys", key_id)
        return None if key_hash is None else await self.key_by_hash(_text(key_hash))

    async def list_keys(self) -> list[ApiKey]:
        with map_redis_errors():
            hashes = await self._redis.hvals(f"{self._ns}:apikeys")
            docs = await self._redis.mget([self._key(_text(h)) for h in hashes]) if hashes else []
        keys = [_decode_key(doc) for doc in docs if doc is not None]
        return sorted(keys, key=lambda k: k.created_at)

    async def set_key_status(self, key_id: str, status: str) -> bool:
        key = await self.key_by_id(key_id)
        if key is None:
            return False
        with map_redis_errors():
            await self._redis.set(
                self._key(key.key_hash), _encode(msgspec.structs.replace(key, status=status))
            )
        return True

    async def delete_key(self, key_id: str) -> bool:
        key = await self.key_by_id(key_id)
        if key is None:
            return False
        with map_redis_errors():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(self._key(key.key_hash))
                pipe.hdel(f"{self._ns}:apikeys", key_id)
                await pipe.execute()
        return True
