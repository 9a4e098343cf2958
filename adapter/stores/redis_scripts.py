"""The store's Lua scripts, each called through one typed method of ``TaskScripts``.

Each decision is one atomic round trip. A script reads its KEYS and ARGV into named locals at
its top, in the order its method passes them, and uses only the names after that.

Indexes and schedules are sorted sets of task ids; an index scores by creation time (ms), a
schedule by when the task is next due (ms). Every append to a task's events is announced on the
shard's channel with the task id (sharded pub/sub: the channel is in the shard's hash slot),
so live readers wake without polling. Every script touches the keys of one shard (one hash
slot): see ``redis_keyspace``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from redis.exceptions import NoScriptError

from adapter.core.shards import id_shard
from adapter.core.values import Admission, Mode, TaskStatus, nanos
from adapter.ports import IdempotencyClaim, Schedule
from adapter.stores.redis_client import RedisClient
from adapter.stores.redis_keyspace import KeySpace

# The keys of CREATE, UPDATE and DELETE, in the order ``TaskScripts._task_keys`` gives them.
# by_status holds the owner's index per status, in ``TaskStatus`` order.
# open_count, recent and spend belong to the API key that submitted the task (its unfinished
# tasks, its accepted submits of the last minute, its budget's reserved and charged amounts per
# period, in billionths); a task submitted by no key names a key never used. All are in the
# task's shard (one hash slot).
_TASK_KEYS = """
local task = KEYS[1]
local by_status = {KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]}
local all, due_tasks, due_webhooks = KEYS[7], KEYS[8], KEYS[9]
local open_count, recent, spend, ledger = KEYS[10], KEYS[11], KEYS[12], KEYS[13]
local key_tasks, every_task = KEYS[14], KEYS[15]
"""

# A task is one string (``redis_record``): a header of space-separated fields ('-' when not
# set), a newline, the doc, then the events, each '<length>:<blob>'. load() reads it into a
# table (nil when there is no task), save() writes it back with the task's expiry.
_RECORD = """
local function load(key)
  local raw = redis.call('GET', key)
  if not raw then return nil end
  local nl = string.find(raw, '\\n', 1, true)
  local h = {}
  for field in string.gmatch(string.sub(raw, 1, nl - 1), '%S+') do h[#h + 1] = field end
  local length = tonumber(h[7])
  return {v = h[1], open = h[2], bp = h[3], br = h[4], lm = h[5], le = h[6],
    doc = string.sub(raw, nl + 1, nl + length), events = string.sub(raw, nl + length + 1)}
end
local function save(key, t, ttl)
  local head = table.concat({t.v, t.open, t.bp, t.br, t.lm, t.le, string.len(t.doc)}, ' ')
  redis.call('SET', key, head .. '\\n' .. t.doc .. t.events, 'PX', ttl)
end
local function append(t, event)
  t.events = t.events .. string.len(event) .. ':' .. event
end
"""

# Amounts go to HINCRBY as the strings they came as: exact, never through a Lua double.
# A task holds one of its key's open slots, and its reservation on the key's budget, from its
# creation until it ends or is forgotten; the header's 'open' and 'bp' fields say so, so each
# is given back exactly once: the slot freed, the reservation replaced by the charge. Its row
# of the key's usage ledger (model 'lm', in the ledger of its creation day) moves with it: the
# outcome counted and the estimate turned into the charge (outcome 'forgotten' takes the task
# out of the ledger, since it no longer exists).
_RELEASE = """
local function settle(t, charge, outcome, millis, upstream)
  if t.lm ~= '-' then
    local model, estimate = t.lm, t.le
    t.lm, t.le = '-', '-'
    redis.call('HINCRBY', ledger, model .. '|reserved', '-' .. estimate)
    if outcome == 'forgotten' then
      redis.call('HINCRBY', ledger, model .. '|tasks', -1)
    else
      redis.call('HINCRBY', ledger, model .. '|' .. outcome, 1)
      redis.call('HINCRBY', ledger, model .. '|charged', charge)
      redis.call('HINCRBY', ledger, model .. '|millis', millis)
      if upstream ~= '0' then
        redis.call('HINCRBY', ledger, model .. '|upstream', upstream)
      end
    end
  end
  if t.open == '1' then
    t.open = '-'
    if tonumber(redis.call('GET', open_count) or '0') > 0 then redis.call('DECR', open_count) end
  end
  if t.bp ~= '-' then
    local period, reserved = t.bp, t.br
    t.bp, t.br = '-', '-'
    redis.call('HINCRBY', spend, period .. ':r', '-' .. reserved)
    redis.call('HINCRBY', spend, period .. ':c', charge)
  end
end
"""

# Index entries scored before expired_before belong to tasks that have expired: trimmed.
# With admit = '1' the submitting key's limits are checked first (0 = no limit): over its
# unfinished tasks, {-2, 0}; over its budget for the period, {-3, what remains}; over its
# submits in the last minute, {-1, ms until one leaves the window}. Otherwise the task takes a
# slot, a place in the window and (with a budget) reserves its cost. {0} if it exists; {1} done.
CREATE = (
    _TASK_KEYS
    + """
local doc = ARGV[1]
local event = ARGV[2]
local ttl = ARGV[3]
local created = ARGV[4]
local id = ARGV[5]
local channel = ARGV[6]
local expired_before = ARGV[7]
local place = tonumber(ARGV[8])
local admit = ARGV[9] == '1'
local per_minute = tonumber(ARGV[10])
local max_open = tonumber(ARGV[11])
local now = tonumber(ARGV[12])
local budget = tonumber(ARGV[13])
local period = ARGV[14]
local cost_text = ARGV[15]
local model = ARGV[16]
local ledger_ttl = ARGV[17]
"""
    + _RECORD
    + """
if redis.call('EXISTS', task) == 1 then return {0, 0} end
local cost = tonumber(cost_text)
if admit then
  if max_open > 0 and tonumber(redis.call('GET', open_count) or '0') >= max_open then
    return {-2, 0}
  end
  if budget > 0 then
    local used = tonumber(redis.call('HGET', spend, period .. ':r') or '0')
      + tonumber(redis.call('HGET', spend, period .. ':c') or '0')
    if used + cost > budget then return {-3, budget - used} end
  end
  if per_minute > 0 then
    redis.call('ZREMRANGEBYSCORE', recent, '-inf', now - 60000)
    if redis.call('ZCARD', recent) >= per_minute then
      local oldest = redis.call('ZRANGE', recent, 0, 0, 'WITHSCORES')
      return {-1, tonumber(oldest[2]) + 60000 - now}
    end
    redis.call('ZADD', recent, now, id)
    redis.call('PEXPIRE', recent, 60000)
  end
  redis.call('INCR', open_count)
end
local t = {v = '1', open = '-', bp = '-', br = '-', lm = '-', le = '-', doc = doc, events = ''}
if admit then t.open = '1' end
if admit and budget > 0 then
  redis.call('HINCRBY', spend, period .. ':r', cost_text)
  t.bp, t.br = period, cost_text
end
if admit then
  redis.call('HINCRBY', ledger, model .. '|tasks', 1)
  redis.call('HINCRBY', ledger, model .. '|reserved', cost_text)
  redis.call('PEXPIRE', ledger, ledger_ttl)
  t.lm, t.le = model, cost_text
end
append(t, event)
save(task, t, ttl)
local indexes = {by_status[place], all, every_task}
if admit then table.insert(indexes, key_tasks) end
for _, index in ipairs(indexes) do
  redis.call('ZADD', index, created, id)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. expired_before)
  redis.call('PEXPIRE', index, ttl)
