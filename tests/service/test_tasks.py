"""The task lifecycle through TaskService, on the real store with a scripted upstream."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import msgspec
import pytest

from adapter.core.errors import (
    AllProvidersFailed,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    InvalidRequest,
    ProviderOutcomeUnknown,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
    TaskNotFound,
    UnknownModel,
)
from adapter.core.values import TaskStatus, UpstreamState, Video
from adapter.service.tasks import TaskService
from adapter.service.writer import TaskWriter
from adapter.stores.redis import RedisTaskStore
from tests.fakes import MODEL, FakeClock, FakeMedia, ScriptedProvider, seed_input
from tests.waiting import SOON_S, until

pytestmark = pytest.mark.anyio
#: How long a retry waits for the first request of its Idempotency-Key where that one must
#: end in time: generous, since the wait ends as soon as it has (CI's machine is shared).
FIRST_ENDS_S = SOON_S
#: A refresh interval no test outlasts: reads one after another are never due again.
NOT_DUE_AGAIN_S = 60.0


async def submit(service: TaskService, key: str | None = "k1", owner: str = "alice", **changes):  # type: ignore[no-untyped-def]
    return await service.submit(
        owner=owner, model=MODEL, values=seed_input(**changes), idempotency_key=key
    )


async def test_submit_stores_a_queued_task_priced_from_the_probed_video(
    service: TaskService, provider: ScriptedProvider
) -> None:
    """The seed's 8 s reference video in std mode is estimated at exactly 0.06426."""
    result = await submit(service)
    assert result.record.status is TaskStatus.QUEUED
    assert result.record.cost_estimate == Decimal("0.06426")
    assert result.record.upstream_id == "up_1"
    assert not result.replayed


async def test_our_task_id_is_sent_upstream_as_the_external_id(
    service: TaskService, provider: ScriptedProvider
) -> None:
    """The task id exists before the upstream call and travels as external_task_id."""
    result = await submit(service)
    assert provider.submits[0].external_id == result.record.task_id


async def test_same_key_and_body_replays_the_original_task_without_a_new_call(
    service: TaskService, provider: ScriptedProvider
) -> None:
    """A retried request gets the original task, flagged as a replay, and costs nothing more."""
    first = await submit(service)
    again = await submit(service)
    assert again.replayed
    assert again.record.task_id == first.record.task_id
    assert len(provider.submits) == 1


async def test_an_omitted_default_is_the_same_request_as_the_default_spelled_out(
    service: TaskService, provider: ScriptedProvider
) -> None:
    """Fingerprints are taken after defaults: keep_original_sound omitted equals "yes"."""
    await submit(service)
    values = seed_input()
    del values["keep_original_sound"]
    again = await service.submit(owner="alice", model=MODEL, values=values, idempotency_key="k1")
    assert again.replayed
    assert len(provider.submits) == 1


async def test_same_key_with_another_body_is_a_conflict(service: TaskService) -> None:
    """Reusing a key for different input is refused, not silently replayed."""
    await submit(service)
    with pytest.raises(IdempotencyKeyReused):
        await submit(service, mode="pro")


async def test_keys_are_scoped_to_their_owner(
    service: TaskService, provider: ScriptedProvider
) -> None:
    """Two owners may use the same Idempotency-Key for their own tasks."""
    a = await submit(service, owner="alice")
    b = await submit(service, owner="bob")
    assert a.record.task_id != b.record.task_id
    assert len(provider.submits) == 2


