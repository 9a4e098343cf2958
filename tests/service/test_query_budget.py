"""A provider's query budget, shared by the reconcilers of every process through the store."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from adapter.service.query_budget import QueryBudget
from adapter.stores.redis_pacing import RedisPacing
from tests.fakes import FakeClock

pytestmark = pytest.mark.anyio


class SleepingClock(FakeClock):
    """A clock that a budget's sleep moves forward, recording each sleep."""

    def __init__(self) -> None:
        super().__init__()
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)


@pytest.fixture
def pacing(redis: aioredis.Redis, namespace: str) -> RedisPacing:
    return RedisPacing(redis, namespace=namespace)


@pytest.fixture
def clock() -> SleepingClock:
    return SleepingClock()


def budget(pacing: RedisPacing, clock: SleepingClock, rates: dict[str, float]) -> QueryBudget:
    return QueryBudget(pacing, rates, clock=clock, sleep=clock.sleep)


async def test_processes_together_never_exceed_the_rate(
    pacing: RedisPacing, clock: SleepingClock
) -> None:
    """Two processes' budgets on one store, at 5/s: takes from 0 to 9.9 s get the 5 of the
    burst and the 49 whole tokens refilled meanwhile, however many are asked for."""
    first, second = budget(pacing, clock, {"kling": 5}), budget(pacing, clock, {"kling": 5})
    sent = 0
    for _ in range(100):  # each tick: both try twice, waiting for nothing
        for process in (first, second, first, second):
            sent += await process.take("kling", within_s=0)
        clock.advance(0.1)
    assert sent == 5 + 49


async def test_a_take_waits_for_the_next_token_within_its_limit(
    pacing: RedisPacing, clock: SleepingClock
) -> None:
    paced = budget(pacing, clock, {"kling": 2})
    assert await paced.take("kling", within_s=0)
    assert await paced.take("kling", within_s=0)
    assert await paced.take("kling", within_s=1)
    assert clock.slept == [0.5]


async def test_a_take_that_would_wait_too_long_sends_nothing(
    pacing: RedisPacing, clock: SleepingClock
) -> None:
    paced = budget(pacing, clock, {"kling": 0.5})
    assert await paced.take("kling", within_s=0)
    assert not await paced.take("kling", within_s=1.0)  # the next token is 2 s away
    assert clock.slept == []


async def test_a_provider_without_a_budget_is_not_paced(
    pacing: RedisPacing, clock: SleepingClock
) -> None:
    paced = budget(pacing, clock, {"kling": 1})
    assert not paced.paces("dashscope")
    assert all([await paced.take("dashscope", within_s=0) for _ in range(100)])
