"""``PollPlan``: when the reconciler asks an upstream about an unfinished task next.

No query before a task can plausibly be done: the first waits for the task's *expected
duration*, the 10th percentile of how long the last (up to 100) successes of its provider and
model took from submit to success (``CompletionLog``, shared by every process), or, until
``ENOUGH`` are known, ``MVA_POLL_FIRST_AFTER`` or else a default per model (the simulator's
providers, whose tasks' timing is known, wait until halfway through their processing). It is
kept between ``min_interval_s`` and ``LONGEST_EXPECTED_S`` (and half the deadline), with ±10%
jitter. After it the waits grow geometrically: each is the time since the expected end (if
past) plus a quarter of the expected duration, so they double, between ``min_interval_s`` and
``max_interval_s``, each with ±20% jitter so that tasks made together spread out. A task whose
submit answer was lost (no upstream id) is checked every ``min_interval_s``: its recovery has
its own limits.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from adapter.core.errors import StoreUnavailable
from adapter.core.values import TaskRecord, TaskStatus
from adapter.ports import CompletionLog

log = logging.getLogger(__name__)

#: Successes needed before their percentile replaces the default.
ENOUGH = 20
#: The percentile of recent durations the first query waits for.
PERCENTILE = 0.10
#: The longest first wait, learned or default (seconds).
LONGEST_EXPECTED_S = 900.0
#: The least share of a wait that its jitter leaves (waits are 80% to 120% of their length).
_EARLIEST = 0.8
#: The first query's jitter: it goes at 90% to 110% of the expected duration.
_FIRST_JITTER = 0.1
_FIRST_EARLIEST = 1 - _FIRST_JITTER
#: Seconds a process keeps a provider and model's expected duration before reading it again
#: (a quarter of it, when that is shorter, but at least a second).
RELEARN_S = 30.0

#: Typical seconds from submit to success, by model slug prefix (the longest that matches),
#: until enough are known: Kling renders for minutes; the others are quicker.
DEFAULT_EXPECTED_S: Mapping[str, float] = {
    "": 30.0,
    "kling-": 120.0,
    "veo": 60.0,
    "wan": 60.0,
    "minimax-": 90.0,
    "doubao-": 45.0,
}


def default_expected_s(model: str) -> float:
    prefix = max((p for p in DEFAULT_EXPECTED_S if model.startswith(p)), key=len)
    return DEFAULT_EXPECTED_S[prefix]


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` percentile of ``values`` (nearest rank, at least one value)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class PollPlan:
    """Expected durations (learned, cached per process) and the schedule they make."""

    __slots__ = (
        "_cache",
        "_clock",
        "_deadline_s",
        "_first_after_s",
        "_jitter",
        "_known_s",
        "_log",
        "_max_s",
        "_min_s",
        "_monotonic",
    )

    def __init__(
        self,
        log_: CompletionLog | None,
        *,
        clock: Callable[[], datetime],
        min_interval_s: float,
        max_interval_s: float,
        deadline_s: float,
        first_after_s: float | None = None,
        known_s: Mapping[str, float] | None = None,
        jitter: Callable[[], float] = random.random,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``log_``: where successes are recorded and read (``None``: defaults only);
        ``first_after_s``: the default first wait of every model, instead of the table's;
        ``known_s``: provider -> how long its tasks' first query waits, where that is known
        (the simulator's): nothing is learned for those."""
        self._log = log_
        self._clock = clock
        self._min_s = min_interval_s
        self._max_s = max(max_interval_s, min_interval_s)
        self._deadline_s = deadline_s
        self._first_after_s = first_after_s
        self._known_s = dict(known_s or {})
        self._jitter = jitter
        self._monotonic = monotonic
        #: (provider, model) -> (expected seconds, monotonic time it was read).
        self._cache: dict[tuple[str, str], tuple[float, float]] = {}

    async def expected_s(self, provider: str, model: str) -> float:
        """How long ``provider``'s ``model`` tasks plausibly take at least, in seconds."""
        key = (provider, model)
        cached = self._cache.get(key)
        now = self._monotonic()
        if cached is not None and now - cached[1] < min(RELEARN_S, max(1.0, cached[0] / 4)):
            return cached[0]
        expected = self._known_s.get(provider)
        if expected is None:
            expected = await self._learned(provider, model)
        expected = min(max(expected, self._min_s), LONGEST_EXPECTED_S, self._deadline_s / 2)
        self._cache[key] = (expected, now)
        return expected

    async def _learned(self, provider: str, model: str) -> float:
        found: list[float] = []
        if self._log is not None:
            try:
                found = await self._log.completions(provider, model)
            except StoreUnavailable as exc:
                log.warning("poll_plan.unread reason=%s", exc.message)
        if len(found) >= ENOUGH:
            return percentile(found, PERCENTILE)
        if self._first_after_s is not None:
            return self._first_after_s
        return default_expected_s(model)

    async def next_check(self, record: TaskRecord) -> datetime:
        """When ``record`` (unfinished, just checked or not yet due) is due again."""
        if record.upstream_id is None:
            return self._clock() + timedelta(seconds=self._spread(self._min_s))
        return await self.due_at(record.created_at, record.provider or "", record.model)

    async def due_at(self, created_at: datetime, provider: str, model: str) -> datetime:
        """When a task accepted by ``provider``, made at ``created_at``, is due again: at its
        first query if it is not past its earliest, else after a wait from now."""
        now = self._clock()
        expected = await self.expected_s(provider, model)
        age_s = (now - created_at).total_seconds()
        if age_s < _FIRST_EARLIEST * expected:
            # Jittered both ways: a task that ends sooner than expected is seen sooner, so
            # what is learned can come down as well as go up.
            first = expected * (_FIRST_EARLIEST + 2 * _FIRST_JITTER * self._jitter())
            return created_at + timedelta(seconds=first)
        past_s = max(0.0, age_s - expected)
        wait = min(self._max_s, max(self._min_s, past_s + expected / 4))
        return now + timedelta(seconds=self._spread(wait))

    async def is_early(self, record: TaskRecord) -> bool:
        """Whether ``record`` was accepted upstream and cannot plausibly be done yet: younger
        than the earliest its first query may be (its expected duration, less the jitter)."""
        if record.upstream_id is None:
            return False
        return await self.is_young(record.created_at, record.provider or "", record.model)

    async def is_young(self, created_at: datetime, provider: str, model: str) -> bool:
        """Whether a task made at ``created_at`` is not yet due its first query."""
        expected = await self.expected_s(provider, model)
        age_s = (self._clock() - created_at).total_seconds()
        return age_s < _FIRST_EARLIEST * expected

    async def succeeded(self, record: TaskRecord) -> None:
        """Record how long ``record`` (just ended) took, if it succeeded; best effort."""
        if self._log is None or record.status is not TaskStatus.SUCCEEDED or not record.provider:
            return
        seconds = (record.updated_at - record.created_at).total_seconds()
        if seconds <= 0:
            return
        try:
            await self._log.add_completion(record.provider, record.model, seconds)
        except StoreUnavailable as exc:
            log.warning("poll_plan.unrecorded task_id=%s reason=%s", record.task_id, exc.message)

    def _spread(self, seconds: float) -> float:
        return seconds * (_EARLIEST + 0.4 * self._jitter())
