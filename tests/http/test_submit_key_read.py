"""A submit with an Idempotency-Key reads its API key in the same round trip as its claim,
once the process knows the key's owner; the key is still read and checked at every request,
and the answers are those of a key read first."""

from __future__ import annotations

import httpx
import msgspec
import pytest
import redis.asyncio as aioredis

from adapter.core.errors import StoreUnavailable
from adapter.core.values import ApiKey
from adapter.service.keys import KeyService
from adapter.stores.redis import RedisTaskStore
from adapter.stores.redis_keys import RedisKeyStore
from tests.fakes import MODEL, seed_input

pytestmark = pytest.mark.anyio


class CountingKeyStore(RedisKeyStore):
    """The real key store, counting the key reads made apart from any other read."""

    reads = 0

    async def key_by_hash(self, key_hash: str) -> ApiKey | None:
        self.reads += 1
        return await super().key_by_hash(key_hash)


class FailingReleaseStore(RedisTaskStore):
    """The real task store, whose claim releases fail while ``failing`` is set."""

    failing = False

    async def release_idempotency(self, owner: str, scope: str, task_id: str) -> None:
        if self.failing:
            raise StoreUnavailable("The task store is unavailable: ConnectionError.")
        await super().release_idempotency(owner, scope, task_id)


@pytest.fixture
def key_store(redis: aioredis.Redis, namespace: str) -> CountingKeyStore:
    return CountingKeyStore(redis, namespace=namespace)


@pytest.fixture
def store(redis: aioredis.Redis, namespace: str) -> FailingReleaseStore:
    return FailingReleaseStore(redis, namespace=namespace, task_ttl_s=3600)


def body(**changes: object) -> dict[str, object]:
    return {"model": MODEL, "input": seed_input(**changes)}


