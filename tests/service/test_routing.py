"""Routing: each model's providers in order; fall through only when one could not take it."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from adapter.core.errors import (
    AllProvidersFailed,
    ModelNotServed,
    ProviderOutcomeUnknown,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from adapter.core.values import TaskStatus, UpstreamState, VideoJob
from adapter.service.routing import Router
from adapter.service.tasks import TaskService
from tests.fakes import MODEL, FakeClock, FakeMedia, ScriptedProvider
from tests.models import job

pytestmark = pytest.mark.anyio

V3 = "kling-v3"
WAN = "wan2-6-i2v-flash"
V3_SEED = {"prompt": "A red car", "aspect_ratio": "16:9", "duration": 5, "mode": "std"}
WAN_SEED = {
    "prompt": "Turn and smile",
    "resolution": "1080p",
    "duration": 5,
    "image_urls": ["https://example.com/portrait.jpg"],
    "audio": True,
}


async def submit(service: TaskService, model: str, values: dict[str, Any], key: str = "k1"):  # type: ignore[no-untyped-def]
    return await service.submit(owner="alice", model=model, values=values, idempotency_key=key)


def test_each_model_gets_only_the_providers_that_serve_it_in_file_order() -> None:
    """Preference is configuration order, filtered per model."""
    kling = ScriptedProvider("kling", (V3, MODEL))
    dashscope = ScriptedProvider("dashscope", (WAN,))
    gateway = ScriptedProvider("gateway", (V3,))
    router = Router([kling, dashscope, gateway])
    assert [p.name for p in router.candidates(V3, "live")] == ["kling", "gateway"]
    assert [p.name for p in router.candidates(WAN, "live")] == ["dashscope"]
    assert router.candidates("kling-v2-6", "live") == []


async def test_a_model_routes_to_its_own_provider_not_the_first_configured(
    make_service,  # type: ignore[no-untyped-def]
) -> None:
    """wan goes to DashScope even though Kling is listed first."""
    kling = ScriptedProvider("kling", (V3,))
    dashscope = ScriptedProvider("dashscope", (WAN,))
    service = make_service(kling, dashscope)
    result = await submit(service, WAN, WAN_SEED)
    assert result.record.provider == "dashscope"
    assert kling.submits == [] and len(dashscope.submits) == 1
    assert result.record.cost_estimate == Decimal("0.0315")


@pytest.mark.parametrize(
    "refusal",
    [
        ProviderUnavailable("first", "503 maintenance", status=503),
        ProviderRateLimited("first", "too many requests", status=429, retry_after=2),
    ],
    ids=["unavailable", "rate-limited"],
)
async def test_an_unavailable_or_busy_provider_falls_through_to_the_next(
    make_service,  # type: ignore[no-untyped-def]
    refusal: Exception,
) -> None:
    first, second = ScriptedProvider("first", (V3,)), ScriptedProvider("second", (V3,))
    service = make_service(first, second)
    first.submit_outcomes.append(refusal)
    result = await submit(service, V3, V3_SEED)
    assert result.record.provider == "second"
    assert len(first.submits) == 1 and len(second.submits) == 1


async def test_an_unknown_outcome_is_never_sent_to_another_provider(
    make_service,  # type: ignore[no-untyped-def]
) -> None:
    """The first may have made the task: sending it elsewhere could charge twice."""
    first, second = ScriptedProvider("first", (V3,)), ScriptedProvider("second", (V3,))
    service = make_service(first, second)
    first.submit_outcomes.append(ProviderOutcomeUnknown("first", "reset after sending"))
    result = await submit(service, V3, V3_SEED)
    assert second.submits == []
    assert result.record.provider == "first" and result.record.submit_state == "unknown"
    assert result.record.status is TaskStatus.QUEUED


async def test_a_definite_rejection_is_never_sent_to_another_provider(
    make_service,  # type: ignore[no-untyped-def]
) -> None:
    first, second = ScriptedProvider("first", (V3,)), ScriptedProvider("second", (V3,))
    service = make_service(first, second)
    first.submit_outcomes.append(ProviderRejected("first", "content policy", status=400))
    with pytest.raises(ProviderRejected):
        await submit(service, V3, V3_SEED)
    assert second.submits == []


async def test_when_all_fail_the_error_names_each_providers_reason(
    make_service,  # type: ignore[no-untyped-def]
) -> None:
    first, second = ScriptedProvider("first", (V3,)), ScriptedProvider("second", (V3,))
    service = make_service(first, second)
    first.submit_outcomes.append(ProviderUnavailable("first", "503 maintenance", status=503))
    second.submit_outcomes.append(ProviderRateLimited("second", "quota exhausted", status=429))
    with pytest.raises(AllProvidersFailed) as caught:
        await submit(service, V3, V3_SEED)
    assert [e.provider for e in caught.value.errors] == ["first", "second"]
    assert "first: 503 maintenance" in caught.value.message
    assert "second: quota exhausted" in caught.value.message


async def test_queries_stay_with_the_provider_that_accepted(
    make_service,  # type: ignore[no-untyped-def]
) -> None:
    """After a fall-through, polling never goes back to the first provider."""
    first, second = ScriptedProvider("first", (V3,)), ScriptedProvider("second", (V3,))
    service = make_service(first, second)
    first.submit_outcomes.append(ProviderUnavailable("first", "down", status=503))
    result = await submit(service, V3, V3_SEED)
    second.set_state("up_1", TaskStatus.PROCESSING)
    task = await service.get(owner="alice", task_id=result.record.task_id)
    assert task.status is TaskStatus.PROCESSING
    assert second.queries == ["up_1"] and first.queries == []


async def test_a_task_whose_provider_was_removed_is_kept_not_failed(
    make_service,  # type: ignore[no-untyped-def]
) -> None:
    """Reconfigured without its provider, a task is left as it was, and readable."""
    kling = ScriptedProvider("kling", (V3,))
    result = await submit(make_service(kling), V3, V3_SEED)
    other = make_service(ScriptedProvider("other", (V3,)))
    task = await other.get(owner="alice", task_id=result.record.task_id)
    assert task.status is TaskStatus.QUEUED and task.provider == "kling"


async def test_a_model_no_provider_serves_is_refused_before_anything_is_stored(
    make_service,  # type: ignore[no-untyped-def]
    media: FakeMedia,
) -> None:
    service = make_service(ScriptedProvider("kling", (V3,)))
    with pytest.raises(ModelNotServed) as caught:
        await submit(service, WAN, WAN_SEED)
    assert caught.value.param == "model"
    assert "no provider" in caught.value.message


class SlowlyDown(ScriptedProvider):
    """Answers 503 after ``delay_s`` of real time; or, with ``hang``, never answers."""

    def __init__(self, name: str, delay_s: float, *, hang: bool = False) -> None:
        super().__init__(name, (V3,))
        self.delay_s = delay_s
        self.hang = hang

    async def submit(self, job: VideoJob) -> UpstreamState:
        self.submits.append(job)
        await asyncio.sleep(3600 if self.hang else self.delay_s)
        raise ProviderUnavailable(self.name, "503 after a while", status=503)


async def test_a_fall_through_shares_one_deadline_with_the_first_attempt() -> None:
    """Each fall-back gets only what is left, so a submit never outlives the idempotency window."""
    first, second = SlowlyDown("first", 0.3), SlowlyDown("second", 0, hang=True)
    router = Router([first, second], submit_timeout_s=1.5)
    with pytest.raises(ProviderOutcomeUnknown) as caught:
        await router.submit(job_of(V3, V3_SEED), "live")
    assert caught.value.provider == "second"
    granted = float(caught.value.message.split("within ")[1].split(" s")[0])
    assert granted <= 1.21  # 1.5 s budget less the 0.3 s the first one took


async def test_a_fall_back_with_under_a_second_left_is_not_tried() -> None:
    first, second = SlowlyDown("first", 0.3), ScriptedProvider("second", (V3,))
    router = Router([first, second], submit_timeout_s=1.2)
    with pytest.raises(AllProvidersFailed) as caught:
        await router.submit(job_of(V3, V3_SEED), "live")
    assert second.submits == []
    assert "second: not tried: no time was left" in caught.value.message


def job_of(model: str, values: dict[str, Any]) -> VideoJob:
    return job(model, values, external_id="t1")


async def test_a_resubmit_after_a_lost_answer_never_falls_through(
    make_service,  # type: ignore[no-untyped-def]
    clock: FakeClock,
) -> None:
    """Only the provider that said "absent" may get the task again, and only that one."""
    first, second = ScriptedProvider("first", (V3,)), ScriptedProvider("second", (V3,))
    service = make_service(first, second)
    first.submit_outcomes.append(ProviderOutcomeUnknown("first", "reset after sending"))
    result = await submit(service, V3, V3_SEED)
    first.by_external.clear()  # the official API says it never got it
    first.submit_outcomes.append(ProviderUnavailable("first", "503 maintenance", status=503))
    clock.advance(61)
    task = await service.get(owner="alice", task_id=result.record.task_id)
    assert second.submits == [] and len(first.submits) == 2
    assert task.provider == "first" and task.upstream_id is None


async def test_a_resubmit_whose_answer_is_lost_again_stays_with_its_provider(
    make_service,  # type: ignore[no-untyped-def]
    clock: FakeClock,
) -> None:
    first, second = ScriptedProvider("first", (V3,)), ScriptedProvider("second", (V3,))
    service = make_service(first, second)
    first.submit_outcomes.append(ProviderOutcomeUnknown("first", "reset"))
    result = await submit(service, V3, V3_SEED)
    first.by_external.clear()
    first.submit_outcomes.append(ProviderOutcomeUnknown("first", "reset again"))
    clock.advance(61)
    task = await service.get(owner="alice", task_id=result.record.task_id)
    assert (task.provider, task.submit_state) == ("first", "unknown")
    assert second.submits == [] and second.lookups == []


async def test_a_provider_that_stopped_serving_the_model_leaves_its_task_as_it_was(
    make_service,  # type: ignore[no-untyped-def]
    clock: FakeClock,
) -> None:
    """Reconfigured without the model, it cannot be asked: no error, and no resubmit."""
    kling = ScriptedProvider("kling", (V3,))
    kling.submit_outcomes.append(ProviderOutcomeUnknown("kling", "reset"))
    result = await submit(make_service(kling), V3, V3_SEED)
    trimmed = ScriptedProvider("kling", ("kling-v2-6",))
    clock.advance(61)
    task = await make_service(trimmed).get(owner="alice", task_id=result.record.task_id)
    assert task.status is TaskStatus.QUEUED and task.submit_state == "unknown"
    assert trimmed.lookups == [] and trimmed.submits == []
