"""``ProviderBoard``: each provider and model as an operator sees them: where it stands in the
routing order, its circuit, and its calls over the last five minutes and the last hour."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import msgspec

from adapter.core.values import Circuit, Mode
from adapter.service.catalog import Catalog
from adapter.service.circuits import Circuits
from adapter.service.provider_stats import ProviderStatRow, ProviderStats
from adapter.service.routing import Router

#: The windows the board shows, in seconds.
WINDOWS = (300, 3600)


class ProviderModel(msgspec.Struct, frozen=True):
    """One provider for one model."""

    provider: str
    model: str
    mode: Mode
    #: Its place in the model's providers as configured (1: first).
    rank: int
    #: How the model's providers are ordered for a submit (``order``, ``cheapest``,
    #: ``weighted``), this one's share when weighted, and its host's price per second.
    strategy: str
    weight: int | None
    price: Decimal | None
    #: ``closed``, ``open`` (skipped until ``open_until``) or ``half-open`` (probing).
    circuit: str
    #: How many unavailable answers in a row it has given (while not plainly closed).
    failures: int
    open_until: datetime | None
    #: Its calls (submit, query, lookup, cancel) in the last 5 minutes and the last hour.
    last_5m: ProviderStatRow | None
    last_1h: ProviderStatRow | None


class ProviderBoard:
    """Reads the routing, the circuits and the call counters into rows, one per provider
    and model, in catalogue order and then routing order."""

    __slots__ = ("_catalog", "_circuits", "_clock", "_router", "_stats")

    def __init__(
        self,
        *,
        catalog: Catalog,
        router: Router,
        circuits: Circuits,
        stats: ProviderStats,
        clock: Callable[[], datetime],
    ) -> None:
        self._catalog = catalog
        self._router = router
        self._circuits = circuits
        self._stats = stats
        self._clock = clock

    async def rows(self, mode: Mode) -> list[ProviderModel]:
        """Every provider of ``mode`` for every model it serves."""
        short_s, long_s = WINDOWS
        circuits, recent, hour = await asyncio.gather(
            self._circuits.current(), self._stats.window(short_s), self._stats.window(long_s)
        )
        short = {(row.provider, row.model): row for row in recent}
        long = {(row.provider, row.model): row for row in hour}
        now_ms = self._clock().timestamp() * 1000
        rows = []
        for spec in self._catalog:
            for rank, provider in enumerate(self._router.candidates(spec.slug, mode), 1):
                pair = (provider.name, spec.slug)
                circuit = circuits.get(pair, Circuit())
                strategy = self._router.strategy(spec.slug, mode)
                rows.append(
                    ProviderModel(
                        provider=provider.name,
                        model=spec.slug,
                        mode=mode,
                        rank=rank,
                        strategy=strategy.kind,
                        weight=strategy.weights.get(provider.name)
                        if strategy.kind == "weighted"
                        else None,
                        price=self._router.price(provider.name, spec.slug),
                        circuit=_state(circuit, now_ms),
                        failures=circuit.failures,
                        open_until=_when(circuit.open_until_ms),
                        last_5m=short.get(pair),
                        last_1h=long.get(pair),
                    )
                )
        return rows


def _state(circuit: Circuit, now_ms: float) -> str:
    if not circuit.open_until_ms:
        return "closed"
    return "open" if circuit.open_until_ms > now_ms else "half-open"


def _when(ms: int) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms else None
