"""The rest of MindVideo's video catalogue through the service: each page's example at its
page's price, partial schemas that let unknown fields through (and say so), values the price
table lacks refused, a per-task price, and the catalogue's slugs that are not served."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from adapter.core.errors import InvalidRequest, UnknownModel
from adapter.core.values import TaskStatus
from adapter.service.tasks import TaskService
from tests.catalogue import IMAGE_MODELS, NEW, PAGE_COSTS, UNCARRIED, example_input
from tests.fakes import FakeMedia, ScriptedProvider
from tests.models import CATALOG, checked

pytestmark = pytest.mark.anyio


@pytest.fixture
def upstream() -> ScriptedProvider:
    return ScriptedProvider("any", tuple(PAGE_COSTS))


@pytest.fixture
def svc(make_service, upstream: ScriptedProvider) -> TaskService:  # type: ignore[no-untyped-def]
    return make_service(upstream)


async def submit(svc: TaskService, model: str, values: dict[str, Any]):  # type: ignore[no-untyped-def]
    return await svc.submit(owner="alice", model=model, values=values, idempotency_key=None)


def test_every_video_page_of_the_catalogue_has_a_spec() -> None:
    assert sorted(spec.slug for spec in CATALOG) == sorted(PAGE_COSTS)


@pytest.mark.parametrize("model", NEW)
async def test_each_page_example_is_priced_as_its_page_shows_and_sent_as_checked(
    svc: TaskService, upstream: ScriptedProvider, model: str
) -> None:
    """Its only notices are for the fields its spec names as not honoured upstream."""
    values = example_input(model)
    result = await submit(svc, model, values)
    assert result.record.cost_estimate == PAGE_COSTS[model]
    ignored = [field for field in CATALOG.get(model).ignored if field in values]
    assert [notice.code for notice in result.record.notices] == ["input_ignored"] * len(ignored)
    assert upstream.submits[0].input == checked(model, values)


@pytest.mark.parametrize("model", NEW)
def test_each_new_schema_is_partial_and_names_its_page(model: str) -> None:
    spec = CATALOG.get(model)
    assert spec.schema_source == "partial"
    assert f"/models/{model}/docs" in spec.source
    assert "additionalProperties" not in spec.schema


async def test_a_field_a_partial_schema_lacks_goes_through_with_an_input_unchecked_notice(
    svc: TaskService, upstream: ScriptedProvider
) -> None:
    values = {**example_input("minimax-hailuo-2-3"), "first_frame_image": "https://x.test/a.png"}
    result = await submit(svc, "minimax-hailuo-2-3", values)
    [notice] = result.record.notices
    assert notice.code == "input_unchecked"
    assert "input.first_frame_image" in notice.message and "unchecked" in notice.message
    assert upstream.submits[0].input["first_frame_image"] == "https://x.test/a.png"


async def test_what_a_partial_schema_shows_is_still_enforced(svc: TaskService) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await submit(svc, "viduq3", {"prompt": "two friends"})
    assert caught.value.param == "input.image_urls"
    with pytest.raises(InvalidRequest) as caught:
        await submit(svc, "veo3-1-fast", {**example_input("veo3-1-fast"), "duration": "8"})
    assert caught.value.param == "input.duration"


async def test_a_value_the_price_table_lacks_is_refused_naming_the_priced_ones(
    svc: TaskService, upstream: ScriptedProvider
) -> None:
    values = {**example_input("doubao-seedance-1-5-pro"), "resolution": "4k"}
    with pytest.raises(InvalidRequest) as caught:
        await submit(svc, "doubao-seedance-1-5-pro", values)
    assert caught.value.param == "input.resolution"
    message = caught.value.message
    assert "'4k+true' has no price" in message and "720p+true" in message
    assert "schemas/models/doubao-seedance-1-5-pro.toml" in message
    assert upstream.submits == []


async def test_omitted_priced_fields_take_the_examples_values_and_price(
    svc: TaskService, upstream: ScriptedProvider
) -> None:
    result = await submit(svc, "doubao-seedance-2-0-fast", {"prompt": "rain at night"})
    assert result.record.cost_estimate == PAGE_COSTS["doubao-seedance-2-0-fast"]
    sent = upstream.submits[0].input
    assert (sent["resolution"], sent["duration"], sent["generate_audio"]) == ("720p", 5, True)


async def test_a_per_task_price_ignores_the_videos_length(
    svc: TaskService, upstream: ScriptedProvider
) -> None:
    """wan2-7-videoedit's page prices the task (its duration is 0: it follows the source)."""
    result = await submit(svc, "wan2-7-videoedit", example_input("wan2-7-videoedit"))
    assert result.record.cost_estimate == Decimal("0.1233")
    upstream.set_state("up_1", TaskStatus.SUCCEEDED, seconds=12.3)
    task = await svc.get(owner="alice", task_id=result.record.task_id)
    assert task.status is TaskStatus.SUCCEEDED and task.cost_actual == Decimal("0.1233")


async def test_the_source_video_of_an_edit_is_checked_as_a_url(
    svc: TaskService, media: FakeMedia
) -> None:
    await submit(svc, "wan2-7-videoedit", example_input("wan2-7-videoedit"))
    assert media.urls == [("input.video_urls[0]", "https://example.com/original.mp4")]


async def test_each_url_of_a_list_of_objects_is_checked_as_an_image(
    svc: TaskService, media: FakeMedia
) -> None:
    values = example_input("wan2-7-r2v")
    values["image_with_roles"] = [
        *values["image_with_roles"],
        {"url": "u2", "role": "reference_image"},
    ]
    await submit(svc, "wan2-7-r2v", values)
    assert media.images == ["input.image_with_roles[0].url", "input.image_with_roles[1].url"]


async def test_a_bad_image_in_a_list_of_objects_is_refused_naming_its_place(
    svc: TaskService, media: FakeMedia
) -> None:
    media.bad_image = True
    with pytest.raises(InvalidRequest) as caught:
        await submit(svc, "wan2-7-r2v", example_input("wan2-7-r2v"))
    assert caught.value.param == "input.image_with_roles[0].url"


@pytest.mark.parametrize("model", [*UNCARRIED, *IMAGE_MODELS])
async def test_a_catalogue_slug_not_served_is_refused_saying_why(
    svc: TaskService, model: str
) -> None:
    with pytest.raises(UnknownModel) as caught:
        await submit(svc, model, {"prompt": "x"})
    why = "image model" if model in IMAGE_MODELS else "no upstream this adapter speaks"
    assert caught.value.param == "model" and why in caught.value.message
    assert model in caught.value.message


def test_every_slug_of_the_catalogue_is_served_or_says_why_not() -> None:
    for model in (*UNCARRIED, *IMAGE_MODELS):
        assert CATALOG.why_unserved(model) is not None
    assert CATALOG.why_unserved("kling-v3") is None
