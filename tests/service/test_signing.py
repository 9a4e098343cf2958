"""Standard Webhooks signatures, checked with the reference library; secrets and rotation."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime
from typing import Any

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from adapter.core.values import SigningSecrets
from adapter.service import signing
from adapter.service.keys import ROTATION_GRACE, KeyService
from adapter.stores.redis_keys import RedisKeyStore
from tests.fakes import FakeClock

pytestmark = pytest.mark.anyio

BODY = b'{"type":"task.succeeded","data":{"task_id":"task_1"}}'


def now_s() -> int:
    return int(datetime.now(UTC).timestamp())


def test_a_new_secret_is_whsec_and_32_random_bytes() -> None:
    """The Standard Webhooks secret form: whsec_ + base64; never the same twice."""
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert signing.new_secret() != secret


def test_the_headers_verify_with_the_reference_library() -> None:
    """webhook-id, webhook-timestamp and a v1 signature that Webhook(secret).verify accepts."""
    secret = signing.new_secret()
    headers = signing.headers([secret], "msg_1", now_s(), BODY)
    assert headers["webhook-id"] == "msg_1"
    assert headers["content-type"] == "application/json"
    assert Webhook(secret).verify(BODY, headers) == {
        "type": "task.succeeded",
        "data": {"task_id": "task_1"},
    }


def test_two_secrets_give_two_signatures_each_verifying() -> None:
    """During a rotation the header carries one v1 signature per secret, space-separated."""
    new, old = signing.new_secret(), signing.new_secret()
    headers = signing.headers([new, old], "msg_1", now_s(), BODY)
    assert [s.split(",")[0] for s in headers["webhook-signature"].split(" ")] == ["v1", "v1"]
    Webhook(new).verify(BODY, headers)
    Webhook(old).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(BODY, headers)


@pytest.mark.parametrize("part", ["body", "webhook-id", "webhook-timestamp"])
def test_a_changed_body_id_or_timestamp_does_not_verify(part: str) -> None:
    """The signature covers id, timestamp and body: any change breaks it."""
    secret = signing.new_secret()
    timestamp = now_s()
    headers = signing.headers([secret], "msg_1", timestamp, BODY)
    body = BODY
    if part == "body":
        body = BODY.replace(b"task_1", b"task_2")
    elif part == "webhook-id":
        headers["webhook-id"] = "msg_2"
    else:
        headers["webhook-timestamp"] = str(timestamp - 1)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)


async def test_a_keys_secret_is_made_once_and_kept(key_store: RedisKeyStore) -> None:
    """The first use makes the secret; later reads return the same one."""
    keys = KeyService(key_store, clock=FakeClock())
    first = await keys.signing_secrets("key_1")
    assert first.current.startswith("whsec_") and first.previous is None
    assert await keys.signing_secrets("key_1") == first
    assert keys.secrets_in_use(first) == (first.current,)


async def test_a_rotated_secret_signs_alongside_the_old_one_for_the_grace_only(
    key_store: RedisKeyStore,
) -> None:
    """24 h after rotate_signing_secret the previous secret is no longer used."""
    clock = FakeClock()
    keys = KeyService(key_store, clock=clock)
    before = await keys.signing_secrets("key_1")
    rotated = await keys.rotate_signing_secret("key_1")
    assert rotated.previous == before.current and rotated.current != before.current
    assert await keys.signing_secrets("key_1") == rotated
    assert keys.secrets_in_use(rotated) == (rotated.current, before.current)
    clock.advance(ROTATION_GRACE.total_seconds() - 1)
    assert keys.secrets_in_use(rotated) == (rotated.current, before.current)
    clock.advance(1)
    assert keys.secrets_in_use(rotated) == (rotated.current,)


class ReadingTogether:
    """The key store, but each read of signing secrets waits until ``parties`` reads are done:
    concurrent callers all read before any of them writes, the worst interleaving."""

    def __init__(self, store: RedisKeyStore, parties: int) -> None:
        self._store = store
        self._barrier = asyncio.Barrier(parties)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def signing_secrets(self, key_id: str) -> SigningSecrets | None:
        found = await self._store.signing_secrets(key_id)
        await self._barrier.wait()
        return found


async def test_two_concurrent_rotations_lose_no_secret(key_store: RedisKeyStore) -> None:
    """Both rotations read the same secret first; still one replaces the other's, so the
    secret before them and the first one's new secret both stay known (neither is lost)."""
    first = await KeyService(key_store, clock=FakeClock()).signing_secrets("key_1")
    keys = KeyService(ReadingTogether(key_store, parties=2), clock=FakeClock())  # type: ignore[arg-type]
    one, two = await asyncio.gather(
        keys.rotate_signing_secret("key_1"), keys.rotate_signing_secret("key_1")
    )
    earlier, later = (one, two) if two.previous == one.current else (two, one)
    assert earlier.previous == first.current
    assert later.previous == earlier.current
    assert await key_store.signing_secrets("key_1") == later


async def test_two_first_uses_at_once_make_one_secret(key_store: RedisKeyStore) -> None:
    """Two requests that both find no secret yet end with the same one, stored once."""
    keys = KeyService(ReadingTogether(key_store, parties=2), clock=FakeClock())  # type: ignore[arg-type]
    one, two = await asyncio.gather(keys.signing_secrets("key_1"), keys.signing_secrets("key_1"))
    assert one == two == await key_store.signing_secrets("key_1")
