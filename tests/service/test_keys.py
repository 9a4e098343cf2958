"""API keys: issued once, stored hashed, refused at once when disabled or deleted."""

from __future__ import annotations

import pytest

from adapter.core.errors import ApiKeyDisabled, InvalidApiKey, MissingApiKey
from adapter.service.keys import KeyService, hash_key
from adapter.stores.redis_client import RedisClient
from adapter.stores.redis_keys import RedisKeyStore
from tests.fakes import FakeClock

pytestmark = pytest.mark.anyio


@pytest.fixture
def redis(redis_on_every_topology: RedisClient) -> RedisClient:
    """This store runs on every topology: also a Redis Cluster and a Sentinel-managed master."""
    return redis_on_every_topology


@pytest.fixture
def keys(key_store: RedisKeyStore) -> KeyService:
    return KeyService(key_store, clock=FakeClock())


async def test_a_created_key_authenticates_and_only_its_hash_is_stored(
    keys: KeyService, key_store: RedisKeyStore
) -> None:
    """The secret is returned once; the store holds its SHA-256."""
    key, secret = await keys.create(name="ci")
    assert secret.startswith("mv_live_")
    assert (await keys.authenticate(f"Bearer {secret}")).id == key.id
    stored = await key_store.key_by_id(key.id)
    assert stored is not None and stored.key_hash == hash_key(secret)
    assert secret not in repr(stored)


async def test_test_keys_have_the_test_prefix(keys: KeyService) -> None:
    """kind test issues mv_test_ keys."""
    _, secret = await keys.create(name="ci", kind="test")
    assert secret.startswith("mv_test_")


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic abc", "Bearer  "])
async def test_a_missing_bearer_token_is_refused(keys: KeyService, header: str | None) -> None:
    """No bearer token: missing_api_key."""
    with pytest.raises(MissingApiKey):
        await keys.authenticate(header)


async def test_disabled_and_deleted_keys_are_refused_at_once(keys: KeyService) -> None:
    """No cache: the next request after disable or delete is refused."""
    key, secret = await keys.create(name="ci")
    assert await keys.set_enabled(key.id, False)
    with pytest.raises(ApiKeyDisabled):
        await keys.authenticate(f"Bearer {secret}")
    assert await keys.set_enabled(key.id, True)
    await keys.authenticate(f"Bearer {secret}")
    assert await keys.delete(key.id)
    with pytest.raises(InvalidApiKey):
        await keys.authenticate(f"Bearer {secret}")


async def test_registering_a_known_key_twice_keeps_one(keys: KeyService) -> None:
    """MVA_BOOTSTRAP_KEY may be registered by every process; it stays one key."""
    a = await keys.register("mv_test_fixed", name="bootstrap")
    b = await keys.register("mv_test_fixed", name="bootstrap")
    assert a.id == b.id
    assert len(await keys.list()) == 1


async def test_the_key_owner_defaults_to_its_name(keys: KeyService) -> None:
    """Keys with the same owner see the same tasks."""
    key, _ = await keys.create(name="shop")
    other, _ = await keys.create(name="shop-rotated", owner="shop")
    assert key.owner == other.owner == "shop"


async def test_a_submit_reads_a_key_first_unless_its_owner_is_known_here(
    keys: KeyService,
) -> None:
    """Only a key this process has admitted, on a submit with an Idempotency-Key, is left to
    be read with the claim; an unknown or refused key is read (and refused) first, before
    the request's body. A refusal forgets the key's owner."""
    key, secret = await keys.create(name="submitter", owner="owner-s")
    unknown = keys.credential("Bearer mv_live_never_issued", None)
    with pytest.raises(InvalidApiKey):
        await keys.for_submit(unknown, "k1")
    fresh = keys.credential(f"Bearer {secret}", None)
    assert fresh.owner is None
    assert await keys.for_submit(fresh, "k1") == key
    known = keys.credential(f"Bearer {secret}", None)
    assert (known.owner, known.mode) == ("owner-s", "live")
    assert await keys.for_submit(known, "k1") is None
    assert await keys.for_submit(known, None) == key
    await keys.set_enabled(key.id, False)
    with pytest.raises(ApiKeyDisabled):
        await keys.read(known)
    assert keys.credential(f"Bearer {secret}", None).owner is None