async def test_concurrent_identical_submits_make_one_task_and_one_upstream_call(
    make_service,
    provider: ScriptedProvider,  # type: ignore[no-untyped-def]
) -> None:
    """Ten racing retries of one request produce exactly one upstream call and one task."""
    service = make_service(provider, wait_s=FIRST_ENDS_S)
    provider.gate = asyncio.Event()
    racing = [asyncio.create_task(submit(service)) for _ in range(10)]
    await asyncio.sleep(0.05)
    provider.gate.set()
    results = await asyncio.gather(*racing)
    assert len(provider.submits) == 1
    assert len({r.record.task_id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1


async def test_a_request_still_submitting_makes_the_retry_wait_then_409(
    service: TaskService, provider: ScriptedProvider
) -> None:
    """While the first request is in flight a retry waits briefly, then is told to retry."""
    provider.gate = asyncio.Event()
    first = asyncio.create_task(submit(service))
    await until(lambda: bool(provider.submits))  # the first is at the upstream
    with pytest.raises(IdempotencyInProgress) as caught:
        await submit(service)
    assert caught.value.retry_after >= 1
    provider.gate.set()
    await first


async def test_an_upstream_rejection_releases_the_key_and_keeps_no_task(
    service: TaskService, provider: ScriptedProvider, store: RedisTaskStore
) -> None:
    """A definite "no" frees the key: the same request may be retried as new."""
    provider.submit_outcomes.append(ProviderRejected("kling", "image too small", status=400))
    with pytest.raises(ProviderRejected):
        await submit(service)
    assert await store.get_task(provider.submits[0].external_id) is None
    retried = await submit(service)
    assert not retried.replayed
    assert len(provider.submits) == 2


async def test_an_unknown_outcome_keeps_the_key_and_the_queued_task(
    service: TaskService, provider: ScriptedProvider
) -> None:
    """A timeout after sending is not a failure: the task stays queued and retries replay it."""
    provider.submit_outcomes.append(ProviderOutcomeUnknown("kling", "read timeout"))
    first = await submit(service)
    assert first.record.status is TaskStatus.QUEUED
    assert first.record.submit_state == "unknown"
    again = await submit(service)
    assert again.replayed and again.record.task_id == first.record.task_id
    assert len(provider.submits) == 1


async def test_a_lost_submit_answer_is_reconciled_by_external_id(
    service: TaskService, provider: ScriptedProvider
) -> None:
    """The upstream got the task although we never heard back: reading the task adopts it."""
    provider.submit_outcomes.append(ProviderOutcomeUnknown("kling", "read timeout"))
    first = await submit(service)
    provider.set_state("up_lost", TaskStatus.PROCESSING)
    provider.by_external[first.record.task_id] = provider.states["up_lost"]  # type: ignore[assignment]
    task = await service.get(owner="alice", task_id=first.record.task_id)
    assert task.upstream_id == "up_lost"
    assert task.status is TaskStatus.PROCESSING
    assert provider.lookups == [first.record.task_id]
    assert len(provider.submits) == 1


async def test_a_submit_that_never_arrived_is_sent_again_under_the_same_id(
    service: TaskService, provider: ScriptedProvider, clock: FakeClock
) -> None:
    """Still not found after the submit window: resubmitted under the same external id."""
    provider.submit_outcomes.append(ProviderOutcomeUnknown("kling", "connection reset"))
    first = await submit(service)
    provider.by_external.clear()
    task = await service.get(owner="alice", task_id=first.record.task_id)
    assert len(provider.submits) == 1 and task.upstream_id is None
    clock.advance(61)
    await asyncio.sleep(0.06)
    task = await service.get(owner="alice", task_id=first.record.task_id)
    assert [j.external_id for j in provider.submits] == [first.record.task_id] * 2
    assert task.upstream_id is not None


async def test_submit_falls_through_to_the_next_provider_only_when_unavailable(
    make_service,
    provider: ScriptedProvider,  # type: ignore[no-untyped-def]
) -> None:
    """A busy first provider hands the task to the second; polling then stays there."""
    second = ScriptedProvider(name="backup")
    service = make_service(provider, second)
    provider.submit_outcomes.append(ProviderRateLimited("kling", "too many", retry_after=3))
    result = await submit(service)
    assert result.record.provider == "backup"
    second.set_state("up_1", TaskStatus.PROCESSING)
    await service.get(owner="alice", task_id=result.record.task_id)
    assert second.queries == ["up_1"] and provider.queries == []


async def test_a_rejection_is_never_retried_on_another_provider(
    make_service,
    provider: ScriptedProvider,  # type: ignore[no-untyped-def]
) -> None:
    """A definite rejection stops the chain: the backup is not asked."""
    second = ScriptedProvider(name="backup")
    service = make_service(provider, second)
    provider.submit_outcomes.append(ProviderRejected("kling", "content policy", status=400))
    with pytest.raises(ProviderRejected):
        await submit(service)
    assert second.submits == []


async def test_when_every_provider_is_unavailable_the_key_is_released(
    service: TaskService, provider: ScriptedProvider
) -> None:
    """Nothing was created anywhere, so the same request may be retried later as new."""
    provider.submit_outcomes.append(ProviderUnavailable("kling", "503 maintenance", status=503))
    with pytest.raises(AllProvidersFailed) as caught:
        await submit(service)
    assert "503 maintenance" in caught.value.message
    assert not (await submit(service)).replayed


async def test_reading_a_task_follows_the_upstream_to_success_with_the_actual_cost(
    service: TaskService, provider: ScriptedProvider
) -> None:
    """queued -> processing -> succeeded, each move recorded once; cost from output seconds."""
    task_id = (await submit(service)).record.task_id
    provider.set_state("up_1", TaskStatus.PROCESSING)
    assert (await service.get(owner="alice", task_id=task_id)).status is TaskStatus.PROCESSING
    await asyncio.sleep(0.06)
    provider.set_state("up_1", TaskStatus.SUCCEEDED, seconds=8.0)
    await asyncio.sleep(0.06)
    done = await service.get(owner="alice", task_id=task_id)
    assert done.status is TaskStatus.SUCCEEDED
    assert done.cost_actual == Decimal("0.06426")
    assert done.videos is not None and done.videos[0].url == "https://cdn.test/up_1.mp4"
    await asyncio.sleep(0.06)
    await service.get(owner="alice", task_id=task_id)
    events = await service.events(owner="alice", task_id=task_id)
    assert [e.status for e in events] == ["queued", "processing", "succeeded"]
    assert [e.id for e in events] == sorted(e.id for e in events)


async def test_a_failed_task_carries_the_upstream_reason_and_costs_nothing(
    service: TaskService, provider: ScriptedProvider
) -> None:
    """The failure reason is the upstream's; cost_actual is zero."""
    task_id = (await submit(service)).record.task_id
    provider.set_state("up_1", TaskStatus.FAILED, message="content risk control")
    task = await service.get(owner="alice", task_id=task_id)
    assert task.status is TaskStatus.FAILED
    assert task.error is not None and task.error.message == "content risk control"
    assert task.cost_actual == Decimal(0)


@pytest.mark.parametrize(
    "trouble",
    [
        ProviderRateLimited("kling", "429"),
        ProviderUnavailable("kling", "500", status=500),
        ProviderOutcomeUnknown("kling", "read timeout"),
    ],
)
async def test_polling_errors_never_fail_a_task(
    service: TaskService, provider: ScriptedProvider, trouble: Exception
) -> None:
    """429, 5xx and timeouts while polling leave the task as it was."""
    task_id = (await submit(service)).record.task_id
    provider.states["up_1"] = trouble
    task = await service.get(owner="alice", task_id=task_id)
    assert task.status is TaskStatus.QUEUED
    assert task.error is None


async def test_refresh_is_single_flight_and_rate_limited(
    make_service,
    provider: ScriptedProvider,  # type: ignore[no-untyped-def]
) -> None:
    """Many readers at once cause one upstream query; a read right after causes none."""
    service = make_service(provider, refresh_interval_s=NOT_DUE_AGAIN_S)
    task_id = (await submit(service)).record.task_id
    await asyncio.gather(*(service.get(owner="alice", task_id=task_id) for _ in range(10)))
    await service.get(owner="alice", task_id=task_id)
    assert len(provider.queries) == 1


class CountingLeases(RedisTaskStore):
    """The real store, counting the refresh leases asked for (each one a round trip)."""

    leases = 0

    async def acquire_refresh(self, task_id: str, hold_ms: int) -> bool:
        self.leases += 1
        return await super().acquire_refresh(task_id, hold_ms)


async def test_a_read_of_a_task_that_is_not_due_asks_the_store_for_no_lease(
    make_service,
    store: RedisTaskStore,
    provider: ScriptedProvider,  # type: ignore[no-untyped-def]
) -> None:
    """Polled faster than the refresh interval, a task costs one read a poll, not a lease
    round trip as well; after the interval, the next read goes for the lease again."""
    counting = CountingLeases(store.redis, namespace=store.namespace, task_ttl_s=3600)
    service = make_service(provider, store=counting, refresh_interval_s=0.2)
    task_id = (await submit(service)).record.task_id
    for _ in range(5):
        await service.get(owner="alice", task_id=task_id)
    assert counting.leases == 1 and len(provider.queries) == 1
    await asyncio.sleep(0.25)
    await service.get(owner="alice", task_id=task_id)
    assert counting.leases == 2 and len(provider.queries) == 2


async def test_another_owners_task_is_not_found(service: TaskService) -> None:
    """Ids leak nothing: someone else's task and its events look absent."""
    task_id = (await submit(service)).record.task_id
    with pytest.raises(TaskNotFound):
        await service.get(owner="mallory", task_id=task_id)
    with pytest.raises(TaskNotFound):
        await service.events(owner="mallory", task_id=task_id)


async def test_a_reference_video_too_long_for_the_orientation_is_refused(
    service: TaskService, media: FakeMedia, provider: ScriptedProvider
) -> None:
    """character_orientation image allows 3-10 s; 12 s is refused on input.video_url."""
    media.video_seconds = 12.0
    with pytest.raises(InvalidRequest) as caught:
        await submit(service)
    assert caught.value.param == "input.video_url"
    assert "3-10 s" in caught.value.message
    assert provider.submits == []
    media.video_seconds = 12.0
    assert (
        await submit(service, key="k2", character_orientation="video")
    ).record.cost_estimate == Decimal("0.096390")


async def test_an_unreachable_video_is_estimated_at_the_longest_allowed_in_best_effort(
    service: TaskService, media: FakeMedia
) -> None:
    """best_effort: 10 s assumed for orientation image, and the task says so."""
    media.unreachable = True
    record = (await submit(service)).record
    assert record.cost_estimate == Decimal("0.080325")
    assert [n.code for n in record.notices] == ["video_duration_estimated"]


async def test_an_unreachable_video_is_refused_when_probing_is_required(
    make_service,
    media: FakeMedia,
    provider: ScriptedProvider,  # type: ignore[no-untyped-def]
) -> None:
    """required: a 422 on input.video_url, and the key is free for a fixed retry."""
    service = make_service(provider, probe="required")
    media.unreachable = True
    with pytest.raises(InvalidRequest) as caught:
        await submit(service)
    assert caught.value.param == "input.video_url"
    media.unreachable = False
    assert not (await submit(service)).replayed


async def test_schema_errors_name_the_field(service: TaskService) -> None:
    """A bad enum value is refused with param input.mode."""
    with pytest.raises(InvalidRequest) as caught:
        await submit(service, mode="turbo")
    assert caught.value.param == "input.mode"


async def test_an_unknown_model_is_refused(service: TaskService) -> None:
    """Only the catalog's models are served."""
    with pytest.raises(UnknownModel):
        await service.submit(owner="a", model="sora-9", values={}, idempotency_key=None)


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "naïve"])
async def test_malformed_idempotency_keys_are_refused(service: TaskService, key: str) -> None:
    """Keys are 1-255 visible ASCII characters."""
    with pytest.raises(InvalidRequest) as caught:
        await submit(service, key=key)
    assert caught.value.param == "Idempotency-Key"