async def post(
    client: httpx.AsyncClient, secret: str, idempotency_key: str | None, payload: object
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {secret}"}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return await client.post("/api/v1/tasks", json=payload, headers=headers)


def code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


async def test_a_known_keys_idempotent_submit_reads_the_key_with_the_claim(
    client: httpx.AsyncClient, keys: KeyService, key_store: CountingKeyStore
) -> None:
    """The first submit reads the key on its own; later ones with an Idempotency-Key read it
    with their claim, and ones without a key read it on their own again."""
    _, secret = await keys.create(name="counted")
    key_store.reads = 0
    assert (await post(client, secret, "first", body())).status_code == 200
    assert key_store.reads == 1
    for n in range(3):
        assert (await post(client, secret, f"next-{n}", body())).status_code == 200
    assert key_store.reads == 1
    assert (await post(client, secret, None, body())).status_code == 200
    assert key_store.reads == 2


async def test_a_key_disabled_after_use_is_refused_and_its_new_claim_given_back(
    client: httpx.AsyncClient, keys: KeyService
) -> None:
    """The next submit of a disabled key is a 401 and makes no task; the Idempotency-Key it
    claimed is free again, so the key, enabled again, may use it for another request."""
    key, secret = await keys.create(name="disabled")
    assert (await post(client, secret, "warm", body())).status_code == 200
    await keys.set_enabled(key.id, False)
    assert code(await post(client, secret, "k1", body())) == (401, "api_key_disabled")
    await keys.set_enabled(key.id, True)
    listed = await client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {secret}"})
    assert len(listed.json()["data"]) == 1  # the warm-up's only
    other = await post(client, secret, "k1", body(prompt="another request"))
    assert other.status_code == 200, other.text
    assert "idempotent-replayed" not in other.headers


async def test_a_refused_key_leaves_a_claim_it_did_not_make(
    client: httpx.AsyncClient, keys: KeyService
) -> None:
    """A refused retry does not free the claim of the request it retries: once the key is
    enabled again, the retry replays the first task."""
    key, secret = await keys.create(name="retrying")
    first = await post(client, secret, "k2", body())
    await keys.set_enabled(key.id, False)
    assert code(await post(client, secret, "k2", body())) == (401, "api_key_disabled")
    await keys.set_enabled(key.id, True)
    again = await post(client, secret, "k2", body())
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["task_id"] == first.json()["task_id"]


async def test_a_refused_key_is_answered_before_a_bad_request(
    client: httpx.AsyncClient, keys: KeyService, key_store: CountingKeyStore
) -> None:
    """Whatever is wrong with the request, a refused key's 401 comes first, then a model the
    key may not submit (403), as when the key was read before the body; a key never admitted
    here is read before the body is."""
    key, secret = await keys.create(name="ordered")
    limited = msgspec.structs.replace(key, models=("kling-v3",))

    async def refused(payload: object, idempotency_key: str = "k3") -> tuple[int, str]:
        """The answer to ``payload`` just after the key was disabled, while this process
        still took it for active (its claim read with the key)."""
        await keys.replace(limited)
        assert (
            await post(client, secret, None, {"model": "kling-v3", "input": {}})
        ).status_code == 422
        await keys.set_enabled(key.id, False)
        reads = key_store.reads
        answer = await post(client, secret, idempotency_key, payload)
        assert key_store.reads - reads <= 1  # read with the claim, or once for the order
        return code(answer)

    bad_input = body(duration=99)
    for payload in (bad_input, {"model": "no-such-model", "input": {}}, [1], {"extra": 1}):
        assert await refused(payload) == (401, "api_key_disabled")
    assert await refused(body(), "bad key") == (401, "api_key_disabled")
    assert await refused(body()) == (401, "api_key_disabled")
    await keys.replace(limited)
    assert code(await post(client, secret, "k3", bad_input)) == (403, "model_not_allowed")
    assert code(await post(client, secret, "k3", body())) == (403, "model_not_allowed")
    await keys.replace(msgspec.structs.replace(key, models=None))
    made = await post(client, secret, "k3", body())
    assert made.status_code == 200, made.text  # no refusal kept the claim on k3
    assert "idempotent-replayed" not in made.headers
    reads = key_store.reads
    assert code(await post(client, "mv_test_never_issued", "k3", [1])) == (401, "invalid_api_key")
    assert key_store.reads == reads + 1


async def test_a_refused_key_is_refused_even_when_its_claim_cannot_be_given_back(
    client: httpx.AsyncClient, keys: KeyService, store: FailingReleaseStore
) -> None:
    """The store failing as the claim is given back does not turn the key's 401 into a 503;
    the claim then lapses like one whose task was never stored."""
    key, secret = await keys.create(name="unreleased")
    assert (await post(client, secret, "warm", body())).status_code == 200
    await keys.set_enabled(key.id, False)
    store.failing = True
    assert code(await post(client, secret, "k5", body())) == (401, "api_key_disabled")


async def test_a_key_issued_again_to_another_owner_submits_for_its_new_owner(
    client: httpx.AsyncClient, keys: KeyService
) -> None:
    """A secret deleted and registered again for another owner: the process knew the old
    owner, whose Idempotency-Key it claimed with the read; the task is the new owner's, and
    the old owner's claim is given back."""
    secret = "mv_test_" + "ab" * 20
    first = await keys.register(secret, name="first", owner="owner-a")
    assert (await post(client, secret, "warm", body())).status_code == 200
    await keys.delete(first.id)
    second = await keys.register(secret, name="second", owner="owner-b")
    made = await post(client, secret, "k4", body())
    assert made.status_code == 200, made.text
    task_id = made.json()["task_id"]
    read = await client.get(
        f"/api/v1/tasks/{task_id}", headers={"Authorization": f"Bearer {secret}"}
    )
    assert read.status_code == 200  # owner-b's task
    await keys.delete(second.id)
    await keys.register(secret, name="third", owner="owner-a")
    again = await post(client, secret, "k4", body(prompt="owner-a's own request"))
    assert again.status_code == 200, again.text  # owner-a's claim on k4 was given back
    assert again.json()["task_id"] != task_id
