"""Redis bytes per task, by key type: ``MEMORY USAGE`` of every key of a namespace (SCAN).

Each key is sorted into a type by its name (the adapter's ``KeySpace``; the ceiling's
``task:`` and ``idem:`` keys fall into the same types). A type's bytes per task is the sum
of its keys' ``MEMORY USAGE ... SAMPLES 0`` over the number of task hashes; indexes (sorted
sets shared by many tasks) count by that share. Keys that are per API key or per process
(the key itself, usage ledgers, call counters, circuits) and the refresh leases (which expire
a poll timeout after a task's last refresh) are shown apart and not counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import redis

TASK = "task (with its events)"
LEASE = "refresh lease (PX, transient)"
#: (type, pattern on the key less ``<namespace>:``); the first match wins.
TYPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (TASK, re.compile(r"^(\{\d+\}:t:.*|task:.*)$")),
    (LEASE, re.compile(r"^\{\d+\}:r:")),
    ("idempotency entry", re.compile(r"^(\{\d+\}:i:|idem:)")),
    ("owner index entries", re.compile(r"^\{\d+\}:o:")),
    ("API key's task index entries", re.compile(r"^\{\d+\}:k:[^:]*:tasks$")),
    ("every-task index entries", re.compile(r"^\{\d+\}:tasks$")),
    ("schedule entries (due:*)", re.compile(r"^\{\d+\}:due:")),
)
OTHER = "not per task (API key, usage, counters)"
#: Shown, not counted in the total: they do not grow with the tasks kept.
UNCOUNTED = (LEASE, OTHER)


@dataclass
class Kind:
    name: str
    keys: int = 0
    bytes: int = 0


@dataclass
class Breakdown:
    tasks: int
    kinds: list[Kind]  # in TYPES order, then OTHER

    def per_task(self, kind: Kind) -> float:
        return kind.bytes / self.tasks if self.tasks else 0.0

    @property
    def total_per_task(self) -> float:
        return sum(self.per_task(k) for k in self.kinds if k.name not in UNCOUNTED)


def kind_of(key: str) -> str:
    return next((name for name, pattern in TYPES if pattern.match(key)), OTHER)


def measure(url: str, namespace: str, batch: int = 500) -> Breakdown:
    """The breakdown of every key under ``namespace:`` (read only)."""
    kinds = {name: Kind(name) for name, _ in TYPES} | {OTHER: Kind(OTHER)}
    db = redis.Redis.from_url(url, decode_responses=True)
    try:
        keys = list(db.scan_iter(match=f"{namespace}:*", count=1000))
        for start in range(0, len(keys), batch):
            chunk = keys[start : start + batch]
            pipe = db.pipeline(transaction=False)
            for key in chunk:
                pipe.memory_usage(key, samples=0)
            for key, used in zip(chunk, pipe.execute(), strict=True):
                if used is None:  # expired between SCAN and MEMORY USAGE
                    continue
                kind = kinds[kind_of(key[len(namespace) + 1 :])]
                kind.keys += 1
                kind.bytes += used
    finally:
        db.close()
    return Breakdown(tasks=kinds[TASK].keys, kinds=list(kinds.values()))


def lines(adapter: Breakdown, ceiling: Breakdown) -> list[str]:
    """The per-type table, the adapter beside the ceiling."""
    out = [
        "| key type | adapter keys | adapter B per task | ceiling keys | ceiling B per task |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for mine, theirs in zip(adapter.kinds, ceiling.kinds, strict=True):
        if not mine.keys and not theirs.keys:
            continue
        out.append(
            f"| {mine.name} | {mine.keys:,} | {_bytes(adapter, mine)} "
            f"| {theirs.keys:,} | {_bytes(ceiling, theirs)} |"
        )
    out.append(
        f"| total per task | {adapter.tasks:,} tasks | {adapter.total_per_task:,.0f} "
        f"| {ceiling.tasks:,} tasks | {ceiling.total_per_task:,.0f} |"
    )
    return out


def _bytes(breakdown: Breakdown, kind: Kind) -> str:
    if kind.name == OTHER:
        return f"({kind.bytes:,} in all)"
    if kind.name in UNCOUNTED:
        return f"({breakdown.per_task(kind):,.0f})" if kind.keys else "-"
    return f"{breakdown.per_task(kind):,.0f}" if kind.keys else "-"
