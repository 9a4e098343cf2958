"""``RedisPacing``: what paces the reconcilers' upstream queries, shared by every process.

Two kinds of key, each operation touching one key only (so it runs on Redis Cluster too), with
``<ns>`` the namespace; braces are literal (the key's hash tag)::

    <ns>:pace:{<provider>}:budget        hash  t=<tokens>, at=<ms of the last refill>: the
                                         provider's query token bucket   PX a refill + 60 s
    <ns>:pace:{<provider>|<model>}:done  list  seconds from submit to success of the most
                                         recent tasks, newest first (at most 100)   TTL 7 days

The bucket is refilled from the callers' clocks: a process whose clock runs behind refills
nothing (``at`` is never moved back), one that runs ahead refills at most its lead's worth once.
The embedded fakeredis runs the same Lua, so one implementation serves both.
"""

from __future__ import annotations

from collections.abc import Callable

from adapter.stores.redis import StoreErrors
from adapter.stores.redis_client import RedisClient
from adapter.stores.redis_keyspace import KeySpace

#: How many durations are kept per provider and model.
KEPT = 100
#: How long a provider and model's durations outlive its last success.
DURATIONS_TTL_S = 7 * 86_400

# KEYS: the bucket. ARGV: now ms, tokens per second, burst. Returns 0 (taken) or ms to wait.
TAKE = """
local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local found = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(found[1])
local at = tonumber(found[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate / 1000)
  at = now
end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.max(1, math.ceil((1 - tokens) * 1000 / rate))
end
redis.call('HSET', KEYS[1], 't', string.format('%.6f', tokens), 'at', at)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 60000)
return wait
"""

# KEYS: the durations. ARGV: seconds, how many to keep, ttl s.
ADD = """
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""


class RedisPacing:
    """The ``QueryTokens`` and the ``CompletionLog`` on Redis: one key per provider (and
    model), each move one script."""

    __slots__ = ("_add", "_errors", "_keys", "_redis", "_take")

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
        self._take = redis.register_script(TAKE)
        self._add = redis.register_script(ADD)

    def budget_key(self, provider: str) -> str:
        return self._keys.query_budget(provider)

    def durations_key(self, provider: str, model: str) -> str:
        return self._keys.completions(provider, model)

    async def take_query(self, provider: str, *, per_s: float, burst: float, now_ms: int) -> int:
        if per_s <= 0 or burst < 1:
            raise ValueError("a query budget needs per_s > 0 and burst >= 1")
        with self._errors.mapped("take_query"):
            wait = await self._take(
                keys=[self.budget_key(provider)], args=[now_ms, repr(per_s), repr(burst)]
            )
        return int(wait)

    async def add_completion(self, provider: str, model: str, seconds: float) -> None:
        # Not repeatable: a push sent twice is recorded twice.
        with self._errors.mapped("add_completion"):
            await self._add(
                keys=[self.durations_key(provider, model)],
                args=[f"{seconds:.3f}", KEPT, DURATIONS_TTL_S],
            )

    async def completions(self, provider: str, model: str) -> list[float]:
        key = self.durations_key(provider, model)
        found = await self._errors.repeatable(
            "completions", lambda: self._redis.lrange(key, 0, KEPT - 1)
        )
        return [float(value) for value in found]
