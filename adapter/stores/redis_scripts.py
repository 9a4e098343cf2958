"""The store's Lua scripts: each decision is one atomic round trip.

Task scripts take their keys in this order (``RedisTaskStore._keys``)::

    KEYS[1] task hash   KEYS[2] events stream   KEYS[3..7] the owner's index per status
    KEYS[8] the owner's index of all tasks   KEYS[9] the reconcile schedule
    KEYS[10] the webhook schedule

Indexes and schedules are sorted sets of task ids; an index scores by creation time (ms), a
schedule by when the task is next due (ms). Every append to a stream is announced on the
namespace's channel with the task id, so live readers wake without polling.
"""

from __future__ import annotations

CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local ttl, score, id = ARGV[3], ARGV[4], ARGV[5]
redis.call('HSET', KEYS[1], 'v', 1, 'doc', ARGV[1])
redis.call('XADD', KEYS[2], '*', 'e', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
for _, i in ipairs({2 + tonumber(ARGV[8]), 8}) do
  redis.call('ZADD', KEYS[i], score, id)
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', '(' .. ARGV[7])
  redis.call('PEXPIRE', KEYS[i], ttl)
end
redis.call('ZADD', KEYS[9], score, id)
redis.call('PEXPIRE', KEYS[9], ttl)
redis.call('PUBLISH', ARGV[6], id)
return 1
"""

# Compare-and-set on the version; the event and the index moves go in with the change or
# not at all. ARGV[5] is the new status's place (1-5) among KEYS[3..7].
UPDATE = """
local v = redis.call('HGET', KEYS[1], 'v')
if (not v) or tonumber(v) ~= tonumber(ARGV[1]) - 1 then return 0 end
local ttl, id = ARGV[4], ARGV[7]
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'doc', ARGV[2])
if ARGV[3] ~= '' then
  redis.call('XADD', KEYS[2], '*', 'e', ARGV[3])
  redis.call('PUBLISH', ARGV[8], id)
end
-- The task, its events and its place in the list live on together.
for _, i in ipairs({1, 2, 8}) do redis.call('PEXPIRE', KEYS[i], ttl) end
local place = tonumber(ARGV[5])
for i = 1, 5 do
  if i == place then
    redis.call('ZADD', KEYS[2 + i], ARGV[6], id)
    redis.call('PEXPIRE', KEYS[2 + i], ttl)
  else
    redis.call('ZREM', KEYS[2 + i], id)
  end
end
if ARGV[9] == '1' then
  redis.call('ZREM', KEYS[9], id)
end
if ARGV[10] ~= '' then
  redis.call('ZADD', KEYS[10], 'NX', ARGV[10], id)
  redis.call('PEXPIRE', KEYS[10], ttl)
end
return 1
"""

# Forget a task only while it is still the version the caller created.
DELETE = """
local v = redis.call('HGET', KEYS[1], 'v')
if v and tonumber(v) == tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1], KEYS[2])
  for i = 3, 10 do redis.call('ZREM', KEYS[i], ARGV[2]) end
  return 1
end
return 0
"""

# Take up to ARGV[2] entries due by ARGV[1] and hold them until ARGV[3]: a lease that
# expires by itself, so a crashed worker's entries come due again.
CLAIM_DUE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], 'XX', ARGV[3], id) end
return ids
"""

# Record a webhook attempt as an event, and schedule the next (ARGV[3]) or end the delivery.
# KEYS: the events stream, the webhook schedule, the task hash.
ATTEMPT = """
redis.call('XADD', KEYS[1], '*', 'e', ARGV[1])
redis.call('PUBLISH', ARGV[5], ARGV[4])
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[2], ARGV[4])
else
  redis.call('ZADD', KEYS[2], 'XX', ARGV[3], ARGV[4])
end
-- A delivery still retrying keeps its task, events and schedule alive.
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
return 1
"""

# One page of an index, newest first, after the cursor (score ARGV[2], id ARGV[3]). The
# cursor's rank finds the place in O(log n). If its task has left the index (deleted, or moved
# to another status), it is put back for a moment to find its rank: its score alone cannot
# place it among tasks created in the same millisecond, and Lua's string order is the locale's.
PAGE = """
local limit = tonumber(ARGV[1])
if ARGV[3] == '' then
  return redis.call('ZREVRANGE', KEYS[1], 0, limit - 1, 'WITHSCORES')
end
local start
local rank = redis.call('ZREVRANK', KEYS[1], ARGV[3])
if rank then
  start = rank + 1
else
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  start = redis.call('ZREVRANK', KEYS[1], ARGV[3])
  redis.call('ZREM', KEYS[1], ARGV[3])
end
return redis.call('ZREVRANGE', KEYS[1], start, start + limit - 1, 'WITHSCORES')
"""

CLAIM_IDEMPOTENCY = """
if redis.call('HSETNX', KEYS[1], 'task_id', ARGV[2]) == 1 then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'at', ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  return {1, ARGV[1], ARGV[2], ARGV[3]}
end
local r = redis.call('HMGET', KEYS[1], 'fp', 'task_id', 'at')
-- Claimed by this very task id: the same claim, run again after its answer was lost.
if r[2] == ARGV[2] then return {1, r[1], r[2], r[3]} end
return {0, r[1], r[2], r[3]}
"""

RELEASE_IDEMPOTENCY = """
if redis.call('HGET', KEYS[1], 'task_id') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
