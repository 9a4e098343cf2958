"""The new seed models through the service: prices, ignored inputs and media checks."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from adapter.core.errors import InvalidRequest
from adapter.core.values import TaskStatus, Video
from adapter.service.tasks import TaskService
from tests.fakes import FakeMedia, ScriptedProvider
from tests.models import checked

pytestmark = pytest.mark.anyio

#: The seed curl examples' inputs (seeds 001-003) and the cost each page shows.
SEEDS: dict[str, tuple[dict[str, Any], str]] = {
    "kling-v3": (
        {
            "prompt": "A cinematic video of a red sports car driving along a coastal road at "
            "sunset, realistic lighting, smooth camera movement, high detail.",
            "aspect_ratio": "16:9",
            "duration": 5,
            "mode": "std",
        },
        "0.0756",
    ),
    "kling-v2-6": (
        {
            "prompt": "A cinematic shot of a silver sports car driving through neon-lit rain",
            "size": "16:9",
            "duration": 5,
            "mode": "std",
        },
        "0.0414",
    ),
    "wan2-6-i2v-flash": (
        {
            "prompt": "Let the person in the image turn and smile while the camera slowly "
            "pushes in.",
            "resolution": "1080p",
            "duration": 5,
            "image_urls": ["https://example.com/portrait.jpg"],
            "audio": True,
        },
        "0.0315",
    ),
}
ALL = ("kling-v3", "kling-v2-6", "wan2-6-i2v-flash")


@pytest.fixture
def upstream() -> ScriptedProvider:
    return ScriptedProvider("any", ALL)


@pytest.fixture
def svc(make_service, upstream: ScriptedProvider) -> TaskService:  # type: ignore[no-untyped-def]
    return make_service(upstream)


async def submit(svc: TaskService, model: str, values: dict[str, Any]):  # type: ignore[no-untyped-def]
    return await svc.submit(owner="alice", model=model, values=values, idempotency_key=None)


@pytest.mark.parametrize("model", ALL)
async def test_each_seed_example_is_priced_as_its_page_shows(
    svc: TaskService, upstream: ScriptedProvider, model: str
) -> None:
    values, cost = SEEDS[model]
    result = await submit(svc, model, values)
    assert result.record.cost_estimate == Decimal(cost)
    assert result.record.notices == ()
    # The upstream gets the input as the schema checked it, its defaults applied.
    assert upstream.submits[0].input == checked(model, values)


@pytest.mark.parametrize("model", ALL)
async def test_the_requested_seconds_are_billed_not_the_videos_measured_length(
    svc: TaskService, upstream: ScriptedProvider, model: str
) -> None:
    """A "5 s" video that lasts 5.04 s costs the 5 s on the page, not 6 ceiled seconds."""
    values, cost = SEEDS[model]
    result = await submit(svc, model, values)
    upstream.set_state("up_1", TaskStatus.SUCCEEDED, seconds=5.04)
    task = await svc.get(owner="alice", task_id=result.record.task_id)
    assert task.status is TaskStatus.SUCCEEDED
    assert task.videos == (Video("https://cdn.test/up_1.mp4", 5.04),)
    assert task.cost_actual == Decimal(cost)


@pytest.mark.parametrize(
    ("model", "changes", "cost"),
    [
        ("kling-v2-6", {"duration": 10}, "0.0828"),
        ("kling-v2-6", {"mode": "pro", "audio": True}, "0.138"),
        ("kling-v3", {"duration": 15, "mode": "4k"}, "0.567"),
        ("kling-v3", {"mode": "pro", "audio": True}, "0.1512"),
        ("wan2-6-i2v-flash", {"resolution": "720p", "audio": False, "duration": 2}, "0.0042"),
    ],
)
async def test_other_tiers_are_priced_from_the_table(
    svc: TaskService, model: str, changes: dict[str, Any], cost: str
) -> None:
    values = {**SEEDS[model][0], **changes}
    result = await submit(svc, model, values)
    assert result.record.cost_estimate == Decimal(cost)


async def test_a_seed_for_kling_is_accepted_with_a_notice_that_it_was_not_sent(
    svc: TaskService,
) -> None:
    """Kling has no seed: the task says so rather than pretending to honour it."""
    values = {**SEEDS["kling-v2-6"][0], "seed": 42}
    result = await submit(svc, "kling-v2-6", values)
    [notice] = result.record.notices
    assert notice.code == "input_ignored" and "input.seed" in notice.message


async def test_unknown_fields_are_accepted_for_kling_v2_6_with_a_notice(
    svc: TaskService,
) -> None:
    """Its schema has no additionalProperties: false, so an extra field is not an error."""
    values = {**SEEDS["kling-v2-6"][0], "style": "noir"}
    result = await submit(svc, "kling-v2-6", values)
    [notice] = result.record.notices
    assert "input.style is not a kling-v2-6 input" in notice.message


@pytest.mark.parametrize("model", ["kling-v3", "wan2-6-i2v-flash"])
async def test_unknown_fields_are_refused_where_the_schema_forbids_them(
    svc: TaskService, model: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await submit(svc, model, {**SEEDS[model][0], "style": "noir"})
    assert caught.value.param == "input.style"


async def test_two_different_reference_images_for_kling_v2_6_send_image_url_and_say_so(
    svc: TaskService, upstream: ScriptedProvider
) -> None:
    """The schema allows both; the model takes one, so the other comes back as a notice."""
    values = {
        **SEEDS["kling-v2-6"][0],
        "image_url": "https://example.com/a.png",
        "image_urls": ["https://example.com/b.png"],
    }
    result = await submit(svc, "kling-v2-6", values)
    [notice] = result.record.notices
    assert "input.image_urls[0] was not sent" in notice.message
    assert upstream.submits[0].input["image_url"] == "https://example.com/a.png"


async def test_every_image_in_a_list_is_checked_and_named_by_index(
    svc: TaskService, media: FakeMedia
) -> None:
    media.bad_image = True
    with pytest.raises(InvalidRequest) as caught:
        await submit(svc, "wan2-6-i2v-flash", SEEDS["wan2-6-i2v-flash"][0])
    assert caught.value.param == "input.image_urls[0]"


@pytest.mark.parametrize(
    ("field", "value"),
    [("first_frame_image", "https://example.com/a.png"), ("image_urls", ["x", "y"])],
)
async def test_kling_v3_frames_are_checked(
    svc: TaskService, media: FakeMedia, field: str, value: Any
) -> None:
    media.bad_image = True
    with pytest.raises(InvalidRequest) as caught:
        await submit(svc, "kling-v3", {**SEEDS["kling-v3"][0], field: value})
    assert caught.value.param is not None and caught.value.param.startswith(f"input.{field}")


async def test_wans_audio_url_is_checked_like_every_url(
    svc: TaskService, media: FakeMedia, upstream: ScriptedProvider
) -> None:
    """audio_url is handed on unfetched, under the same URL rule; a refusal names it."""
    values = {**SEEDS["wan2-6-i2v-flash"][0], "audio_url": "https://example.com/voice.mp3"}
    await submit(svc, "wan2-6-i2v-flash", values)
    assert media.urls == [("input.audio_url", "https://example.com/voice.mp3")]
    media.bad_url = True
    with pytest.raises(InvalidRequest) as caught:
        await submit(svc, "wan2-6-i2v-flash", values)
    assert caught.value.param == "input.audio_url"
    assert len(upstream.submits) == 1


@pytest.mark.parametrize(
    ("model", "formats"),
    [("wan2-6-i2v-flash", {"jpg", "png", "bmp", "webp"}), ("kling-v2-6", {"jpg", "png"})],
)
async def test_each_model_checks_images_against_its_upstreams_formats(
    svc: TaskService, media: FakeMedia, model: str, formats: set[str]
) -> None:
    values = {**SEEDS[model][0], "image_urls": ["https://example.com/a.webp"]}
    await submit(svc, model, values)
    assert media.image_formats == formats
