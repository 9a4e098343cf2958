"""When a task is asked about: not before its expected duration (learned from recent successes,
a default until then), then on a doubling backoff up to the maximum interval."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from adapter.core.errors import StoreUnavailable
from adapter.core.values import TaskRecord, TaskStatus
from adapter.service.poll_plan import (
    ENOUGH,
    LONGEST_EXPECTED_S,
    RELEARN_S,
    PollPlan,
    default_expected_s,
    percentile,
)
from tests.fakes import FakeClock
from tests.stores.records import task_record

pytestmark = pytest.mark.anyio

MIN_S, MAX_S, DEADLINE_S = 1.0, 30.0, 7200.0


class MemoryLog:
    """A CompletionLog in a dict, newest first, as the store keeps it."""

    def __init__(self) -> None:
        self.kept: dict[tuple[str, str], list[float]] = {}
        self.reads = 0
        self.down = False

    async def add_completion(self, provider: str, model: str, seconds: float) -> None:
        self.kept.setdefault((provider, model), []).insert(0, seconds)

    async def completions(self, provider: str, model: str) -> list[float]:
        self.reads += 1
        if self.down:
            raise StoreUnavailable("down")
        return list(self.kept.get((provider, model), []))


class Ticker:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def memory() -> MemoryLog:
    return MemoryLog()


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


def make_plan(
    memory: MemoryLog | None, clock: FakeClock, ticker: Ticker | None = None, **options: object
) -> PollPlan:
    return PollPlan(
        memory,
        clock=clock,
        min_interval_s=MIN_S,
        max_interval_s=MAX_S,
        deadline_s=DEADLINE_S,
        jitter=lambda: 0.5,
        monotonic=ticker or Ticker(),
        **options,  # type: ignore[arg-type]
    )


def accepted(clock: FakeClock, model: str = "kling-v3", **changes: object) -> TaskRecord:
    record = task_record("t", model=model, provider="kling", upstream_id="up_1", **changes)
    return msgspec.structs.replace(record, created_at=clock.now)


def test_defaults_follow_the_model_family() -> None:
    assert default_expected_s("kling-v3") == 120.0
    assert default_expected_s("wan2-6-i2v-flash") == 60.0
    assert default_expected_s("something-new") == 30.0


def test_the_percentile_is_the_nearest_rank() -> None:
    values = [float(n) for n in range(100, 0, -1)]
    assert percentile(values, 0.10) == 11.0
    assert percentile([5.0], 0.10) == 5.0


async def test_the_first_query_of_a_new_task_waits_for_its_models_default(
    memory: MemoryLog, clock: FakeClock
) -> None:
    plan = make_plan(memory, clock)
    record = accepted(clock)
    assert await plan.is_early(record)
    assert await plan.next_check(record) == clock.now + timedelta(seconds=120)


async def test_with_enough_successes_the_first_query_waits_for_their_tenth_percentile(
    memory: MemoryLog, clock: FakeClock
) -> None:
    memory.kept["kling", "kling-v3"] = [float(s) for s in range(200, 200 - ENOUGH, -1)]
    plan = make_plan(memory, clock)
    assert await plan.expected_s("kling", "kling-v3") == 183.0
    # Too few of another model: its default still holds.
    memory.kept["kling", "kling-v2-6"] = [10.0] * (ENOUGH - 1)
    assert await plan.expected_s("kling", "kling-v2-6") == 120.0


async def test_what_is_learned_is_bounded(memory: MemoryLog, clock: FakeClock) -> None:
    memory.kept["kling", "fast"] = [0.01] * ENOUGH
    memory.kept["kling", "slow"] = [99_999.0] * ENOUGH
    plan = make_plan(memory, clock)
    assert await plan.expected_s("kling", "fast") == MIN_S
    assert await plan.expected_s("kling", "slow") == LONGEST_EXPECTED_S


async def test_the_setting_replaces_the_default_and_known_providers_learn_nothing(
    memory: MemoryLog, clock: FakeClock
) -> None:
    memory.kept["kling", "kling-v3"] = [200.0] * ENOUGH
    plan = make_plan(memory, clock, first_after_s=7.0, known_s={"sim": 1.5})
    assert await plan.expected_s("other", "kling-v3") == 7.0
    assert await plan.expected_s("sim", "kling-v3") == 1.5
    assert await plan.expected_s("kling", "kling-v3") == 200.0


async def test_a_process_reads_what_was_learned_again_only_after_a_while(
    memory: MemoryLog, clock: FakeClock, ticker: Ticker
) -> None:
    plan = make_plan(memory, clock, ticker)
    assert await plan.expected_s("kling", "kling-v3") == 120.0
    memory.kept["kling", "kling-v3"] = [60.0] * ENOUGH
    assert await plan.expected_s("kling", "kling-v3") == 120.0
    assert memory.reads == 1
    ticker.now += RELEARN_S
    assert await plan.expected_s("kling", "kling-v3") == 60.0


async def test_an_unreadable_log_falls_back_to_the_default(
    memory: MemoryLog, clock: FakeClock
) -> None:
    memory.down = True
    assert await make_plan(memory, clock).expected_s("kling", "kling-v3") == 120.0


@pytest.mark.parametrize(("age_s", "wait_s"), [(27, 7.5), (30, 7.5), (40, 17.5), (3000, MAX_S)])
async def test_after_the_first_query_the_waits_double_up_to_the_maximum(
    clock: FakeClock, age_s: float, wait_s: float
) -> None:
    """30 s expected: each wait is the time since then (if past) plus 7.5 s, so they double."""
    plan = make_plan(None, clock)
    record = accepted(clock, model="something-new")
    clock.advance(age_s)
    assert not await plan.is_early(record)
    assert await plan.next_check(record) == clock.now + timedelta(seconds=wait_s)


@pytest.mark.parametrize(("draw", "first_s"), [(0.0, 27.0), (1.0, 33.0)])
async def test_the_first_query_is_jittered_both_ways(
    clock: FakeClock, draw: float, first_s: float
) -> None:
    plan = PollPlan(
        None,
        clock=clock,
        min_interval_s=MIN_S,
        max_interval_s=MAX_S,
        deadline_s=DEADLINE_S,
        jitter=lambda: draw,
    )
    record = accepted(clock, model="something-new")
    assert await plan.next_check(record) == record.created_at + timedelta(seconds=first_s)


async def test_a_task_whose_submit_answer_was_lost_is_checked_at_the_minimum_interval(
    clock: FakeClock,
) -> None:
    plan = make_plan(None, clock)
    lost = msgspec.structs.replace(accepted(clock), upstream_id=None)
    assert not await plan.is_early(lost)
    assert await plan.next_check(lost) == clock.now + timedelta(seconds=MIN_S)


async def test_only_a_success_is_recorded_with_how_long_it_took(
    memory: MemoryLog, clock: FakeClock
) -> None:
    plan = make_plan(memory, clock)
    record = accepted(clock)
    later = clock.now + timedelta(seconds=181.5)
    for status in (TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.SUCCEEDED):
        await plan.succeeded(msgspec.structs.replace(record, status=status, updated_at=later))
    assert memory.kept == {("kling", "kling-v3"): [181.5]}
