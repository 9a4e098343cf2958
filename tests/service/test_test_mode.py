"""Test mode: a test key's tasks go to the simulator's providers only, a live key's never do,
and the two worlds of one owner never meet (tasks, lists, Idempotency-Keys)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapter.bootstrap.parts import Parts
from adapter.core.errors import (
    AllProvidersFailed,
    ProviderOutcomeUnknown,
    ProviderUnavailable,
    TaskNotFound,
    UnknownModel,
)
from adapter.service.routing import Router
from tests.fakes import MODEL, FakeClock, ScriptedProvider, seed_input

pytestmark = pytest.mark.anyio

WAN = "wan2-6-i2v-flash"


@pytest.fixture
def live() -> ScriptedProvider:
    return ScriptedProvider("kling")


@pytest.fixture
def sim() -> ScriptedProvider:
    return ScriptedProvider("test-kling", models=(MODEL, WAN))


@pytest.fixture
def parts(make_parts, live: ScriptedProvider, sim: ScriptedProvider) -> Parts:  # type: ignore[no-untyped-def]
    built: Parts = make_parts(live, hooks={"test_providers": [sim]})
    return built


async def submit(parts: Parts, mode: Any, key: str | None = "k1", model: str = MODEL):  # type: ignore[no-untyped-def]
    values = seed_input() if model == MODEL else {"image_urls": ["https://cdn.example.org/a.png"]}
    return await parts.tasks.submit(
        owner="alice", model=model, values=values, idempotency_key=key, mode=mode
    )


async def test_a_test_task_goes_to_the_simulators_provider_and_says_so(
    parts: Parts, live: ScriptedProvider, sim: ScriptedProvider
) -> None:
    made = await submit(parts, "test")
    assert made.record.mode == "test" and made.record.provider == "test-kling"
    assert len(sim.submits) == 1 and live.submits == []


async def test_a_live_task_never_falls_through_to_the_simulator(
    parts: Parts, live: ScriptedProvider, sim: ScriptedProvider
) -> None:
    """The only live provider is down: the submit fails rather than land on the simulator."""
    live.submit_outcomes.append(ProviderUnavailable("kling", "connection refused"))
    with pytest.raises(AllProvidersFailed):
        await submit(parts, "live")
    assert sim.submits == []


async def test_a_model_only_the_simulator_serves_is_refused_to_a_live_key(parts: Parts) -> None:
    with pytest.raises(UnknownModel, match="has no provider"):
        await submit(parts, "live", model=WAN)
    made = await submit(parts, "test", model=WAN)
    assert made.record.provider == "test-kling"
    assert [spec.slug for spec in parts.models.served("live")] == [MODEL]
    assert {spec.slug for spec in parts.models.served("test")} == {MODEL, WAN}


async def test_one_owner_s_test_and_live_tasks_never_meet(parts: Parts) -> None:
    """The same Idempotency-Key and body in both modes makes two tasks, neither a replay; each
    mode reads and lists its own only."""
    test = await submit(parts, "test")
    live = await submit(parts, "live")
    assert not live.replayed and live.record.task_id != test.record.task_id
    with pytest.raises(TaskNotFound):
        await parts.tasks.get(owner="alice", task_id=test.record.task_id, mode="live")
    with pytest.raises(TaskNotFound):
        await parts.tasks.events(owner="alice", task_id=live.record.task_id, mode="test")
    for mode, made in (("test", test), ("live", live)):
        page = await parts.tasks.list_tasks(
            owner="alice", status=None, limit=10, cursor=None, mode=mode
        )
        assert [r.task_id for r in page.records] == [made.record.task_id]
    again = await submit(parts, "test")
    assert again.replayed and again.record.task_id == test.record.task_id


async def test_a_lost_test_submit_is_sent_again_to_the_simulator_only(
    parts: Parts, live: ScriptedProvider, sim: ScriptedProvider, clock: FakeClock
) -> None:
    """Recovery resubmits under the task's mode, never to the first live provider."""
    sim.submit_outcomes.append(ProviderOutcomeUnknown("test-kling", "connection reset"))
    first = await submit(parts, "test")
    sim.by_external.clear()
    clock.advance(61)
    await asyncio.sleep(0.06)
    task = await parts.tasks.get(owner="alice", task_id=first.record.task_id, mode="test")
    assert [j.external_id for j in sim.submits] == [first.record.task_id] * 2
    assert task.upstream_id is not None and live.submits == []


def test_a_task_is_never_pinned_to_a_provider_of_the_other_mode() -> None:
    live, sim = ScriptedProvider("kling"), ScriptedProvider("test-kling")
    router = Router([live], test_providers=[sim])
    assert router.pinned("test-kling", "test") is sim
    with pytest.raises(ProviderUnavailable, match="serves test tasks"):
        router.pinned("kling", "test")
    with pytest.raises(ProviderUnavailable, match="serves live tasks"):
        router.pinned("test-kling", "live")


def test_without_test_providers_the_providers_serve_both_modes() -> None:
    """The embedded default: the simulator's providers are the live ones too."""
    sim = ScriptedProvider("kling")
    router = Router([sim])
    assert router.candidates(MODEL, "test") == [sim] == router.candidates(MODEL, "live")


def test_two_providers_of_one_name_are_refused() -> None:
    with pytest.raises(ValueError, match="named 'kling'"):
        Router([ScriptedProvider("kling")], test_providers=[ScriptedProvider("kling")])
