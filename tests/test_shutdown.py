"""Stopping within a bound: tasks that lose their cancel, closes that hang, signals."""

from __future__ import annotations

import asyncio
import signal
import threading
import time

import pytest

from adapter.core.shutdown import FORCED_EXIT, Stopper, close_all, stop_task, stop_tasks

pytestmark = pytest.mark.anyio


async def loses_cancels(count: int) -> None:
    """A loop that swallows its first ``count`` cancels, whatever the Python version."""
    lost = 0
    while True:
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            lost += 1
            if lost > count:
                raise


async def test_a_task_that_loses_its_cancel_is_cancelled_again_until_it_ends() -> None:
    task = asyncio.create_task(loses_cancels(3))
    await asyncio.sleep(0)
    started = time.monotonic()
    assert await stop_task(task, what="lossy loop", within_s=5)
    assert task.cancelled()
    assert time.monotonic() - started < 2


async def test_a_task_that_never_ends_is_abandoned_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Past its time a task is left running, named in an error, and the stop goes on."""
    state: dict[str, bool] = {}
    stubborn = asyncio.create_task(stubborn_loop(state))
    await asyncio.sleep(0)
    started = time.monotonic()
    try:
        assert not await stop_task(stubborn, what="stubborn", within_s=0.3)
        assert 0.3 <= time.monotonic() - started < 1.0
        assert not stubborn.done()
    finally:
        state["released"] = True
        await asyncio.wait({stubborn}, timeout=1)
    assert "shutdown.abandoned what=stubborn" in caplog.text


async def stubborn_loop(state: dict[str, bool]) -> None:
    while not state.get("released"):
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            continue


async def test_cancelling_the_stopper_is_never_swallowed() -> None:
    """Stopping a task can itself be cancelled: the caller's cancel goes through."""
    state: dict[str, bool] = {}
    stubborn = asyncio.create_task(stubborn_loop(state))
    stopping = asyncio.create_task(stop_task(stubborn, what="stubborn", within_s=10))
    await asyncio.sleep(0.05)
    stopping.cancel()
    try:
        done, _ = await asyncio.wait({stopping}, timeout=1)
        assert done and stopping.cancelled()
    finally:
        state["released"] = True
        await asyncio.wait({stubborn}, timeout=1)


async def test_many_tasks_are_stopped_together_in_one_bound() -> None:
    state: dict[str, bool] = {}
    tasks = [asyncio.create_task(stubborn_loop(state)) for _ in range(5)]
    tasks += [asyncio.create_task(loses_cancels(2)) for _ in range(5)]
    await asyncio.sleep(0)
    started = time.monotonic()
    try:
        assert await stop_tasks(tasks, what="mixed", within_s=1.0) == 5
        assert time.monotonic() - started < 1.9  # one bound for all: well under two
        assert all(task.cancelled() for task in tasks[5:])
    finally:
        state["released"] = True
        await asyncio.wait(tasks[:5], timeout=1)


async def test_every_close_runs_and_none_holds_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A close that hangs is abandoned at the bound, one that fails is logged; the rest close."""
    closed: list[str] = []
    hang = asyncio.Event()

    async def fine() -> None:
        closed.append("fine")

    async def hangs() -> None:
        await hang.wait()

    async def fails() -> None:
        raise OSError("reset by peer")

    started = time.monotonic()
    await close_all([("hangs", hangs), ("fails", fails), ("fine", fine)], within_s=0.3)
    assert closed == ["fine"]
    assert time.monotonic() - started < 1.0
    assert "shutdown.abandoned what=hangs" in caplog.text
    assert "shutdown.failed what=fails" in caplog.text


class Exits:
    """``os._exit``'s stand-in: records the status, and when."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.called = threading.Event()

    def __call__(self, status: int) -> None:
        self.statuses.append(status)
        self.called.set()


def test_the_first_signal_stops_gracefully_and_the_bound_ends_the_process() -> None:
    exits = Exits()
    stops: list[str] = []
    stopper = Stopper(lambda: stops.append("stop"), bound_s=0.3, exit_now=exits)
    stopper.on_signal(signal.SIGTERM)
    assert stops == ["stop"]
    assert exits.statuses == []
    assert exits.called.wait(2)
    assert exits.statuses == [FORCED_EXIT]
    assert stopper.signum == signal.SIGTERM


def test_a_second_signal_exits_at_once() -> None:
    exits = Exits()
    stopper = Stopper(lambda: None, bound_s=60, exit_now=exits)
    stopper.on_signal(signal.SIGTERM)
    assert exits.statuses == []
    stopper.on_signal(signal.SIGINT)
    assert exits.statuses == [FORCED_EXIT]
