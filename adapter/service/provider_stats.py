"""``ProviderStats``: requests, errors and latency per provider and model over the last five
minutes or hour, across every process (the dashboard's providers page).

Each process counts its upstream calls in memory (``record``: no I/O) and adds them to
per-minute counters in the store every few seconds (``flush``). A minute's counters are one
per outcome and one per latency bucket (``LATENCY_BOUNDS_MS``, log-spaced), so percentiles
are estimated from the buckets, to within one bucket's width (a factor of 1.5).
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

import msgspec

from adapter.ports import ProviderStatsStore

#: Upper bounds of the latency buckets, in ms: 5 ms times powers of 1.5, up to about 2 minutes;
#: one more bucket takes anything slower.
LATENCY_BOUNDS_MS: tuple[float, ...] = tuple(5 * 1.5**i for i in range(26))

#: The outcomes other than ``ok`` (``adapter.ports.Outcome``).
ERROR_OUTCOMES = frozenset(
    ("rejected", "unavailable", "rate_limited", "unknown_outcome", "not_found", "error")
)

#: ``<provider>|<model>|o:<outcome>`` counts calls, ``<provider>|<model>|h:<bucket>`` their
#: latencies; provider names and model slugs have no ``|``.
_SEP = "|"


class ProviderStatRow(msgspec.Struct, frozen=True):
    provider: str
    model: str
    requests: int
    #: outcome -> count, for the outcomes other than ``ok`` that occurred.
    errors: dict[str, int]
    p50_ms: float | None
    p95_ms: float | None


class ProviderStats:
    """Counts upstream calls per minute, here, then in the store for every process."""

    __slots__ = ("_clock", "_pending", "_store")

    def __init__(self, store: ProviderStatsStore, *, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock
        self._pending: defaultdict[int, defaultdict[str, int]] = defaultdict(
            lambda: defaultdict(int)
        )

    def record(
        self, provider: str, operation: str, model: str, outcome: str, seconds: float
    ) -> None:
        """Count one call (every operation alike); no I/O."""
        counts = self._pending[_minute(self._clock())]
        prefix = f"{provider}{_SEP}{model}{_SEP}"
        counts[f"{prefix}o:{outcome}"] += 1
        counts[f"{prefix}h:{bisect.bisect_left(LATENCY_BOUNDS_MS, seconds * 1000)}"] += 1

    async def flush(self) -> None:
        """Add what was recorded since the last flush to the store, in one round trip.

        On a store error the counts are kept for the next flush, and the error raised.
        """
        if not self._pending:
            return
        taken, self._pending = self._pending, defaultdict(lambda: defaultdict(int))
        try:
            await self._store.add_provider_stats(taken)
        except BaseException:
            for minute, counts in taken.items():
                pending = self._pending[minute]
                for field, n in counts.items():
                    pending[field] += n
            raise

    async def window(self, seconds: int) -> list[ProviderStatRow]:
        """Every provider and model called in the last ``seconds`` (counted by whole minutes,
        this one included), in all processes, as of their last flush; sorted by provider and
        model."""
        now = _minute(self._clock())
        minutes = range(now - math.ceil(seconds / 60) + 1, now + 1)
        outcomes: defaultdict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        buckets: defaultdict[tuple[str, str], list[int]] = defaultdict(
            lambda: [0] * (len(LATENCY_BOUNDS_MS) + 1)
        )
        for counts in await self._store.provider_stats(list(minutes)):
            for field, n in counts.items():
                provider, model, kind = field.split(_SEP, 2)
                what, _, value = kind.partition(":")
                if what == "o":
                    found = outcomes[provider, model]
                    found[value] = found.get(value, 0) + n
                elif what == "h" and value.isdigit() and int(value) <= len(LATENCY_BOUNDS_MS):
                    buckets[provider, model][int(value)] += n
        rows = []
        for (provider, model), counts in sorted(outcomes.items()):
            histogram = buckets[provider, model]
            rows.append(
                ProviderStatRow(
                    provider=provider,
                    model=model,
                    requests=sum(counts.values()),
                    errors={o: n for o, n in sorted(counts.items()) if o in ERROR_OUTCOMES},
                    p50_ms=percentile_ms(histogram, 0.50),
                    p95_ms=percentile_ms(histogram, 0.95),
                )
            )
        return rows


def percentile_ms(histogram: list[int], q: float) -> float | None:
    """The ``q`` quantile of the latencies counted in ``histogram`` (one count per bucket of
    ``LATENCY_BOUNDS_MS``, then the overflow), interpolated log-linearly inside its bucket;
    ``None`` when nothing was counted."""
    total = sum(histogram)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for i, n in enumerate(histogram):
        if n and seen + n >= rank:
            upper = LATENCY_BOUNDS_MS[min(i, len(LATENCY_BOUNDS_MS) - 1)]
            if i >= len(LATENCY_BOUNDS_MS):
                return upper  # slower than the last bound: the bound is all that is known
            lower = LATENCY_BOUNDS_MS[i - 1] if i else upper / 1.5
            within = (rank - seen) / n
            return round(lower * float((upper / lower) ** within), 3)
        seen += n
    return LATENCY_BOUNDS_MS[-1]


def _minute(moment: datetime) -> int:
    return int(moment.timestamp()) // 60
