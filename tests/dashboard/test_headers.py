"""Every dashboard answer, page, redirect, error, file or stream, carries the strict
Content-Security-Policy and the other security headers."""

from __future__ import annotations

import httpx
import pytest

from adapter.core.values import TaskStatus
from tests.dashboard.conftest import new_key, submit
from tests.dashboard.forms import Dashboard
from tests.fakes import ScriptedProvider

pytestmark = pytest.mark.anyio


def assert_guarded(answer: httpx.Response) -> None:
    policy = answer.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"] in ("same-origin", "no-referrer")
    assert answer.headers["x-content-type-options"] == "nosniff"


async def test_every_page_sends_the_security_headers(
    dashboard: Dashboard, provider: ScriptedProvider
) -> None:
    key, secret = await new_key(dashboard.http)
    task_id = await submit(dashboard.http, secret)
    provider.set_state("up_1", TaskStatus.SUCCEEDED, seconds=5)
    paths = [
        "/",
        "/login",
        "/keys",
        "/keys/new",
        f"/keys/{key['id']}",
        f"/keys/{key['id']}/delete",
        "/tasks",
        f"/tasks/{task_id}",
        f"/tasks/{task_id}/events",
        f"/tasks/{task_id}/json",
        "/usage",
        "/usage.csv",
        "/static/dashboard.css",
        "/static/task.js",
        "/nowhere",  # 404 page
        "/keys/key_nobody",  # 404 page of the app's error
        "/usage?from=yesterday",  # 422 page
    ]
    for path in paths:
        answer = await dashboard.get(path)
        assert answer.status_code < 500, path
        assert_guarded(answer)
    refused = await dashboard.http.post("/dashboard/keys", data={"name": "x"})
    assert refused.status_code == 403
    assert_guarded(refused)


async def test_signed_out_answers_send_them_too(http: httpx.AsyncClient) -> None:
    for path in ("/dashboard/", "/dashboard/login", "/dashboard/keys"):
        assert_guarded(await http.get(path))
    assert_guarded(await http.post("/dashboard/login", data={"token": "x"}))


async def test_no_page_has_inline_script_or_style(dashboard: Dashboard) -> None:
    for path in ("/login", "/keys", "/keys/new", "/tasks", "/usage"):
        page = (await dashboard.get(path)).text
        assert "<script>" not in page and "<style" not in page and " style=" not in page
        assert " on" + "click=" not in page
