"""NewApiProvider: new-api's generic task route. The submit bodies per vendor family are pinned
against fixtures written from new-api's source (docs/upstreams/new-api.md), and its answers and
refusals are read as new-api sends them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from adapter.core.errors import (
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderTaskNotFound,
    ProviderUnavailable,
)
from adapter.core.values import TaskStatus, UpstreamState, Video
from adapter.providers.newapi.bodies import MAPPINGS
from adapter.providers.newapi.provider import NewApiProvider
from tests.catalogue import example_input
from tests.models import CATALOG, job
from tests.providers.conftest import API_KEY, NOW, Upstream

pytestmark = pytest.mark.anyio

Load = Callable[[str], Any]
NEWAPI = CATALOG.carried_by("newapi")
FAMILIES = ("ali", "vidu", "veo", "seedance", "hailuo")
TASK = "task_Rk2mW9pQxL4vT8nB3cY6dF1gH5jK0sZa"
SUBMITTED = {
    "id": TASK,
    "task_id": TASK,
    "object": "video",
    "model": "viduq3",
    "status": "queued",
    "progress": 0,
    "created_at": 1795960520,
}


def newapi(upstream: Upstream, **options: Any) -> NewApiProvider:
    return NewApiProvider(
        "newapi-test",
        base_url="https://newapi.example.com/",
        http=httpx.AsyncClient(transport=httpx.MockTransport(upstream.handle)),
        api_key=API_KEY,
        carried=NEWAPI,
        clock=lambda: NOW,
        **options,
    )


def cases(load: Load) -> list[tuple[str, dict[str, Any]]]:
    return [
        (slug, body)
        for family in FAMILIES
        for slug, body in load(f"newapi_submit_{family}.json")["bodies"].items()
    ]


# --- the bodies, per vendor family --------------------------------------------------------


def test_every_model_new_api_carries_has_a_pinned_body(load: Load) -> None:
    assert sorted(slug for slug, _ in cases(load)) == sorted(NEWAPI)


@pytest.mark.parametrize("family", FAMILIES)
async def test_each_page_example_is_sent_as_pinned_for_its_vendor_family(
    upstream: Upstream, load: Load, family: str
) -> None:
    provider = newapi(upstream)
    for slug, body in load(f"newapi_submit_{family}.json")["bodies"].items():
        upstream.answer(json={**SUBMITTED, "model": body["model"]})
        await provider.submit(job(slug, example_input(slug)))
        assert upstream.last.url == "https://newapi.example.com/v1/video/generations"
        assert upstream.last_json() == body, slug


def test_every_body_keeps_to_what_new_api_reads(load: Load) -> None:
    """The rules of docs/upstreams/new-api.md that each family's fixture must keep to."""
    top = {"model", "prompt", "duration", "size", "images", "metadata"}
    veo_keys = {"durationSeconds", "aspectRatio", "resolution", "negativePrompt"}
    veo_keys |= {"personGeneration", "storageUri", "compressionQuality", "resizeMode"}
    veo_keys |= {"seed", "generateAudio"}
    for family in FAMILIES:
        for slug, body in load(f"newapi_submit_{family}.json")["bodies"].items():
            assert set(body) <= top and body["prompt"], slug
            assert isinstance(body.get("duration", 0), int), slug
            metadata = body.get("metadata", {})
            assert "model" not in metadata, slug
            if family == "ali":
                assert set(metadata) == {"input", "parameters"}, slug
                assert "size" not in body and "images" not in body, slug
            if family == "veo":
                assert set(metadata) <= veo_keys, slug
                assert "x" in body["size"], slug
            if family == "vidu":
                assert not {"aspect_ratio", "audio"} & set(metadata), slug
            if family == "seedance":
                assert {"duration", "resolution", "ratio"} <= set(metadata), slug


async def test_fields_a_partial_schema_lets_through_go_in_metadata(upstream: Upstream) -> None:
    upstream.answer(json=SUBMITTED)
    values = {**example_input("minimax-hailuo-02"), "first_frame_image": "https://x.test/a.png"}
    await newapi(upstream).submit(job("minimax-hailuo-02", values))
    assert upstream.last_json()["metadata"] == {
        "prompt_optimizer": True,
        "first_frame_image": "https://x.test/a.png",
    }


async def test_an_input_named_model_never_reaches_metadata(upstream: Upstream) -> None:
    """Hailuo's metadata.model would replace the model (and its price) upstream."""
    upstream.answer(json=SUBMITTED)
    values = {**example_input("minimax-hailuo-02"), "model": "MiniMax-Hailuo-2.3"}
    await newapi(upstream).submit(job("minimax-hailuo-02", values))
    assert upstream.last_json()["model"] == "MiniMax-Hailuo-02"
    assert "model" not in upstream.last_json()["metadata"]


async def test_veo_takes_its_options_in_camel_case(upstream: Upstream) -> None:
    upstream.answer(json=SUBMITTED)
    values = {**example_input("veo3-1-fast"), "negative_prompt": "blur", "aspect_ratio": "9:16"}
    await newapi(upstream).submit(job("veo3-1-fast", values))
    sent = upstream.last_json()
    assert sent["size"] == "720x1280"
    assert sent["metadata"]["negativePrompt"] == "blur"
    assert sent["metadata"]["aspectRatio"] == "9:16"


