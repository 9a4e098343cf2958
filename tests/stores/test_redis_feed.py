"""Live readers: ``RedisEventFeed`` wake-ups and reading a task's events on from an id."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator

import fakeredis
import msgspec
import pytest
import redis.asyncio as aioredis
import redis.exceptions
from redis.exceptions import ConnectionError as RedisConnectionError

from adapter.bootstrap.redis_clients import make_redis
from adapter.config.settings import Settings
from adapter.core.errors import StoreUnavailable
from adapter.core.values import Event, TaskRecord, TaskStatus
from adapter.ports import Watch
from adapter.stores.redis import RedisTaskStore
from adapter.stores.redis_feed import RedisEventFeed
from tests.redis_server import RedisServer, needs_redis_server
from tests.stores.records import NOW, task_record

pytestmark = pytest.mark.anyio
BACKENDS = ["fakeredis"] + (["redis"] if os.environ.get("REDIS_URL") else [])
# Bounds for what must happen: generous, since a wait ends as soon as it is met, and CI's
# machine is shared (0.3 s to subscribe once timed out there).
SUBSCRIBE_S = 5.0
WAKE_S = 2.0


def record(task_id: str = "t") -> TaskRecord:
    return task_record(task_id, webhook_url="https://client.example/hook")


def status(value: TaskStatus) -> Event:
    return Event(type="status", status=value, at=NOW)


async def processing(store: RedisTaskStore, task_id: str = "t") -> None:
    moved = msgspec.structs.replace(record(task_id), version=2, status=TaskStatus.PROCESSING)
    assert await store.update_task(moved, status(TaskStatus.PROCESSING))


@pytest.fixture
async def feed(redis: aioredis.Redis, store: RedisTaskStore) -> AsyncIterator[RedisEventFeed]:
    feed = RedisEventFeed(redis, store.channels, subscribe_timeout_s=SUBSCRIBE_S)
    yield feed
    await feed.aclose()


@pytest.fixture(params=BACKENDS)
async def two_clients(
    request: pytest.FixtureRequest, namespace: str
) -> AsyncIterator[tuple[aioredis.Redis, aioredis.Redis]]:
    """Two clients of one Redis, as two processes would have."""
    if request.param == "fakeredis":
        server = fakeredis.FakeServer()
        clients = (fakeredis.FakeAsyncRedis(server=server), fakeredis.FakeAsyncRedis(server=server))
    else:
        url = os.environ["REDIS_URL"]
        clients = (aioredis.Redis.from_url(url), aioredis.Redis.from_url(url))
    yield clients
    async for key in clients[0].scan_iter(match=f"{namespace}:*"):
        await clients[0].delete(key)
    for client in clients:
        await client.aclose()


async def settle(watch: Watch) -> None:
    """Take the wake-up a fresh subscription gives every watcher (they re-read once)."""
    await watch.wait(0)


async def test_a_fresh_subscription_wakes_its_watchers_to_re_read(
    feed: RedisEventFeed,
) -> None:
    """Whatever was published before the feed listened is re-read, not missed."""
    async with feed.watch("t") as watch:
        assert await watch.wait(0)


async def test_a_watcher_wakes_when_its_task_gets_an_event(
    feed: RedisEventFeed, store: RedisTaskStore
) -> None:
    """update_task's appended event wakes the task's watcher."""
    await store.create_task(record(), status(TaskStatus.QUEUED))
    async with feed.watch("t") as watch:
        await settle(watch)
        await processing(store)
        assert await watch.wait(WAKE_S)


async def test_a_watcher_sleeps_through_another_tasks_events(
    feed: RedisEventFeed, store: RedisTaskStore
) -> None:
    """An event of another task does not wake the watcher; its own task's next one does."""
    await store.create_task(record("t"), status(TaskStatus.QUEUED))
    async with feed.watch("t") as watch:
        await settle(watch)
        await store.create_task(record("other"), status(TaskStatus.QUEUED))
        await processing(store, "other")
        assert not await watch.wait(0.1)
        await processing(store, "t")
        assert await watch.wait(WAKE_S)