end
redis.call('ZADD', due_tasks, created, id)
redis.call('PEXPIRE', due_tasks, ttl)
redis.call('SPUBLISH', channel, id)
return {1, 0}
"""
)

# Compare-and-set on the version; the event and the index moves go in with the change or
# not at all (an update without an event is REPLACE). place is the new status's place (1-5)
# in by_status; webhook_due '' schedules no webhook.
UPDATE = (
    _TASK_KEYS
    + """
local version = ARGV[1]
local doc = ARGV[2]
local event = ARGV[3]
local ttl = ARGV[4]
local place = tonumber(ARGV[5])
local created = ARGV[6]
local id = ARGV[7]
local channel = ARGV[8]
local terminal = ARGV[9] == '1'
local webhook_due = ARGV[10]
local charge = ARGV[11]
local outcome = ARGV[12]
local millis = ARGV[13]
local upstream = ARGV[14] or '0'
"""
    + _RECORD
    + _RELEASE
    + """
local t = load(task)
if (not t) or tonumber(t.v) ~= tonumber(version) - 1 then return 0 end
t.v, t.doc = version, doc
append(t, event)
if terminal then
  redis.call('ZREM', due_tasks, id)
  settle(t, charge, outcome, millis, upstream)
end
-- The task, its events and its place in the list live on together.
save(task, t, ttl)
redis.call('SPUBLISH', channel, id)
redis.call('PEXPIRE', all, ttl)
for i, index in ipairs(by_status) do
  if i == place then
    redis.call('ZADD', index, created, id)
    redis.call('PEXPIRE', index, ttl)
  else
    redis.call('ZREM', index, id)
  end
