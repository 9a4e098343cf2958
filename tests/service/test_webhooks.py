"""Webhook deliveries: signed per Standard Webhooks, retried on SCHEDULE, recorded as events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from adapter.bootstrap.parts import Parts
from adapter.core.errors import InvalidRequest, StoreUnavailable
from adapter.core.task_body import rfc3339
from adapter.core.values import Event, TaskRecord, TaskStatus
from adapter.service.keys import ROTATION_GRACE, KeyService
from adapter.service.reconciler import Reconciler
from adapter.service.tasks import TaskService
from adapter.service.webhooks import ATTEMPTS, SCHEDULE, WebhookDispatcher
from adapter.stores.redis import RedisTaskStore
from adapter.stores.redis_keys import RedisKeyStore
from tests.fakes import MODEL, FakeClock, FakeWebhooks, ScriptedProvider, seed_input
from tests.metrics import sample

pytestmark = pytest.mark.anyio

HOOK = "https://hooks.example/mindvideo"
KEY_ID = "key_alice"


@pytest.fixture
def clock() -> FakeClock:
    """Near the real time: the reference library refuses timestamps more than 5 min off."""
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def keys(key_store: RedisKeyStore, clock: FakeClock) -> KeyService:
    return KeyService(key_store, clock=clock)


@pytest.fixture
def receiver() -> FakeWebhooks:
    return FakeWebhooks()


@pytest.fixture
def parts(make_parts, provider: ScriptedProvider, receiver: FakeWebhooks) -> Parts:  # type: ignore[no-untyped-def]
    parts: Parts = make_parts(provider, webhooks=receiver, refresh_interval_s=0.001)
    return parts


@pytest.fixture
def service(parts: Parts) -> TaskService:
    return parts.tasks


@pytest.fixture
def dispatcher(
    store: RedisTaskStore, receiver: FakeWebhooks, keys: KeyService, clock: FakeClock, parts: Parts
) -> WebhookDispatcher:
    return WebhookDispatcher(
        store=store,
        schedules=store,
        sender=receiver,
        keys=keys,
        clock=clock,
        metrics=parts.metrics,
        jitter=lambda: 0.5,
    )


@pytest.fixture
def reconciler(
    store: RedisTaskStore, parts: Parts, dispatcher: WebhookDispatcher, clock: FakeClock
) -> Reconciler:
    return reconciler_on(store, store, parts, dispatcher, clock)


def reconciler_on(
    tasks: RedisTaskStore,
    store: RedisTaskStore,
    parts: Parts,
    dispatcher: WebhookDispatcher,
    clock: FakeClock,
) -> Reconciler:
    """Built as ``adapter.bootstrap.parts`` builds it, on the fake receiver, reading the tasks
    from ``tasks`` (the schedules are ``store``'s)."""
    return Reconciler(
        store=tasks,
        schedules=store,
        refresher=parts.refresher,
        webhooks=dispatcher,
        clock=clock,
        metrics=parts.metrics,
        min_interval_s=2,
        max_interval_s=30,
        deadline_s=3600,
        hold_s=40,
        per_provider=8,
        jitter=lambda: 0.5,
    )


async def submit(service: TaskService, webhook_url: str | None = HOOK) -> str:
    result = await service.submit(
        owner="alice",
        model=MODEL,
        values=seed_input(),
        idempotency_key=None,
        webhook_url=webhook_url,
        key_id=KEY_ID,
    )
    return result.record.task_id


async def succeeded(service: TaskService, provider: ScriptedProvider) -> str:
    """A task with a webhook that a read has moved to ``succeeded``."""
    task_id = await submit(service)
    provider.set_state("up_1", TaskStatus.SUCCEEDED, seconds=8)
    task = await service.get(owner="alice", task_id=task_id)
    assert task.status is TaskStatus.SUCCEEDED
    return task_id


async def attempts(store: RedisTaskStore, task_id: str) -> list[Event]:
    return [e for e in await store.list_events(task_id) if e.type == "webhook"]


async def is_due(store: RedisTaskStore, task_id: str, at: datetime) -> bool:
    """Whether the delivery is due by ``at`` (claimed with no hold: left due)."""
    return task_id in await store.claim_due("webhooks", now=at, limit=10, hold_s=0)


def verify(secret: str, post: tuple[str, bytes, dict[str, str]]) -> Any:
    _, body, headers = post
    return Webhook(secret).verify(body, headers)


def is_signed(secret: str, post: tuple[str, bytes, dict[str, str]]) -> bool:
    """Whether ``secret`` signed ``post``, however long ago (``verify`` allows 5 min)."""
    _, body, headers = post
    sent_at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    expected = Webhook(secret).sign(headers["webhook-id"], sent_at, body.decode())
    return expected in headers["webhook-signature"].split(" ")


async def test_a_delivery_verifies_with_the_keys_secret_and_carries_the_task(
    service: TaskService,
    provider: ScriptedProvider,
    dispatcher: WebhookDispatcher,
    receiver: FakeWebhooks,
    keys: KeyService,
    clock: FakeClock,
) -> None:
    """The body is {type, timestamp (when it ended), data: the task}, signed with the key's."""
    task_id = await succeeded(service, provider)
    ended_at = clock.now
    clock.advance(2.5)
    await dispatcher.deliver(task_id)
    [post] = receiver.posts
    assert post[0] == HOOK
    payload = verify((await keys.signing_secrets(KEY_ID)).current, post)
    assert payload["type"] == "task.succeeded"
    assert payload["timestamp"] == rfc3339(ended_at)
    data = payload["data"]
    assert (data["task_id"], data["status"]) == (task_id, "succeeded")
    assert data["output"] == {"videos": [{"url": "https://cdn.test/up_1.mp4", "duration": 8.0}]}
    assert post[2]["webhook-timestamp"] == str(int(clock.now.timestamp()))


async def test_another_keys_secret_does_not_verify(
    service: TaskService,
    provider: ScriptedProvider,
    dispatcher: WebhookDispatcher,
    receiver: FakeWebhooks,
    keys: KeyService,
) -> None:
    """Each API key signs with its own secret."""
    task_id = await succeeded(service, provider)
    await dispatcher.deliver(task_id)
    with pytest.raises(WebhookVerificationError):
        verify((await keys.signing_secrets("key_bob")).current, receiver.posts[0])


async def test_after_a_rotation_both_secrets_verify_for_the_grace(
    service: TaskService,
    provider: ScriptedProvider,
    dispatcher: WebhookDispatcher,
    receiver: FakeWebhooks,
    keys: KeyService,
) -> None:
    """Two v1 signatures: a receiver still on the old secret keeps verifying."""
    old = (await keys.signing_secrets(KEY_ID)).current
    new = (await keys.rotate_signing_secret(KEY_ID)).current
    task_id = await succeeded(service, provider)
    await dispatcher.deliver(task_id)
    [post] = receiver.posts
    assert len(post[2]["webhook-signature"].split(" ")) == 2
    verify(new, post)
    verify(old, post)


async def test_after_the_grace_only_the_new_secret_verifies(
    service: TaskService,
    provider: ScriptedProvider,
    dispatcher: WebhookDispatcher,
    receiver: FakeWebhooks,
    keys: KeyService,
    clock: FakeClock,
) -> None:
    """A rotation a little over 24 h ago: the old secret no longer signs."""
    now = clock.now
    clock.now = now - ROTATION_GRACE - timedelta(seconds=1)
    old = (await keys.signing_secrets(KEY_ID)).current
    new = (await keys.rotate_signing_secret(KEY_ID)).current
    clock.now = now
    task_id = await succeeded(service, provider)
    await dispatcher.deliver(task_id)
    [post] = receiver.posts
    assert len(post[2]["webhook-signature"].split(" ")) == 1
    verify(new, post)
    with pytest.raises(WebhookVerificationError):
        verify(old, post)


async def test_a_failed_delivery_is_retried_on_schedule_until_a_2xx(
    service: TaskService,
    provider: ScriptedProvider,
    store: RedisTaskStore,
    dispatcher: WebhookDispatcher,
    receiver: FakeWebhooks,
    keys: KeyService,
    clock: FakeClock,
    parts: Parts,
) -> None:
    """500, then no answer, then 200: three attempts as events, the last one "Delivered"."""
    receiver.statuses.extend([500, 0, 200])
    task_id = await succeeded(service, provider)
    for attempt in (1, 2):
        await dispatcher.deliver(task_id)
        wait = timedelta(seconds=SCHEDULE[attempt - 1])
        assert not await is_due(store, task_id, clock.now + wait - timedelta(milliseconds=1))
        assert await is_due(store, task_id, clock.now + wait)
        clock.now += wait
    await dispatcher.deliver(task_id)
    events = await attempts(store, task_id)
    assert [(e.attempt, e.response_status) for e in events] == [(1, 500), (2, None), (3, 200)]
    assert "next attempt in 5 s" in (events[0].message or "")
    assert "ConnectError" in (events[1].message or "")
    assert (events[2].message or "").startswith(f"Delivered to {HOOK}")
    assert not await is_due(store, task_id, clock.now + timedelta(days=30))
    ids = {headers["webhook-id"] for _, _, headers in receiver.posts}
    assert len(receiver.posts) == 3 and len(ids) == 1
    secret = (await keys.signing_secrets(KEY_ID)).current
    assert all(is_signed(secret, post) for post in receiver.posts)
    stamps = [int(headers["webhook-timestamp"]) for _, _, headers in receiver.posts]
    assert stamps == sorted(set(stamps))  # each attempt is signed at its own time
    ended = {json.loads(body)["timestamp"] for _, body, _ in receiver.posts}
    assert len(ended) == 1  # the event's own time does not move
    attempted = {
        outcome: sample(parts.metrics, "mva_webhook_attempts_total", outcome=outcome)
        for outcome in ("delivered", "failed", "gave_up")
    }
    assert attempted == {"delivered": 1, "failed": 2, "gave_up": 0}


async def test_a_delivery_gives_up_after_every_attempt_failed(
    service: TaskService,
    provider: ScriptedProvider,
    store: RedisTaskStore,
    dispatcher: WebhookDispatcher,
    receiver: FakeWebhooks,
    clock: FakeClock,
    parts: Parts,
) -> None:
    """ATTEMPTS attempts spread over more than 24 h, then none: the delivery is dropped."""
    receiver.statuses.extend([503] * (ATTEMPTS + 1))
    task_id = await succeeded(service, provider)
    start = clock.now
    for attempt in range(1, ATTEMPTS):
        await dispatcher.deliver(task_id)
        clock.advance(SCHEDULE[attempt - 1])
        assert await is_due(store, task_id, clock.now)
    await dispatcher.deliver(task_id)
    assert clock.now - start >= timedelta(hours=24)
    events = await attempts(store, task_id)
    assert [e.attempt for e in events] == list(range(1, ATTEMPTS + 1))
    assert f"gave up after {ATTEMPTS} attempts" in (events[-1].message or "")
    assert not await is_due(store, task_id, clock.now + timedelta(days=30))
    await dispatcher.deliver(task_id)  # claimed anyway (e.g. a stale hold): nothing more
    assert len(receiver.posts) == ATTEMPTS
    assert len(await attempts(store, task_id)) == ATTEMPTS
    attempted = {
        outcome: sample(parts.metrics, "mva_webhook_attempts_total", outcome=outcome)
        for outcome in ("delivered", "failed", "gave_up")
    }
    assert attempted == {"delivered": 0, "failed": ATTEMPTS - 1, "gave_up": 1}


async def test_an_unexpected_error_in_an_attempt_is_a_recorded_failed_attempt(
    service: TaskService,
    provider: ScriptedProvider,
    store: RedisTaskStore,
    reconciler: Reconciler,
    dispatcher: WebhookDispatcher,
    receiver: FakeWebhooks,
    clock: FakeClock,
) -> None:
    """An error no sender maps is still an attempt: recorded, retried on SCHEDULE, and given
    up after ATTEMPTS, never retried forever unrecorded."""
    receiver.error = ValueError("Cannot combine AUTHORIZATION header with credentials in URL")
    task_id = await succeeded(service, provider)
    await reconciler.round()
    [first] = await attempts(store, task_id)
    assert (first.attempt, first.response_status) == (1, None)
    assert "ValueError" in (first.message or "") and "next attempt in 5 s" in (first.message or "")
    assert not await is_due(store, task_id, clock.now + timedelta(seconds=4))
    for attempt in range(1, ATTEMPTS):
        clock.advance(SCHEDULE[attempt - 1])
        assert await is_due(store, task_id, clock.now)
        await dispatcher.deliver(task_id)
    events = await attempts(store, task_id)
    assert [e.attempt for e in events] == list(range(1, ATTEMPTS + 1))
    assert f"gave up after {ATTEMPTS} attempts" in (events[-1].message or "")
    assert not await is_due(store, task_id, clock.now + timedelta(days=30))
    assert len(receiver.posts) == ATTEMPTS


async def test_a_reconciler_round_delivers_a_succeeded_task_once(
    service: TaskService,
    provider: ScriptedProvider,
    store: RedisTaskStore,
    reconciler: Reconciler,
    receiver: FakeWebhooks,
    keys: KeyService,
    clock: FakeClock,
) -> None:
    """Submit with webhook_url, succeed on read, then round(): exactly one signed POST."""
    task_id = await succeeded(service, provider)
    await reconciler.round()
    [post] = receiver.posts
    assert verify((await keys.signing_secrets(KEY_ID)).current, post)["type"] == "task.succeeded"
    clock.advance(3600)
    await reconciler.round()
    await service.get(owner="alice", task_id=task_id)
    assert len(receiver.posts) == 1
    [event] = await attempts(store, task_id)
    assert (event.attempt, event.response_status) == (1, 200)


async def test_a_cancelled_task_is_delivered_as_task_cancelled(
    service: TaskService, reconciler: Reconciler, receiver: FakeWebhooks
) -> None:
    """Every way a task ends queues its delivery, the client's cancel too."""
    task_id = await submit(service)
    await service.cancel(owner="alice", task_id=task_id)
    await reconciler.round()
    [(_, body, _)] = receiver.posts
    payload = json.loads(body)
    assert payload["type"] == "task.cancelled"
    assert (payload["data"]["task_id"], payload["data"]["status"]) == (task_id, "cancelled")


async def test_a_failed_task_is_delivered_as_task_failed_with_its_error(
    service: TaskService, provider: ScriptedProvider, reconciler: Reconciler, receiver: FakeWebhooks
) -> None:
    """The upstream's reason travels in data.error; nothing is charged."""
    task_id = await submit(service)
    provider.set_state("up_1", TaskStatus.FAILED, message="content policy")
    await service.get(owner="alice", task_id=task_id)
    await reconciler.round()
    [(_, body, _)] = receiver.posts
    payload = json.loads(body)
    assert payload["type"] == "task.failed"
    assert payload["data"]["error"] == {"code": "generation_failed", "message": "content policy"}
    assert payload["data"]["cost_actual"] == 0


async def test_two_processes_deliver_a_task_once(
    service: TaskService,
    parts: Parts,
    provider: ScriptedProvider,
    store: RedisTaskStore,
    reconciler: Reconciler,
    keys: KeyService,
    receiver: FakeWebhooks,
    clock: FakeClock,
) -> None:
    """Concurrent rounds on one store: the due delivery is claimed by one of them."""
    other = Reconciler(
        store=store,
        schedules=store,
        refresher=parts.refresher,
        webhooks=WebhookDispatcher(
            store=store,
            schedules=store,
            sender=receiver,
            keys=keys,
            clock=clock,
            metrics=parts.metrics,
        ),
        clock=clock,
        metrics=parts.metrics,
        min_interval_s=2,
        deadline_s=3600,
        hold_s=40,
    )
    await succeeded(service, provider)
    assert sorted(await asyncio.gather(reconciler.round(), other.round())) == [0, 1]
    assert len(receiver.posts) == 1


async def test_a_task_without_a_webhook_url_gets_no_delivery(
    service: TaskService,
    provider: ScriptedProvider,
    store: RedisTaskStore,
    reconciler: Reconciler,
    receiver: FakeWebhooks,
) -> None:
    """No webhook_url: nothing is scheduled, sent or recorded."""
    task_id = await submit(service, webhook_url=None)
    provider.set_state("up_1", TaskStatus.SUCCEEDED, seconds=8)
    await service.get(owner="alice", task_id=task_id)
    await reconciler.round()
    assert receiver.posts == []
    assert await attempts(store, task_id) == []
    assert (await store.get_task(task_id)).key_id is None  # type: ignore[union-attr]


async def test_a_webhook_url_to_a_non_public_host_is_refused_at_submit(
    service: TaskService, provider: ScriptedProvider
) -> None:
    """The sender's address rules apply before anything is stored or sent upstream."""
    with pytest.raises(InvalidRequest) as caught:
        await submit(service, webhook_url="https://x.internal/")
    assert caught.value.param == "webhook_url"
    assert provider.submits == []


class UnreadableTasks(RedisTaskStore):
    """The real store, whose reads of a round's tasks find Redis gone."""

    async def get_tasks(self, task_ids: Sequence[str]) -> list[TaskRecord | None]:
        raise StoreUnavailable("The task store is unavailable: ConnectionError.")


async def test_a_round_whose_tasks_cannot_be_read_still_delivers_its_webhooks(
    service: TaskService,
    provider: ScriptedProvider,
    store: RedisTaskStore,
    parts: Parts,
    dispatcher: WebhookDispatcher,
    receiver: FakeWebhooks,
    clock: FakeClock,
) -> None:
    """A due task and a due delivery in one round; reading the tasks fails: the delivery is
    made all the same, and the task waits for its hold to come due again."""
    await succeeded(service, provider)
    waiting = await submit(service, webhook_url=None)
    clock.advance(600)
    unreadable = UnreadableTasks(store.redis, namespace=store.namespace, task_ttl_s=3600)
    reconciler = reconciler_on(unreadable, store, parts, dispatcher, clock)
    assert await reconciler.round() == 2
    assert len(receiver.posts) == 1
    assert not await store.claim_due("tasks", now=clock.now, limit=10, hold_s=0)
    assert await store.claim_due(
        "tasks", now=clock.now + timedelta(seconds=40), limit=10, hold_s=0
    ) == [waiting]