async def test_a_hung_upstream_submit_is_cut_off_as_an_unknown_outcome(make_service) -> None:  # type: ignore[no-untyped-def]
    """A submit is hard-bounded: past the timeout the task stays queued, to be reconciled."""

    provider = ScriptedProvider()
    provider.gate = asyncio.Event()  # never opened: the upstream never answers
    service = make_service(provider, upstream_timeout_s=0.1, wait_s=0.2)
    result = await submit(service)
    assert result.record.status is TaskStatus.QUEUED
    assert result.record.submit_state == "unknown"


async def test_a_rejection_that_lost_the_race_to_an_adoption_keeps_the_task(
    service: TaskService, provider: ScriptedProvider, store: RedisTaskStore
) -> None:
    """If a reconcile adopted the task while its first submit was refused, the task is kept."""
    provider.gate = asyncio.Event()
    provider.submit_outcomes.append(ProviderRejected("kling", "duplicate external_task_id"))
    first = asyncio.create_task(submit(service))
    await until(lambda: bool(provider.submits))  # the first is at the upstream
    task_id = provider.submits[0].external_id
    stored = await store.get_task(task_id)
    assert stored is not None
    adopted = msgspec.structs.replace(
        stored,
        version=2,
        upstream_id="up_9",
        provider="kling",
        upstream_route="motion-control",
        submit_state="accepted",
    )
    assert await store.update_task(adopted, None)
    provider.set_state("up_9", TaskStatus.PROCESSING)
    provider.gate.set()
    result = await first
    assert result.record.upstream_id == "up_9"
    assert (await submit(service)).replayed


