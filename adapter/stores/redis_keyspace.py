"""``KeySpace``: every Redis key the stores write, spelled in one place.

Key layout, with ``<ns>`` the namespace (``mva`` by default), ``<s>`` a shard (0-63, see
``adapter.core.shards``) and ``<...>`` a value. Braces are literal: ``{<s>}`` is the key's
hash tag, so everything of one owner (their tasks, claims, indexes, their keys' counters)
and their shard's schedules share one hash slot, and every script touches one slot only::

    <ns>:{<s>}:t:<task_id>       string, the task: header, doc, events (``redis_record``)
                                                                              TTL task_ttl
    <ns>:{<s>}:r:<task_id>       string, the refresh lease                      PX hold
    <ns>:{<s>}:i:<digest>        string <task_id> <ms> <fingerprint>: an Idempotency-Key
                                 claim (digest: 22 chars of the scope's SHA-256)  TTL idem_ttl
    <ns>:{<s>}:o:<owner>:all     zset  task id by created_at (ms): the list index   TTL task_ttl
    <ns>:{<s>}:o:<owner>:<status>  zset  the same, one per status               TTL task_ttl
    <ns>:{<s>}:o:<owner>:test:all, ...:test:<status>  the same for the owner's test tasks
    <ns>:{<s>}:tasks             zset  the shard's task ids by created_at (ms), for admins
    <ns>:{<s>}:due:tasks         zset  unfinished task id by next reconcile (ms)   TTL task_ttl
    <ns>:{<s>}:due:webhooks      zset  task id by next webhook attempt (ms)     TTL task_ttl
    <ns>:{<s>}:events            sharded pub/sub channel: the id of a task of the shard whose
                                 events grew (SPUBLISH, in the script that appends)
    <ns>:circuits                hash  <provider>|<model> -> <failures>:<open until ms>:<probe
                                       held until ms>, for circuits not plainly closed

A task's shard is in its id, an owner's is a hash of the name, and a key id's is in the id
(ids are minted in their owner's shard): ``adapter.core.shards``.

Credentials (``RedisKeyStore``; no expiry)::

    <ns>:apikey:<sha256>         string <ApiKey JSON>
    <ns>:apikeys                 hash  key id -> sha256
    <ns>:apikeys:used            hash  key id -> last use (ms since the epoch)
    <ns>:whsec:<key id>          string <SigningSecrets JSON>
    <ns>:{<s>}:k:<key id>:open   string the key's unfinished tasks (a counter)
    <ns>:{<s>}:k:<key id>:recent   zset  its accepted submits of the last minute (ms)  PX 60 s
    <ns>:{<s>}:k:<key id>:usage:<YYYY-MM-DD>  hash  <model>|<tasks, succeeded, failed,
                                       cancelled, millis, reserved, charged, upstream> for the
                                       tasks created that UTC day (money in billionths)
                                                                              TTL usage_ttl
    <ns>:{<s>}:k:<key id>:tasks  zset  the key's task ids by created_at (ms)    TTL task_ttl
    <ns>:{<s>}:k:<key id>:spend  hash  <period>:r / <period>:c -> reserved / charged, in
                                       billionths (period: total, d<YYYY-MM-DD>, m<YYYY-MM>)

Upstream call counters (``RedisProviderStats``), one hash per minute of every process's calls::

    <ns>:pstats:<minute>         hash  <provider>|<model>|o:<outcome> -> calls,
                                       <provider>|<model>|h:<bucket> -> calls by latency
                                       (minute: since the epoch)               TTL 65 min

Upstream polling (``RedisPacing``, ``docs/polling.md``), each key alone in its slot::

    <ns>:pace:{<provider>}:budget          hash  the provider's query token bucket
    <ns>:pace:{<provider>|<model>}:done    list  the seconds its last successes took (newest
                                           first, at most 100)

These strings are what stored data is found by: changing one orphans the data under the old one.
``<ns>:layout`` holds the layout's number (2); a namespace with data of the layout before it
(``<ns>:due:tasks``, ``<ns>:tasks``) is refused at start (``RedisTaskStore.prepare``).
"""

from __future__ import annotations

import base64
import hashlib

from adapter.core.shards import SHARDS, id_shard, owner_shard
from adapter.core.values import Mode, TaskStatus
from adapter.ports import Schedule

#: The number of this layout, kept at ``<ns>:layout``.
LAYOUT = "2"


