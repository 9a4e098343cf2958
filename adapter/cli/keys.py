"""``mindvideo-adapter keys ...``: manage API keys in the Redis named by ``REDIS_URL``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import timedelta
from typing import Any

from adapter.bootstrap.parts import key_service
from adapter.config.settings import Settings, SettingsError
from adapter.core.clock import utc_now
from adapter.core.errors import InvalidRequest, KeyNotFound
from adapter.service.admin import AdminKeys
from adapter.service.usage import UsageRow, csv_text


def run_keys(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.redis_configured:
        raise SettingsError(
            "keys and usage commands need REDIS_URL: the embedded store lives inside the serve "
            "process (set MVA_BOOTSTRAP_KEY there to use a known key)."
        )
    from adapter.bootstrap.redis_clients import check_redis

    check_redis(settings)
    return asyncio.run(_keys(settings, args))


async def _keys(settings: Settings, args: argparse.Namespace) -> int:
    async with key_service(settings) as keys:
        try:
            return await _command(keys, args)
        except (InvalidRequest, KeyNotFound) as exc:
            where = f"{exc.param}: " if isinstance(exc, InvalidRequest) and exc.param else ""
            sys.stderr.write(f"mindvideo-adapter: {where}{exc.message}\n")
            return 1


async def _command(keys: AdminKeys, args: argparse.Namespace) -> int:
    out = sys.stdout.write
    if args.command == "usage":
        if args.key:
            await keys.get(args.key)
        rows = await keys.usage(
            [args.key] if args.key else None,
            since=args.since,
            until=args.until,
            model=args.model,
            group_by=args.by,
            upstream=True,  # the operator's: what the hosts charged too (as the admin API)
        )
        out(csv_text(rows) if args.csv else _table(rows))
        return 0
    if args.keys_command == "create":
        fields = {"name": args.name, "mode": "test" if args.test else "live", **_scope(args)}
        if args.owner:
            fields["owner"] = args.owner
        key, secret = await keys.create(fields)
        out(
            f"id:     {key.id}\nowner:  {key.owner}\nkey:    {secret}\n"
            "Store the key now: it is not shown again.\n"
        )
        return 0
    if args.keys_command == "list":
        out(f"{'ID':<22} {'NAME':<20} {'MODE':<5} {'STATUS':<9} {'EXPIRES':<26} CREATED\n")
        for key in await keys.all():
            expires = key.expires_at.isoformat() if key.expires_at else "-"
            out(
                f"{key.id:<22} {key.name:<20} {key.mode:<5} {key.status:<9} {expires:<26} "
                f"{key.created_at.isoformat()}\n"
            )
        return 0
    if args.keys_command == "update":
        key = await keys.update(args.id, _scope(args))
        models = ", ".join(key.models) if key.models is not None else "all"
        out(f"updated {key.id}: models {models}; expires {key.expires_at or 'never'}\n")
        return 0
    if args.keys_command == "delete":
        await keys.delete(args.id)
    else:
        await keys.set_enabled(args.id, args.keys_command == "enable")
    out(f"{args.keys_command}d {args.id}\n")
    return 0


def _table(rows: list[UsageRow]) -> str:
    """The rows as aligned columns: the group columns asked for, then the counts and sums."""
    groups = [name for name in ("day", "model", "key_id") if any(getattr(r, name) for r in rows)]
    names = [*groups, "tasks", "succeeded", "failed", "cancelled", "seconds", "charged", "reserved"]
    cells = [
        [
            *(str(getattr(row, name)) for name in groups),
            *(str(v) for v in (row.tasks, row.succeeded, row.failed, row.cancelled)),
            *(str(v) for v in (row.seconds, row.cost_charged, row.cost_reserved)),
        ]
        for row in rows
    ]
    widths = [max(len(x) for x in column) for column in zip(names, *cells, strict=True)]
    lines = [[n.upper() for n in names], *cells]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        + "\n"
        for line in lines
    )


def _scope(args: argparse.Namespace) -> dict[str, Any]:
    """The scope flags given, as the admin API's fields."""
    fields: dict[str, Any] = {}
    if args.models is not None:
        fields["models"] = None if args.models == "all" else args.models.split(",")
    if args.expires is not None:
        fields["expires_at"] = None if args.expires == "never" else _moment(args.expires)
    if args.allow_ip is not None:
        fields["allowed_ips"] = args.allow_ip
    if args.budget is not None:
        fields["budget"] = None if args.budget == "none" else _budget(args.budget)
    for field in ("rpm", "max_concurrent"):
        value = getattr(args, field)
        if value is not None:
            # Not a whole number: passed on, for the admin rules to refuse by name.
            fields[field] = None if value == "none" else int(value) if value.isdigit() else value
    return fields


def _budget(text: str) -> dict[str, str]:
    """``10``, ``10/day`` or ``10/month``: the admin API's budget (``total`` without a period)."""
    amount, _, period = text.partition("/")
    return {"amount": amount, "period": period or "total"}


def _moment(text: str) -> str:
    """``30d``, ``12h``, ``90m`` from now, or an RFC 3339 time as it is."""
    units = {"d": 86_400, "h": 3_600, "m": 60}
    if text[:-1].isdigit() and text[-1:] in units:
        at = utc_now() + timedelta(seconds=int(text[:-1]) * units[text[-1]])
        return at.isoformat()
    return text


def add_scope_flags(parser: argparse.ArgumentParser) -> None:
    """``--models``, ``--expires``, ``--allow-ip``, ``--rpm``, ``--max-concurrent``: a key's
    scope and limits, on create and update."""
    parser.add_argument("--models", help="comma-separated slugs the key may submit, or 'all'")
    parser.add_argument("--expires", help="30d, 12h, 90m, an RFC 3339 time, or 'never'")
    parser.add_argument("--rpm", help="accepted submits in any minute, or 'none'")
    parser.add_argument(
        "--budget", help="AMOUNT, AMOUNT/day or AMOUNT/month (UTC) its tasks may cost, or 'none'"
    )
    parser.add_argument("--max-concurrent", help="unfinished tasks at once, or 'none'")
    parser.add_argument(
        "--allow-ip",
        action="append",
        metavar="CIDR",
        help="an address or CIDR the key may be used from (repeat for more)",
    )
