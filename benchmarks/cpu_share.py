"""What a busy process spends on reconciler items waiting for its CPU share.

``python benchmarks/cpu_share.py [--items 1024] [--seconds 2] [--rounds 3] [--quick]`` makes a
``CpuShare`` that always reads busy and has ``--items`` coroutines wait for it for
``--seconds`` (a full round of the reconciler in a process serving a load), first through
``CpuShare.turn`` (one of them looks at the load once a window, the others wait for it), then
through each item looking on its own once a window (how ``turn`` worked before, the baseline),
and prints the CPU each way took, medians over rounds, and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from adapter.service.cpu_share import CpuShare
from benchmarks.rounds import against_base

Wait = Callable[[CpuShare], Awaitable[None]]


def busy_share() -> CpuShare:
    """A share whose process always used two cores over the last window."""
    return CpuShare(0.7, cpu_time=lambda: time.monotonic() * 2)


async def each_on_its_own(share: CpuShare) -> None:
    while share.busy():  # noqa: ASYNC110 - the baseline: the loop each item ran before
        await asyncio.sleep(0.05)


async def through_turn(share: CpuShare) -> None:
    await share.turn()


async def cpu_of(wait: Wait, items: int, seconds: float) -> float:
    """Seconds of CPU that ``items`` coroutines spend waiting ``seconds`` through ``wait``."""
    share = busy_share()
    await asyncio.sleep(0.06)  # a first window, so that the share reads busy

    async def item() -> None:
        try:
            async with asyncio.timeout(seconds):
                await wait(share)
        except TimeoutError:
            pass  # the item's time ran out, as a reconciler item's does

    started = time.process_time()
    await asyncio.gather(*(item() for _ in range(items)))
    return time.process_time() - started


async def measure(args: argparse.Namespace) -> dict[str, list[float]]:
    ways: dict[str, Wait] = {
        "each item looks on its own (before, base)": each_on_its_own,
        "CpuShare.turn (one looks for all)": through_turn,
    }
    figures: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.rounds):
        for name, wait in ways.items():
            figures[name].append(await cpu_of(wait, args.items, args.seconds))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1024)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one round of 0.3 s (CI)")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds = 0.3, 1
    figures = uvloop.run(measure(args))
    lines = [
        f"{args.items:,} items waiting {args.seconds} s for a busy process's share, "
        f"{args.rounds} rounds; CPU of the waiting, median of rounds:"
    ]
    for row in against_base(figures):
        cpu = f"{row.median * 1000:7.1f} ms  ({row.median / args.seconds:.1%} of a core)"
        lines.append(f"  {row.name:44} {cpu}  {row.ratio:.2f}x base")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
