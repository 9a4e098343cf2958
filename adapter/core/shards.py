"""Shards: which of ``SHARDS`` groups an owner's tasks, keys and claims belong to.

Everything of one owner lives in one shard, so that a store can keep it together (on Redis
Cluster, in one hash slot) and change it atomically. A task id and an API key id carry their
shard in their first byte (``task_<2 hex of the shard><22 hex>``), so a task is found by its
id alone; any other id (made by hand, or before ids carried it) is placed by a hash of it.

``SHARDS`` is part of where stored data is found: changing it moves every owner's shard
(see the README's "Running on Redis Cluster").
"""

from __future__ import annotations

import re
import secrets
import zlib

#: How many shards there are; at most 256 (a shard is one byte of an id).
SHARDS = 64

_MINTED = re.compile(r"(?:task|key)_[0-9a-f]{16,}")


def owner_shard(owner: str) -> int:
    """The shard of everything ``owner`` has."""
    return zlib.crc32(owner.encode()) % SHARDS


def id_shard(value: str) -> int:
    """The shard of a task or key id: the one it was minted in, else a hash of it."""
    if _MINTED.fullmatch(value):
        return int(value.partition("_")[2][:2], 16) % SHARDS
    return zlib.crc32(value.encode()) % SHARDS


def new_task_id(owner: str) -> str:
    """A new task id in ``owner``'s shard: 88 random bits after the shard's byte."""
    return f"task_{owner_shard(owner):02x}{secrets.token_hex(11)}"


def new_key_id(owner: str) -> str:
    """A new API key id in ``owner``'s shard: 56 random bits after the shard's byte."""
    return f"key_{owner_shard(owner):02x}{secrets.token_hex(7)}"