async def test_a_gateway_that_cannot_tell_is_never_sent_the_task_twice(
    service: TaskService, provider: ScriptedProvider, clock: FakeClock
) -> None:
    """No authoritative "not found": wait, then fail as upstream_outcome_unknown, one submit."""
    provider.submit_outcomes.append(ProviderOutcomeUnknown("kling", "read timeout"))
    provider.lookup_cannot_tell = True
    task_id = (await submit(service)).record.task_id
    provider.by_external.clear()
    for seconds in (61, 600):
        clock.advance(seconds)
        await asyncio.sleep(0.06)
        task = await service.get(owner="alice", task_id=task_id)
    assert len(provider.submits) == 1
    assert task.status is TaskStatus.FAILED
    assert task.error is not None and task.error.code == "upstream_outcome_unknown"
    assert task_id in task.error.message


async def test_a_resubmit_refused_as_a_duplicate_adopts_the_original(
    service: TaskService, provider: ScriptedProvider, clock: FakeClock
) -> None:
    """The original landed late: the resubmit's refusal leads to a lookup, not a failure."""
    provider.submit_outcomes.append(ProviderOutcomeUnknown("kling", "read timeout"))
    task_id = (await submit(service)).record.task_id
    provider.by_external.clear()
    clock.advance(61)
    late = UpstreamState("up_late", TaskStatus.PROCESSING, route="motion-control")

    class LandsLate(ProviderRejected):
        def __init__(self) -> None:
            super().__init__("kling", "external_task_id already exists", status=400)
            provider.by_external[task_id] = late

    provider.submit_outcomes.append(LandsLate())
    task = await service.get(owner="alice", task_id=task_id)
    assert task.upstream_id == "up_late"
    assert task.status is TaskStatus.PROCESSING


