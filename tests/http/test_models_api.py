"""GET /api/v1/models[/{slug}]: the served models, each with its seed schema and pricing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from adapter.bootstrap.app import create_app
from adapter.bootstrap.parts import build
from adapter.config.settings import Settings
from adapter.core.errors import ProviderRateLimited, ProviderUnavailable
from adapter.service.keys import KeyService
from adapter.stores.redis import RedisTaskStore
from adapter.stores.redis_keys import RedisKeyStore
from tests.conftest import SCHEMAS
from tests.fakes import FakeClock, FakeMedia, ScriptedProvider
from tests.http.conftest import KEY

pytestmark = pytest.mark.anyio

KLING_MODELS = ("kling-v3", "kling-v2-6", "kling-v2-6-motion-control")


@pytest.fixture
def kling() -> ScriptedProvider:
    return ScriptedProvider("kling", KLING_MODELS)


@pytest.fixture
def backup() -> ScriptedProvider:
    return ScriptedProvider("backup", ("kling-v3",))


@pytest.fixture
async def client(
    store: RedisTaskStore,
    key_store: RedisKeyStore,
    media: FakeMedia,
    kling: ScriptedProvider,
    backup: ScriptedProvider,
    keys: KeyService,
) -> AsyncIterator[httpx.AsyncClient]:
    """Kling models only: wan2-6-i2v-flash has no provider here."""
    settings = Settings(schemas_dir=SCHEMAS)
    app = create_app(
        settings,
        parts=build(
            settings,
            store=store,
            key_store=key_store,
            providers=[kling, backup],
            media=media,
            clock=FakeClock(),
        ),
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://t", headers={"Authorization": f"Bearer {KEY}"}
    ) as client:
        yield client


async def test_the_list_holds_only_models_a_provider_serves(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/models")
    assert response.status_code == 200
    slugs = [m["model"] for m in response.json()["data"]]
    assert sorted(slugs) == sorted(KLING_MODELS)


async def test_a_model_shows_its_seed_schema_verbatim_and_its_rates(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/models/kling-v2-6")
    assert response.status_code == 200
    body = response.json()
    schema = json.loads((SCHEMAS / "models" / "kling-v2-6.json").read_text(encoding="utf-8"))
    assert body["input_schema"] == schema
    assert list(body["input_schema"]["properties"]) == list(schema["properties"])
    pricing = body["pricing"]
    assert pricing["billed_seconds"] == "input.duration" and pricing["rounding"] == "ceil"
    assert {"when": {"mode": "std", "audio": False}, "per_second": 0.00828} in pricing["rates"]
    assert '"per_second":0.00828' in response.text  # an exact decimal, no float noise


async def test_motion_control_is_billed_by_the_reference_video(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/models/kling-v2-6-motion-control")).json()
    assert body["pricing"]["billed_seconds"] == "reference_video"
    assert {"when": {"mode": "std"}, "per_second": 0.0080325} in body["pricing"]["rates"]


@pytest.mark.parametrize("slug", ["wan2-6-i2v-flash", "no-such-model"])
async def test_an_unserved_or_unknown_model_is_404(client: httpx.AsyncClient, slug: str) -> None:
    response = await client.get(f"/api/v1/models/{slug}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"


async def test_the_model_list_needs_an_api_key(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/models", headers={"Authorization": ""})
    assert response.status_code == 401


async def test_submitting_a_model_without_a_provider_is_422_naming_the_model(
    client: httpx.AsyncClient,
) -> None:
    body = {"model": "wan2-6-i2v-flash", "input": {"image_urls": ["https://example.com/a.png"]}}
    response = await client.post("/api/v1/tasks", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unknown_model" and error["param"] == "model"
    assert "no provider" in error["message"]


async def test_submitting_an_unknown_model_is_422_naming_the_served_ones(
    client: httpx.AsyncClient,
) -> None:
    """The message lists what can be submitted here (not wan: no provider) and where to look."""
    response = await client.post("/api/v1/tasks", json={"model": "sora-9", "input": {}})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unknown_model" and error["param"] == "model"
    assert "'sora-9'" in error["message"] and "GET /api/v1/models" in error["message"]
    served = error["message"].split("served here are: ", 1)[1].split(" (", 1)[0]
    assert sorted(served.split(", ")) == sorted(KLING_MODELS)


async def test_when_every_provider_fails_the_503_names_each_reason(
    client: httpx.AsyncClient, kling: ScriptedProvider, backup: ScriptedProvider
) -> None:
    kling.submit_outcomes.append(ProviderUnavailable("kling", "503 maintenance", status=503))
    backup.submit_outcomes.append(
        ProviderRateLimited("backup", "quota exhausted", status=429, retry_after=7)
    )
    body = {"model": "kling-v3", "input": {"prompt": "a red car"}}
    response = await client.post("/api/v1/tasks", json=body)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    message = response.json()["error"]["message"]
    assert "kling: 503 maintenance" in message and "backup: quota exhausted" in message
    assert (await client.post("/api/v1/tasks", json=body)).status_code == 200  # nothing kept


@pytest.mark.parametrize(
    ("slug", "why"),
    [("gpt-image-2", "is an image model"), ("skyreels-v4-fast", "carries SkyReels")],
)
async def test_a_catalogue_slug_not_served_answers_why_on_get_and_on_submit(
    client: httpx.AsyncClient, slug: str, why: str
) -> None:
    response = await client.get(f"/api/v1/models/{slug}")
    assert response.status_code == 404 and why in response.json()["error"]["message"]
    response = await client.post("/api/v1/tasks", json={"model": slug, "input": {"prompt": "x"}})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unknown_model" and why in error["message"]
