"""The dashboard in headless Chromium against a real ``serve``: sign in, a key's secret shown
once, a disabled key refused, a task followed live to its video, the usage chart."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.browser.conftest import PHONE, TOKEN
from tests.e2e.live import Live, wait_terminal

SUBMIT = {"model": "kling-v3", "input": {"prompt": "a red car at sunset", "duration": 5}}


def test_signing_in_takes_the_admin_token_only(page: Page, shots: Path) -> None:
    page.goto("/dashboard/")
    expect(page).to_have_url(re.compile(r"/dashboard/login$"))
    page.screenshot(path=shots / "login.png")
    page.fill("#token", TOKEN + "-wrong")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text("not the admin token")
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/dashboard/keys$"))
    expect(page.get_by_role("heading", name="Keys")).to_be_visible()
    page.click("text=Sign out")
    expect(page).to_have_url(re.compile(r"/dashboard/login$"))


def test_a_new_keys_secret_is_shown_once_and_a_disabled_key_is_refused(
    signed_in: Page, context: BrowserContext, server: Live, shots: Path
) -> None:
    page = signed_in
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click("text=New key")
    page.fill("#name", "browser-shop")
    page.fill("#rpm", "30")
    page.fill("#budget_amount", "25")
    page.click("button:has-text('Create key')")
    secret = page.locator("#secret").inner_text().strip()
    assert secret.startswith("mv_live_")
    page.click("button[data-copy=secret]")
    expect(page.locator("[data-copied=secret]")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    page.screenshot(path=shots / "key-created.png")

    page.reload()  # the page forgot itself: the key's page, no secret, no second key
    expect(page).to_have_url(re.compile(r"/dashboard/keys/key_\w+$"))
    assert secret not in page.content()
    page.goto("/dashboard/keys")
    row = page.locator("tr", has_text="browser-shop")
    expect(row).to_have_count(1)
    assert secret not in page.content()
    page.screenshot(path=shots / "keys.png", full_page=True)

    auth = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{server.url}/api/v1/tasks", headers=auth).status_code == 200
    row.locator("button:has-text('Disable')").click()
    expect(page.locator("tr", has_text="browser-shop")).to_contain_text("disabled")
    refused = httpx.get(f"{server.url}/api/v1/tasks", headers=auth)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "api_key_disabled"


def test_a_task_goes_from_queued_to_succeeded_live_with_its_video(
    signed_in: Page, api: httpx.Client, shots: Path
) -> None:
    page = signed_in
    task_id = api.post("/api/v1/tasks", json=SUBMIT).json()["task_id"]
    page.goto("/dashboard/tasks")
    expect(page.locator(f"a[href='/dashboard/tasks/{task_id}']")).to_be_visible()
    page.screenshot(path=shots / "tasks.png", full_page=True)

    page.goto(f"/dashboard/tasks/{task_id}")
    status = page.locator("#task-status")
    expect(status).to_have_text("queued")
    expect(page.locator("video")).to_have_count(0)
    page.evaluate("window.sameDocument = true")
    expect(status).to_have_text("succeeded", timeout=15_000)
    expect(page.locator("#task-output video")).to_have_count(1)
    assert page.evaluate("window.sameDocument") is True  # no reload: the stream did it
    statuses = page.locator("#task-events li").all_inner_texts()
    assert [s.split()[-1] for s in statuses] == ["queued", "processing", "succeeded"]
    expect(page.locator("#task-provider")).not_to_have_text("—")
    page.screenshot(path=shots / "task.png", full_page=True)


def test_the_usage_page_draws_bars(
    signed_in: Page, api: httpx.Client, context: BrowserContext, shots: Path
) -> None:
    task_id = api.post("/api/v1/tasks", json=SUBMIT).json()["task_id"]
    assert wait_terminal(api, task_id)[-1] == "succeeded"
    page = signed_in
    page.goto("/dashboard/usage")
    chart = page.locator("svg[aria-label='Tasks per day']")
    expect(chart).to_be_visible()
    assert chart.locator("rect").count() >= 1
    assert float(chart.locator("rect").first.get_attribute("height") or 0) > 0
    expect(page.locator("table.usage tbody tr")).not_to_have_count(0)
    page.screenshot(path=shots / "usage.png", full_page=True)
    with page.expect_download() as download:
        page.click("text=Download CSV")
    assert download.value.suggested_filename == "usage.csv"

    page.set_viewport_size(PHONE)
    page.goto("/dashboard/keys")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=shots / "phone-keys.png", full_page=True)


def test_the_providers_page_shows_each_models_routing_and_calls(
    signed_in: Page, api: httpx.Client, shots: Path
) -> None:
    task_id = api.post("/api/v1/tasks", json=SUBMIT).json()["task_id"]
    assert wait_terminal(api, task_id)[-1] == "succeeded"
    page = signed_in
    model = re.compile(f"^{SUBMIT['model']}$")

    def row() -> Locator:
        """The model's first provider's row (the model's name is in its first cell)."""
        first_cell = page.locator("td:first-child", has_text=model)
        return page.locator("table.providers tbody tr").filter(has=first_cell)

    page.goto("/dashboard/providers")
    expect(row()).to_contain_text("closed")
    # Calls reach the page once the process adds its counters to Redis (every 5 s).
    for _ in range(40):
        if row().locator("td").nth(5).inner_text() != "0":
            break
        page.wait_for_timeout(250)
        page.reload()
    assert int(row().locator("td").nth(5).inner_text()) >= 1
    page.screenshot(path=shots / "providers.png", full_page=True)
