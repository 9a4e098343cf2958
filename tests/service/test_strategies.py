"""Per-model strategies: file order, cheapest by the price rows, or the first provider drawn by
weight; and each task's upstream cost from its host's price row."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from adapter.bootstrap.parts import Parts
from adapter.config.providers import ProviderConfig
from adapter.core.values import Strategy, TaskStatus
from adapter.service.routing import Router
from tests.fakes import MODEL, FakeClock, ScriptedProvider, seed_input
from tests.models import job

pytestmark = pytest.mark.anyio

PRICES = {"kling": {MODEL: Decimal("0.12")}, "fal": {MODEL: Decimal("0.07")}}
#: fal as a providers file configures it, with its price row for the model.
FAL_ROW = ProviderConfig(
    name="fal", dialect="fal", base_url="https://f.test", prices={MODEL: Decimal("0.07")}
)


def hosts() -> list[ScriptedProvider]:
    return [ScriptedProvider("kling"), ScriptedProvider("gateway"), ScriptedProvider("fal")]


def names(providers: list[ScriptedProvider] | list[object]) -> list[str]:
    return [p.name for p in providers]  # type: ignore[attr-defined]


def test_cheapest_puts_the_priced_providers_first_by_price_then_the_rest_in_file_order() -> None:
    router = Router(hosts(), strategies={MODEL: Strategy("cheapest")}, prices=PRICES)
    assert names(router.ranked(MODEL, "live")) == ["fal", "kling", "gateway"]
    assert names(router.candidates(MODEL, "live")) == ["kling", "gateway", "fal"]


@pytest.mark.parametrize(("draw", "first"), [(0.0, "kling"), (0.89, "kling"), (0.9, "fal")])
def test_weighted_draws_the_first_provider_and_keeps_the_rest_in_file_order(
    draw: float, first: str
) -> None:
    strategy = Strategy("weighted", {"kling": 90, "fal": 10})
    router = Router(hosts(), strategies={MODEL: strategy}, draw=lambda: draw)
    ranked = names(router.ranked(MODEL, "live"))
    assert ranked[0] == first and sorted(ranked) == ["fal", "gateway", "kling"]
    assert [n for n in ranked if n != first] == [
        n for n in ("kling", "gateway", "fal") if n != first
    ]


def test_a_weighted_split_sends_about_its_share_to_each() -> None:
    draws = iter(i / 1000 for i in range(1000))
    router = Router(
        hosts(),
        strategies={MODEL: Strategy("weighted", {"kling": 90, "fal": 10})},
        draw=lambda: next(draws),
    )
    firsts = [router.ranked(MODEL, "live")[0].name for _ in range(1000)]
    assert (firsts.count("kling"), firsts.count("fal")) == (900, 100)


def test_test_keys_go_to_the_simulators_providers_in_their_order_whatever_the_strategy() -> None:
    sims = [ScriptedProvider("test-kling"), ScriptedProvider("test-newapi")]
    router = Router(
        hosts(), test_providers=sims, strategies={MODEL: Strategy("cheapest")}, prices=PRICES
    )
    assert names(router.ranked(MODEL, "test")) == ["test-kling", "test-newapi"]


async def test_a_submit_tries_the_providers_in_the_strategys_order() -> None:
    kling, gateway, fal = hosts()
    router = Router([kling, gateway, fal], strategies={MODEL: Strategy("cheapest")}, prices=PRICES)
    provider, _ = await router.submit(job(MODEL, seed_input()), "live")
    assert provider is fal and kling.submits == []


async def test_a_succeeded_task_records_its_hosts_price_times_the_billed_seconds(
    make_parts,
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    fal = ScriptedProvider("fal")
    parts: Parts = make_parts(fal, providers=(FAL_ROW,))  # the file's row; the host is scripted
    made = await parts.tasks.submit(
        owner="a", model=MODEL, values=seed_input(), idempotency_key=None
    )
    fal.set_state(made.record.upstream_id or "", TaskStatus.SUCCEEDED, seconds=8)
    clock.advance(1)
    await asyncio.sleep(0.06)
    done = await parts.tasks.get(owner="a", task_id=made.record.task_id)
    assert done.status is TaskStatus.SUCCEEDED
    assert done.upstream_cost == Decimal("0.56")  # 8 s x 0.07
    assert done.cost_actual != done.upstream_cost  # what the client pays is MindVideo's price


async def test_the_usage_ledger_adds_up_what_the_hosts_charged(
    make_parts,
    clock: FakeClock,  # type: ignore[no-untyped-def]
) -> None:
    fal = ScriptedProvider("fal")
    parts: Parts = make_parts(fal, providers=(FAL_ROW,))
    key, _ = await parts.keys.create(name="acme")
    for seconds in (8, 5):
        made = await parts.tasks.submit(
            owner="acme",
            model=MODEL,
            values=seed_input(),
            idempotency_key=None,
            key_id=key.id,
            admission=key.admission,
        )
        fal.set_state(made.record.upstream_id or "", TaskStatus.SUCCEEDED, seconds=seconds)
        clock.advance(1)
        await asyncio.sleep(0.06)
        await parts.tasks.get(owner="acme", task_id=made.record.task_id)
    (operators,) = await parts.admin.usage([key.id], upstream=True)
    assert operators.cost_upstream == Decimal("0.91")  # (8 + 5) s x 0.07
    (clients,) = await parts.admin.usage([key.id])
    assert clients.cost_upstream is None