async def test_a_watcher_wakes_for_an_append_made_by_another_client(
    two_clients: tuple[aioredis.Redis, aioredis.Redis], namespace: str
) -> None:
    """An event appended through another client of the same Redis (another process) wakes."""
    here, there = two_clients
    store_here = RedisTaskStore(here, namespace=namespace, task_ttl_s=3600)
    store_there = RedisTaskStore(there, namespace=namespace, task_ttl_s=3600)
    feed = RedisEventFeed(here, store_here.channels, subscribe_timeout_s=SUBSCRIBE_S)
    try:
        async with feed.watch("t") as watch:
            await settle(watch)
            await store_there.create_task(record(), status(TaskStatus.QUEUED))
            assert await watch.wait(WAKE_S)
            await processing(store_there)
            assert await watch.wait(WAKE_S)
    finally:
        await feed.aclose()
    assert [e.status for e in await store_here.list_events("t")] == ["queued", "processing"]


async def test_a_recorded_webhook_attempt_wakes_the_watcher(
    feed: RedisEventFeed, store: RedisTaskStore
) -> None:
    """record_attempt announces its event like a status change does."""
    await store.create_task(record(), status(TaskStatus.QUEUED))
    async with feed.watch("t") as watch:
        await settle(watch)
        attempt = Event(type="webhook", at=NOW, attempt=1, response_status=500)
        await store.record_attempt("t", attempt, None)
        assert await watch.wait(WAKE_S)


async def test_wait_gives_up_after_its_timeout(feed: RedisEventFeed) -> None:
    """With nothing appended, wait returns False once ``within`` has passed."""
    async with feed.watch("t") as watch:
        await settle(watch)
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert not await watch.wait(0.1)
        assert 0.09 <= loop.time() - started < 1.0


async def subscribers(redis: aioredis.Redis, channel: str) -> int:
    [_, count] = await redis.execute_command("PUBSUB", "SHARDNUMSUB", channel)
    return int(count)


async def test_aclose_ends_the_listener_task(redis: aioredis.Redis, store: RedisTaskStore) -> None:
    """Closing the feed cancels and awaits its listener: no task is left running."""
    feed = RedisEventFeed(redis, store.channels, subscribe_timeout_s=SUBSCRIBE_S)
    async with feed.watch("t"):
        assert [t.get_name() for t in asyncio.all_tasks()].count("event-feed") == 1
    await feed.aclose()
    assert [t.get_name() for t in asyncio.all_tasks()].count("event-feed") == 0


async def test_aclose_drops_the_subscription(redis: aioredis.Redis, store: RedisTaskStore) -> None:
    """After closing, the server counts no subscriber on the feed's channel."""
    if isinstance(redis, fakeredis.FakeAsyncRedis):
        pytest.skip("fakeredis keeps a disconnected client's subscriptions")
    feed = RedisEventFeed(redis, store.channels, subscribe_timeout_s=SUBSCRIBE_S)
    async with feed.watch("t"):
        assert await subscribers(redis, store.channels[0]) == 1
    await feed.aclose()
    # The server drops a closed connection's subscription a moment later (given as long as
    # making one may take).
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SUBSCRIBE_S
    while await subscribers(redis, store.channels[0]):
        if loop.time() >= deadline:
            break
        await asyncio.sleep(0.01)
    assert await subscribers(redis, store.channels[0]) == 0


async def test_readers_still_waiting_when_the_feed_closes_end_with_store_unavailable(
    redis: aioredis.Redis, store: RedisTaskStore
) -> None:
    """A stopping process ends its streams (clients resume elsewhere), and starts none."""
    feed = RedisEventFeed(redis, store.channels, subscribe_timeout_s=SUBSCRIBE_S)
    async with feed.watch("t") as watch:
        await settle(watch)
        waiting = asyncio.create_task(watch.wait(30))
        await asyncio.sleep(0.01)
        await feed.aclose()
        with pytest.raises(StoreUnavailable, match="stopping"):
            await asyncio.wait_for(waiting, WAKE_S)
    with pytest.raises(StoreUnavailable, match="stopping"):
        async with feed.watch("t"):
            pass
    assert [t.get_name() for t in asyncio.all_tasks()].count("event-feed") == 0


