"""Model -> ordered providers; fall through only when a provider is unavailable or busy."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from adapter.errors import (
    AllProvidersFailed,
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderUnavailable,
)
from adapter.model import UpstreamState, VideoJob
from adapter.ports import VideoProvider

log = logging.getLogger(__name__)


class Router:
    """Picks providers for a model, in order of preference, and pins follow-ups to one."""

    __slots__ = ("_by_name", "_providers", "_submit_timeout_s")

    def __init__(self, providers: Sequence[VideoProvider], *, submit_timeout_s: float = 30) -> None:
        self._providers = list(providers)
        self._by_name = {p.name: p for p in self._providers}
        self._submit_timeout_s = submit_timeout_s

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
        """Submit to the first provider that takes the job.

        Falls through on ``ProviderUnavailable`` (incl. rate-limited) only: a definite
        rejection or an unknown outcome is raised at once, so a task is never made twice.
        """
        errors: list[ProviderError] = []
        for provider in self.candidates(job.model):
            try:
                # A hard bound on the whole call (an HTTP client's read timeout is per read):
                # the idempotency window relies on a submit never outliving it.
                async with asyncio.timeout(self._submit_timeout_s):
                    return provider, await provider.submit(job)
            except TimeoutError as exc:
                raise ProviderOutcomeUnknown(
                    provider.name, f"no answer within {self._submit_timeout_s:g} s"
                ) from exc
            except ProviderUnavailable as exc:
                log.warning("provider.fallback provider=%s reason=%s", provider.name, exc.message)
                errors.append(exc)
        raise AllProvidersFailed(errors)
