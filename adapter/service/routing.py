"""Model -> ordered providers; fall through only when a provider is unavailable or busy."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

import msgspec

from adapter.core.errors import (
    AllProvidersFailed,
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderUnavailable,
)
from adapter.core.values import UpstreamState, VideoJob
from adapter.ports import VideoProvider

log = logging.getLogger(__name__)

#: Below this, a fall-through would only start a request the deadline cuts off.
_MIN_ATTEMPT_S = 1.0


class Router:
    """Picks providers for a model, in order of preference, and pins follow-ups to one."""

    __slots__ = ("_by_name", "_callback_url", "_providers", "_submit_timeout_s")

    def __init__(
        self,
        providers: Sequence[VideoProvider],
        *,
        submit_timeout_s: float = 30,
        callback_url: Callable[[str, str], str | None] | None = None,
    ) -> None:
        """``callback_url(provider, task_id)`` names where that upstream should call back."""
        self._providers = list(providers)
        self._by_name = {p.name: p for p in self._providers}
        self._submit_timeout_s = submit_timeout_s
        self._callback_url = callback_url

    def candidates(self, model: str) -> list[VideoProvider]:
        """The providers that serve ``model``, most preferred first."""
        return [p for p in self._providers if p.serves(model)]

    def serves(self, model: str) -> bool:
        return any(p.serves(model) for p in self._providers)

    def pinned(self, name: str) -> VideoProvider:
        """The provider that accepted a task; every later query goes to it.

        Raises:
            ProviderUnavailable: no provider of that name is configured (any more).
        """
        try:
            return self._by_name[name]
        except KeyError:
            raise ProviderUnavailable(
                name, f"no provider named {name!r} is configured; it holds this task"
            ) from None

    async def submit(self, job: VideoJob) -> tuple[VideoProvider, UpstreamState]:
        """Submit to the first provider that takes the job, all within one time budget.

        Falls through on ``ProviderUnavailable`` (incl. rate-limited) only: a definite
        rejection or an unknown outcome is raised at once, so a task is never made twice.
        The whole fall-through shares one deadline (the idempotency window relies on a
        submit never outliving it); a fall-back left with under a second is not tried.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._submit_timeout_s
        errors: list[ProviderError] = []
        for provider in self.candidates(job.model):
            remaining = deadline - loop.time()
            if errors and remaining < _MIN_ATTEMPT_S:
                errors.append(ProviderUnavailable(provider.name, "not tried: no time was left"))
                continue
            try:
                return provider, await self.submit_to(provider, job, timeout_s=remaining)
            except ProviderUnavailable as exc:
                log.warning("provider.fallback provider=%s reason=%s", provider.name, exc.message)
                errors.append(exc)
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
        try:
            async with asyncio.timeout(limit):
                return await provider.submit(job)
        except TimeoutError as exc:
            raise ProviderOutcomeUnknown(provider.name, f"no answer within {limit:g} s") from exc