async def _nothing_yet() -> None:
    """No message: done in its first step."""


class LossyPubSub:
    """A subscription that waits for messages through ``asyncio.wait_for``, as fakeredis does:
    on Python 3.11 a cancel that lands as the wait ends is lost. Once ``released``, the
    connection is gone."""

    def __init__(self, redis: LossyRedis) -> None:
        self._redis = redis

    async def __aenter__(self) -> LossyPubSub:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def ssubscribe(self, *channels: str) -> None:
        return None

    async def get_message(
        self,
        ignore_subscribe_messages: bool,
        timeout: float,  # noqa: ASYNC109 - redis-py's
    ) -> None:
        if self._redis.released:
            raise RedisConnectionError("gone")
        await asyncio.wait_for(_nothing_yet(), timeout)


class LossyRedis:
    def __init__(self) -> None:
        self.released = False

    def pubsub(self, **options: object) -> LossyPubSub:
        return LossyPubSub(self)


async def test_aclose_ends_a_listener_that_loses_its_cancel() -> None:
    """The listener stops by itself once the feed is closed, whatever its cancels did."""
    redis = LossyRedis()
    feed = RedisEventFeed(redis, ["mva:{0}:events"], subscribe_timeout_s=0.3)  # type: ignore[arg-type]
    async with feed.watch("t"):
        pass
    closing = asyncio.create_task(feed.aclose())
    try:
        done, _ = await asyncio.wait({closing}, timeout=3)
        assert done, "aclose did not end"
    finally:
        redis.released = True
    assert [t.get_name() for t in asyncio.all_tasks()].count("event-feed") == 0


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_watch_raises_store_unavailable_when_redis_is_unreachable() -> None:
    """A feed that cannot subscribe in time says the store is unavailable, and why."""
    dead = aioredis.Redis(
        host="127.0.0.1",
        port=closed_port(),
        socket_connect_timeout=0.1,
        socket_timeout=0.1,
        retry=None,
    )
    feed = RedisEventFeed(dead, ["mva:{0}:events"], subscribe_timeout_s=0.3)
    try:
        with pytest.raises(StoreUnavailable) as failed:
            async with feed.watch("t"):
                pass
        assert isinstance(failed.value.__cause__, redis.exceptions.ConnectionError)
    finally:
        await feed.aclose()
        await dead.aclose()


async def test_events_are_read_on_from_a_given_id(store: RedisTaskStore) -> None:
    """list_events(after=id) returns only the events appended after that one."""
    await store.create_task(record(), status(TaskStatus.QUEUED))
    await processing(store)
    attempt = Event(type="webhook", at=NOW, attempt=1, response_status=200)
    await store.record_attempt("t", attempt, None)
    first, second, third = await store.list_events("t")
    assert await store.list_events("t", after=first.id) == [second, third]
    assert await store.list_events("t", after=second.id) == [third]
    assert await store.list_events("t", after=third.id) == []


@needs_redis_server
async def test_after_redis_comes_back_a_new_reader_is_subscribed_within_its_wait(
    own_redis: RedisServer,
) -> None:
    """The feed tries to subscribe again at least every second while Redis is down, so a
    reader that comes once Redis is back does not wait out its subscribe timeout (a 503)."""
    client = make_redis(Settings(redis_url=own_redis.url))
    feed = RedisEventFeed(client, "mva:events", subscribe_timeout_s=2.0)
    try:
        async with feed.watch("t"):
            pass
        await asyncio.to_thread(own_redis.stop)
        await asyncio.sleep(3.5)  # the feed's retries back off meanwhile
        await asyncio.to_thread(own_redis.start)
        async with feed.watch("t"):
            pass
    finally:
        await feed.aclose()
        await client.aclose()
