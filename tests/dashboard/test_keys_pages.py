"""The keys pages: every key with its limits and budget; a new key's secret shown once; edit,
disable, enable and delete, each as the admin API would do it."""

from __future__ import annotations

import re

import pytest

from tests.dashboard.conftest import ADMIN, new_key, submit
from tests.dashboard.forms import Dashboard

pytestmark = pytest.mark.anyio


async def test_a_new_keys_secret_is_shown_once_and_never_on_another_page(
    dashboard: Dashboard,
) -> None:
    created = await dashboard.post(
        "/keys", name="shop", owner="shop-owner", mode="test", rpm="30", max_concurrent="2",
        budget_amount="12.5", budget_period="day", models="kling-v3",
    )  # fmt: skip
    assert created.status_code == 201
    secret = created.text.split('<code id="secret">', 1)[1].split("<", 1)[0]
    assert secret.startswith("mv_test_")
    assert 'data-copy="secret"' in created.text and "/static/secret.js" in created.text
    assert created.headers["cache-control"] == "no-store"
    models = await dashboard.http.get(
        "/api/v1/models", headers={"Authorization": f"Bearer {secret}"}
    )
    assert models.status_code == 200  # the secret shown is the key's
    (key,) = (await dashboard.http.get("/admin/v1/keys", headers=ADMIN)).json()["data"]
    assert (key["owner"], key["mode"], key["rpm"], key["max_concurrent"]) == (
        "shop-owner", "test", 30, 2,
    )  # fmt: skip
    assert key["models"] == ["kling-v3"]
    assert key["budget"]["amount"] == 12.5 and key["budget"]["period"] == "day"
    for path in ("/keys", f"/keys/{key['id']}", f"/keys/{key['id']}/delete", "/tasks", "/usage"):
        page = (await dashboard.get(path)).text
        assert secret not in page and secret[8:20] not in page, path
        assert key["id"] in page or path in ("/usage",), path


async def test_the_keys_page_lists_mode_status_limits_budget_and_last_use(
    dashboard: Dashboard,
) -> None:
    key, secret = await new_key(
        dashboard.http, rpm=60, max_concurrent=3, budget={"amount": "10", "period": "month"}
    )
    await new_key(dashboard.http, name="tester", mode="test")
    await submit(dashboard.http, secret)
    page = (await dashboard.get("/keys")).text
    row = page.split(f'data-key-id="{key["id"]}"', 1)[1].split("</tr>", 1)[0]
    assert "acme" in row and "live" in row and "active" in row
    assert "rpm 60" in row and "concurrent 3" in row
    # The task's estimate is reserved: what is left is the budget less it.
    assert "$0 spent" in row and "reserved" in row and "left of $10" in row
    assert "never" not in row.split("</td>")[-3]  # last used: just now
    assert "tester" in page and "mode-test" in page


async def test_a_bad_field_reads_as_the_admin_apis_error_and_keeps_the_form(
    dashboard: Dashboard,
) -> None:
    cases = [
        ({"rpm": "lots"}, {"rpm": "lots"}),
        ({"models": "no-such-model"}, {"models": ["no-such-model"]}),
        ({"budget_amount": "-3"}, {"budget": {"amount": "-3", "period": "month"}}),
        ({"expires_at": "2001-01-01T00:00"}, {"expires_at": "2001-01-01T00:00:00Z"}),
    ]
    for fields, body in cases:
        page = await dashboard.post("/keys", name="shop", budget_period="month", **fields)
        api = await dashboard.http.post(
            "/admin/v1/keys", json={"name": "shop", **body}, headers=ADMIN
        )
        assert page.status_code == api.status_code == 422, fields
        error = api.json()["error"]
        assert f"<strong>{error['param']}</strong>: " in page.text
        assert httpx_text(error["message"]) in page.text, (fields, error)
        assert 'value="shop"' in page.text  # what was typed stays
    assert (await dashboard.http.get("/admin/v1/keys", headers=ADMIN)).json()["data"] == []


def httpx_text(message: str) -> str:
    """``message`` as the page escapes it."""
    return message.replace("&", "&amp;").replace("'", "&#39;").replace('"', "&#34;")


async def test_editing_sets_and_clears_limits_and_budget(dashboard: Dashboard) -> None:
    key, _ = await new_key(dashboard.http, rpm=5)
    answer = await dashboard.post(
        f"/keys/{key['id']}", rpm="", max_concurrent="4", budget_amount="7", budget_period="total"
    )
    assert answer.status_code == 303
    shown = (await dashboard.http.get(f"/admin/v1/keys/{key['id']}", headers=ADMIN)).json()
    assert shown["rpm"] is None and shown["max_concurrent"] == 4
    assert (shown["budget"]["amount"], shown["budget"]["period"]) == (7, "total")
    form = (await dashboard.get(f"/keys/{key['id']}")).text
    assert 'name="max_concurrent" inputmode="numeric" value="4"' in form
    bad = await dashboard.post(f"/keys/{key['id']}", max_concurrent="0")
    assert bad.status_code == 422 and "<strong>max_concurrent</strong>" in bad.text


async def test_disable_refuses_the_key_at_once_and_enable_restores_it(
    dashboard: Dashboard,
) -> None:
    key, secret = await new_key(dashboard.http)
    auth = {"Authorization": f"Bearer {secret}"}
    assert (await dashboard.post(f"/keys/{key['id']}/disable")).status_code == 303
    refused = await dashboard.http.get("/api/v1/tasks", headers=auth)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "api_key_disabled"
    assert "status-disabled" in (await dashboard.get("/keys")).text
    assert (await dashboard.post(f"/keys/{key['id']}/enable")).status_code == 303
    assert (await dashboard.http.get("/api/v1/tasks", headers=auth)).status_code == 200


async def test_delete_asks_first_then_deletes(dashboard: Dashboard) -> None:
    key, secret = await new_key(dashboard.http)
    confirm = await dashboard.get(f"/keys/{key['id']}/delete")
    assert confirm.status_code == 200
    assert f'action="/dashboard/keys/{key["id"]}/delete"' in confirm.text
    assert (await dashboard.http.get(f"/admin/v1/keys/{key['id']}", headers=ADMIN)).is_success
    assert (await dashboard.post(f"/keys/{key['id']}/delete")).status_code == 303
    gone = await dashboard.http.get(f"/admin/v1/keys/{key['id']}", headers=ADMIN)
    assert gone.status_code == 404
    answer = await dashboard.http.get(
        "/api/v1/tasks", headers={"Authorization": f"Bearer {secret}"}
    )
    assert answer.json()["error"]["code"] == "invalid_api_key"
    assert (await dashboard.get(f"/keys/{key['id']}")).status_code == 404


async def test_the_nav_has_keys_tasks_usage_and_providers(dashboard: Dashboard) -> None:
    page = (await dashboard.get("/keys")).text
    nav = page.split('<nav aria-label="Dashboard">', 1)[1].split("</nav>", 1)[0]
    links = re.findall(r'<a href="/dashboard/(\w+)"( aria-current="page")?>(\w+)</a>', nav)
    assert links == [
        ("keys", ' aria-current="page"', "Keys"),
        ("tasks", "", "Tasks"),
        ("usage", "", "Usage"),
        ("providers", "", "Providers"),
    ]
