"""End to end: the reconciler refreshes official Kling tasks from the simulator's list route,
through the real provider, on clocks that move together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from adapter.core.values import TaskStatus
from adapter.providers.kling.provider import KlingProvider
from adapter.service.poll_plan import PollPlan
from adapter.service.reconciler import Reconciler
from adapter.simulator import SimulatorConfig, create_simulator_app
from adapter.simulator.clock import ManualClock
from adapter.stores.redis import RedisTaskStore
from adapter.stores.redis_keys import RedisKeyStore
from tests.fakes import FakeClock, webhooks_in_memory
from tests.models import KLING

pytestmark = pytest.mark.anyio

SIM = "http://sim.test"
CONFIG = SimulatorConfig(queue_s=1.0, process_s=2.0)
FIRST_S = 4.0


class Clocks:
    """The adapter's clock and the simulator's, moved together."""

    def __init__(self, clock: FakeClock) -> None:
        self.adapter = clock
        self.simulator = ManualClock(clock.now.timestamp())

    def advance(self, seconds: float) -> None:
        self.adapter.advance(seconds)
        self.simulator.advance(seconds)


@pytest.fixture
def clocks(clock: FakeClock) -> Clocks:
    return Clocks(clock)


@pytest.fixture
async def sent(clocks: Clocks) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    """A client to the simulator, and the path and query of every GET it sent."""
    paths: list[str] = []

    async def record(request: httpx.Request) -> None:
        if request.method == "GET":
            paths.append(request.url.raw_path.decode())

    app = create_simulator_app(CONFIG, clock=clocks.simulator)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, event_hooks={"request": [record]}) as http:
        yield http, paths


async def test_due_official_tasks_end_from_one_list_page_of_the_simulator(
    make_parts,  # type: ignore[no-untyped-def]
    store: RedisTaskStore,
    key_store: RedisKeyStore,
    clocks: Clocks,
    sent: tuple[httpx.AsyncClient, list[str]],
) -> None:
    http, paths = sent
    provider = KlingProvider(
        "kling",
        base_url=SIM,
        http=http,
        dialect="official",
        access_key=CONFIG.access_key,
        secret_key=CONFIG.secret_key,
        clock=clocks.simulator,
        carried=KLING,
    )
    parts = make_parts(provider, refresh_interval_s=0.001)
    clock = clocks.adapter
    reconciler = Reconciler(
        store=store,
        schedules=store,
        refresher=parts.refresher,
        webhooks=webhooks_in_memory(store, key_store, clock, parts.metrics),
        clock=clock,
        metrics=parts.metrics,
        min_interval_s=1,
        deadline_s=3600,
        hold_s=40,
        plan=PollPlan(
            None,
            clock=clock,
            min_interval_s=1,
            max_interval_s=30,
            deadline_s=3600,
            first_after_s=FIRST_S,
            jitter=lambda: 0.5,
        ),
    )
    made = []
    for prompt in ("a lighthouse", "a harbour", "a gull"):
        result = await parts.tasks.submit(
            owner="alice", model="kling-v3", values={"prompt": prompt}, idempotency_key=None
        )
        made.append(result.record.task_id)
    assert await reconciler.round() == 3  # not due yet: only scheduled for their end
    assert paths == []
    clocks.advance(FIRST_S)  # the simulator ended them at 3 s
    await reconciler.round()
    assert paths == ["/v1/videos/text2video?pageNum=1&pageSize=500"]
    for task_id in made:
        record = await store.get_task(task_id)
        assert record is not None and record.status is TaskStatus.SUCCEEDED and record.videos
    after = clock.now + timedelta(days=1)
    assert not set(made) & set(await store.claim_due("tasks", now=after, limit=10, hold_s=0))