end
if webhook_due ~= '' then
  redis.call('ZADD', due_webhooks, 'NX', webhook_due, id)
  redis.call('PEXPIRE', due_webhooks, ttl)
end
return 1
"""
)

# An update that adds no event (so moves no status): the doc alone, compare-and-set on the
# version; every index, schedule and counter stays as it is.
REPLACE = (
    _RECORD
    + """
local t = load(KEYS[1])
if (not t) or tonumber(t.v) ~= tonumber(ARGV[1]) - 1 then return 0 end
t.v, t.doc = ARGV[1], ARGV[2]
save(KEYS[1], t, ARGV[3])
return 1
"""
)

# Forget a task only while it is still the version the caller created.
DELETE = (
    _TASK_KEYS
    + """
local version = ARGV[1]
local id = ARGV[2]
"""
    + _RECORD
    + _RELEASE
    + """
local t = load(task)
if t and tonumber(t.v) == tonumber(version) then
  settle(t, '0', 'forgotten', 0, '0')
  redis.call('DEL', task)
  for _, index in ipairs(by_status) do redis.call('ZREM', index, id) end
  for _, set in ipairs({all, due_tasks, due_webhooks, key_tasks, every_task}) do
    redis.call('ZREM', set, id)
  end
  return 1
end
return 0
"""
)

# Take up to limit entries due by now and hold them until held_until: a lease that expires
# by itself, so a crashed worker's entries come due again.
CLAIM_DUE = """
local schedule = KEYS[1]
local now = ARGV[1]
local limit = ARGV[2]
local held_until = ARGV[3]
local ids = redis.call('ZRANGEBYSCORE', schedule, '-inf', now, 'LIMIT', 0, limit)
for _, id in ipairs(ids) do redis.call('ZADD', schedule, 'XX', held_until, id) end
return ids
"""

# Record a webhook attempt as an event, and schedule the next (next_at) or end the delivery
# (next_at ''). A task that has expired meanwhile gets no event.
ATTEMPT = (
    """
local task = KEYS[1]
local due_webhooks = KEYS[2]
local event = ARGV[1]
local ttl = ARGV[2]
local next_at = ARGV[3]
local id = ARGV[4]
local channel = ARGV[5]
"""
    + _RECORD
    + """
local t = load(task)
if t then
  append(t, event)
  -- A delivery still retrying keeps its task and schedule alive.
  save(task, t, ttl)
  redis.call('SPUBLISH', channel, id)
end
if next_at == '' then
  redis.call('ZREM', due_webhooks, id)
