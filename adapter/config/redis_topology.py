"""``RedisTopology``: how the adapter reaches its Redis, read from ``MVA_REDIS_MODE`` and the
variables that mode needs.

- ``standalone`` (the default): one server at ``REDIS_URL``, or fakeredis in-process without it.
- ``cluster``: a Redis Cluster; ``REDIS_URL`` names any one node, the others are discovered.
- ``sentinel``: the master that the sentinels at ``REDIS_SENTINELS`` know as
  ``REDIS_SENTINEL_MASTER``, followed across failovers. ``REDIS_URL`` is optional there and
  gives only the master's user, password and database (its host is the sentinels' to say).
"""

from __future__ import annotations

from typing import Literal, get_args
from urllib.parse import urlsplit

import msgspec

RedisMode = Literal["standalone", "cluster", "sentinel"]
REDIS_MODES: tuple[RedisMode, ...] = get_args(RedisMode)


class RedisTopologyError(ValueError):
    """A Redis topology setting is missing or malformed; the message names the variable."""


class RedisTopology(msgspec.Struct, frozen=True, kw_only=True):
    mode: RedisMode = "standalone"
    #: Sentinel: where each sentinel listens.
    sentinels: tuple[tuple[str, int], ...] = ()
    #: Sentinel: the name the sentinels know the master by.
    master: str | None = None


def redis_topology(
    mode: str | None, *, url: str | None, sentinels: str | None, master: str | None
) -> RedisTopology:
    """The topology the variables describe (``url`` already checked as a Redis URL).

    Raises:
        RedisTopologyError: naming the variable that is wrong, missing or would be ignored.
    """
    chosen = (mode or "standalone").lower()
    if chosen not in REDIS_MODES:
        raise RedisTopologyError(
            f"MVA_REDIS_MODE must be 'standalone', 'cluster' or 'sentinel', got {mode!r}."
        )
    given = {"REDIS_SENTINELS": sentinels, "REDIS_SENTINEL_MASTER": master}
    if chosen != "sentinel" and (ignored := [name for name, value in given.items() if value]):
        raise RedisTopologyError(
            f"{' and '.join(ignored)} would be ignored: MVA_REDIS_MODE is {chosen}; set "
            "MVA_REDIS_MODE=sentinel to reach the master through the sentinels."
        )
    if chosen == "cluster":
        _check_cluster_url(url)
        return RedisTopology(mode="cluster")
    if chosen == "sentinel":
        return _sentinel(url, sentinels, master)
    return RedisTopology()


def _check_cluster_url(url: str | None) -> None:
    if url is None:
        raise RedisTopologyError(
            "MVA_REDIS_MODE=cluster needs REDIS_URL, the address of any node of the cluster "
            "(e.g. redis://10.0.0.1:6379)."
        )
    parts = urlsplit(url)
    if parts.scheme == "unix":
        raise RedisTopologyError(
            "MVA_REDIS_MODE=cluster needs a redis:// or rediss:// REDIS_URL: a Redis Cluster's "
            "nodes are reached over TCP, not a unix socket."
        )
    database = parts.path.strip("/")
    if database and int(database) != 0:
        raise RedisTopologyError(
            f"REDIS_URL names database {database}, but a Redis Cluster has only database 0 "
            "(MVA_REDIS_MODE=cluster); use MVA_REDIS_NAMESPACE to keep adapters apart."
        )


def _sentinel(url: str | None, sentinels: str | None, master: str | None) -> RedisTopology:
    if not sentinels:
        raise RedisTopologyError(
            "MVA_REDIS_MODE=sentinel needs REDIS_SENTINELS, where the sentinels listen "
            "(host:port,host:port,...)."
        )
    if not master:
        raise RedisTopologyError(
            "MVA_REDIS_MODE=sentinel needs REDIS_SENTINEL_MASTER, the name the sentinels know "
            "the master by (their `sentinel monitor <name> ...`)."
        )
    if url is not None and urlsplit(url).scheme != "redis":
        raise RedisTopologyError(
            "With MVA_REDIS_MODE=sentinel, REDIS_URL gives only the master's user, password and "
            "database, as redis://[user:password@]any/0: the sentinels name its address, and "
            "TLS (rediss://) or a unix socket cannot be used there."
        )
    addresses = tuple(_address(item) for item in sentinels.split(",") if item.strip())
    if not addresses:
        raise RedisTopologyError("REDIS_SENTINELS names no sentinel (host:port,...).")
    return RedisTopology(mode="sentinel", sentinels=addresses, master=master)


def _address(item: str) -> tuple[str, int]:
    """``host:port`` or ``[v6 address]:port``."""
    host, sep, port = item.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RedisTopologyError(
            f"REDIS_SENTINELS entries look like host:port (port 1-65535), got {item.strip()!r}."
        )
    return host, int(port)
