"""``WaitingConnectionPool`` and ``Room``: who gets a connection (a place) when, without Redis.

The pool's connections here are ``IdleConnection``s: always connected, never holding data, so
what is tested is the queue alone, on the pool's own logic and redis-py's beneath it."""

from __future__ import annotations

import asyncio
import contextvars
import time
from typing import Any

import pytest
import redis

from adapter.bootstrap.redis_pool import Room, WaitingConnectionPool

pytestmark = pytest.mark.anyio
#: How long a queued command may wait where it must be served, and the bound for it to be:
#: generous, since the wait ends as soon as it is (CI's machine is shared).
SERVED_S = 5.0
#: The wait of a command that is to find no free connection: the test waits it out.
GIVE_UP_S = 0.3


class IdleConnection:
    """A connection the pool can lend: connected, nothing to read. Set on the class (with
    ``monkeypatch``): ``refuse``, the next connect fails, as to a Redis that has gone away;
    ``closing``, the pool closes each connection given back, which takes ``close_s`` and
    then fails if ``close_fails``."""

    refuse = False
    closing = False
    close_s = 0.0
    close_fails = False

    def __init__(self, **options: Any) -> None:
        self.options = options

    async def connect(self) -> None:
        if IdleConnection.refuse:
            IdleConnection.refuse = False
            raise redis.ConnectionError("refused")

    async def can_read(self) -> bool:
        return False

    def should_reconnect(self) -> bool:
        return IdleConnection.closing

    async def disconnect(self, nowait: bool = False) -> None:
        await asyncio.sleep(IdleConnection.close_s)
        if IdleConnection.close_fails:
            raise redis.ConnectionError("could not close")

    async def re_auth(self) -> None:
        return None


def pool_of_one(wait_s: float = SERVED_S) -> WaitingConnectionPool:
    return WaitingConnectionPool(connection_class=IdleConnection, max_connections=1, timeout=wait_s)


async def served_in_turn(pool: WaitingConnectionPool, name: str, order: list[str]) -> None:
    connection = await pool.get_connection()
    try:
        order.append(name)
        await asyncio.sleep(0)
    finally:
        await pool.release(connection)


def queue(pool: WaitingConnectionPool, names: str, order: list[str]) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(served_in_turn(pool, name, order)) for name in names]


def assert_settled(pool: WaitingConnectionPool) -> None:
    """Nothing queued, nothing kept, every place free: the queue's counts came back even."""
    assert not pool._waiters
    assert pool._woken == 0
    assert pool._spare() == pool.max_connections


async def test_commands_queued_for_a_connection_are_served_first_come_first_served() -> None:
    pool = pool_of_one()
    held = await pool.get_connection()
    order: list[str] = []
    queued = queue(pool, "abcd", order)
    await asyncio.sleep(0.01)
    assert order == []
    await pool.release(held)
    await asyncio.wait_for(asyncio.gather(*queued), SERVED_S)
    assert order == ["a", "b", "c", "d"]
    assert_settled(pool)


async def test_a_command_arriving_as_a_queued_one_is_woken_waits_its_turn() -> None:
    """The connection a release frees is kept for the command it woke, not taken by one that
    came later and ran first."""
    pool = pool_of_one()
    held = await pool.get_connection()
    order: list[str] = []
    [first] = queue(pool, "a", order)
    await asyncio.sleep(0.01)
    [late] = queue(pool, "b", order)  # ready to run before the woken one
    await pool.release(held)
    await asyncio.wait_for(asyncio.gather(first, late), SERVED_S)
    assert order == ["a", "b"]
    assert_settled(pool)


async def test_a_command_that_finds_no_free_connection_within_the_wait_fails() -> None:
    pool = pool_of_one(GIVE_UP_S)
    held = await pool.get_connection()
    started = asyncio.get_running_loop().time()
    with pytest.raises(redis.ConnectionError, match="No connection available"):
        await pool.get_connection()
    assert asyncio.get_running_loop().time() - started >= GIVE_UP_S
    await pool.release(held)
    await pool.release(await asyncio.wait_for(pool.get_connection(), SERVED_S))  # it still serves
    assert_settled(pool)


async def test_a_queued_command_cancelled_after_its_wake_passes_the_connection_on() -> None:
    pool = pool_of_one()
    held = await pool.get_connection()
    order: list[str] = []
    first, second = queue(pool, "ab", order)
    await asyncio.sleep(0.01)
    await pool.release(held)  # wakes the first, which has not run yet
    first.cancel()
    await asyncio.wait_for(second, SERVED_S)
    assert order == ["b"]
    assert first.cancelled()
    assert_settled(pool)


