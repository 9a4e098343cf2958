"""``RedisEventFeed``: one pub/sub subscription per process fans out to every live reader.

The store publishes a task's id on its shard's channel (``<ns>:{<s>}:events``, sharded
pub/sub: ``SPUBLISH``, Redis 7 and later) in the same script that appends to its events. Here
one listener per process, subscribed to every shard's channel (``SSUBSCRIBE``; on Redis
Cluster each channel at the node that serves its slot), wakes the readers watching that task,
who then read its events from their last id. Pub/sub may drop messages while the connection
is down, so a (re)subscription wakes every reader to re-read: nothing is missed, only
re-checked.
Closing the feed stops the listener within a bound and ends every reader still waiting
(``StoreUnavailable``): a stopping process's streams end, and clients resume elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterPubSub
from redis.exceptions import RedisError

from adapter.core.errors import StoreUnavailable
from adapter.core.shutdown import stop_task
from adapter.stores.redis import text
from adapter.stores.redis_client import RedisClient

log = logging.getLogger(__name__)

#: The longest pause between two tries to subscribe again. Shorter than a reader's wait for
#: the subscription (3 s), so that once Redis is back no new reader fails for the feed's lag.
_RESUBSCRIBE_MAX_S = 1.0


#: How long one read of a cluster's subscriptions waits at a node before it asks the next:
#: redis-py reads the nodes in turn, so this bounds how late a message from another node is.
_CLUSTER_POLL_S = 0.02


def _receiver(pubsub: PubSub | ClusterPubSub) -> Callable[[], Awaitable[dict[str, Any] | None]]:
    """The next message (or ``None`` within about a second) of a subscription."""
    if isinstance(pubsub, ClusterPubSub):
        return lambda: pubsub.get_sharded_message(
            ignore_subscribe_messages=True, timeout=_CLUSTER_POLL_S
        )
    return lambda: pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)


#: What a reader still waiting when the feed closes is told (its stream ends with it).
STOPPING = "The server is stopping: resume the stream from the last event id elsewhere."


class _Watch:
    __slots__ = ("_closed", "_signal")

    def __init__(self) -> None:
        self._signal = asyncio.Event()
        self._closed = False

    def wake(self) -> None:
        self._signal.set()

    def close(self) -> None:
        self._closed = True
        self._signal.set()

    async def wait(self, within: float) -> bool:
        if not self._closed:
            try:
                async with asyncio.timeout(within):
                    await self._signal.wait()
            except TimeoutError:
                return False
        if self._closed:
            raise StoreUnavailable(STOPPING)
        self._signal.clear()
        return True


class RedisEventFeed:
    """Live-reader wake-ups across processes, from the channel ``RedisTaskStore`` announces on."""

    def __init__(
        self,
        redis: RedisClient,
        channels: Sequence[str],
        *,
        subscribe_timeout_s: float = 3.0,
    ) -> None:
        self._redis = redis
        self._channels = list(channels)
        self._timeout = subscribe_timeout_s
        self._watches: dict[str, set[_Watch]] = {}
        self._listening = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        #: Why the last subscription failed, for the 503 of a reader who could not wait.
        self._lost: BaseException | None = None
        self._closed = False

    @contextlib.asynccontextmanager
    async def watch(self, task_id: str) -> AsyncIterator[_Watch]:
        if self._closed:
            # A request still running after the close must not start a listener nobody stops.
            raise StoreUnavailable(STOPPING)
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen(), name="event-feed")
        watch = _Watch()
        self._watches.setdefault(task_id, set()).add(watch)
        try:
            try:
                async with asyncio.timeout(self._timeout):
                    await self._listening.wait()
            except TimeoutError:
                raise StoreUnavailable(
                    "The task store is unavailable: could not subscribe to task events."
                ) from self._lost
            yield watch
        finally:
            watches = self._watches.get(task_id)
            if watches is not None:
                watches.discard(watch)
                if not watches:
                    del self._watches[task_id]

    def _wake_all(self) -> None:
        for watches in self._watches.values():
            for watch in watches:
                watch.wake()

    async def _listen(self) -> None:
        pause = 0.1
        # The flag ends the loop even if a cancel is lost (see adapter.core.shutdown).
        while not self._closed:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.ssubscribe(*self._channels)
                    receive = _receiver(pubsub)
                    self._listening.set()
                    self._lost = None
                    self._wake_all()  # anything published while we were away is re-read
                    pause = 0.1
                    while not self._closed:
                        message = await receive()
                        if message is not None and message.get("type") == "smessage":
                            for watch in self._watches.get(text(message["data"]), ()):
                                watch.wake()
            except (RedisError, OSError) as exc:
                self._lost = exc
                log.warning("events.feed_lost reason=%s", exc.__class__.__name__)
            self._listening.clear()
            self._wake_all()
            await asyncio.sleep(pause)
            pause = min(pause * 2, _RESUBSCRIBE_MAX_S)

    async def aclose(self) -> None:
        """Stop the listener (within ``STEP_TIMEOUT_S``) and end every reader still waiting."""
        self._closed = True
        for watches in self._watches.values():
            for watch in watches:
                watch.close()
        if self._listener is not None:
            await stop_task(self._listener, what="event feed listener")
            self._listener = None
            self._listening.clear()
