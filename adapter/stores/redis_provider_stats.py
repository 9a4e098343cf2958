"""``RedisProviderStats``: per-minute counters of upstream calls, shared by every process.

The keys are those of ``KeySpace`` (``redis_keyspace.py``, with the layout): one hash per
minute, which expires a little over an hour after its last increment, so the last hour is
always there to read and little older is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from adapter.stores.redis import StoreErrors, text
from adapter.stores.redis_client import RedisClient
from adapter.stores.redis_keyspace import KeySpace

#: Seconds a minute's counters are kept after their last increment: an hour and five minutes
#: (relative to Redis' clock, so a process whose clock is off cannot expire them early).
BUCKET_TTL_S = 65 * 60


class RedisProviderStats:
    """Adds to and reads the per-minute upstream call counters."""

    __slots__ = ("_errors", "_keys", "_redis")

    def __init__(
        self,
        redis: RedisClient,
        *,
        namespace: str = "mva",
        on_unavailable: Callable[[str], None] | None = None,
    ) -> None:
        self._redis = redis
        self._keys = KeySpace(namespace)
        self._errors = StoreErrors(on_unavailable)

    async def add_provider_stats(self, counts: Mapping[int, Mapping[str, int]]) -> None:
        # Not repeatable: an increment sent twice counts twice.
        with self._errors.mapped("add_provider_stats"):
            async with self._redis.pipeline(transaction=False) as pipe:
                for minute, fields in counts.items():
                    key = self._keys.provider_stats(minute)
                    for field, n in fields.items():
                        pipe.hincrby(key, field, n)
                    pipe.expire(key, BUCKET_TTL_S)
                await pipe.execute()

    async def provider_stats(self, minutes: Sequence[int]) -> list[dict[str, int]]:
        async def read() -> list[Any]:
            async with self._redis.pipeline(transaction=False) as pipe:
                for minute in minutes:
                    pipe.hgetall(self._keys.provider_stats(minute))
                found: list[Any] = await pipe.execute()
                return found

        found = await self._errors.repeatable("provider_stats", read)
        return [{text(field): int(n) for field, n in counts.items()} for counts in found]
