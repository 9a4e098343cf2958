"""``RedisKeyStore``: API keys by SHA-256, and each key's webhook signing secrets.

The keys are those of ``KeySpace`` (``redis_keyspace.py``, with the layout); none expires.

On a Redis Cluster a key's records are in different hash slots (its document is found by its
hash, its other records by its id), so no command or transaction spans two of them. Instead
the writes go in an order that leaves nothing usable half-made: a key is indexed before its
document exists, and its document, which is what authenticates, is deleted first and its
index entry last. An index entry left without a document (a write that failed half-way) is
skipped by every read, and removed by deleting the key again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import msgspec
from redis.exceptions import WatchError

from adapter.core.errors import StoreUnavailable
from adapter.core.values import ApiKey, SigningSecrets
from adapter.stores.redis import StoreErrors, text
from adapter.stores.redis_client import RedisClient
from adapter.stores.redis_keyspace import KeySpace

_encode = msgspec.json.Encoder().encode
_decode_key = msgspec.json.Decoder(ApiKey).decode
_decode_secrets = msgspec.json.Decoder(SigningSecrets).decode

#: Tries of one rotation while others keep changing the same key's secrets.
_ROTATION_ATTEMPTS = 50


class RedisKeyStore:
    """API keys by SHA-256, an id index for the admin commands, and signing secrets."""

    __slots__ = ("_errors", "_keys", "_redis")

    def __init__(
        self,
        redis: RedisClient,
        *,
        namespace: str = "mva",
        on_unavailable: Callable[[str], None] | None = None,
    ) -> None:
        """``on_unavailable(operation)``: called for each operation that fails with
        ``StoreUnavailable``."""
        self._redis = redis
        self._errors = StoreErrors(on_unavailable)
        self._keys = KeySpace(namespace)

    async def add_key(self, key: ApiKey) -> None:
        with self._errors.mapped("add_key"):
            # Indexed first: a key that authenticates can always be found by id to delete.
            await self._redis.hset(self._keys.api_key_ids, key.id, key.key_hash)
            await self._redis.set(self._keys.api_key(key.key_hash), _encode(key))

    async def key_by_hash(self, key_hash: str) -> ApiKey | None:
        doc = await self._errors.repeatable(
            "key_by_hash", lambda: self._redis.get(self._keys.api_key(key_hash))
        )
        return None if doc is None else _decode_key(doc)

    async def key_by_id(self, key_id: str) -> ApiKey | None:
        key_hash = await self._errors.repeatable(
            "key_by_id", lambda: self._redis.hget(self._keys.api_key_ids, key_id)
        )
        return None if key_hash is None else await self.key_by_hash(text(key_hash))

    async def list_keys(self) -> list[ApiKey]:
        hashes = await self._errors.repeatable(
            "list_keys", lambda: self._redis.hvals(self._keys.api_key_ids)
        )

        async def documents() -> list[bytes | None]:
            # One GET each, pipelined (per node on a cluster): the documents' slots differ.
            async with self._redis.pipeline(transaction=False) as pipe:
                for key_hash in hashes:
                    pipe.get(self._keys.api_key(text(key_hash)))
                found: list[bytes | None] = await pipe.execute()
                return found

        docs = await self._errors.repeatable("list_keys", documents) if hashes else []
        keys = [_decode_key(doc) for doc in docs if doc is not None]
        return sorted(keys, key=lambda k: k.created_at)

    async def replace_key(self, key: ApiKey) -> bool:
        with self._errors.mapped("replace_key"):
            # Only over a key that still exists: a replace racing a delete must not revive it.
            stored = await self._redis.set(self._keys.api_key(key.key_hash), _encode(key), xx=True)
        return bool(stored)

    async def mark_used(self, key_id: str, at: datetime) -> None:
        with self._errors.mapped("mark_used"):
            await self._redis.hset(self._keys.api_key_used, key_id, int(at.timestamp() * 1000))

    async def last_used(self, key_ids: Sequence[str]) -> dict[str, datetime]:
        if not key_ids:
            return {}
        found = await self._errors.repeatable(
            "last_used", lambda: self._redis.hmget(self._keys.api_key_used, key_ids)
        )
        return {
            key_id: datetime.fromtimestamp(int(ms) / 1000, tz=UTC)
            for key_id, ms in zip(key_ids, found, strict=True)
            if ms is not None
        }

    async def delete_key(self, key_id: str) -> bool:
        key_hash = await self._errors.repeatable(
            "delete_key", lambda: self._redis.hget(self._keys.api_key_ids, key_id)
        )
        if key_hash is None:
            return False
        with self._errors.mapped("delete_key"):
            # The document first: from here on the key is refused, whatever else fails.
            deleted = await self._redis.delete(self._keys.api_key(text(key_hash)))
            await self._redis.delete(self._keys.signing_secrets(key_id))
            await self._redis.hdel(self._keys.api_key_used, key_id)
            # The index entry last: until it goes, deleting the key again finishes the job.
            await self._redis.hdel(self._keys.api_key_ids, key_id)
        return bool(deleted)

    async def signing_secrets(self, key_id: str) -> SigningSecrets | None:
        doc = await self._errors.repeatable(
            "signing_secrets", lambda: self._redis.get(self._keys.signing_secrets(key_id))
        )
        return None if doc is None else _decode_secrets(doc)

    async def add_signing_secrets(self, key_id: str, secrets: SigningSecrets) -> SigningSecrets:
        with self._errors.mapped("add_signing_secrets"):
            if await self._redis.set(self._keys.signing_secrets(key_id), _encode(secrets), nx=True):
                return secrets
        # Another request made the key's first secret meanwhile: that one stands.
        return await self.signing_secrets(key_id) or secrets

    async def rotate_signing_secrets(
        self, key_id: str, current: str, until: datetime
    ) -> SigningSecrets:
        key = self._keys.signing_secrets(key_id)
        with self._errors.mapped("rotate_signing_secrets"):
            async with self._redis.pipeline(transaction=True) as pipe:
                for _ in range(_ROTATION_ATTEMPTS):
                    # Read, then write only if nobody wrote in between (WATCH); else read again.
                    await pipe.watch(key)
                    doc = await pipe.get(key)
                    rotated = SigningSecrets(current)
                    if doc is not None:
                        replaced = _decode_secrets(doc).current
                        rotated = SigningSecrets(current, previous=replaced, until=until)
                    pipe.multi()  # type: ignore[no-untyped-call]  # untyped in redis-py
                    pipe.set(key, _encode(rotated))
                    try:
                        await pipe.execute()
                    except WatchError:
                        continue  # another rotation came first: this one replaces its secret
                    return rotated
        raise StoreUnavailable(
            f"The webhook secrets of {key_id} changed under {_ROTATION_ATTEMPTS} rotations in a "
            "row; try again."
        )
