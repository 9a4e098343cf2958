"""``mindvideo-adapter keys ...``: manage API keys in the Redis named by ``REDIS_URL``."""

from __future__ import annotations

import argparse
import asyncio
import sys

from adapter.bootstrap.parts import key_service
from adapter.config.settings import Settings, SettingsError
from adapter.service.keys import KeyService


def run_keys(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.redis_url:
        raise SettingsError(
            "keys commands need REDIS_URL: the embedded store lives inside the serve process "
            "(set MVA_BOOTSTRAP_KEY there to use a known key)."
        )
    from adapter.bootstrap.adapters import check_redis

    check_redis(settings)
    return asyncio.run(_keys(settings, args))


async def _keys(settings: Settings, args: argparse.Namespace) -> int:
    async with key_service(settings) as keys:
        return await _command(keys, args)


async def _command(keys: KeyService, args: argparse.Namespace) -> int:
    out = sys.stdout.write
    if args.keys_command == "create":
        key, secret = await keys.create(
            name=args.name, owner=args.owner, kind="test" if args.test else "live"
        )
        out(
            f"id:     {key.id}\nowner:  {key.owner}\nkey:    {secret}\n"
            "Store the key now: it is not shown again.\n"
        )
        return 0
    if args.keys_command == "list":
        out(f"{'ID':<22} {'NAME':<20} {'STATUS':<9} CREATED\n")
        for key in await keys.list():
            out(f"{key.id:<22} {key.name:<20} {key.status:<9} {key.created_at.isoformat()}\n")
        return 0
    if args.keys_command == "delete":
        done = await keys.delete(args.id)
    else:
        done = await keys.set_enabled(args.id, args.keys_command == "enable")
    if not done:
        sys.stderr.write(f"mindvideo-adapter: no key with id {args.id!r}\n")
        return 1
    out(f"{args.keys_command}d {args.id}\n")
    return 0