async def test_a_queued_command_cancelled_as_a_connection_is_released_ends_cancelled() -> None:
    """Cancelled while queued, and in the same turn a release passes it over: the command
    ends cancelled (not with an error of the queue's), and the next one is served."""
    pool = pool_of_one()
    held = await pool.get_connection()
    order: list[str] = []
    first, second = queue(pool, "ab", order)
    await asyncio.sleep(0.01)
    first.cancel()
    await pool.release(held)
    await asyncio.wait_for(second, SERVED_S)
    with pytest.raises(asyncio.CancelledError):
        await first
    assert order == ["b"]
    assert_settled(pool)


async def test_a_woken_command_whose_connection_fails_passes_its_turn_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool = pool_of_one()
    held = await pool.get_connection()
    order: list[str] = []
    first, second = queue(pool, "ab", order)
    await asyncio.sleep(0.01)
    monkeypatch.setattr(IdleConnection, "refuse", True)  # the pool checks it on each loan
    await pool.release(held)
    with pytest.raises(redis.ConnectionError, match="refused"):
        await asyncio.wait_for(first, SERVED_S)
    await asyncio.wait_for(second, SERVED_S)
    assert order == ["b"]
    assert_settled(pool)


async def test_a_connection_that_fails_to_close_as_it_is_given_back_still_wakes_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool = pool_of_one()
    held = await pool.get_connection()
    order: list[str] = []
    [queued] = queue(pool, "a", order)
    await asyncio.sleep(0.01)
    monkeypatch.setattr(IdleConnection, "closing", True)
    monkeypatch.setattr(IdleConnection, "close_fails", True)
    with pytest.raises(redis.ConnectionError, match="could not close"):
        await pool.release(held)
    monkeypatch.setattr(IdleConnection, "closing", False)
    await asyncio.wait_for(queued, SERVED_S)  # on a new connection
    assert order == ["a"]
    assert_settled(pool)


async def test_a_command_arriving_while_a_connection_closes_goes_behind_the_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A release that closes its connection frees the place before it wakes anyone: a
    command arriving meanwhile still goes behind the one queued."""
    pool = pool_of_one()
    held = await pool.get_connection()
    order: list[str] = []
    [first] = queue(pool, "a", order)
    await asyncio.sleep(0.01)
    monkeypatch.setattr(IdleConnection, "closing", True)
    monkeypatch.setattr(IdleConnection, "close_s", 0.05)
    releasing = asyncio.create_task(pool.release(held))
    await asyncio.sleep(0.01)  # the release is closing the connection
    [late] = queue(pool, "b", order)
    monkeypatch.setattr(IdleConnection, "closing", False)
    await asyncio.wait_for(asyncio.gather(releasing, first, late), SERVED_S)
    assert order == ["a", "b"]
    assert_settled(pool)


async def test_a_command_woken_as_its_wait_runs_out_takes_its_connection() -> None:
    """The release and the end of its wait come in one turn of the loop: the place kept for
    it is not wasted on an error."""
    pool = pool_of_one(GIVE_UP_S)
    held = await pool.get_connection()
    order: list[str] = []
    [queued] = queue(pool, "a", order)
    await asyncio.sleep(0.01)
    loop = asyncio.get_running_loop()
    releases: list[asyncio.Task[None]] = []

    def late_release() -> None:
        time.sleep(GIVE_UP_S)  # the loop is held past the queued command's deadline
        releases.append(loop.create_task(pool.release(held)))  # first in the deadline's turn

    loop.call_soon(late_release)
    await asyncio.wait_for(queued, SERVED_S)
    await releases[0]
    assert order == ["a"]
    assert_settled(pool)


async def test_a_task_in_the_room_takes_no_second_place() -> None:
    """A command its pipeline resends (redirected) runs in the pipeline's place: with every
    place taken, it does not wait for one (and time out); another task does."""
    room = Room(1, wait_s=GIVE_UP_S)
    entered = await room.enter()
    assert entered is not None
    assert await room.enter() is None  # this task's own place
    room.leave(None)

    async def other() -> None:
        room.leave(await room.enter())

    def another_task() -> asyncio.Task[None]:
        return asyncio.create_task(other(), context=contextvars.Context())

    with pytest.raises(redis.ConnectionError, match="No connection available"):
        await another_task()  # it waits for the one place, and gives up
    room.leave(entered)
    await asyncio.wait_for(another_task(), SERVED_S)


async def test_a_place_in_one_room_is_no_place_in_another() -> None:
    first, second = Room(1, wait_s=GIVE_UP_S), Room(1, wait_s=GIVE_UP_S)
    in_first = await first.enter()
    in_second = await second.enter()
    assert in_first is not None and in_second is not None
    second.leave(in_second)
    first.leave(in_first)
