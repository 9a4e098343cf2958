"""Who may use the dashboard: the admin token's holder, signed in with a session cookie, and
every state-changing form with the CSRF token of that session."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from adapter.core.errors import AdminApiOff
from adapter.dashboard.session import Session, csrf_holds, csrf_token, signing_key, verify
from adapter.http.services import Services

#: Where the dashboard lives; its cookies are sent to nothing else.
ROOT = "/dashboard"
SESSION_COOKIE = "mva_dashboard"
#: The sign-in form's own CSRF nonce, before there is a session.
LOGIN_COOKIE = "mva_dashboard_login"


class SignInRequired(Exception):
    """No valid session: the answer is the sign-in page."""


class CsrfRefused(Exception):
    """A POST without the CSRF token of its session (or sign-in form): 403."""


@dataclass(frozen=True, slots=True)
class Operator:
    """A signed-in request: the services, and the session's CSRF token for its forms."""

    services: Services
    session: Session
    csrf: str


def keyed(request: Request) -> tuple[Services, bytes]:
    """The services and the signing key; the dashboard is off (404) with no admin token."""
    services: Services = request.app.state.services
    if services.admin_token is None:
        raise AdminApiOff("Not Found")
    return services, signing_key(services.admin_token)


def signed_in(request: Request) -> Operator:
    """The operator of a signed-in request, else ``SignInRequired``."""
    services, key = keyed(request)
    session = verify(key, request.cookies.get(SESSION_COOKIE), time.time())
    if session is None:
        raise SignInRequired
    return Operator(services, session, csrf_token(key, f"session:{session.id}"))


async def form_of(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body, by field (the last value of each)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))


async def posted(request: Request) -> tuple[Operator, dict[str, str]]:
    """A signed-in POST's form, once its CSRF token holds."""
    operator = signed_in(request)
    form = await form_of(request)
    _, key = keyed(request)
    if not csrf_holds(key, f"session:{operator.session.id}", form.get("csrf")):
        raise CsrfRefused
    return operator, form


def set_cookie(
    response: Response, request: Request, name: str, value: str, max_age: int | None
) -> None:
    """A dashboard cookie: HttpOnly, SameSite=Strict, Secure over https, for ``ROOT`` only."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=ROOT,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def clear_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(
        name, path=ROOT, secure=request.url.scheme == "https", httponly=True, samesite="strict"
    )