else
  redis.call('ZADD', due_webhooks, 'XX', next_at, id)
  redis.call('PEXPIRE', due_webhooks, ttl)
end
return 1
"""
)

# One page of an index, newest first, after the cursor (after_score, after_id; after_id ''
# is the first page). The cursor's rank finds the place in O(log n). If its task has left the
# index (deleted, or moved to another status), it is put back for a moment to find its rank:
# its score alone cannot place it among tasks created in the same millisecond, and Lua's
# string order is the locale's.
PAGE = """
local index = KEYS[1]
local limit = tonumber(ARGV[1])
local after_score = ARGV[2]
local after_id = ARGV[3]
if after_id == '' then
  return redis.call('ZREVRANGE', index, 0, limit - 1, 'WITHSCORES')
end
local start
local rank = redis.call('ZREVRANK', index, after_id)
if rank then
  start = rank + 1
else
  redis.call('ZADD', index, after_score, after_id)
  start = redis.call('ZREVRANK', index, after_id)
  redis.call('ZREM', index, after_id)
end
return redis.call('ZREVRANGE', index, start, start + limit - 1, 'WITHSCORES')
"""

# A claim is '<task_id> <ms> <fingerprint>'.
CLAIM_IDEMPOTENCY = """
local claim = KEYS[1]
local fp = ARGV[1]
local task_id = ARGV[2]
local at = ARGV[3]
local ttl = ARGV[4]
local held = redis.call('GET', claim)
if not held then
  redis.call('SET', claim, task_id .. ' ' .. at .. ' ' .. fp, 'EX', ttl)
  return {1, fp, task_id, at}
end
local first = string.find(held, ' ', 1, true)
local second = string.find(held, ' ', first + 1, true)
local holder = string.sub(held, 1, first - 1)
local held_at, held_fp = string.sub(held, first + 1, second - 1), string.sub(held, second + 1)
-- Claimed by this very task id: the same claim, run again after its answer was lost.
if holder == task_id then return {1, held_fp, holder, held_at} end
return {0, held_fp, holder, held_at}
"""

RELEASE_IDEMPOTENCY = """
local claim = KEYS[1]
local task_id = ARGV[1]
local held = redis.call('GET', claim)
if held and string.sub(held, 1, string.len(task_id) + 1) == task_id .. ' ' then
  return redis.call('DEL', claim)
end
return 0
"""

#: A status's place (1-5) among the per-status indexes, as the task scripts count.
_PLACE = {status: place for place, status in enumerate(TaskStatus, start=1)}


def text(value: Any) -> str:
    """A Redis reply value as ``str``, whether the client decodes replies or not."""
    return value.decode() if isinstance(value, bytes) else str(value)


def _claim_of(reply: Any) -> IdempotencyClaim:
    """CLAIM_IDEMPOTENCY's reply as a claim."""
    is_new, fp, owner_task, at = reply
    return IdempotencyClaim(
        is_new=bool(is_new),
        fingerprint=text(fp),
        task_id=text(owner_task),
        claimed_at=datetime.fromtimestamp(int(text(at)) / 1000, UTC),
    )


