"""Signing in with the admin token, and out."""

from __future__ import annotations

import hmac
import secrets
import time

from starlette.requests import Request
from starlette.responses import Response

from adapter.dashboard.access import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    CsrfRefused,
    SignInRequired,
    clear_cookie,
    form_of,
    keyed,
    posted,
    set_cookie,
    signed_in,
)
from adapter.dashboard.pages import render, see
from adapter.dashboard.session import LIFETIME_S, csrf_holds, csrf_token, issue

#: How long a sign-in form may wait to be sent.
_FORM_S = 3600


async def index(request: Request) -> Response:
    signed_in(request)
    return see("/keys")


async def login_form(request: Request) -> Response:
    _, key = keyed(request)
    try:
        signed_in(request)
    except SignInRequired:
        nonce = secrets.token_urlsafe(18)
        response = render(
            "login.html", None, title="Sign in", csrf=csrf_token(key, f"login:{nonce}"), wrong=False
        )
        set_cookie(response, request, LOGIN_COOKIE, nonce, _FORM_S)
        return response
    return see("/keys")


async def login(request: Request) -> Response:
    """The admin token, compared in constant time, signs in; anything else is refused."""
    services, key = keyed(request)
    form = await form_of(request)
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not nonce or not csrf_holds(key, f"login:{nonce}", form.get("csrf")):
        raise CsrfRefused
    assert services.admin_token is not None  # keyed() said so
    given = form.get("token", "").encode()
    if not hmac.compare_digest(given, services.admin_token.encode()):
        csrf = csrf_token(key, f"login:{nonce}")
        return render("login.html", None, status=401, title="Sign in", csrf=csrf, wrong=True)
    _, cookie = issue(key, time.time())
    response = see("/keys")
    set_cookie(response, request, SESSION_COOKIE, cookie, LIFETIME_S)
    clear_cookie(response, request, LOGIN_COOKIE)
    return response


async def logout(request: Request) -> Response:
    await posted(request)
    response = see("/login")
    clear_cookie(response, request, SESSION_COOKIE)
    return response
