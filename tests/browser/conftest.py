"""A real ``serve`` process (embedded store, the simulator) and headless Chromium driven by
Playwright: the system's ``/usr/bin/chromium``, never a downloaded browser.

Each test saves screenshots: to a temporary folder, or to ``DASHBOARD_SCREENSHOTS`` (the README's,
``docs/dashboard``) when that is set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.live import Live, clean_env, serve

CHROMIUM = Path("/usr/bin/chromium")
TOKEN = "browser-admin-token-0123456789"
KEY = "mv_live_browser_suite_key_0123456789"
#: A user's view and a phone's.
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
    pytest.skip(
        f"{CHROMIUM} is missing (apt-get install chromium); the browser tests need it",
        allow_module_level=True,
    )

from playwright.sync_api import (  # noqa: E402
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    sync_playwright,
)


@pytest.fixture(scope="module")
def server() -> Iterator[Live]:
    """The adapter with the dashboard on, its tasks slow enough to be watched."""
    live = serve(
        clean_env(
            MVA_ADMIN_TOKEN=TOKEN,
            MVA_BOOTSTRAP_KEY=KEY,
            MVA_SIM_QUEUE_SECONDS="1.5",
            MVA_SIM_PROCESS_SECONDS="1.5",
        )
    )
    yield live
    live.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def api(server: Live) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}) as client:
        yield client


@pytest.fixture
def context(browser: Browser, server: Live) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=server.url, viewport=DESKTOP)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page that fails its test on any Content-Security-Policy report or script error (an
    answer's HTTP status, such as a wrong token's 401, is no problem)."""
    page = context.new_page()
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    yield page
    assert problems == []


@pytest.fixture
def signed_in(page: Page) -> Page:
    page.goto("/dashboard/login")
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard/keys")
    return page


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = os.environ.get("DASHBOARD_SCREENSHOTS")
    return Path(where) if where else tmp_path_factory.mktemp("screenshots")
