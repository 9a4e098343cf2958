"""A busy process holds the reconciler's new work back, so requests come first."""

from __future__ import annotations

import asyncio

import pytest

from adapter.service.cpu_share import CpuShare

pytestmark = pytest.mark.anyio

WINDOW_S = 1.0


class Process:
    """A process's wall clock and CPU time, both moved by the test and by the share's sleep;
    ``loads`` is what the process uses a second during each sleep, in turn."""

    def __init__(self, *loads: float) -> None:
        self.wall = 0.0
        self.cpu = 0.0
        self.loads = list(loads)
        self.slept = 0

    def run(self, seconds: float, load: float) -> None:
        self.wall += seconds
        self.cpu += seconds * load

    async def sleep(self, seconds: float) -> None:
        self.slept += 1
        self.run(seconds, self.loads.pop(0))

    def share(self, most: float = 0.75) -> CpuShare:
        return CpuShare(
            most,
            window_s=WINDOW_S,
            now=lambda: self.wall,
            cpu_time=lambda: self.cpu,
            sleep=self.sleep,
        )


async def test_a_process_under_its_share_starts_new_work_at_once() -> None:
    process = Process()
    gate = process.share()
    process.run(WINDOW_S, load=0.5)
    await gate.turn()
    assert process.slept == 0


async def test_a_busy_process_waits_until_its_load_falls_under_the_share() -> None:
    process = Process(1.0, 0.875, 0.25)  # the requests ease off in the third window
    gate = process.share()
    process.run(WINDOW_S, load=1.0)
    await gate.turn()
    assert process.slept == 3


async def test_the_load_is_read_again_only_once_a_window() -> None:
    process = Process()
    gate = process.share()
    process.run(WINDOW_S, load=1.0)
    assert gate.busy()
    process.run(WINDOW_S / 2, load=0.0)  # within the window: still the last reading
    assert gate.busy()
    process.run(WINDOW_S / 2, load=0.0)
    assert not gate.busy()


class SteppedProcess(Process):
    """A Process whose time passes a window at a time when the test says (``tick``): all who
    sleep in a window wake at its end together, as they would on a real clock."""

    def __init__(self) -> None:
        super().__init__()
        self.sleepers: list[asyncio.Future[None]] = []

    async def sleep(self, seconds: float) -> None:
        self.slept += 1
        sleeper: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.sleepers.append(sleeper)
        await sleeper

    async def tick(self, load: float) -> None:
        """A window passes at ``load``; every sleeper wakes, and all that follows runs."""
        self.run(WINDOW_S, load)
        sleepers, self.sleepers = self.sleepers, []
        for sleeper in sleepers:
            if not sleeper.done():  # a cancelled sleeper's future is cancelled with it
                sleeper.set_result(None)
        for _ in range(5):
            await asyncio.sleep(0)


async def test_many_waiting_items_look_at_the_load_once_a_window_between_them() -> None:
    """A round's thousand items waiting for the share: one reads the load each window, not
    each of them (a thousand wake-ups a window, in a process already busy)."""
    process = SteppedProcess()
    gate = process.share()
    process.run(WINDOW_S, load=1.0)
    waiting = asyncio.gather(*(gate.turn() for _ in range(1000)))
    await asyncio.sleep(0)
    await process.tick(load=1.0)
    await process.tick(load=0.875)
    assert not waiting.done()
    await process.tick(load=0.25)
    await asyncio.wait_for(waiting, 5)
    assert process.slept == 3


async def test_when_the_one_looking_at_the_load_is_cancelled_another_takes_over() -> None:
    process = SteppedProcess()
    gate = process.share()
    process.run(WINDOW_S, load=1.0)
    looking = asyncio.create_task(gate.turn())
    await asyncio.sleep(0)
    waiting = asyncio.gather(*(gate.turn() for _ in range(3)))
    await process.tick(load=1.0)
    looking.cancel()  # its item's time ran out
    await process.tick(load=1.0)
    assert not waiting.done()
    await process.tick(load=0.25)
    await asyncio.wait_for(waiting, 5)
    assert looking.cancelled()
    assert process.slept == 3


@pytest.mark.parametrize("most", [0, -0.5, 1.5])
def test_a_share_is_above_zero_and_at_most_a_core(most: float) -> None:
    with pytest.raises(ValueError, match="above 0 and at most 1"):
        CpuShare(most)
