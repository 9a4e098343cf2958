"""``StoreErrors``: what means "the store cannot be reached" becomes ``StoreUnavailable``."""

from __future__ import annotations

import pytest
from redis.asyncio.connection import Connection
from redis.exceptions import SlotNotCoveredError

from adapter.core.errors import StoreUnavailable
from adapter.stores.redis import StoreErrors

#: What uvloop raises when redis-py writes on a socket the server closed while it connected.
CLOSED = RuntimeError(
    "unable to perform operation on <TCPTransport closed=True reading=False 0x1>; "
    "the handler is closed"
)


class Flaky:
    """A command that fails with ``error`` on its first ``failures`` calls, then answers."""

    def __init__(self, error: BaseException, failures: int = 1) -> None:
        self.error, self.failures, self.calls = error, failures, 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "answer"


@pytest.mark.anyio
@pytest.mark.parametrize(
    "error", [CLOSED, SlotNotCoveredError('Slot "13907" is not covered by the cluster.')]
)
async def test_an_unreachable_node_is_store_unavailable_and_counted(error: Exception) -> None:
    """A killed cluster node: a 503 with its cause, never a 500."""
    counted: list[str] = []
    with pytest.raises(StoreUnavailable) as raised, StoreErrors(counted.append).mapped("get_task"):
        raise error
    assert raised.value.__cause__ is error and counted == ["get_task"]


@pytest.mark.anyio
async def test_a_read_on_a_transport_closed_under_it_is_tried_once_more() -> None:
    command = Flaky(CLOSED)
    assert await StoreErrors().repeatable("get_task", command) == "answer"
    assert command.calls == 2


@pytest.mark.anyio
async def test_any_other_runtime_error_is_a_bug_and_goes_through() -> None:
    """Only the closed transport's words are read as the store's absence."""
    command = Flaky(RuntimeError("coroutine was never awaited"))
    with pytest.raises(RuntimeError, match="never awaited"):
        await StoreErrors().repeatable("get_task", command)
    assert command.calls == 1


class TornDown:
    """A command whose first call finds its connection's stream gone, in redis-py's own code
    (as when a node is killed while the connection is being set up), then answers."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls == 1:
            await Connection()._send_packed_command([b"PING"])  # its writer is None
        return "answer"


@pytest.mark.anyio
async def test_a_read_whose_stream_redis_py_lost_is_tried_once_more_then_unavailable() -> None:
    """redis-py's AttributeError on its vanished writer is the store's absence: the read is
    tried again, and a second loss is a 503, counted."""
    command = TornDown()
    assert await StoreErrors().repeatable("key_by_hash", command) == "answer"
    assert command.calls == 2
    counted: list[str] = []
    with pytest.raises(StoreUnavailable), StoreErrors(counted.append).mapped("key_by_hash"):
        await TornDown()()
    assert counted == ["key_by_hash"]


@pytest.mark.anyio
async def test_an_attribute_error_of_our_own_is_a_bug_and_goes_through() -> None:
    command = Flaky(AttributeError("'NoneType' object has no attribute 'status'"))
    with pytest.raises(AttributeError, match="status"):
        await StoreErrors().repeatable("get_task", command)
    assert command.calls == 1
