"""Rendering: the Jinja2 templates (autoescaped) and the pages every handler shares."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import jinja2
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from adapter.core.errors import AdapterError, AdminApiOff
from adapter.dashboard.access import ROOT, Operator
from adapter.http.errors import adapter_error, log_unavailable, status_of

#: The navigation, in order: (path under ``ROOT``, label). A new page is one more entry.
NAV: tuple[tuple[str, str], ...] = (
    ("keys", "Keys"),
    ("tasks", "Tasks"),
    ("usage", "Usage"),
    ("providers", "Providers"),
)


def _when(moment: datetime | None) -> str:
    """A time as the pages show it: UTC, to the second."""
    return "never" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _money(amount: Decimal | None) -> str:
    return "—" if amount is None else f"${amount:f}"


def _plain(amount: Decimal) -> str:
    """A decimal with no exponent: 10, never 1E+1."""
    return f"{amount:f}"


_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("adapter.dashboard", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_templates.globals.update(root=ROOT, nav=NAV)
_templates.filters.update(when=_when, money=_money, plain=_plain)


def render(
    name: str,
    operator: Operator | None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """The template ``name``; pages are never cached (they may hold a key's secret)."""
    html = _templates.get_template(name).render(
        {"operator": operator, "csrf": operator.csrf if operator else "", "page": "", **context}
    )
    return HTMLResponse(
        html, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})}
    )


def model_options(operator: Operator) -> list[tuple[str, str]]:
    """Every served model, live or test, as a filter's choices."""
    return [(spec.slug, spec.slug) for spec in operator.services.models.served(None)]


def see(path: str) -> RedirectResponse:
    """After a POST, the page to show next (303: the browser GETs it)."""
    return RedirectResponse(f"{ROOT}{path}", status_code=303)


async def to_sign_in(request: Request, exc: Exception) -> Response:
    return see("/login")


async def csrf_refused(request: Request, exc: Exception) -> Response:
    message = "This form is out of date or did not come from this dashboard: reload and retry."
    return render("error.html", None, status=403, title="Refused", message=message)


async def failed(request: Request, exc: Exception) -> Response:
    """An error as a page (its status and message as the API's), or the off dashboard's 404."""
    if isinstance(exc, AdminApiOff):
        return await adapter_error(request, exc)
    if isinstance(exc, HTTPException):
        status, message = exc.status_code, str(exc.detail)
    else:
        assert isinstance(exc, AdapterError)
        (status, code), message = status_of(exc), exc.message
        if status >= 500:
            log_unavailable(request, status, code, exc)
    return render("error.html", None, status=status, title="Error", message=message)
