"""``RedisClient``: what the stores run on, one server's client or a Redis Cluster's.

A standalone server and Sentinel's master are both ``redis.asyncio.Redis``; a Redis Cluster is
``redis.asyncio.cluster.RedisCluster``, which routes each command to the node of its key's
hash slot and refuses a command or transaction whose keys span slots.
"""

from __future__ import annotations

from typing import TypeAlias

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

RedisClient: TypeAlias = aioredis.Redis | RedisCluster
