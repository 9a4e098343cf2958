"""The official Kling API's list of a family's tasks: one request for hundreds of tasks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from adapter.core.errors import ProviderRateLimited, ProviderUnavailable
from adapter.core.values import TaskStatus, Video
from adapter.ports import TaskLister
from adapter.providers.kling.provider import LIST_PAGE_SIZE, KlingProvider
from adapter.simulator import create_simulator_app
from adapter.simulator.clock import ManualClock
from tests.contract.simulated import CONFIG, SIM, START, job
from tests.models import KLING

pytestmark = pytest.mark.anyio

MakeProvider = Callable[..., KlingProvider]


def item(n: int, status: str = "processing", **extra: Any) -> dict[str, Any]:
    return {
        "task_id": f"up_{n}",
        "task_status": status,
        "task_info": {"external_task_id": f"task_{n}"},
        "created_at": 1_774_805_076_000 + n,
        "updated_at": 1_774_805_076_000 + n,
        **extra,
    }


async def test_a_page_is_asked_for_on_the_family_path_and_read_task_by_task(
    make_provider: MakeProvider, upstream: Any
) -> None:
    video = {"id": "v", "url": "https://cdn.example/2.mp4", "duration": "5"}
    upstream.answer(
        json={
            "code": 0,
            "message": "SUCCEED",
            "data": [
                item(2, "succeed", task_result={"videos": [video]}),
                item(1, "failed", task_status_msg="content risk control"),
            ],
        }
    )
    provider = make_provider("official")
    page = await provider.list_tasks("text2video", 3)
    [request] = upstream.requests
    assert request.method == "GET" and request.url.path == "/v1/videos/text2video"
    assert dict(request.url.params) == {"pageNum": "3", "pageSize": str(LIST_PAGE_SIZE)}
    assert request.headers["Authorization"].startswith("Bearer ey")  # the JWT
    done, failed = page.tasks
    assert (done.state.upstream_id, done.external_id) == ("up_2", "task_2")
    assert done.state.status is TaskStatus.SUCCEEDED and done.state.route == "text2video"
    assert done.state.videos == (Video("https://cdn.example/2.mp4", 5.0),)
    assert done.created_at_s == pytest.approx(1_774_805_076.002)
    assert failed.state.status is TaskStatus.FAILED
    assert failed.state.message == "content risk control"
    assert not page.full


async def test_a_page_of_page_size_tasks_says_more_may_follow(
    make_provider: MakeProvider, upstream: Any
) -> None:
    upstream.answer(json={"code": 0, "data": [item(n) for n in range(LIST_PAGE_SIZE)]})
    page = await make_provider("official").list_tasks("motion-control", 1)
    assert page.full and len(page.tasks) == LIST_PAGE_SIZE


async def test_a_refused_list_is_classified_as_a_query_refusal_is(
    make_provider: MakeProvider, upstream: Any
) -> None:
    upstream.answer(429, json={"code": 1302, "message": "rate limit", "request_id": "r"})
    with pytest.raises(ProviderRateLimited):
        await make_provider("official").list_tasks("text2video", 1)


@pytest.mark.parametrize("body", [{"code": 0}, {"code": 0, "data": {"task_id": "x"}}])
async def test_an_answer_that_is_no_list_is_unavailable(
    make_provider: MakeProvider, upstream: Any, body: dict[str, Any]
) -> None:
    upstream.answer(json=body)
    with pytest.raises(ProviderUnavailable, match="unrecognizable answer to a list"):
        await make_provider("official").list_tasks("text2video", 1)


async def test_only_the_official_dialect_lists(make_provider: MakeProvider) -> None:
    official, gateway = make_provider("official"), make_provider("gateway")
    assert isinstance(official, TaskLister)
    assert official.lists("text2video") and not official.lists("no-such-family")
    assert not gateway.lists("text2video")
    with pytest.raises(ValueError, match="cannot list"):
        await gateway.list_tasks("text2video", 1)
    with pytest.raises(ValueError, match="page must be 1 to 1000"):
        await official.list_tasks("text2video", 0)


async def test_against_the_simulator_a_page_finds_our_tasks_by_our_ids() -> None:
    clock = ManualClock(START)
    app = create_simulator_app(CONFIG, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        provider = KlingProvider(
            "kling",
            base_url=SIM,
            http=http,
            dialect="official",
            access_key=CONFIG.access_key,
            secret_key=CONFIG.secret_key,
            clock=clock,
            carried=KLING,
        )
        made = []
        for n in range(3):
            made.append(await provider.submit(job("kling-v3", {"prompt": "a cat"}, f"task_{n}")))
            clock.advance(1.0)
        clock.advance(0.5)  # the first has ended (1 s queued, 2 s processing)
        page = await provider.list_tasks("text2video", 1)
    assert [t.state.upstream_id for t in page.tasks] == [s.upstream_id for s in reversed(made)]
    assert [t.external_id for t in page.tasks] == ["task_2", "task_1", "task_0"]
    assert [t.state.status for t in page.tasks] == [
        TaskStatus.PROCESSING,
        TaskStatus.PROCESSING,
        TaskStatus.SUCCEEDED,
    ]
    assert page.tasks[2].state.videos and not page.full