class TaskScripts:
    """The scripts, registered on one client; a method per script builds its KEYS and ARGV."""

    __slots__ = (
        "_attempt",
        "_claim_due",
        "_claim_idempotency",
        "_create",
        "_delete",
        "_keys",
        "_page",
        "_redis",
        "_release_idempotency",
        "_replace",
        "_update",
    )

    def __init__(self, redis: RedisClient, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys
        self._create = redis.register_script(CREATE)
        self._update = redis.register_script(UPDATE)
        self._replace = redis.register_script(REPLACE)
        self._delete = redis.register_script(DELETE)
        self._claim_due = redis.register_script(CLAIM_DUE)
        self._attempt = redis.register_script(ATTEMPT)
        self._page = redis.register_script(PAGE)
        self._claim_idempotency = redis.register_script(CLAIM_IDEMPOTENCY)
        self._release_idempotency = redis.register_script(RELEASE_IDEMPOTENCY)

    def _task_keys(
        self, task_id: str, owner: str, mode: Mode, key_id: str | None, day: str
    ) -> list[str]:
        """The KEYS of CREATE, UPDATE and DELETE, in the order ``_TASK_KEYS`` reads them;
        ``day`` is the task's creation day (UTC), whose ledger row it counts in."""
        keys = self._keys
        shard = id_shard(task_id)
        key = key_id or keys.no_key(shard)
        return [
            keys.task(task_id),
            *keys.owner_indexes(owner, mode),
            keys.due("tasks", shard),
            keys.due("webhooks", shard),
            *keys.api_key_load(key),
            keys.usage(key, day),
            keys.key_tasks(key),
            keys.every_task(shard),
        ]

    async def create(
        self,
        *,
        task_id: str,
        owner: str,
        mode: Mode,
        status: TaskStatus,
        doc: bytes,
        event: bytes,
        created_ms: int,
        ttl_ms: int,
        expired_before_ms: int,
        admission: Admission | None,
        now_ms: int,
        cost_nanos: int,
        period: str,
        model: str,
        day: str,
        ledger_ttl_ms: int,
    ) -> tuple[int, int]:
        """Write a new task, its first event, its index entries and its reconcile schedule;
        with ``admission``, only within its key's limits, taking one of its slots.

        With a budget, the task reserves ``cost_nanos`` of ``period``'s. Returns ``(1, 0)`` when
        written, ``(0, 0)`` when the task exists already, ``(-1, ms)`` over the key's submits a
        minute (``ms``: until one leaves the window), ``(-2, 0)`` over its unfinished tasks and
        ``(-3, nanos)`` over its budget (``nanos``: what remains of it). Index entries scored
        before ``expired_before_ms`` are trimmed as those of expired tasks.
        """
        admit = admission or Admission("")
        code, wait_ms = await self._create(
            keys=self._task_keys(
                task_id, owner, mode, admission.key_id if admission else None, day
            ),
            args=[
                doc,
                event,
                ttl_ms,
                created_ms,
                task_id,
                self._keys.channel(id_shard(task_id)),
                expired_before_ms,
                _PLACE[status],
                "1" if admission else "0",
                admit.per_minute or 0,
                admit.max_open or 0,
                now_ms,
                nanos(admit.budget.amount) if admit.budget else 0,
                period,
                cost_nanos,
                model,
                ledger_ttl_ms,
            ],
        )
        return int(code), int(wait_ms)

    async def update(
        self,
        *,
        task_id: str,
        owner: str,
        mode: Mode,
        version: int,
        status: TaskStatus,
        doc: bytes,
        event: bytes,
        created_ms: int,
        ttl_ms: int,
        terminal: bool,
        webhook_due_ms: int | None,
        key_id: str | None,
        charge_nanos: int,
        outcome: str,
        millis: int,
        day: str,
        upstream_nanos: int = 0,
    ) -> bool:
        """Replace the task at ``version - 1`` with ``doc`` at ``version``; False if it moved on.

        With it, in the same step (an update without an event is :meth:`replace`'s): append
        ``event``, move the task to the index of ``status``,
        leave the reconcile schedule (and give back the slot of ``key_id``, the key that
        submitted it, replacing its budget reservation by ``charge_nanos``, and adding
        ``upstream_nanos``, what its host charged, to its ledger row) when ``terminal``, and
        schedule the webhook when ``webhook_due_ms`` is given.
        """
        done = await self._update(
            keys=self._task_keys(task_id, owner, mode, key_id, day),
            args=[
                version,
                doc,
                event,
                ttl_ms,
                _PLACE[status],
                created_ms,
                task_id,
                self._keys.channel(id_shard(task_id)),
                "1" if terminal else "0",
                "" if webhook_due_ms is None else str(webhook_due_ms),
                charge_nanos,
                outcome,
                millis,
                upstream_nanos,
            ],
        )
        return bool(done)

    async def replace(self, *, task_id: str, version: int, doc: bytes, ttl_ms: int) -> bool:
        """Replace the task at ``version - 1`` with ``doc`` at ``version``, and nothing else;
        False if it moved on."""
        done = await self._replace(keys=[self._keys.task(task_id)], args=[version, doc, ttl_ms])
        return bool(done)

    async def delete(
        self, *, task_id: str, owner: str, mode: Mode, version: int, key_id: str | None, day: str
    ) -> bool:
        """Forget the task, its events, index entries and schedules (and give back the slot it
        holds of ``key_id``'s), if still at ``version``."""
        deleted = await self._delete(
            keys=self._task_keys(task_id, owner, mode, key_id, day), args=[version, task_id]
        )
        return bool(deleted)

    async def claim_due(
        self, *, queue: Schedule, shard: int, now_ms: int, limit: int, held_until_ms: int
    ) -> list[str]:
        """Up to ``limit`` task ids of ``shard`` due by ``now_ms``, each held until
        ``held_until_ms``."""
        ids: list[Any] = await self._claim_due(
            keys=[self._keys.due(queue, shard)], args=[now_ms, limit, held_until_ms]
        )
        return [text(task_id) for task_id in ids]

    async def attempt(
        self, *, task_id: str, event: bytes, next_at_ms: int | None, ttl_ms: int
    ) -> None:
        """Append a webhook attempt's event; schedule the next at ``next_at_ms``, or stop."""
        keys = self._keys
        await self._attempt(
            keys=[keys.task(task_id), keys.due("webhooks", id_shard(task_id))],
            args=[
                event,
                ttl_ms,
                "" if next_at_ms is None else next_at_ms,
                task_id,
                keys.channel(id_shard(task_id)),
            ],
        )

    async def page(
        self, *, index: str, count: int, after: tuple[str, str] | None
    ) -> list[tuple[str, int]]:
        """Up to ``count`` (task id, score) entries of ``index``, newest first.

        ``after`` is the (score, task id) of the entry the page follows; ``None`` for the first.
        """
        score, after_id = after or ("", "")
        flat: list[Any] = await self._page(keys=[index], args=[count, score, after_id])
        return [
            (text(member), int(float(text(value))))
            for member, value in zip(flat[0::2], flat[1::2], strict=True)
        ]

    async def claim_idempotency(
        self,
        *,
        owner: str,
        scope: str,
        fingerprint: str,
        task_id: str,
        now: datetime,
        ttl_s: int,
        read: str | None = None,
    ) -> tuple[IdempotencyClaim, Any]:
        """Claim ``owner``'s ``scope`` for ``task_id``, or learn who holds it; with ``read``,
        also that string key's value (``None`` when it has none), in the same round trip.

        A claim by the task id that holds it answers "new" again: the same claim, repeated.
        """
        keys = [self._keys.idempotency(owner, scope)]
        args: list[str | int] = [fingerprint, task_id, int(now.timestamp() * 1000), ttl_s]
        value: Any = None
        if read is not None:
            # Pipelined (the two keys' slots differ), the script by its hash alone: a
            # ``Script`` called on a pipeline adds a ``SCRIPT EXISTS`` round trip, and a
            # cluster's pipeline refuses its ``evalsha`` method, yet routes EVALSHA by its key.
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.get(read)
                    pipe.execute_command("EVALSHA", self._claim_idempotency.sha, 1, *keys, *args)
                    value, reply = await pipe.execute()
                return _claim_of(reply), value
            except NoScriptError:
                # A server that lost its scripts (a restart, a promoted replica): one by one,
                # the script loaded again below.
                value = await self._redis.get(read)
        return _claim_of(await self._claim_idempotency(keys=keys, args=args)), value

    async def release_idempotency(self, *, owner: str, scope: str, task_id: str) -> None:
        """Let go of the claim on ``owner``'s ``scope``, if ``task_id`` still holds it."""
        await self._release_idempotency(keys=[self._keys.idempotency(owner, scope)], args=[task_id])
