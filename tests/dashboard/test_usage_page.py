"""The usage page: charts of tasks and cost per day and per model as inline SVG, a table, and
the CSV the admin API answers for the same query."""

from __future__ import annotations

import re

import pytest

from adapter.core.values import TaskStatus
from tests.dashboard.conftest import ADMIN, new_key, submit
from tests.dashboard.forms import Dashboard
from tests.fakes import FakeClock, ScriptedProvider

pytestmark = pytest.mark.anyio


async def used(dashboard: Dashboard, provider: ScriptedProvider, clock: FakeClock) -> str:
    """Three tasks over two days and two models, one succeeded; the first key's id."""
    key, secret = await new_key(dashboard.http)
    _, other = await new_key(dashboard.http, name="other")
    first = await submit(dashboard.http, secret)
    provider.set_state("up_1", TaskStatus.SUCCEEDED, seconds=5)
    await dashboard.http.get(
        f"/api/v1/tasks/{first}", headers={"Authorization": f"Bearer {secret}"}
    )
    clock.advance(2 * 86400)  # two days on: the day between has no tasks
    await submit(dashboard.http, secret, model="kling-v3")
    await submit(dashboard.http, other)
    key_id: str = key["id"]
    return key_id


async def test_the_csv_is_the_admin_apis_csv(
    dashboard: Dashboard, provider: ScriptedProvider, clock: FakeClock
) -> None:
    key_id = await used(dashboard, provider, clock)
    for query in ({}, {"key_id": key_id}, {"model": "kling-v3"}, {"from": "2026-11-24"}):
        mine = await dashboard.get("/usage.csv", **query)
        theirs = await dashboard.http.get(
            "/admin/v1/usage", params=query, headers={**ADMIN, "Accept": "text/csv"}
        )
        assert mine.status_code == theirs.status_code == 200
        assert mine.headers["content-type"].startswith("text/csv")
        assert "attachment" in mine.headers["content-disposition"]
        assert mine.text == theirs.text, query
        assert mine.text.count("\r\n") > 1, query  # rows, not just the header


async def test_the_page_charts_tasks_and_cost_per_day_and_per_model(
    dashboard: Dashboard, provider: ScriptedProvider, clock: FakeClock
) -> None:
    await used(dashboard, provider, clock)
    page = (await dashboard.get("/usage")).text
    charts = re.findall(r'<svg viewBox="[^"]+" role="img" aria-label="([^"]+)"', page)
    assert charts == [
        "Tasks per day",
        "Cost charged per day",
        "Tasks per model",
        "Cost charged per model",
    ]
    per_day = page.split('aria-label="Tasks per day"', 1)[1].split("</svg>", 1)[0]
    bars = re.findall(r"<title>([^<]+)</title>", per_day)
    assert bars == ["2026-11-23: 1", "2026-11-24: 0", "2026-11-25: 2"]
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', per_day)]
    assert heights[1] == 0 and heights[2] == 2 * heights[0] > 0
    per_model = page.split('aria-label="Cost charged per model"', 1)[1].split("</svg>", 1)[0]
    assert re.findall(r"<title>([^<]+)</title>", per_model) == [
        "kling-v2-6: $0.0414",
        "kling-v3: $0",
    ]
    table = page.split("<table", 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == 1 + 3  # the header, and a row per day and model
    assert 'href="/dashboard/usage.csv"' in page


async def test_the_filters_reach_the_charts_and_the_csv_link(
    dashboard: Dashboard, provider: ScriptedProvider, clock: FakeClock
) -> None:
    key_id = await used(dashboard, provider, clock)
    page = (await dashboard.get("/usage", key_id=key_id, model="kling-v3")).text
    assert re.findall(
        r"<title>([^<]+)</title>", page.split("<svg", 1)[1].split("</svg>", 1)[0]
    ) == ["2026-11-25: 1"]
    assert f'href="/dashboard/usage.csv?model=kling-v3&amp;key_id={key_id}"' in page


async def test_a_bad_range_is_said_on_the_page(dashboard: Dashboard) -> None:
    answer = await dashboard.get("/usage", **{"from": "2026-12-01", "to": "2026-11-01"})
    assert answer.status_code == 422
    assert "<strong>from</strong>: from must not be after to." in answer.text
