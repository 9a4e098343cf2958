"""Circuits: a provider that keeps answering unavailable for a model is skipped at once, for a
cool-down; then one probe, from one process, closes or reopens it. Shared through the store."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from adapter.core.errors import (
    AllProvidersFailed,
    CircuitOpen,
    ProviderRateLimited,
    ProviderUnavailable,
    StoreUnavailable,
)
from adapter.core.values import Circuit
from adapter.service.circuits import Circuits
from adapter.service.routing import Router
from adapter.stores.redis_circuits import RedisCircuitStore
from adapter.stores.redis_client import RedisClient
from adapter.telemetry.prometheus import PrometheusMetrics
from tests.fakes import MODEL, FakeClock, ScriptedProvider, seed_input
from tests.metrics import sample
from tests.models import job

pytestmark = pytest.mark.anyio


@pytest.fixture
def redis(redis_on_every_topology: RedisClient) -> RedisClient:
    """This store runs on every topology: also a Redis Cluster and a Sentinel-managed master."""
    return redis_on_every_topology


COOLDOWN_S = 30


@pytest.fixture
def circuit_store(redis: aioredis.Redis, namespace: str) -> RedisCircuitStore:
    return RedisCircuitStore(redis, namespace=namespace)


def circuits(store: RedisCircuitStore, clock: FakeClock) -> Circuits:
    """One process's view; ``refresh_s`` 0 reads the store before every admit."""
    return Circuits(store, clock=clock, threshold=3, cooldown_s=COOLDOWN_S, refresh_s=0)


def down(provider: ScriptedProvider, times: int) -> None:
    provider.submit_outcomes.extend(
        ProviderUnavailable(provider.name, "503 from the upstream") for _ in range(times)
    )


async def submit(router: Router) -> str:
    provider, _ = await router.submit(job(MODEL, seed_input()), "live")
    return provider.name


async def test_three_unavailable_answers_in_a_row_skip_the_provider_without_asking_it(
    circuit_store: RedisCircuitStore, clock: FakeClock
) -> None:
    first, backup = ScriptedProvider("kling"), ScriptedProvider("backup")
    router = Router([first, backup], circuits=circuits(circuit_store, clock))
    down(first, 3)
    assert [await submit(router) for _ in range(3)] == ["backup"] * 3
    assert len(first.submits) == 3
    assert await submit(router) == "backup"
    assert len(first.submits) == 3  # skipped: no timeout or refusal spent on it


async def test_with_every_circuit_open_the_client_is_told_when_to_retry(
    circuit_store: RedisCircuitStore, clock: FakeClock
) -> None:
    only = ScriptedProvider("kling")
    router = Router([only], circuits=circuits(circuit_store, clock))
    down(only, 3)
    for _ in range(3):
        with pytest.raises(AllProvidersFailed):
            await submit(router)
    clock.advance(10)
    with pytest.raises(AllProvidersFailed) as caught:
        await submit(router)
    (skipped,) = caught.value.errors
    assert isinstance(skipped, CircuitOpen) and isinstance(skipped, ProviderRateLimited)
    assert skipped.retry_after == COOLDOWN_S - 10
    assert "3 times in a row" in skipped.message and len(only.submits) == 3


async def test_after_the_cooldown_one_probe_closes_the_circuit(
    circuit_store: RedisCircuitStore, clock: FakeClock
) -> None:
    first, backup = ScriptedProvider("kling"), ScriptedProvider("backup")
    router = Router([first, backup], circuits=circuits(circuit_store, clock))
    down(first, 3)
    for _ in range(3):
        await submit(router)
    clock.advance(COOLDOWN_S)
    assert await submit(router) == "kling"  # the probe, answered: closed
    assert await submit(router) == "kling"
    assert await circuit_store.circuits() == {}


async def test_a_failed_probe_opens_the_circuit_for_another_cooldown(
    circuit_store: RedisCircuitStore, clock: FakeClock
) -> None:
    first, backup = ScriptedProvider("kling"), ScriptedProvider("backup")
    router = Router([first, backup], circuits=circuits(circuit_store, clock))
    down(first, 4)
    for _ in range(3):
        await submit(router)
    clock.advance(COOLDOWN_S)
    assert await submit(router) == "backup"  # the probe failed
    assert len(first.submits) == 4
    clock.advance(COOLDOWN_S - 1)
    assert await submit(router) == "backup"
    assert len(first.submits) == 4


async def test_an_accepted_submit_resets_the_count_of_failures_in_a_row(
    circuit_store: RedisCircuitStore, clock: FakeClock
) -> None:
    first, backup = ScriptedProvider("kling"), ScriptedProvider("backup")
    router = Router([first, backup], circuits=circuits(circuit_store, clock))
    down(first, 2)
    await submit(router), await submit(router)
    assert await submit(router) == "kling"
    down(first, 2)
    await submit(router), await submit(router)
    assert await submit(router) == "kling"  # 2 + 2 failures, never 3 in a row


async def test_one_process_opening_a_circuit_makes_the_others_skip_it(
    circuit_store: RedisCircuitStore, clock: FakeClock
) -> None:
    one, other = circuits(circuit_store, clock), circuits(circuit_store, clock)
    for _ in range(3):
        await one.failed("kling", MODEL)
    with pytest.raises(CircuitOpen):
        await other.admit("kling", MODEL)
    await other.admit("kling", "wan2-6-i2v-flash")  # per model: another is not affected


async def test_only_one_process_probes_a_half_open_circuit(
    circuit_store: RedisCircuitStore, clock: FakeClock
) -> None:
    one, other = circuits(circuit_store, clock), circuits(circuit_store, clock)
    for _ in range(3):
        await one.failed("kling", MODEL)
    clock.advance(COOLDOWN_S)
    await one.admit("kling", MODEL)  # claims the probe
    with pytest.raises(CircuitOpen):
        await other.admit("kling", MODEL)


class DownStore:
    """A circuit store whose Redis cannot be reached."""

    async def circuits(self) -> dict[tuple[str, str], Circuit]:
        raise StoreUnavailable("connection refused")

    async def failed(
        self, provider: str, model: str, *, now_ms: int, threshold: int, cooldown_ms: int
    ) -> Circuit:
        raise StoreUnavailable("connection refused")

    async def claim_probe(self, provider: str, model: str, *, now_ms: int, hold_ms: int) -> bool:
        raise StoreUnavailable("connection refused")

    async def close(self, provider: str, model: str) -> None:
        raise StoreUnavailable("connection refused")


async def test_circuits_that_cannot_be_read_never_refuse_a_submit(clock: FakeClock) -> None:
    only = ScriptedProvider("kling")
    router = Router([only], circuits=Circuits(DownStore(), clock=clock, threshold=1))
    down(only, 1)
    with pytest.raises(AllProvidersFailed):
        await submit(router)
    assert await submit(router) == "kling"


async def test_metrics_count_each_circuit_opened_and_each_provider_skipped(
    circuit_store: RedisCircuitStore, clock: FakeClock
) -> None:
    metrics = PrometheusMetrics()
    only = ScriptedProvider("kling")
    counted = Circuits(circuit_store, clock=clock, threshold=3, refresh_s=0, metrics=metrics)
    router = Router([only], circuits=counted)
    down(only, 3)
    for _ in range(5):  # three failures open it, then two submits skip it
        with pytest.raises(AllProvidersFailed):
            await submit(router)
    labels = {"provider": "kling", "model": MODEL}
    assert sample(metrics, "mva_circuit_events_total", **labels, event="opened") == 1
    assert sample(metrics, "mva_circuit_events_total", **labels, event="skipped") == 2
