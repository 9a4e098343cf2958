"""The usage page: tasks and cost per day and per model, as charts and a table, and the same
rows as the admin API's CSV."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from adapter.core.errors import InvalidRequest
from adapter.dashboard.access import signed_in
from adapter.dashboard.charts import Chart, bar_chart
from adapter.dashboard.pages import model_options, render
from adapter.http.admin import usage_rows
from adapter.service.usage import UsageRow, csv_text

_FILTERS = ("from", "to", "model", "key_id")


async def usage_page(request: Request) -> Response:
    operator = signed_in(request)
    filters = {name: request.query_params.get(name, "") for name in _FILTERS}
    rows: list[UsageRow] = []
    error = None
    try:
        rows = await usage_rows(operator.services, {**filters, "group_by": "day,model"})
    except InvalidRequest as exc:
        error = exc
    query = urlencode({name: value for name, value in filters.items() if value})
    return render(
        "usage.html",
        operator,
        status=200 if error is None else 422,
        page="usage",
        title="Usage",
        rows=rows,
        charts=_charts(rows),
        filters=filters,
        key_options=[(key.id, key.name) for key in await operator.services.admin.all()],
        model_options=model_options(operator),
        csv_query=query,
        error=error,
    )


async def usage_csv(request: Request) -> Response:
    """The rows ``GET /admin/v1/usage`` answers as CSV for the same query."""
    operator = signed_in(request)
    rows = await usage_rows(operator.services, request.query_params)
    return PlainTextResponse(
        csv_text(rows),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="usage.csv"'},
    )


def _charts(rows: list[UsageRow]) -> list[Chart]:
    """Tasks and cost charged per day (every day from the first to the last with tasks) and
    per model."""
    by_day: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    by_model: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for row in rows:
        for sums in (by_day[row.day or ""], by_model[row.model or ""]):
            sums[0] += row.tasks
            sums[1] += row.cost_charged
    days = _every_day(sorted(by_day))
    money = "${:f}".format
    return [
        bar_chart("Tasks per day", [(day, by_day[day][0]) for day in days]),
        bar_chart("Cost charged per day", [(day, by_day[day][1]) for day in days], money),
        bar_chart("Tasks per model", [(m, sums[0]) for m, sums in sorted(by_model.items())]),
        bar_chart(
            "Cost charged per model",
            [(m, sums[1]) for m, sums in sorted(by_model.items())],
            money,
        ),
    ]


def _every_day(days: list[str]) -> list[str]:
    """From the first of ``days`` to the last, the days without tasks included."""
    if not days:
        return []
    first, last = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
    return [f"{first + timedelta(days=n):%Y-%m-%d}" for n in range((last - first).days + 1)]
