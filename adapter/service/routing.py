"""Model -> ordered providers; fall through only when a provider is unavailable or busy."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import TypeVar

import msgspec

from adapter.core.errors import (
    AllProvidersFailed,
    CircuitOpen,
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderUnavailable,
)
from adapter.core.values import Mode, Strategy, TaskRecord, UpstreamState, VideoJob
from adapter.ports import ListPage, Operation, TaskLister, VideoProvider
from adapter.service.circuits import Circuits
from adapter.service.upstream_calls import UpstreamCalls

log = logging.getLogger(__name__)

#: Below this, a fall-through would only start a request the deadline cuts off.
_MIN_ATTEMPT_S = 1.0

T = TypeVar("T")

_ORDER = Strategy()


def _cost_key(price: Decimal | None) -> tuple[bool, Decimal]:
    """Priced providers first, cheapest first (``sorted`` keeps the given order of ties)."""
    return (price is None, price if price is not None else Decimal(0))


class Router:
    """Picks providers for a model, in order of preference, and pins follow-ups to one.

    A task's mode picks the providers: ``live`` tasks go to the configured ones, ``test``
    tasks to the simulator's, and never one to the other's.

    Every call to an upstream goes through here (``submit_to``, ``query``, ``lookup``,
    ``cancel``), each timed and counted once by ``UpstreamCalls``.
    """

    __slots__ = (
        "_by_mode",
        "_by_name",
        "_callback_url",
        "_calls",
        "_circuits",
        "_draw",
        "_prices",
        "_strategies",
        "_submit_timeout_s",
    )

    def __init__(
        self,
        providers: Sequence[VideoProvider],
        *,
        test_providers: Sequence[VideoProvider] | None = None,
        submit_timeout_s: float = 30,
        callback_url: Callable[[str, str], str | None] | None = None,
        calls: UpstreamCalls | None = None,
        circuits: Circuits | None = None,
        strategies: Mapping[str, Strategy] | None = None,
        prices: Mapping[str, Mapping[str, Decimal]] | None = None,
        draw: Callable[[], float] = random.random,
    ) -> None:
        """``test_providers``: the simulator's, for test tasks; ``None``: ``providers`` serve
        both modes (the embedded default, where they are the simulator's). ``callback_url(
        provider, task_id)`` names where that upstream should call back. ``calls`` counts
        every upstream call (``None``: nothing is counted). ``circuits``: skip a provider that
        keeps answering unavailable for a model (``None``: always try). ``strategies``: how a
        model's live providers are ordered, where not as given; ``prices``: provider -> model
        -> what the host charges per second; ``draw``: a number in [0, 1) (``weighted``).

        Raises:
            ValueError: two different providers share a name (a task names its provider).
        """
        test = list(providers if test_providers is None else test_providers)
        self._by_mode: dict[Mode, list[VideoProvider]] = {"live": list(providers), "test": test}
        self._by_name: dict[str, VideoProvider] = {}
        for provider in (*providers, *test):
            if self._by_name.setdefault(provider.name, provider) is not provider:
                raise ValueError(f"two providers are named {provider.name!r}")
        self._submit_timeout_s = submit_timeout_s
        self._callback_url = callback_url
        self._calls = calls
        self._circuits = circuits
        self._strategies = dict(strategies or {})
        self._prices = {name: dict(by_model) for name, by_model in (prices or {}).items()}
        self._draw = draw

    def providers(self, mode: Mode) -> Sequence[VideoProvider]:
        """Every provider of ``mode``, most preferred first."""
        return self._by_mode[mode]

    def candidates(self, model: str, mode: Mode) -> list[VideoProvider]:
        """The providers of ``mode`` that serve ``model``, in the order given."""
        return [p for p in self._by_mode[mode] if p.serves(model)]

    def strategy(self, model: str, mode: Mode) -> Strategy:
        """How ``model``'s providers of ``mode`` are ordered (test mode's: as given)."""
        return self._strategies.get(model, _ORDER) if mode == "live" else _ORDER

    def price(self, provider: str, model: str) -> Decimal | None:
        """What ``provider``'s host charges per second of ``model``, if its row says."""
        return self._prices.get(provider, {}).get(model)

    def ranked(self, model: str, mode: Mode) -> list[VideoProvider]:
        """The order one submit tries ``model``'s providers in, by its strategy: as given,
        cheapest first (unpriced ones last, as given), or one drawn by weight first."""
        found = self.candidates(model, mode)
        strategy = self.strategy(model, mode)
        if strategy.kind == "cheapest":
            priced = [(self.price(p.name, model), p) for p in found]
            return [p for price, p in sorted(priced, key=lambda pair: _cost_key(pair[0]))]
        if strategy.kind == "weighted":
            point = self._draw() * sum(strategy.weights.values())
            for provider in found:
                point -= strategy.weights.get(provider.name, 0)
                if point < 0:
                    return [provider, *(p for p in found if p is not provider)]
        return found

    def serves(self, model: str, mode: Mode) -> bool:
        return any(p.serves(model) for p in self._by_mode[mode])

    def pinned(self, name: str, mode: Mode) -> VideoProvider:
        """The provider that accepted a task of ``mode``; every later query goes to it.

        Raises:
            ProviderUnavailable: no provider of that name serves ``mode`` (any more).
        """
        provider = self._by_name.get(name)
        if provider is None or provider not in self._by_mode[mode]:
            raise ProviderUnavailable(
                name, f"no provider named {name!r} serves {mode} tasks; it holds this task"
            )
        return provider

    async def submit(self, job: VideoJob, mode: Mode) -> tuple[VideoProvider, UpstreamState]:
        """Submit to the first provider of ``mode`` that takes the job, all within one time
        budget.

        Falls through on ``ProviderUnavailable`` (incl. rate-limited) only: a definite
        rejection or an unknown outcome is raised at once, so a task is never made twice.
        The whole fall-through shares one deadline (the idempotency window relies on a
        submit never outliving it); a fall-back left with under a second is not tried. A
        provider whose circuit is open for the model is skipped at once (``CircuitOpen``).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._submit_timeout_s
        errors: list[ProviderError] = []
        for provider in self.ranked(job.model, mode):
            remaining = deadline - loop.time()
            if errors and remaining < _MIN_ATTEMPT_S:
                errors.append(ProviderUnavailable(provider.name, "not tried: no time was left"))
                continue
            try:
                if self._circuits is not None:
                    await self._circuits.admit(provider.name, job.model)
                state = await self.submit_to(provider, job, timeout_s=remaining)
            except CircuitOpen as exc:
                errors.append(exc)
            except ProviderUnavailable as exc:
                log.warning("provider.fallback provider=%s reason=%s", provider.name, exc.message)
                errors.append(exc)
                if self._circuits is not None:
                    await self._circuits.failed(provider.name, job.model)
            else:
                if self._circuits is not None:
                    await self._circuits.succeeded(provider.name, job.model)
                return provider, state
        raise AllProvidersFailed(errors)

    async def submit_to(
        self, provider: VideoProvider, job: VideoJob, *, timeout_s: float | None = None
    ) -> UpstreamState:
        """Submit to ``provider`` alone, hard-bounded (an HTTP read timeout is per read).

        Raises:
            ProviderOutcomeUnknown: no answer in time; the task may exist.
        """
        limit = self._submit_timeout_s if timeout_s is None else timeout_s
        if self._callback_url is not None:
            url = self._callback_url(provider.name, job.external_id)
            job = msgspec.structs.replace(job, callback_url=url)
        return await self._observed(provider, "submit", job.model, _submit(provider, job, limit))

    async def query(self, record: TaskRecord, *, timeout_s: float) -> UpstreamState:
        """What the provider that accepted ``record`` says of it now, within ``timeout_s``.

        Raises:
            ProviderTaskNotFound: the upstream says it has no such task.
            TimeoutError: no answer in time.
        """
        # An adopted upstream id always comes with its provider and route.
        provider = self.pinned(record.provider or "", record.mode)
        call = provider.query(record.upstream_route or "", record.upstream_id or "")
        return await self._observed(provider, "query", record.model, _bounded(call, timeout_s))

    def lists(self, record: TaskRecord) -> bool:
        """Whether the provider that accepted ``record`` lists the tasks of its family, so
        one request can refresh many (``list_page``)."""
        if record.upstream_id is None or record.upstream_route is None:
            return False
        provider = self._by_name.get(record.provider or "")
        if provider is None or provider not in self._by_mode[record.mode]:
            return False
        return isinstance(provider, TaskLister) and provider.lists(record.upstream_route)

    async def list_page(self, record: TaskRecord, page: int, *, timeout_s: float) -> ListPage:
        """Page ``page`` of the tasks of ``record``'s provider and family, newest first
        (``lists(record)`` must hold), within ``timeout_s``; counted under ``record``'s model.

        Raises:
            TimeoutError: no answer in time.
        """
        provider = self.pinned(record.provider or "", record.mode)
        if not isinstance(provider, TaskLister):
            raise ProviderUnavailable(provider.name, "it cannot list its tasks")
        call = provider.list_tasks(record.upstream_route or "", page)
        return await self._observed(provider, "list", record.model, _bounded(call, timeout_s))

    async def lookup(self, provider: VideoProvider, job: VideoJob) -> UpstreamState | None:
        """``provider.lookup(job)``: the task submitted under ``job.external_id``, if found."""
        return await self._observed(provider, "lookup", job.model, provider.lookup(job))

    async def cancel(self, record: TaskRecord) -> bool:
        """Ask the provider that accepted ``record`` to stop it; False when it has no cancel."""
        provider = self.pinned(record.provider or "", record.mode)
        call = provider.cancel(record.upstream_route or "", record.upstream_id or "")
        return await self._observed(provider, "cancel", record.model, call, sent=bool)

    async def _observed(
        self,
        provider: VideoProvider,
        operation: Operation,
        model: str,
        call: Awaitable[T],
        *,
        sent: Callable[[T], bool] | None = None,
    ) -> T:
        if self._calls is None:
            return await call
        return await self._calls.observe(provider.name, operation, model, call, sent=sent)


async def _submit(provider: VideoProvider, job: VideoJob, limit: float) -> UpstreamState:
    try:
        async with asyncio.timeout(limit):
            return await provider.submit(job)
    except TimeoutError as exc:
        raise ProviderOutcomeUnknown(provider.name, f"no answer within {limit:g} s") from exc


async def _bounded(call: Awaitable[T], timeout_s: float) -> T:
    async with asyncio.timeout(timeout_s):
        return await call
