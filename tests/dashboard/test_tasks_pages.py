"""The tasks pages: every owner's tasks by key, model and status, a page at a time; a task's
input, cost, mode, upstream, events, video; its live events for the operator."""

from __future__ import annotations

import re

import anyio
import pytest

from adapter.core.values import TaskStatus
from adapter.dashboard.tasks import PAGE
from tests.dashboard.conftest import REFRESH_S, new_key, submit
from tests.dashboard.forms import Dashboard
from tests.fakes import FakeClock, ScriptedProvider

pytestmark = pytest.mark.anyio


def listed(page: str) -> list[str]:
    return re.findall(r'<a href="/dashboard/tasks/(task_\w+)">', page)


async def test_the_list_filters_by_key_model_and_status(
    dashboard: Dashboard, provider: ScriptedProvider, clock: FakeClock
) -> None:
    one, one_secret = await new_key(dashboard.http, name="one")
    _, two_secret = await new_key(dashboard.http, name="two", owner="someone-else")
    first = await submit(dashboard.http, one_secret)
    clock.advance(1)
    second = await submit(dashboard.http, one_secret, model="kling-v3")
    clock.advance(1)
    third = await submit(dashboard.http, two_secret)
    provider.set_state("up_1", TaskStatus.SUCCEEDED, seconds=5)
    await dashboard.http.get(
        f"/api/v1/tasks/{first}", headers={"Authorization": f"Bearer {one_secret}"}
    )

    assert listed((await dashboard.get("/tasks")).text) == [third, second, first]
    assert listed((await dashboard.get("/tasks", key_id=one["id"])).text) == [second, first]
    assert listed((await dashboard.get("/tasks", model="kling-v3")).text) == [second]
    assert listed((await dashboard.get("/tasks", status="succeeded")).text) == [first]
    assert listed((await dashboard.get("/tasks", status="queued", model="kling-v2-6")).text) == [
        third
    ]
    page = (await dashboard.get("/tasks", key_id=one["id"])).text
    assert f'<option value="{one["id"]}" selected>' in page  # the filter shows as chosen
    # The form's datetime-local fields: UTC, to the minute or second (08:00:01 is the second's).
    since = (await dashboard.get("/tasks", since="2026-11-23T08:00:01")).text
    assert listed(since) == [third, second]
    assert 'name="since" value="2026-11-23T08:00:01"' in since
    until = (await dashboard.get("/tasks", until="2026-11-23T08:00")).text
    assert listed(until) == [first]


async def test_the_list_is_paged(dashboard: Dashboard, clock: FakeClock) -> None:
    _, secret = await new_key(dashboard.http)
    made = []
    for _ in range(PAGE + 2):
        made.append(await submit(dashboard.http, secret))
        clock.advance(1)
    first = await dashboard.get("/tasks")
    assert listed(first.text) == made[::-1][:PAGE]
    next_page = re.search(r'href="/dashboard/tasks(\?[^"]+)" rel="next"', first.text)
    assert next_page is not None
    second = await dashboard.http.get("/dashboard/tasks" + next_page.group(1).replace("&amp;", "&"))
    assert listed(second.text) == made[::-1][PAGE:]
    assert 'rel="next"' not in second.text and "First page" in second.text


async def test_a_bad_filter_is_said_on_the_page(dashboard: Dashboard) -> None:
    answer = await dashboard.get("/tasks", status="lost")
    assert answer.status_code == 422
    assert "<strong>status</strong>: status must be one of" in answer.text
    answer = await dashboard.get("/tasks", cursor="forged")
    assert answer.status_code == 422 and "<strong>cursor</strong>" in answer.text


async def test_a_tasks_page_shows_input_cost_mode_upstream_events_and_video(
    dashboard: Dashboard, provider: ScriptedProvider
) -> None:
    key, secret = await new_key(dashboard.http, name="shop", owner="another-owner")
    task_id = await submit(dashboard.http, secret)
    queued = (await dashboard.get(f"/tasks/{task_id}")).text
    assert 'id="task-status" class="tag status-queued"' in queued
    # Unfinished: the page follows its events live, after the ones it shows.
    stream = re.search(r'data-stream="([^"]+)"', queued)
    assert stream is not None
    first_event = re.search(r'data-event-id="([^"]+)"', queued)
    assert first_event is not None
    assert stream.group(1) == f"/dashboard/tasks/{task_id}/events?after={first_event.group(1)}"
    assert "<video" not in queued

    provider.set_state("up_1", TaskStatus.SUCCEEDED, seconds=5)
    await anyio.sleep(REFRESH_S * 2)  # its refresh is due again
    answer = await dashboard.get(f"/tasks/{task_id}")
    page = answer.text
    assert 'class="tag status-succeeded"' in page and "data-stream" not in page
    assert "&#34;prompt&#34;: &#34;a cat&#34;" in page  # the input, escaped
    assert '<dt>mode</dt><dd><span class="tag mode-live">live</span>' in page
    assert '<dt>upstream</dt><dd id="task-provider">kling</dd>' in page
    assert '<code id="task-upstream-id">up_1</code>' in page
    assert f'<a href="/dashboard/keys/{key["id"]}">shop</a>' in page
    assert '<dt>cost actual</dt><dd id="task-cost">$0.0414</dd>' in page
    assert '<video controls preload="metadata" src="https://cdn.test/up_1.mp4">' in page
    assert page.count("data-event-id=") == 2  # queued, succeeded
    media = answer.headers["content-security-policy"].split("media-src ", 1)[1].split(";")[0]
    assert media == "'self' http: https:"  # the video's host; scripts stay 'self'


async def test_the_operator_streams_any_owners_events(
    dashboard: Dashboard, provider: ScriptedProvider
) -> None:
    _, secret = await new_key(dashboard.http, owner="not-the-operator")
    task_id = await submit(dashboard.http, secret)
    provider.set_state("up_1", TaskStatus.SUCCEEDED, seconds=5)
    await dashboard.get(f"/tasks/{task_id}")  # refreshed: it ends
    stream = await dashboard.get(f"/tasks/{task_id}/events")
    assert stream.headers["content-type"].startswith("text/event-stream")
    statuses = re.findall(r'"status":"(\w+)"', stream.text)
    assert statuses == ["queued", "succeeded"]
    first = re.search(r"^id: (.+)$", stream.text, re.M)
    assert first is not None
    after = await dashboard.get(f"/tasks/{task_id}/events", after=first.group(1))
    assert re.findall(r'"status":"(\w+)"', after.text) == ["succeeded"]
    resumed = await dashboard.http.get(
        f"/dashboard/tasks/{task_id}/events", headers={"Last-Event-ID": first.group(1)}
    )
    assert re.findall(r'"status":"(\w+)"', resumed.text) == ["succeeded"]
    facts = (await dashboard.get(f"/tasks/{task_id}/json")).json()
    assert facts == {
        "status": "succeeded",
        "cost_actual": 0.0414,
        "provider": "kling",
        "upstream_id": "up_1",
        "videos": ["https://cdn.test/up_1.mp4"],
        "error": None,
    }


async def test_an_unknown_task_is_a_404_page(dashboard: Dashboard) -> None:
    for path in ("/tasks/task_nobody", "/tasks/task_nobody/events", "/tasks/task_nobody/json"):
        answer = await dashboard.get(path)
        assert answer.status_code == 404, path
