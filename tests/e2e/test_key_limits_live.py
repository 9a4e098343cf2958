"""A key's budget and rate across real processes: two (or three) `serve` processes on one Redis
never admit more than the key's limits between them, whatever the concurrency."""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.e2e.live import Live, serve, shared_redis_env

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
KEY = "mv_live_key_limits_live"
ADMIN = "admin-token-live-0123456789"
SUBMIT = {"model": "kling-v2-6", "input": {"prompt": "a cat", "duration": 5}}


@pytest.fixture(scope="module")
def processes(upstream: Live) -> Iterator[list[Live]]:
    with shared_redis_env(upstream, KEY, MVA_ADMIN_TOKEN=ADMIN) as env:
        lives = [serve(env) for _ in range(3)]
        yield lives
        for live in lives:
            live.stop()


def new_key(live: Live, **limits: Any) -> str:
    answer = httpx.post(
        f"{live.url}/admin/v1/keys",
        json={"name": "live", **limits},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert answer.status_code == 201, answer.text
    secret: str = answer.json()["secret"]
    return secret


async def storm(lives: list[Live], secret: str, count: int) -> Counter[int]:
    """``count`` submits at once, spread over ``lives``; the statuses answered."""
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        answers = await asyncio.gather(
            *(
                client.post(
                    f"{lives[i % len(lives)].url}/api/v1/tasks",
                    json=SUBMIT,
                    headers={"Authorization": f"Bearer {secret}"},
                )
                for i in range(count)
            )
        )
    return Counter(answer.status_code for answer in answers)


def test_200_concurrent_submits_on_two_processes_stay_within_a_budget_for_10(
    processes: list[Live],
) -> None:
    secret = new_key(processes[0], budget={"amount": "0.414", "period": "total"})  # 10 x 0.0414
    assert asyncio.run(storm(processes[:2], secret, 200)) == {200: 10, 402: 190}
    answer = httpx.get(
        f"{processes[1].url}/api/v1/usage", headers={"Authorization": f"Bearer {secret}"}
    )
    usage = json.loads(answer.text, parse_float=Decimal)  # exact: some may have ended by now
    assert usage["budget"]["reserved"] + usage["budget"]["spent"] == Decimal("0.414")
    assert [row["tasks"] for row in usage["data"]] == [10]


def test_rpm_60_across_three_processes_admits_60_in_the_minute(processes: list[Live]) -> None:
    secret = new_key(processes[0], rpm=60)
    assert asyncio.run(storm(processes, secret, 90)) == {200: 60, 429: 30}
