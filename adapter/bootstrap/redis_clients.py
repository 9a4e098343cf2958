"""The Redis client of the settings, made in this one place for every mode, and the start-up
check that it answers.

- ``standalone``: ``REDIS_URL``'s server through a pool that queues for a free connection
  (``adapter.bootstrap.redis_pool``), or fakeredis in-process.
- ``cluster``: ``redis.asyncio.cluster.RedisCluster`` from ``REDIS_URL``, any node of it,
  whose commands queue the same way.
- ``sentinel``: the master that ``REDIS_SENTINELS`` know as ``REDIS_SENTINEL_MASTER``, through
  such a pool that asks the sentinels where the master is before each new connection, so a
  failover costs the connections open to the old master and nothing else.
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.exceptions import RedisClusterException
from redis.maint_notifications import MaintNotificationsConfig

from adapter.bootstrap.redis_pool import WaitingConnectionPool, WaitingRedisCluster
from adapter.config.settings import Settings, SettingsError, shown_url
from adapter.core.causes import reason
from adapter.core.errors import StoreUnavailable
from adapter.stores.redis import RedisTaskStore, UnusableStore
from adapter.stores.redis_client import RedisClient

#: Redis connections one process may hold at once (event streams hold none between reads); in
#: a cluster, commands and pipelines in flight at once (each holds at most one connection to a
#: node at a time).
REDIS_CONNECTIONS = 256
#: A cluster node's connections beyond those: for what holds one outside the commands' places
#: (the event feed's subscription, a WATCH), and for as many again as the places: after a
#: connection error redis-py closes each of the node's connections in use as it is released,
#: in a task of its own, and the place goes on before the close ends. Made only as needed.
CLUSTER_SPARE_CONNECTIONS = REDIS_CONNECTIONS + 32
#: Seconds a command waits for a free connection. Long, so that a burst queues: only a Redis
#: that cannot answer fails a request (connect 3 s, or a command's own 5 s), and such a
#: failing command gives its connection back, so the queue moves on even then.
REDIS_POOL_WAIT_S = 30

#: Every connection's bounds: a Redis that accepts but never answers is a 503, not a hung
#: request.
_TIMEOUTS: dict[str, Any] = {"socket_timeout": 5, "socket_connect_timeout": 3}
#: redis-py 8 turns maintenance notifications on by itself over RESP3 ("auto"), and with them
#: on, its pool skips the check that a pooled connection was not closed by the server: after a
#: Redis restart, every idle connection failed its next command, seconds later
#: (redis/redis-py#4252). Off, a closed one is reopened.
_NO_MAINT = MaintNotificationsConfig(enabled=False)


def make_redis(settings: Settings) -> RedisClient:
    """The client of ``MVA_REDIS_MODE``; fakeredis in-process (with Lua) when no Redis is set.

    Closing it closes its connections (and, with Sentinel, those to the sentinels).
    """
    mode = settings.redis_topology.mode
    if mode == "cluster":
        assert settings.redis_url is not None  # the settings refuse a cluster without one
        return WaitingRedisCluster.from_url(
            settings.redis_url,
            places=REDIS_CONNECTIONS,
            max_connections=REDIS_CONNECTIONS + CLUSTER_SPARE_CONNECTIONS,
            wait_s=REDIS_POOL_WAIT_S,
            health_check_interval=30,
            maint_notifications_config=_NO_MAINT,
            **_TIMEOUTS,
        )
    if mode == "sentinel":
        return _sentinel_master(settings)
    if settings.redis_url:
        # A busy process waits for a free connection instead of failing at once (redis-py's
        # default pool refuses the 101st concurrent command).
        pool = WaitingConnectionPool.from_url(
            settings.redis_url,
            max_connections=REDIS_CONNECTIONS,
            timeout=REDIS_POOL_WAIT_S,
            health_check_interval=30,
            maint_notifications_config=_NO_MAINT,
            **_TIMEOUTS,
        )
        return aioredis.Redis.from_pool(pool)  # closing the client closes its pool
    import fakeredis  # the embedded default only

    embedded: aioredis.Redis = fakeredis.FakeAsyncRedis()
    return embedded


class WaitingSentinelPool(SentinelConnectionPool, WaitingConnectionPool):
    """Sentinel's pool (each new connection goes where the sentinels say the master is) that
    waits for a free connection as the standalone one does, instead of refusing."""


class SentinelMaster(aioredis.Redis):
    """The master's client; closing it also closes the connections to the sentinels."""

    sentinels: Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        if self.sentinels is not None:
            await self.sentinels.aclose()