async def test_a_configured_model_name_replaces_the_catalogues(upstream: Upstream) -> None:
    upstream.answer(json=SUBMITTED)
    provider = newapi(upstream, model_names={"viduq3": "vidu-q3-reference"})
    await provider.submit(job("viduq3", example_input("viduq3")))
    assert upstream.last_json()["model"] == "vidu-q3-reference"


def test_model_names_must_name_served_models(upstream: Upstream) -> None:
    with pytest.raises(ValueError, match="kling-v3"):
        newapi(upstream, models=["viduq3"], model_names={"kling-v3": "x"})


def test_every_mapping_a_spec_names_exists() -> None:
    assert {carrier.mapping for carrier in NEWAPI.values()} <= set(MAPPINGS)


# --- answers --------------------------------------------------------------------------------


async def test_submit_reads_new_apis_own_task_id_with_the_bearer_key(upstream: Upstream) -> None:
    upstream.answer(json=SUBMITTED)
    state = await newapi(upstream).submit(job("viduq3", example_input("viduq3")))
    assert state == UpstreamState(TASK, TaskStatus.QUEUED, route="video-generations")
    assert upstream.last.headers["Authorization"] == f"Bearer {API_KEY}"


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        (
            "newapi_generic_query_ali_success.json",
            UpstreamState(
                TASK,
                TaskStatus.SUCCEEDED,
                "video-generations",
                (Video("https://dashscope-result.example.com/wan/1f3b.mp4"),),
            ),
        ),
        (
            "newapi_generic_query_ali_failure.json",
            UpstreamState(
                "task_Pq7nV2xM9bL3kJ8hG4fD6sA1zW5yT0cR",
                TaskStatus.FAILED,
                "video-generations",
                message="DataInspectionFailed: Input data may contain inappropriate content.",
            ),
        ),
        (
            "newapi_generic_query_gemini.json",
            UpstreamState(
                "task_Vx3bN8mQ2wE5rT9yU1iO4pA7sD6fG0hJ",
                TaskStatus.SUCCEEDED,
                "video-generations",
                (
                    Video(
                        "https://newapi.example.com/v1/videos/"
                        "task_Vx3bN8mQ2wE5rT9yU1iO4pA7sD6fG0hJ/content"
                    ),
                ),
            ),
        ),
        (
            "newapi_generic_query_gemini_processing.json",
            UpstreamState(
                "task_Vx3bN8mQ2wE5rT9yU1iO4pA7sD6fG0hJ",
                TaskStatus.PROCESSING,
                "video-generations",
            ),
        ),
    ],
)
async def test_queries_read_both_answer_shapes(
    upstream: Upstream, load: Load, fixture: str, expected: UpstreamState
) -> None:
    """TaskDto (most channels) and the real-time shape (Gemini and Vertex channels)."""
    upstream.answer(json=load(fixture))
    state = await newapi(upstream).query("video-generations", TASK)
    assert state == expected
    assert upstream.last.url == f"https://newapi.example.com/v1/video/generations/{TASK}"


async def test_an_id_new_api_never_issued_is_task_not_found(upstream: Upstream, load: Load) -> None:
    upstream.answer(400, json=load("newapi_task_not_exist.json"))
    with pytest.raises(ProviderTaskNotFound):
        await newapi(upstream).query("video-generations", "task_gone")


async def test_a_missing_prompt_is_a_rejection_in_new_apis_words(
    upstream: Upstream, load: Load
) -> None:
    upstream.answer(400, json=load("newapi_prompt_required.json"))
    with pytest.raises(ProviderRejected) as caught:
        await newapi(upstream).submit(job("viduq3-pro", {}))
    assert caught.value.message == "prompt is required"
    assert caught.value.code == "invalid_request"


async def test_a_model_no_channel_serves_lets_the_next_provider_try(
    upstream: Upstream, load: Load
) -> None:
    """503 model_not_found: this gateway cannot make it; another host may."""
    upstream.answer(503, json=load("newapi_model_not_found.json"))
    with pytest.raises(ProviderUnavailable) as caught:
        await newapi(upstream).submit(job("viduq3", example_input("viduq3")))
    assert caught.value.code == "model_not_found"


async def test_a_lost_submit_cannot_be_looked_up_so_its_outcome_stays_unknown(
    upstream: Upstream,
) -> None:
    with pytest.raises(ProviderOutcomeUnknown):
        await newapi(upstream).lookup(job("viduq3", example_input("viduq3")))
    assert upstream.requests == []


async def test_cancel_sends_nothing(upstream: Upstream) -> None:
    assert await newapi(upstream).cancel("video-generations", TASK) is False
    assert upstream.requests == []


async def test_check_reads_task_not_exist_as_healthy(upstream: Upstream, load: Load) -> None:
    upstream.answer(400, json=load("newapi_task_not_exist.json"))
    found = await newapi(upstream).check()
    assert found.ok and "task_not_exist" in found.detail


async def test_a_veo_aspect_ratio_without_a_pixel_size_sends_its_options_alone(
    upstream: Upstream,
) -> None:
    """new-api prefers metadata to size: no size is sent rather than a wrong one."""
    upstream.answer(json=SUBMITTED)
    values = {**example_input("veo3-1-fast"), "aspect_ratio": "1:1"}
    await newapi(upstream).submit(job("veo3-1-fast", values))
    sent = upstream.last_json()
    assert "size" not in sent and sent["metadata"]["aspectRatio"] == "1:1"
