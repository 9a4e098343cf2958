"""Webhook signing secrets in ``RedisKeyStore``: made once, rotated atomically, deleted."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from adapter.core.values import ApiKey, SigningSecrets
from adapter.stores.redis_client import RedisClient
from adapter.stores.redis_keys import RedisKeyStore

pytestmark = pytest.mark.anyio


@pytest.fixture
def redis(redis_on_every_topology: RedisClient) -> RedisClient:
    """This store runs on every topology: also a Redis Cluster and a Sentinel-managed master."""
    return redis_on_every_topology


NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
FIRST = SigningSecrets(current="whsec_Zmlyc3Q=")
SECOND = SigningSecrets(current="whsec_c2Vjb25k=")


async def test_the_first_signing_secrets_stand(key_store: RedisKeyStore) -> None:
    """A second add returns, and keeps, the secrets the first one stored."""
    assert await key_store.signing_secrets("key_1") is None
    assert await key_store.add_signing_secrets("key_1", FIRST) == FIRST
    assert await key_store.add_signing_secrets("key_1", SECOND) == FIRST
    assert await key_store.signing_secrets("key_1") == FIRST


async def test_a_rotation_keeps_the_replaced_secret_until_its_deadline(
    key_store: RedisKeyStore,
) -> None:
    """The new secret becomes current; the one it replaced is kept as previous, with the date."""
    await key_store.add_signing_secrets("key_1", FIRST)
    rotated = await key_store.rotate_signing_secrets("key_1", SECOND.current, NOW)
    assert rotated == SigningSecrets(current=SECOND.current, previous=FIRST.current, until=NOW)
    assert await key_store.signing_secrets("key_1") == rotated


async def test_rotating_a_key_without_secrets_makes_its_first(key_store: RedisKeyStore) -> None:
    """Nothing to replace: the new secret stands alone."""
    assert await key_store.rotate_signing_secrets("key_1", SECOND.current, NOW) == SECOND
    assert await key_store.signing_secrets("key_1") == SECOND


async def test_concurrent_rotations_each_replace_a_different_secret(
    key_store: RedisKeyStore,
) -> None:
    """Twenty rotations at once line up one after another: each one's previous is the secret
    the one before it made, so none is lost and no two replace the same one."""
    await key_store.add_signing_secrets("key_1", FIRST)
    news = [f"whsec_{i:02d}" for i in range(20)]
    done = await asyncio.gather(
        *(key_store.rotate_signing_secrets("key_1", new, NOW) for new in news)
    )
    replaced = [rotated.previous for rotated in done]
    assert len(set(replaced)) == len(replaced)
    assert set(replaced) == {FIRST.current, *news} - {
        (await key_store.signing_secrets("key_1")).current
    }


async def test_deleting_a_key_deletes_its_signing_secrets(key_store: RedisKeyStore) -> None:
    """delete_key leaves no secrets behind; a later add for that id starts afresh."""
    key = ApiKey(id="key_1", name="ci", owner="ci", key_hash="h1", status="active", created_at=NOW)
    await key_store.add_key(key)
    await key_store.add_signing_secrets("key_1", FIRST)
    assert await key_store.delete_key("key_1")
    assert await key_store.signing_secrets("key_1") is None
    assert await key_store.add_signing_secrets("key_1", SECOND) == SECOND


async def test_signing_secrets_belong_to_one_key(key_store: RedisKeyStore) -> None:
    """Each key id has its own secrets."""
    await key_store.add_signing_secrets("key_1", FIRST)
    assert await key_store.add_signing_secrets("key_2", SECOND) == SECOND
    assert await key_store.signing_secrets("key_1") == FIRST
