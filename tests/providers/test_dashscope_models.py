"""The DashScope bodies of the Wan 2.5/2.7 and HappyHorse models: each page's example as sent
(the same body new-api's Ali channel gets in its metadata), and the inputs a partial schema
lets through, sent on for DashScope to judge rather than failing here."""

from __future__ import annotations

from typing import Any

import pytest

from adapter.core.values import VideoJob
from tests.catalogue import example_input
from tests.models import job
from tests.providers.conftest import Upstream
from tests.providers.dashscope_helpers import dashscope

pytestmark = pytest.mark.anyio

SUBMITTED = {"request_id": "r-1", "output": {"task_id": "t-1", "task_status": "PENDING"}}


async def sent(upstream: Upstream, model: str, values: dict[str, Any]) -> Any:
    upstream.answer(json=SUBMITTED)
    await dashscope(upstream.handle).submit(job(model, values))
    return upstream.last_json()


async def test_each_example_is_the_body_new_api_carries_for_it(
    upstream: Upstream, load: Any
) -> None:
    """One mapping for both hosts: new-api's Ali body holds the DashScope body in metadata."""
    for slug, body in load("newapi_submit_ali.json")["bodies"].items():
        if slug == "wan2-6-i2v-flash":
            continue  # its own tests pin it (test_dashscope_provider.py)
        sent_body = await sent(upstream, slug, example_input(slug))
        assert sent_body == {"model": body["model"], **body["metadata"]}, slug


async def test_wan_2_5_sizes_are_pixels_from_aspect_and_resolution(upstream: Upstream) -> None:
    values = {**example_input("wan2-5-preview"), "size": "9:16", "resolution": "1080p"}
    assert (await sent(upstream, "wan2-5-preview", values))["parameters"]["size"] == "1080*1920"


@pytest.mark.parametrize("size", ["21:9", "1280*720"])
async def test_a_size_the_table_lacks_is_sent_as_it_is(upstream: Upstream, size: str) -> None:
    values = {**example_input("wan2-5-preview"), "size": size}
    assert (await sent(upstream, "wan2-5-preview", values))["parameters"]["size"] == size


async def test_an_edit_without_a_source_sends_no_media_for_dashscope_to_judge(
    upstream: Upstream,
) -> None:
    """The schema requires the source; a job without one still makes a body, not an error."""
    upstream.answer(json=SUBMITTED)
    bare = VideoJob(model="wan2-7-videoedit", input={"prompt": "snow"}, external_id="t")
    await dashscope(upstream.handle).submit(bare)
    assert "media" not in upstream.last_json()["input"]


async def test_unmapped_fields_go_to_parameters_as_they_came(upstream: Upstream) -> None:
    values = {**example_input("happyhorse-1-0"), "seed": 7, "watermark": True}
    parameters = (await sent(upstream, "happyhorse-1-0", values))["parameters"]
    assert parameters == {
        "resolution": "1080P",
        "ratio": "16:9",
        "duration": 5,
        "seed": 7,
        "watermark": True,
    }


async def test_an_edit_sends_its_source_as_a_video_item_and_no_zero_duration(
    upstream: Upstream,
) -> None:
    body = await sent(upstream, "wan2-7-videoedit", example_input("wan2-7-videoedit"))
    assert body["input"]["media"] == [{"type": "video", "url": "https://example.com/original.mp4"}]
    assert "duration" not in body["parameters"]
