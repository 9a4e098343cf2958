"""``RedisCircuitStore``: every provider's circuit per model in one hash, moved by Lua.

A field is ``<provider>|<model>`` (neither holds ``|``), its value ``<failures>:<open until
ms>:<probe held until ms>``. A closed circuit with no failure has no field, so a healthy
deployment keeps the hash empty and reads it in one cheap round trip.
"""

from __future__ import annotations

from collections.abc import Callable

from adapter.core.values import Circuit
from adapter.stores.redis import StoreErrors, text
from adapter.stores.redis_client import RedisClient
from adapter.stores.redis_keyspace import KeySpace

_READ = """
local function read(value)
  if not value then return 0, 0, 0 end
  local a, b, c = string.match(value, '^(%d+):(%d+):(%d+)$')
  return tonumber(a), tonumber(b), tonumber(c)
end
"""

# KEYS: circuits. ARGV: field, now ms, threshold, cool-down ms. Returns the new circuit.
FAILED = (
    _READ
    + """
local failures, open_until, probe_until = read(redis.call('HGET', KEYS[1], ARGV[1]))
local now = tonumber(ARGV[2])
failures = failures + 1
if open_until > 0 or failures >= tonumber(ARGV[3]) then
  -- Opened, or a probe (or a submit sent before it opened) failed: a cool-down from now.
  open_until = now + tonumber(ARGV[4])
  probe_until = 0
end
redis.call('HSET', KEYS[1], ARGV[1], failures .. ':' .. open_until .. ':' .. probe_until)
return {failures, open_until, probe_until}
"""
)

# KEYS: circuits. ARGV: field, now ms, hold ms. Returns 1 when the submit may go.
CLAIM_PROBE = (
    _READ
    + """
local value = redis.call('HGET', KEYS[1], ARGV[1])
local failures, open_until, probe_until = read(value)
local now = tonumber(ARGV[2])
if open_until == 0 then return 1 end
if open_until > now or probe_until > now then return 0 end
redis.call('HSET', KEYS[1], ARGV[1],
  failures .. ':' .. open_until .. ':' .. (now + tonumber(ARGV[3])))
return 1
"""
)


def _field(provider: str, model: str) -> str:
    return f"{provider}|{model}"


def _circuit(value: str) -> Circuit:
    failures, open_until, probe_until = (int(part) for part in value.split(":"))
    return Circuit(failures, open_until, probe_until)


class RedisCircuitStore:
    """The ``CircuitStore`` on Redis: one hash, each move one script."""

    __slots__ = ("_claim_probe", "_errors", "_failed", "_key", "_redis")

    def __init__(
        self,
        redis: RedisClient,
        *,
        namespace: str = "mva",
        on_unavailable: Callable[[str], None] | None = None,
    ) -> None:
        self._redis = redis
        self._key = KeySpace(namespace).circuits
        self._errors = StoreErrors(on_unavailable)
        self._failed = redis.register_script(FAILED)
        self._claim_probe = redis.register_script(CLAIM_PROBE)

    async def circuits(self) -> dict[tuple[str, str], Circuit]:
        fields = await self._errors.repeatable("circuits", lambda: self._redis.hgetall(self._key))
        found = {}
        for field, value in fields.items():
            provider, _, model = text(field).partition("|")
            found[provider, model] = _circuit(text(value))
        return found

    async def failed(
        self, provider: str, model: str, *, now_ms: int, threshold: int, cooldown_ms: int
    ) -> Circuit:
        with self._errors.mapped("circuit_failed"):
            moved = await self._failed(
                keys=[self._key], args=[_field(provider, model), now_ms, threshold, cooldown_ms]
            )
        return Circuit(*(int(part) for part in moved))

    async def claim_probe(self, provider: str, model: str, *, now_ms: int, hold_ms: int) -> bool:
        with self._errors.mapped("circuit_probe"):
            allowed = await self._claim_probe(
                keys=[self._key], args=[_field(provider, model), now_ms, hold_ms]
            )
        return bool(allowed)

    async def close(self, provider: str, model: str) -> None:
        await self._errors.repeatable(
            "circuit_close", lambda: self._redis.hdel(self._key, _field(provider, model))
        )
