"""The providers page: per provider and model, its place in the routing order, its circuit,
and its calls, errors by kind and upstream latency over the last 5 minutes and hour."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from adapter.core.values import Mode
from adapter.dashboard.access import signed_in
from adapter.dashboard.pages import render

_MODES: tuple[Mode, ...] = ("live", "test")


async def providers_page(request: Request) -> Response:
    operator = signed_in(request)
    wanted = request.query_params.get("mode", "live")
    mode: Mode = "test" if wanted == "test" else "live"
    return render(
        "providers.html",
        operator,
        page="providers",
        title="Providers",
        mode=mode,
        modes=_MODES,
        rows=await operator.services.board.rows(mode),
    )
