"""Usage: each key's ledger (per model and UTC day of creation, kept by the store's scripts
as tasks move) summed into rows by day, model and key, over a range of days."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

import msgspec

from adapter.core.errors import InvalidRequest
from adapter.core.values import from_nanos

Group = Literal["day", "model", "key"]
GROUPS: tuple[Group, ...] = ("day", "model", "key")
#: The longest range one query sums (the ledger is kept 400 days by default).
MAX_DAYS = 400
#: The range when none is asked for: the last 30 UTC days, today included.
DEFAULT_DAYS = 30

Ledgers = Callable[[Sequence[str], Sequence[str]], Awaitable[dict[tuple[str, str], dict[str, int]]]]


class UsageRow(msgspec.Struct, frozen=True, omit_defaults=True):
    """Tasks created in the row's days (by the row's model and key, when grouped so)."""

    tasks: int
    succeeded: int
    failed: int
    cancelled: int
    #: The length of the videos made, as the upstreams measured them.
    seconds: Decimal
    #: Estimates held by the row's unfinished tasks.
    cost_reserved: Decimal
    #: What its ended tasks cost (``cost_actual``).
    cost_charged: Decimal
    #: Operators only: what the hosts charged for them, by their price rows (``upstream_cost``).
    cost_upstream: Decimal | None = None
    day: str | None = None
    model: str | None = None
    key_id: str | None = None


class UsageQuery(msgspec.Struct, frozen=True):
    """Which keys and days to sum, which model to keep, and how to group."""

    key_ids: tuple[str, ...]
    days: tuple[str, ...]
    model: str | None
    group_by: tuple[Group, ...]


def query(
    key_ids: Sequence[str],
    *,
    since: str | None,
    until: str | None,
    model: str | None,
    group_by: str | None,
    today: datetime,
) -> UsageQuery:
    """A query from request parameters; ``InvalidRequest`` names a bad one."""
    last = _date(until, "to") if until else today.date()
    first = _date(since, "from") if since else last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise InvalidRequest("from must not be after to.", "from")
    if (last - first).days >= MAX_DAYS:
        raise InvalidRequest(f"A query spans {MAX_DAYS} days at most.", "from")
    groups: list[Group] = []
    for name in (group_by or "day,model").split(","):
        name = name.strip()
        if name not in GROUPS:
            raise InvalidRequest(f"group_by takes {', '.join(GROUPS)}; got {name!r}.", "group_by")
        groups.append(name)
    span = (last - first).days + 1
    days = tuple(f"{first + timedelta(days=offset):%Y-%m-%d}" for offset in range(span))
    return UsageQuery(tuple(key_ids), days, model, tuple(dict.fromkeys(groups)))


async def rows(ledgers: Ledgers, asked: UsageQuery, *, upstream: bool = False) -> list[UsageRow]:
    """The rows ``asked`` for, ordered by their groups; with ``upstream`` (operators), what the
    hosts charged too."""
    found = await ledgers(asked.key_ids, asked.days)
    sums: dict[tuple[str | None, ...], dict[str, int]] = {}
    for (key_id, day), counters in found.items():
        for field, value in counters.items():
            model, _, counter = field.rpartition("|")
            if asked.model is not None and model != asked.model:
                continue
            group = (
                day if "day" in asked.group_by else None,
                model if "model" in asked.group_by else None,
                key_id if "key" in asked.group_by else None,
            )
            row = sums.setdefault(group, {})
            row[counter] = row.get(counter, 0) + value
    ordered = sorted(sums, key=lambda g: [x or "" for x in g])
    return [_row(group, sums[group], upstream=upstream) for group in ordered]


def _row(group: tuple[str | None, ...], counters: dict[str, int], *, upstream: bool) -> UsageRow:
    day, model, key_id = group
    return UsageRow(
        tasks=counters.get("tasks", 0),
        succeeded=counters.get("succeeded", 0),
        failed=counters.get("failed", 0),
        cancelled=counters.get("cancelled", 0),
        seconds=(Decimal(counters.get("millis", 0)) / 1000).normalize(),
        cost_reserved=from_nanos(counters.get("reserved", 0)),
        cost_charged=from_nanos(counters.get("charged", 0)),
        cost_upstream=from_nanos(counters.get("upstream", 0)) if upstream else None,
        day=day,
        model=model,
        key_id=key_id,
    )


def _date(text: str, param: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(f"{param} must be a day, YYYY-MM-DD (UTC).", param) from None


CSV_FIELDS = (
    "day",
    "model",
    "key_id",
    "tasks",
    "succeeded",
    "failed",
    "cancelled",
    "seconds",
    "cost_reserved",
    "cost_charged",
    "cost_upstream",
)


def csv_text(found: Sequence[UsageRow]) -> str:
    """The rows as CSV (RFC 4180), one column per field; group columns empty when ungrouped."""
    lines = [",".join(CSV_FIELDS)]
    for row in found:
        cells = ["" if (value := getattr(row, name)) is None else str(value) for name in CSV_FIELDS]
        lines.append(",".join(_cell(cell) for cell in cells))
    return "\r\n".join(lines) + "\r\n"


def _cell(text: str) -> str:
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\r\n') else text
