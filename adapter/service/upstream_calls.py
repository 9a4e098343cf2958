"""``UpstreamCalls``: the one place every call to an upstream is timed and its outcome counted,
for ``/metrics`` and for ``ProviderStats`` alike."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from adapter.core.errors import (
    ProviderOutcomeUnknown,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTaskNotFound,
    ProviderUnavailable,
)
from adapter.ports import Metrics, Operation, Outcome
from adapter.service.provider_stats import ProviderStats

T = TypeVar("T")


def outcome_of(exc: BaseException) -> Outcome:
    """What an upstream call that raised ``exc`` is counted as."""
    if isinstance(exc, ProviderRateLimited):
        return "rate_limited"
    if isinstance(exc, ProviderUnavailable):
        return "unavailable"
    if isinstance(exc, ProviderTaskNotFound):
        return "not_found"
    if isinstance(exc, ProviderRejected):
        return "rejected"
    if isinstance(exc, ProviderOutcomeUnknown | TimeoutError):
        return "unknown_outcome"
    return "error"


class UpstreamCalls:
    """Times upstream calls and counts them by provider, operation, model and outcome."""

    __slots__ = ("_metrics", "_now", "_stats")

    def __init__(
        self,
        metrics: Metrics,
        stats: ProviderStats,
        *,
        now: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._metrics = metrics
        self._stats = stats
        self._now = now

    async def observe(
        self,
        provider: str,
        operation: Operation,
        model: str,
        call: Awaitable[T],
        *,
        sent: Callable[[T], bool] | None = None,
    ) -> T:
        """Await ``call`` and count it; a call ``sent`` says sent nothing is not counted.

        A cancel from outside (the process stopping) is not an outcome of the upstream's, and
        is not counted either.
        """
        started = self._now()
        try:
            result = await call
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self.record(provider, operation, model, outcome_of(exc), self._now() - started)
            raise
        if sent is None or sent(result):
            self.record(provider, operation, model, "ok", self._now() - started)
        return result

    def record(
        self, provider: str, operation: Operation, model: str, outcome: Outcome, seconds: float
    ) -> None:
        self._metrics.upstream_call(provider, operation, model, outcome, seconds)
        self._stats.record(provider, operation, model, outcome, seconds)
