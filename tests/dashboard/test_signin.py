"""Signing in and out: only the admin token signs in, the session cookie is signed, flagged and
expires, every POST needs its CSRF token, and with no admin token there is no dashboard."""

from __future__ import annotations

import time

import httpx
import pytest
from starlette.applications import Starlette

from adapter.dashboard.session import LIFETIME_S, issue, signing_key
from adapter.stores.redis import RedisTaskStore
from adapter.stores.redis_keys import RedisKeyStore
from tests.dashboard.conftest import TOKEN, client, make_app
from tests.dashboard.forms import Dashboard, csrf_in
from tests.fakes import FakeClock, ScriptedProvider

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("path", ["/dashboard/", "/dashboard/keys", "/dashboard/tasks/task_x"])
async def test_signed_out_pages_redirect_to_the_sign_in_page(
    http: httpx.AsyncClient, path: str
) -> None:
    answer = await http.get(path)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/login"


async def test_the_sign_in_page_asks_for_the_token_in_a_password_field_with_a_csrf_field(
    http: httpx.AsyncClient,
) -> None:
    page = (await http.get("/dashboard/login")).text
    assert '<input id="token" name="token" type="password"' in page
    assert csrf_in(page)


async def test_a_wrong_token_signs_nobody_in_and_says_so(http: httpx.AsyncClient) -> None:
    csrf = csrf_in((await http.get("/dashboard/login")).text)
    answer = await http.post("/dashboard/login", data={"csrf": csrf, "token": TOKEN + "x"})
    assert answer.status_code == 401
    assert "That is not the admin token" in answer.text
    assert "mva_dashboard=" not in answer.headers.get("set-cookie", "")
    assert (await http.get("/dashboard/keys")).status_code == 303


async def test_signing_in_sets_a_signed_http_only_strict_expiring_cookie(
    http: httpx.AsyncClient,
) -> None:
    csrf = csrf_in((await http.get("/dashboard/login")).text)
    answer = await http.post("/dashboard/login", data={"csrf": csrf, "token": TOKEN})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/keys"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if "mva_dashboard=" in c)
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in flags and "samesite=strict" in flags and "path=/dashboard" in flags
    assert f"max-age={LIFETIME_S}" in flags
    assert "secure" not in flags  # plain http: a Secure cookie would never come back
    expires = int(cookie.split("=", 1)[1].split(";")[0].split(".")[1])
    assert abs(expires - (time.time() + LIFETIME_S)) < 60  # the expiry is in the signed value
    assert (await http.get("/dashboard/keys")).status_code == 200


async def test_the_cookie_is_secure_when_served_over_https(app: Starlette) -> None:
    async with client(app, "https://adapter.test") as https:
        csrf = csrf_in((await https.get("/dashboard/login")).text)
        answer = await https.post("/dashboard/login", data={"csrf": csrf, "token": TOKEN})
    cookie = next(c for c in answer.headers.get_list("set-cookie") if "mva_dashboard=" in c)
    assert "secure" in [part.strip().lower() for part in cookie.split(";")]


async def test_a_sign_in_without_its_form_csrf_token_is_refused(
    http: httpx.AsyncClient,
) -> None:
    await http.get("/dashboard/login")
    answer = await http.post("/dashboard/login", data={"token": TOKEN})
    assert answer.status_code == 403
    answer = await http.post("/dashboard/login", data={"csrf": "forged", "token": TOKEN})
    assert answer.status_code == 403
    assert (await http.get("/dashboard/keys")).status_code == 303


async def test_a_forged_or_expired_session_cookie_is_no_session(
    http: httpx.AsyncClient,
) -> None:
    key = signing_key(TOKEN)
    _, stale = issue(key, time.time() - LIFETIME_S - 1)
    _, good = issue(key, time.time())
    session_id, expires, mac = good.split(".")
    longer = f"{session_id}.{int(expires) + 10**6}.{mac}"  # the expiry is signed
    for cookie in (stale, longer, "nonsense", good + "x"):
        http.cookies.set("mva_dashboard", cookie, path="/dashboard")
        assert (await http.get("/dashboard/keys")).status_code == 303, cookie
    http.cookies.set("mva_dashboard", good, path="/dashboard")
    assert (await http.get("/dashboard/keys")).status_code == 200


async def test_a_new_admin_token_signs_everyone_out(
    dashboard: Dashboard,
    store: RedisTaskStore,
    key_store: RedisKeyStore,
    provider: ScriptedProvider,
    clock: FakeClock,
) -> None:
    """Sessions are signed with a key derived from the token: no setting, no store."""
    other = make_app(store, key_store, provider, clock, token="another-token-0123456789")
    async with client(other) as http:
        http.cookies = dashboard.http.cookies
        assert (await http.get("/dashboard/keys")).status_code == 303
    async with client(make_app(store, key_store, provider, clock)) as http:
        http.cookies = dashboard.http.cookies  # another process, the same token: signed in
        assert (await http.get("/dashboard/keys")).status_code == 200


async def test_signing_out_ends_the_session(dashboard: Dashboard) -> None:
    answer = await dashboard.post("/logout")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/login"
    assert (await dashboard.get("/keys")).status_code == 303


@pytest.mark.parametrize(
    "path", ["/logout", "/keys", "/keys/key_x", "/keys/key_x/disable", "/keys/key_x/delete"]
)
async def test_a_post_without_the_sessions_csrf_token_is_403(
    dashboard: Dashboard, path: str
) -> None:
    for fields in ({}, {"csrf": "wrong"}, {"csrf": dashboard.csrf + "A"}):
        answer = await dashboard.http.post(f"/dashboard{path}", data={**fields, "name": "x"})
        assert answer.status_code == 403, (path, fields)
    assert (await dashboard.get("/keys")).status_code == 200  # still signed in


async def test_a_csrf_token_of_another_session_is_403(app: Starlette, dashboard: Dashboard) -> None:
    async with client(app) as other_browser:
        other = await Dashboard.sign_in(other_browser, TOKEN)
    assert other.csrf != dashboard.csrf
    answer = await dashboard.http.post(
        "/dashboard/keys", data={"csrf": other.csrf, "name": "sneaky"}
    )
    assert answer.status_code == 403
    assert "sneaky" not in (await dashboard.get("/keys")).text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/dashboard/"),
        ("GET", "/dashboard/login"),
        ("POST", "/dashboard/login"),
        ("GET", "/dashboard/keys"),
        ("GET", "/dashboard/static/dashboard.css"),
    ],
)
async def test_with_no_admin_token_there_is_no_dashboard(
    store: RedisTaskStore,
    key_store: RedisKeyStore,
    provider: ScriptedProvider,
    clock: FakeClock,
    method: str,
    path: str,
) -> None:
    async with client(make_app(store, key_store, provider, clock, token=None)) as http:
        answer = await http.request(method, path, data={"token": ""})
        admin = await http.get("/admin/v1/keys")
    assert answer.status_code == 404
    assert (
        answer.json()["error"]
        == admin.json()["error"]
        == {
            "code": "not_found",
            "message": "Not Found",
        }
    )
