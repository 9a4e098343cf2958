"""Redis clients whose commands queue for a free connection instead of being refused.

- ``WaitingConnectionPool`` (one server, Sentinel's master): redis-py's own pool refuses a
  command at once when all its connections are in use, and its ``BlockingConnectionPool``
  waits but pays for it on every command, spare connections or not (a condition, a timeout
  and a context manager: about 8 µs of a 40 µs command, measured with
  ``benchmarks/redis_pool.py``). This pool takes the plain pool's path while a connection is
  free, and only a command that finds none queues, first come first served, for at most
  ``timeout`` seconds.
- ``WaitingRedisCluster``: redis-py's cluster client refuses (``MaxConnectionsError``) a
  command to a node whose ``max_connections`` are all in use, and a refused pipeline closes
  every connection of the client before trying again. This one lets at most ``places``
  commands and pipelines of the process be in flight at once (each holds at most one
  connection to a node at a time) and queues the rest the same way; ``max_connections`` per
  node is set above ``places``, for what holds a connection outside them (the event feed's
  subscription, a ``WATCH``, a connection still closing after a connection error).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from contextvars import ContextVar, Token
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterPipeline, RedisCluster
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MaxConnectionsError, RedisClusterException

NO_CONNECTION = "No connection available."


class WaitingConnectionPool(aioredis.ConnectionPool):
    """A pool of at most ``max_connections`` whose commands wait up to ``timeout`` seconds
    for one to be free (``ConnectionError("No connection available.")`` after that)."""

    def __init__(self, *, timeout: float = 20, **connection_kwargs: Any) -> None:
        super().__init__(**connection_kwargs)
        self.timeout = timeout
        self._waiters: deque[asyncio.Future[None]] = deque()
        #: Waiters woken that have not taken their connection yet: each keeps a place.
        self._woken = 0

    def _spare(self) -> int:
        """Places free and not kept for a woken waiter."""
        return self.max_connections - len(self._in_use_connections) - self._woken

    async def get_connection(self, *args: Any, **options: Any) -> AbstractConnection:
        deadline: float | None = None
        woken = False
        while True:
            # A newcomer goes behind those queued; one woken takes the place kept for it.
            if (woken or not self._waiters) and self._spare() > 0:
                try:
                    connection: AbstractConnection = await super().get_connection()  # type: ignore[no-untyped-call]
                except MaxConnectionsError:
                    pass  # the last one went to another command while this one took the lock
                except BaseException:
                    self._wake_next()  # the place this one would have used goes on
                    raise
                else:
                    self._wake_next()  # a place left over goes to the next in the queue
                    return connection
            loop = asyncio.get_running_loop()
            first = deadline is None
            if deadline is None:
                deadline = loop.time() + self.timeout
            # A command woken but beaten to the connection keeps its place at the front.
            await self._wait(loop, deadline, front=not first)
            woken = True

    async def _wait(self, loop: asyncio.AbstractEventLoop, deadline: float, *, front: bool) -> None:
        """Queue until a released connection wakes this command, or ``deadline`` passes."""
        waiter: asyncio.Future[None] = loop.create_future()
        if front:
            self._waiters.appendleft(waiter)
        else:
            self._waiters.append(waiter)
        self._wake_next()  # a place spare already (a release still under way) goes in order
        try:
            async with asyncio.timeout_at(deadline):
                await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self._woken -= 1
                if isinstance(exc, TimeoutError):
                    return  # woken as its time ran out: it takes the place kept for it
                self._wake_next()  # woken, then cancelled: the wake goes to the next one
            else:
                # Cancelled while queued; a release in between may have dropped it already.
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            if isinstance(exc, TimeoutError):
                raise RedisConnectionError(NO_CONNECTION) from exc
            raise
        self._woken -= 1

    def _wake_next(self) -> None:
        """Wake as many queued commands as there are places to spare, first come first."""
        while self._waiters and self._spare() > 0:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                self._woken += 1

    async def release(self, connection: AbstractConnection) -> None:
        try:
            await super().release(connection)
        finally:
            self._wake_next()


#: The room this task holds a place in: a command that a pipeline resends by itself
#: (redirected: MOVED, ASK) runs in its pipeline's place, never waits for a second one.
_in_room: ContextVar[Room | None] = ContextVar("mva_redis_room", default=None)


class Room:
    """At most ``size`` holders at once; the next waits, first come first served, up to
    ``wait_s`` (then ``ConnectionError("No connection available.")``)."""

    def __init__(self, size: int, wait_s: float) -> None:
        self._places = asyncio.Semaphore(size)
        self._wait_s = wait_s

    async def enter(self) -> Token[Room | None] | None:
        """Take a place (``None``: this task holds one already); give it back with ``leave``."""
        if _in_room.get() is self:
            return None
        if self._places.locked():
            try:
                async with asyncio.timeout(self._wait_s):
                    await self._places.acquire()
            except TimeoutError as exc:
                raise RedisConnectionError(NO_CONNECTION) from exc
        else:
            await self._places.acquire()  # a free place: taken without waiting
        return _in_room.set(self)

    def leave(self, entered: Token[Room | None] | None) -> None:
        if entered is not None:
            self._places.release()
            _in_room.reset(entered)


class WaitingRedisCluster(RedisCluster):
    """A cluster client whose commands and pipelines queue for one of ``places`` (``wait_s``
    at most) rather than being refused."""

    def __init__(self, *args: Any, places: int, wait_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.room = Room(places, wait_s)

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        entered = await self.room.enter()
        try:
            return await super().execute_command(*args, **kwargs)
        finally:
            self.room.leave(entered)

    def pipeline(
        self, transaction: Any | None = None, shard_hint: Any | None = None
    ) -> ClusterPipeline:
        if shard_hint:
            raise RedisClusterException("shard_hint is deprecated in cluster mode")
        # redis-py's commands Protocol declares an _event_dispatcher its pipelines never set.
        return _WaitingClusterPipeline(self, transaction)  # type: ignore[abstract]


class _WaitingClusterPipeline(ClusterPipeline):
    cluster_client: WaitingRedisCluster

    async def execute(
        self, raise_on_error: bool = True, allow_redirections: bool = True
    ) -> list[Any]:
        entered = await self.cluster_client.room.enter()
        try:
            return await super().execute(raise_on_error, allow_redirections)
        finally:
            self.cluster_client.room.leave(entered)