async def test_success_without_a_video_is_recorded_as_failed_in_task_and_events(
    service: TaskService, provider: ScriptedProvider
) -> None:
    """The event log says what the task says: failed, with the reason."""
    task_id = (await submit(service)).record.task_id
    provider.set_state("up_1", TaskStatus.SUCCEEDED)
    task = await service.get(owner="alice", task_id=task_id)
    assert task.status is TaskStatus.FAILED
    events = await service.events(owner="alice", task_id=task_id)
    assert events[-1].status is TaskStatus.FAILED
    assert events[-1].message == "The upstream reported success but sent no video."


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), -5.0])
async def test_a_nonsense_output_duration_is_charged_at_the_estimate(
    service: TaskService, provider: ScriptedProvider, seconds: float
) -> None:
    """NaN, infinite or negative lengths never break a task or make a negative charge."""
    task_id = (await submit(service)).record.task_id
    provider.states["up_1"] = UpstreamState(
        "up_1",
        TaskStatus.SUCCEEDED,
        route="motion-control",
        videos=(Video("https://cdn.test/v.mp4", seconds),),
    )
    task = await service.get(owner="alice", task_id=task_id)
    assert task.status is TaskStatus.SUCCEEDED
    assert task.cost_actual == task.cost_estimate


async def test_a_failed_media_check_cancels_the_others(
    service: TaskService, media: FakeMedia
) -> None:
    """A bad image answers at once, and the video probe still running is stopped."""
    media.bad_image = True
    media.video_gate = asyncio.Event()
    with pytest.raises(InvalidRequest) as caught:
        await submit(service)
    assert caught.value.param == "input.image_url"
    assert media.cancelled_probes == 1


async def test_a_status_never_moves_without_its_event(make_parts, store: RedisTaskStore) -> None:  # type: ignore[no-untyped-def]
    """The writer refuses to store a status move that has no event (the store would move the
    record but not its index, schedule or counters); nothing is written."""
    parts = make_parts(ScriptedProvider())
    writer = TaskWriter(
        store=store,
        catalog=parts.catalog,
        router=parts.router,
        clock=FakeClock(),
        metrics=parts.metrics,
    )
    record = (await submit(parts.tasks)).record
    with pytest.raises(ValueError, match="only with its event"):
        await writer.save(record, status=TaskStatus.PROCESSING)
    assert await store.get_task(record.task_id) == record