class KeySpace:
    """The keys of one namespace; a method per key, or per group of keys that go together."""

    __slots__ = (
        "api_key_ids",
        "api_key_used",
        "circuits",
        "layout",
        "legacy",
        "namespace",
    )

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        #: The hash of API key id -> the key's SHA-256.
        self.api_key_ids = f"{namespace}:apikeys"
        #: The hash of every provider's circuit per model (``RedisCircuitStore``).
        self.circuits = f"{namespace}:circuits"
        #: The hash of API key id -> when it was last used (ms), kept to the minute.
        self.api_key_used = f"{namespace}:apikeys:used"
        #: The layout's number.
        self.layout = f"{namespace}:layout"
        #: Keys only the layout before this one wrote: their presence means its data is here.
        self.legacy = (f"{namespace}:due:tasks", f"{namespace}:tasks")

    def _tag(self, shard: int) -> str:
        return f"{self.namespace}:{{{shard}}}"

    def task(self, task_id: str) -> str:
        return f"{self._tag(id_shard(task_id))}:t:{task_id}"

    def refresh(self, task_id: str) -> str:
        return f"{self._tag(id_shard(task_id))}:r:{task_id}"

    def idempotency(self, owner: str, scope: str) -> str:
        digest = base64.urlsafe_b64encode(hashlib.sha256(scope.encode()).digest())[:22]
        return f"{self._tag(owner_shard(owner))}:i:{digest.decode()}"

    def owner_index(self, owner: str, status: TaskStatus | None, mode: Mode) -> str:
        """The owner's index of ``mode``'s tasks in ``status``, or of all of them when it is
        ``None``."""
        return f"{self._owner(owner, mode)}:{'all' if status is None else status.value}"

    def owner_indexes(self, owner: str, mode: Mode) -> list[str]:
        """The owner's index of ``mode``'s tasks per status, in ``TaskStatus`` order, then
        their index of all."""
        index = self._owner(owner, mode)
        return [*(f"{index}:{status.value}" for status in TaskStatus), f"{index}:all"]

    def _owner(self, owner: str, mode: Mode) -> str:
        # Test tasks are indexed apart (in the owner's slot): a live list never pages past them.
        live = f"{self._tag(owner_shard(owner))}:o:{owner}"
        return live if mode == "live" else f"{live}:test"

    def channel(self, shard: int) -> str:
        """Where every append to the events of a task of ``shard`` is announced (a sharded
        channel: see ``RedisEventFeed``)."""
        return f"{self._tag(shard)}:events"

    def channels(self) -> list[str]:
        """Every shard's channel."""
        return [self.channel(shard) for shard in range(SHARDS)]

    def every_task(self, shard: int) -> str:
        """The shard's tasks by creation time: the admin API's list across owners."""
        return f"{self._tag(shard)}:tasks"

    def due(self, queue: Schedule, shard: int) -> str:
        """The schedule of ``queue`` in ``shard``: task ids scored by when each is next due
        (ms)."""
        return f"{self._tag(shard)}:due:{queue}"

    def api_key(self, key_hash: str) -> str:
        return f"{self.namespace}:apikey:{key_hash}"

    def api_key_load(self, key_id: str) -> list[str]:
        """The counters of a key's limits: its unfinished tasks, its submits of the last minute,
        its budget's spend."""
        key = self._key(key_id)
        return [f"{key}:open", f"{key}:recent", f"{key}:spend"]

    def key_tasks(self, key_id: str) -> str:
        """The tasks a key submitted, by creation time."""
        return f"{self._key(key_id)}:tasks"

    def usage(self, key_id: str, day: str) -> str:
        """The key's usage ledger for the tasks created on ``day`` (``2026-11-23``, UTC)."""
        return f"{self._key(key_id)}:usage:{day}"

    def no_key(self, shard: int) -> str:
        """What stands for the key of a task no key admitted, in the task's shard: its counters
        are named to the scripts (every key a script names is in one slot) and never written."""
        return f"-{shard}"

    def _key(self, key_id: str) -> str:
        shard = int(key_id[1:]) if key_id.startswith("-") else id_shard(key_id)
        return f"{self._tag(shard)}:k:{key_id}"

    def query_budget(self, provider: str) -> str:
        """The token bucket of ``provider``'s queries (``RedisPacing``)."""
        return f"{self.namespace}:pace:{{{provider}}}:budget"

    def completions(self, provider: str, model: str) -> str:
        """How long ``provider``'s last successes of ``model`` took (``RedisPacing``)."""
        return f"{self.namespace}:pace:{{{provider}|{model}}}:done"

    def provider_stats(self, minute: int) -> str:
        """The upstream call counters of ``minute`` (minutes since the epoch), all processes'."""
        return f"{self.namespace}:pstats:{minute}"

    def signing_secrets(self, key_id: str) -> str:
        return f"{self.namespace}:whsec:{key_id}"
