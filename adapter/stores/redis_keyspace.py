"""``KeySpace``: every Redis key the stores write, spelled in one place.

Key layout, with ``<ns>`` the namespace (``mva`` by default) and ``<...>`` a value. Braces are
literal: they are the key's hash tag, so every key of one task shares the ``{<task_id>}`` tag::

    <ns>:{<task_id>}:task        hash  v=<version>, doc=<TaskRecord JSON>       TTL task_ttl
    <ns>:{<task_id>}:events      stream, one entry per event (field e)         TTL task_ttl
    <ns>:{<task_id>}:refresh     string, the refresh lease                      PX hold
    <ns>:idem:{<scope>}          hash  task_id, fp, at                   TTL idempotency_ttl
    <ns>:owner:{<owner>}:all     zset  task id by created_at (ms): the list index   TTL task_ttl
    <ns>:owner:{<owner>}:<status>  zset  the same, one per status               TTL task_ttl
    <ns>:owner:{<owner>}:test:all, ...:test:<status>  the same for the owner's test tasks
    <ns>:tasks                   zset  every task id by created_at (ms), for admins TTL task_ttl
    <ns>:due:tasks               zset  unfinished task id by next reconcile (ms)   TTL task_ttl
    <ns>:due:webhooks            zset  task id by next webhook attempt (ms)     TTL task_ttl
    <ns>:events                  pub/sub channel: the id of a task whose stream grew
    <ns>:circuits                hash  <provider>|<model> -> <failures>:<open until ms>:<probe
                                       held until ms>, for circuits not plainly closed

Credentials (``RedisKeyStore``; no expiry)::

    <ns>:apikey:<sha256>         string <ApiKey JSON>
    <ns>:apikeys                 hash  key id -> sha256
    <ns>:apikeys:used            hash  key id -> last use (ms since the epoch)
    <ns>:whsec:<key id>          string <SigningSecrets JSON>
    <ns>:key:{<key id>}:open     string the key's unfinished tasks (a counter)
    <ns>:key:{<key id>}:recent   zset  its accepted submits of the last minute (ms)  PX 60 s
    <ns>:key:{<key id>}:usage:<YYYY-MM-DD>  hash  <model>|<tasks, succeeded, failed, cancelled,
                                       millis, reserved, charged> for the tasks created that
                                       UTC day (money in billionths)          TTL usage_ttl
    <ns>:key:{<key id>}:tasks    zset  the key's task ids by created_at (ms)         TTL task_ttl
    <ns>:key:{<key id>}:spend    hash  <period>:r / <period>:c -> reserved / charged, in
                                       billionths (period: total, d<YYYY-MM-DD>, m<YYYY-MM>)

Upstream call counters (``RedisProviderStats``), one hash per minute of every process's calls::

    <ns>:pstats:<minute>         hash  <provider>|<model>|o:<outcome> -> calls,
                                       <provider>|<model>|h:<bucket> -> calls by latency
                                       (minute: since the epoch)               TTL 65 min

These strings are what stored data is found by: changing one orphans the data under the old one.
"""

from __future__ import annotations

from adapter.core.values import Mode, TaskStatus
from adapter.ports import Schedule


class KeySpace:
    """The keys of one namespace; a method per key, or per group of keys that go together."""

    __slots__ = ("api_key_ids", "api_key_used", "channel", "circuits", "every_task", "namespace")

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        #: Where every append to a task's events is announced (see ``RedisEventFeed``).
        self.channel = f"{namespace}:events"
        #: The hash of API key id -> the key's SHA-256.
        self.api_key_ids = f"{namespace}:apikeys"
        #: Every task by creation time: the admin API's list across owners.
        self.every_task = f"{namespace}:tasks"
        #: The hash of every provider's circuit per model (``RedisCircuitStore``).
        self.circuits = f"{namespace}:circuits"
        #: The hash of API key id -> when it was last used (ms), kept to the minute.
        self.api_key_used = f"{namespace}:apikeys:used"

    def task(self, task_id: str) -> str:
        return f"{self.namespace}:{{{task_id}}}:task"

    def events(self, task_id: str) -> str:
        return f"{self.namespace}:{{{task_id}}}:events"

    def refresh(self, task_id: str) -> str:
        return f"{self.namespace}:{{{task_id}}}:refresh"

    def idempotency(self, scope: str) -> str:
        return f"{self.namespace}:idem:{{{scope}}}"

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
        live = f"{self.namespace}:owner:{{{owner}}}"
        return live if mode == "live" else f"{live}:test"

    def due(self, queue: Schedule) -> str:
        """The schedule of ``queue``: task ids scored by when each is next due (ms)."""
        return f"{self.namespace}:due:{queue}"

    def api_key(self, key_hash: str) -> str:
        return f"{self.namespace}:apikey:{key_hash}"

    def api_key_load(self, key_id: str) -> list[str]:
        """The counters of a key's limits: its unfinished tasks, its submits of the last minute,
        its budget's spend."""
        return [
            f"{self.namespace}:key:{{{key_id}}}:open",
            f"{self.namespace}:key:{{{key_id}}}:recent",
            f"{self.namespace}:key:{{{key_id}}}:spend",
        ]

    def key_tasks(self, key_id: str) -> str:
        """The tasks a key submitted, by creation time."""
        return f"{self.namespace}:key:{{{key_id}}}:tasks"

    def usage(self, key_id: str, day: str) -> str:
        """The key's usage ledger for the tasks created on ``day`` (``2026-11-23``, UTC)."""
        return f"{self.namespace}:key:{{{key_id}}}:usage:{day}"

    def provider_stats(self, minute: int) -> str:
        """The upstream call counters of ``minute`` (minutes since the epoch), all processes'."""
        return f"{self.namespace}:pstats:{minute}"

    def signing_secrets(self, key_id: str) -> str:
        return f"{self.namespace}:whsec:{key_id}"
