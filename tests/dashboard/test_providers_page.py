"""The providers page: each model's providers in routing order, each one's circuit, and its
calls, errors by kind and latency over the last 5 minutes and hour, from every process."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import pytest
from starlette.datastructures import Secret

from adapter.bootstrap.app import create_app
from adapter.bootstrap.parts import Parts, build
from adapter.config.providers import ProviderConfig
from adapter.config.settings import Settings
from adapter.core.errors import ProviderUnavailable
from adapter.core.values import Strategy
from adapter.stores.redis import RedisTaskStore
from adapter.stores.redis_keys import RedisKeyStore
from tests.conftest import SCHEMAS
from tests.dashboard.conftest import TOKEN, client, new_key, submit
from tests.dashboard.forms import Dashboard
from tests.fakes import FakeClock, FakeMedia, FakeWebhooks, ScriptedProvider

pytestmark = pytest.mark.anyio

MODEL = "kling-v2-6"


@pytest.fixture
def first() -> ScriptedProvider:
    return ScriptedProvider("kling", (MODEL,))


@pytest.fixture
def backup() -> ScriptedProvider:
    return ScriptedProvider("backup", (MODEL, "kling-v3"))


@pytest.fixture
def make_parts(
    store: RedisTaskStore,
    key_store: RedisKeyStore,
    clock: FakeClock,
    first: ScriptedProvider,
    backup: ScriptedProvider,
) -> Callable[[Settings], Parts]:
    """The parts on ``settings``, with the two scripted hosts."""

    def make(settings: Settings) -> Parts:
        return build(
            settings,
            store=store,
            key_store=key_store,
            providers=[first, backup],
            media=FakeMedia(),
            webhooks=FakeWebhooks(),
            clock=clock,
        )

    return make


@pytest.fixture
def parts(make_parts: Callable[[Settings], Parts]) -> Parts:
    return make_parts(Settings(schemas_dir=SCHEMAS, admin_token=Secret(TOKEN), circuit_failures=3))


@pytest.fixture
async def dashboard(parts: Parts) -> AsyncIterator[Dashboard]:
    app = create_app(Settings(schemas_dir=SCHEMAS, admin_token=Secret(TOKEN)), parts=parts)
    async with client(app) as http:
        yield await Dashboard.sign_in(http, TOKEN)


def cells(html: str, provider: str) -> list[str]:
    """The text of each cell of ``provider``'s row."""
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", html, re.S) if f"<td>{provider}</td>" in r)
    return [
        " ".join(re.sub(r"<[^>]+>", " ", cell).split())
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]


async def test_the_page_shows_the_routing_order_the_open_circuit_and_the_errors_by_kind(
    dashboard: Dashboard, parts: Parts, first: ScriptedProvider
) -> None:
    _, secret = await new_key(dashboard.http)
    first.submit_outcomes.extend(ProviderUnavailable("kling", "503") for _ in range(3))
    for _ in range(4):  # three fall through, then the fourth skips the open circuit
        await submit(dashboard.http, secret)
    assert len(first.submits) == 3
    await parts.provider_stats.flush()
    page = await dashboard.get("/providers")
    assert page.status_code == 200
    html = page.text
    model, rank, name, price, circuit, calls, errors, _latency, *hour = cells(html, "kling")
    assert (model, rank, name, calls, errors) == (MODEL, "1", "kling", "3", "unavailable 3")
    assert price == "—"  # no price row
    assert circuit == "open until 2026-11-23 08:00:30 UTC"  # the fake clock, 30 s on
    assert hour[0] == "3"
    _, rank, _, price, circuit, calls, errors, latency, *hour = cells(html, "backup")
    assert (rank, circuit, calls, errors) == ("2", "closed", "4", "none")
    assert latency.endswith(" ms") and hour[0] == "4"
    assert '<a href="/dashboard/providers?mode=test">test keys</a>' in html


async def test_a_provider_with_no_calls_yet_shows_none(dashboard: Dashboard) -> None:
    html = (await dashboard.get("/providers", mode="test")).text
    assert cells(html, "backup")[3:] == ["—", "closed", "0", "none", "—", "0", "none", "—"]
    assert "Providers</a>" in html  # in the navigation


async def test_the_page_needs_a_session(parts: Parts) -> None:
    app = create_app(Settings(schemas_dir=SCHEMAS, admin_token=Secret(TOKEN)), parts=parts)
    async with client(app) as http:
        answer = await http.get("/dashboard/providers")
    assert answer.status_code == 303 and answer.headers["location"].endswith("/dashboard/login")


async def test_the_page_shows_each_models_strategy_shares_and_price_rows(
    make_parts: Callable[[Settings], Parts],
) -> None:
    rows = (
        ProviderConfig(name="kling", dialect="kling-gateway", base_url="https://k.test"),
        ProviderConfig(
            name="backup",
            dialect="fal",
            base_url="https://f.test",
            prices={MODEL: Decimal("0.07"), "kling-v3": Decimal("0.084")},
        ),
    )
    settings = Settings(
        schemas_dir=SCHEMAS,
        admin_token=Secret(TOKEN),
        providers=rows,
        strategies={MODEL: Strategy("weighted", {"kling": 80, "backup": 20})},
    )
    parts = make_parts(settings)
    async with client(create_app(settings, parts=parts)) as http:
        html = (await (await Dashboard.sign_in(http, TOKEN)).get("/providers")).text
    assert cells(html, "kling")[:4] == [f"{MODEL} (weighted)", "1 80%", "kling", "—"]
    assert cells(html, "backup")[:4] == ["", "2 20%", "backup", "$0.07"]
