"""Webhook signing secrets in ``RedisKeyStore``: made once, replaced on rotation, deleted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapter.model import ApiKey, SigningSecrets
from adapter.stores.redis_keys import RedisKeyStore

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
FIRST = SigningSecrets(current="whsec_Zmlyc3Q=")
SECOND = SigningSecrets(current="whsec_c2Vjb25k=")


async def test_the_first_signing_secrets_stand(key_store: RedisKeyStore) -> None:
    """A second add returns, and keeps, the secrets the first one stored."""
    assert await key_store.signing_secrets("key_1") is None
    assert await key_store.add_signing_secrets("key_1", FIRST) == FIRST
    assert await key_store.add_signing_secrets("key_1", SECOND) == FIRST
    assert await key_store.signing_secrets("key_1") == FIRST


async def test_replacing_signing_secrets_overwrites_them(key_store: RedisKeyStore) -> None:
    """A rotation stores the new secret with the previous one until its deadline."""
    await key_store.add_signing_secrets("key_1", FIRST)
    rotated = SigningSecrets(current=SECOND.current, previous=FIRST.current, until=NOW)
    await key_store.replace_signing_secrets("key_1", rotated)
    assert await key_store.signing_secrets("key_1") == rotated


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
