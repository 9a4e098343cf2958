"""What a Redis connection pool costs a command: the adapter's pool beside redis-py's two.

``python benchmarks/redis_pool.py [--commands 20000] [--concurrency 32] [--connections 256]
[--rounds 3] [--redis-url URL] [--quick]`` sends ``--commands`` two-key ``MGET``s (a GET's
read) from ``--concurrency`` coroutines through each pool in turn, every round, and prints the
client's CPU per command (medians over rounds) and its ratio to redis-py's
``BlockingConnectionPool``, which the adapter used before. ``--connections`` below
``--concurrency`` makes commands queue for a connection (the pool that refuses is then left
out). It writes one key of its own and
deletes it.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path

import redis.asyncio as aioredis
import uvloop
from redis.maint_notifications import MaintNotificationsConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from adapter.bootstrap.redis_pool import WaitingConnectionPool
from benchmarks.rounds import against_base

Pool = Callable[[str, int], aioredis.ConnectionPool]
_NO_MAINT = MaintNotificationsConfig(enabled=False)

REFUSES = "redis-py ConnectionPool (refuses when full)"
POOLS: dict[str, Pool] = {
    "redis-py BlockingConnectionPool (base)": lambda url, size: (
        aioredis.BlockingConnectionPool.from_url(
            url, max_connections=size, timeout=30, maint_notifications_config=_NO_MAINT
        )
    ),
    REFUSES: lambda url, size: aioredis.ConnectionPool.from_url(
        url, max_connections=size, maint_notifications_config=_NO_MAINT
    ),
    "WaitingConnectionPool (the adapter's)": lambda url, size: WaitingConnectionPool.from_url(
        url, max_connections=size, timeout=30, maint_notifications_config=_NO_MAINT
    ),
}


async def cpu_per_command(
    client: aioredis.Redis, keys: list[str], commands: int, concurrency: int
) -> float:
    """Microseconds of this process's CPU per command, ``commands`` sent ``concurrency`` at once."""

    async def sender(count: int) -> None:
        for _ in range(count):
            await client.mget(keys)

    shares = [commands // concurrency + (i < commands % concurrency) for i in range(concurrency)]
    started = time.process_time()
    await asyncio.gather(*(sender(n) for n in shares))
    return (time.process_time() - started) / commands * 1e6


async def measure(args: argparse.Namespace) -> dict[str, list[float]]:
    key = f"mvabench:pool:{secrets.token_hex(4)}"
    keys = [key, f"{key}:absent"]
    figures: dict[str, list[float]] = {name: [] for name in POOLS}
    admin = aioredis.Redis.from_url(args.redis_url)
    try:
        await admin.set(key, "x" * 230, ex=600)  # about a stored task's size
        for _ in range(args.rounds):
            for name, make in POOLS.items():
                if name == REFUSES and args.connections < args.concurrency:
                    continue  # it would fail the commands that find no connection
                client = aioredis.Redis.from_pool(make(args.redis_url, args.connections))
                try:
                    await cpu_per_command(client, keys, args.commands // 10, args.concurrency)
                    figures[name].append(
                        await cpu_per_command(client, keys, args.commands, args.concurrency)
                    )
                finally:
                    await client.aclose()
    finally:
        await admin.delete(key)
        await admin.aclose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--quick", action="store_true", help="one round of 500 commands (CI)")
    args = parser.parse_args()
    if args.quick:
        args.commands, args.rounds = 500, 1
    figures = uvloop.run(measure(args))
    lines = [
        f"{args.commands:,} MGETs of 2 keys, c={args.concurrency}, {args.connections} "
        f"connections, {args.rounds} rounds; client CPU per command, median of rounds:"
    ]
    rows = {row.name: row for row in against_base(figures)}
    for name in figures:
        if name not in rows:
            lines.append(f"  {name:44} not run: fewer connections than commands at once")
            continue
        row = rows[name]
        spread = f"{row.low:.1f}-{row.high:.1f}"
        lines.append(f"  {name:44} {row.median:7.1f} µs  ({spread})  {row.ratio:.2f}x base")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
