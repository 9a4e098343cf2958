"""``QueryBudget``: each provider's queries a second, for the reconcilers of every process.

A provider with a budget (``queries_per_s`` in the providers file) has a token bucket in the
store (``QueryTokens``), refilled at that rate and holding at most one second's worth (and at
least one token): every reconciler takes a token before each query or list page it sends, so
together they never exceed the rate. A provider without one is not paced.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from adapter.ports import QueryTokens


class QueryBudget:
    """Waits for a provider's query token, up to a limit."""

    __slots__ = ("_clock", "_rates", "_sleep", "_tokens")

    def __init__(
        self,
        tokens: QueryTokens,
        rates: Mapping[str, float],
        *,
        clock: Callable[[], datetime],
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        """``rates``: provider name -> queries a second; providers not named are not paced."""
        self._tokens = tokens
        self._rates = {name: rate for name, rate in rates.items() if rate > 0}
        self._clock = clock
        self._sleep = sleep

    def paces(self, provider: str) -> bool:
        return provider in self._rates

    async def take(self, provider: str, *, within_s: float) -> bool:
        """Take one of ``provider``'s tokens, waiting for it up to ``within_s`` seconds.

        Returns:
            False when none came in time: the query must not be sent now.
        """
        rate = self._rates.get(provider)
        if rate is None:
            return True
        waited = 0.0
        while True:
            now_ms = int(self._clock().timestamp() * 1000)
            wait_ms = await self._tokens.take_query(
                provider, per_s=rate, burst=max(1.0, rate), now_ms=now_ms
            )
            if wait_ms == 0:
                return True
            wait_s = wait_ms / 1000
            if waited + wait_s > within_s:
                return False
            await self._sleep(wait_s)
            waited += wait_s