def _sentinel_master(settings: Settings) -> SentinelMaster:
    topology = settings.redis_topology
    assert topology.master is not None  # the settings refuse Sentinel without one
    # The master's credentials and database from REDIS_URL (its host is the sentinels' to say).
    given = aioredis.connection.parse_url(settings.redis_url) if settings.redis_url else {}
    credentials = {k: v for k, v in given.items() if k in ("username", "password", "db")}
    sentinels = Sentinel(list(topology.sentinels), sentinel_kwargs=dict(_TIMEOUTS))  # type: ignore[no-untyped-call]
    master: SentinelMaster = sentinels.master_for(
        topology.master,
        redis_class=SentinelMaster,
        connection_pool_class=WaitingSentinelPool,
        max_connections=REDIS_CONNECTIONS,
        timeout=REDIS_POOL_WAIT_S,
        health_check_interval=30,
        maint_notifications_config=_NO_MAINT,
        **_TIMEOUTS,
        **credentials,
    )
    master.sentinels = sentinels
    return master


def where(settings: Settings) -> str:
    """The configured Redis, fit for a message or a banner (a password shown as ``***``)."""
    topology = settings.redis_topology
    if topology.mode == "sentinel":
        sentinels = ",".join(f"{host}:{port}" for host, port in topology.sentinels)
        return f"master {topology.master} via sentinels {sentinels}"
    shown = shown_url(settings.redis_url) if settings.redis_url else "in-process fakeredis"
    return f"{shown} (Redis Cluster)" if topology.mode == "cluster" else shown


def check_redis(settings: Settings) -> None:
    """At start-up: return once the configured Redis answers (if one is), within seconds.

    It pings through the store, on the production client, so redis-py's errors are translated
    in the one place they always are.

    Raises:
        SettingsError: one line naming ``REDIS_URL`` (or the sentinels) and why: it cannot be
            reached (refused, unknown host, no answer in 3 s) or it answered with an error
            (password, database, no such master); or its ``MVA_REDIS_NAMESPACE`` holds
            tasks of an earlier version's layout.
    """
    if not settings.redis_configured:
        return

    async def ping() -> None:
        try:
            client = make_redis(settings)
        except ValueError as exc:  # redis-py's reading of the URL's query
            raise SettingsError(f"REDIS_URL is not a Redis URL: {exc}") from None
        try:
            store = RedisTaskStore(
                client,
                namespace=settings.redis_namespace,
                task_ttl_s=settings.task_ttl_s,
            )
            await store.ping()
            await store.prepare()
        finally:
            await client.aclose()

    named = "REDIS_SENTINELS:" if settings.redis_topology.mode == "sentinel" else "REDIS_URL"
    try:
        asyncio.run(ping())
    except UnusableStore as exc:
        raise SettingsError(str(exc)) from None
    except RedisClusterException as exc:
        # Not a RedisError: no node named could be asked for the cluster's slots.
        why = str(exc.__cause__ or exc).rstrip(".")
        raise SettingsError(f"{named} {where(settings)} cannot be reached: {why}.") from None
    except StoreUnavailable as exc:
        reached, why = reason(exc)
        failed = "answered with an error" if reached else "cannot be reached"
        raise SettingsError(f"{named} {where(settings)} {failed}: {why}.") from None
