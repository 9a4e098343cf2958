"""Validation of text2video, image2video and omni-video bodies: Kling's 400, code 1200/1201."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.anyio

FamilyBody = Callable[..., dict[str, Any]]


async def post(
    client: httpx.AsyncClient, auth: dict[str, str], family: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(f"/kling/v1/videos/{family}", json=body, headers=auth)


def assert_rejected(response: httpx.Response, *named: str) -> None:
    """A Kling 400, code 1201, whose message names each of ``named``."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == 1201
    assert body["request_id"]
    for text in named:
        assert text in body["message"], body["message"]


@pytest.mark.parametrize(
    ("family", "changes", "named"),
    [
        ("text2video", {"model_name": "kling-v9"}, ("kling-v9", "kling-v3")),
        ("text2video", {"model_name": None, "model": "sora"}, ("sora",)),
        ("image2video", {"model_name": "wan2.6-i2v-flash"}, ("wan2.6-i2v-flash",)),
        ("omni-video", {"model_name": "kling-v1"}, ("kling-v1",)),
    ],
)
async def test_an_unknown_model_is_rejected_naming_it(
    client: httpx.AsyncClient,
    gateway_auth: dict[str, str],
    family_body: FamilyBody,
    family: str,
    changes: dict[str, Any],
    named: tuple[str, ...],
) -> None:
    """model_name (or model) outside the family's models answers 1201 naming it."""
    response = await post(client, gateway_auth, family, family_body(family, **changes))
    assert_rejected(response, *named)


async def test_the_legacy_model_field_selects_the_model(
    client: httpx.AsyncClient, gateway_auth: dict[str, str], family_body: FamilyBody
) -> None:
    """model stands in for model_name: kling-v3 via model takes a 12-second duration."""
    body = family_body("text2video", model_name=None, model="kling-v3", duration="12")
    response = await post(client, gateway_auth, "text2video", body)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("model", "duration"),
    [("kling-v2-6", "7"), ("kling-v2-6", "15"), ("kling-v3", "2"), ("kling-v3", "16")],
)
async def test_a_duration_the_model_does_not_take_is_rejected(
    client: httpx.AsyncClient,
    gateway_auth: dict[str, str],
    family_body: FamilyBody,
    model: str,
    duration: str,
) -> None:
    """kling-v2-6 takes "5" or "10", kling-v3 "3".."15"; others answer 1201 naming duration."""
    body = family_body("text2video", model_name=model, duration=duration)
    assert_rejected(await post(client, gateway_auth, "text2video", body), "duration", model)


async def test_a_numeric_duration_is_rejected_because_kling_wants_a_string(
    client: httpx.AsyncClient, gateway_auth: dict[str, str], family_body: FamilyBody
) -> None:
    """duration 5 (a number) answers 1201 naming duration."""
    body = family_body("image2video", duration=5)
    assert_rejected(await post(client, gateway_auth, "image2video", body), "duration")


@pytest.mark.parametrize(
    ("field", "value"),
    [("mode", "ultra"), ("sound", "yes"), ("aspect_ratio", "4:3"), ("cfg_scale", 1.5)],
)
async def test_a_value_outside_kling_enums_is_rejected(
    client: httpx.AsyncClient,
    gateway_auth: dict[str, str],
    family_body: FamilyBody,
    field: str,
    value: Any,
) -> None:
    """mode, sound, aspect_ratio and cfg_scale outside their values answer 1201 naming them."""
    body = family_body("text2video", **{field: value})
    assert_rejected(await post(client, gateway_auth, "text2video", body), field)


async def test_4k_mode_is_for_kling_v3_only(
    client: httpx.AsyncClient, gateway_auth: dict[str, str], family_body: FamilyBody
) -> None:
    """mode 4k is accepted with kling-v3 and refused with kling-v2-6."""
    v3 = family_body("text2video", model_name="kling-v3", mode="4k", duration="5")
    v26 = family_body("text2video", model_name="kling-v2-6", mode="4k")
    assert (await post(client, gateway_auth, "text2video", v3)).status_code == 200
    assert_rejected(await post(client, gateway_auth, "text2video", v26), "4k", "kling-v2-6")


async def test_text2video_needs_a_prompt(
    client: httpx.AsyncClient, gateway_auth: dict[str, str], family_body: FamilyBody
) -> None:
    """A text2video body without prompt (nor multi-shot prompts) answers 1201 naming prompt."""
    body = family_body("text2video", prompt=None)
    assert_rejected(await post(client, gateway_auth, "text2video", body), "prompt")


async def test_text2video_multi_shot_needs_no_prompt_but_shots_adding_up(
    client: httpx.AsyncClient, gateway_auth: dict[str, str], family_body: FamilyBody
) -> None:
    """multi_shot with multi_prompt replaces prompt; the shots must add up to duration."""
    shots = [
        {"index": 1, "prompt": "a", "duration": "4"},
        {"index": 2, "prompt": "b", "duration": "6"},
    ]
    common = {"prompt": None, "model_name": "kling-v3", "multi_shot": True, "multi_prompt": shots}
    fits = family_body("text2video", duration="10", **common)
    short = family_body("text2video", duration="12", **common)
    assert (await post(client, gateway_auth, "text2video", fits)).status_code == 200
    assert_rejected(await post(client, gateway_auth, "text2video", short), "multi_prompt", "12")


async def test_image2video_needs_an_image_or_an_image_tail(
    client: httpx.AsyncClient, gateway_auth: dict[str, str], family_body: FamilyBody
) -> None:
    """Without image and image_tail, image2video answers 1201 naming both; either one will do."""
    neither = family_body("image2video", image=None, prompt=None)
    tail_only = family_body("image2video", image=None, image_tail="https://example.com/last.png")
    assert_rejected(await post(client, gateway_auth, "image2video", neither), "image", "image_tail")
    assert (await post(client, gateway_auth, "image2video", tail_only)).status_code == 200


@pytest.mark.parametrize(
    "image",
    [
        "https://example.com/a.png",
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==",
    ],
    ids=["url", "raw-base64"],
)
async def test_image2video_takes_a_url_or_raw_base64(
    client: httpx.AsyncClient, gateway_auth: dict[str, str], family_body: FamilyBody, image: str
) -> None:
    """image may be a URL or base64 without a prefix."""
    body = family_body("image2video", image=image, image_tail=image)
    response = await post(client, gateway_auth, "image2video", body)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("image", "data:image/png;base64,iVBORw0KGgo="),
        ("image", "not an image!"),
        ("image_tail", "ftp://example.com/a.png"),
    ],
)
async def test_image2video_refuses_a_data_uri_or_junk_image(
    client: httpx.AsyncClient,
    gateway_auth: dict[str, str],
    family_body: FamilyBody,
    field: str,
    value: str,
) -> None:
    """A data: URI (Kling wants raw base64) or anything else answers 1201 naming the field."""
    body = family_body("image2video", **{field: value})
    assert_rejected(await post(client, gateway_auth, "image2video", body), field)


async def test_image2video_refuses_aspect_ratio(
    client: httpx.AsyncClient, gateway_auth: dict[str, str], family_body: FamilyBody
) -> None:
    """image2video has no aspect_ratio (it follows the image): carrying one answers 1201."""
    body = family_body("image2video", aspect_ratio="16:9")
    assert_rejected(await post(client, gateway_auth, "image2video", body), "aspect_ratio")


async def test_omni_video_needs_a_prompt_or_shots(
    client: httpx.AsyncClient, gateway_auth: dict[str, str], family_body: FamilyBody
) -> None:
    """omni-video without prompt and multi_prompt answers 1201 naming both."""
    body = family_body("omni-video", prompt=None)
    response = await post(client, gateway_auth, "omni-video", body)
    assert_rejected(response, "prompt", "multi_prompt")


@pytest.mark.parametrize(
    ("image_list", "named"),
    [
        ([{"type": "first_frame"}], "image_url"),
        ([{"image_url": "https://example.com/a.png", "type": "middle_frame"}], "type"),
        ([{"image_url": "data:image/png;base64,AAAA"}], "image_list[0].image_url"),
    ],
)
async def test_omni_video_checks_its_image_list(
    client: httpx.AsyncClient,
    gateway_auth: dict[str, str],
    family_body: FamilyBody,
    image_list: list[dict[str, str]],
    named: str,
) -> None:
    """image_list items need image_url, and type is first_frame or end_frame."""
    body = family_body("omni-video", image_list=image_list)
    assert_rejected(await post(client, gateway_auth, "omni-video", body), named)


async def test_omni_video_takes_end_frames_and_untyped_images(
    client: httpx.AsyncClient, gateway_auth: dict[str, str], family_body: FamilyBody
) -> None:
    """end_frame and untyped (reference) images are accepted."""
    images = [
        {"image_url": "https://example.com/a.png", "type": "first_frame"},
        {"image_url": "https://example.com/b.png", "type": "end_frame"},
        {"image_url": "https://example.com/c.png"},
    ]
    body = family_body("omni-video", image_list=images)
    assert (await post(client, gateway_auth, "omni-video", body)).status_code == 200


@pytest.mark.parametrize("family", ["text2video", "image2video", "omni-video"])
@pytest.mark.parametrize(("content", "code"), [(b"{oops", 1200), (b"[]", 1201)])
async def test_a_body_that_is_not_a_json_object_is_rejected(
    client: httpx.AsyncClient,
    official_auth: dict[str, str],
    family: str,
    content: bytes,
    code: int,
) -> None:
    """Malformed JSON answers 1200 and JSON that is not an object 1201, on every family."""
    response = await client.post(f"/v1/videos/{family}", content=content, headers=official_auth)
    assert (response.status_code, response.json()["code"]) == (400, code)


async def test_unknown_fields_and_nulls_are_accepted(
    client: httpx.AsyncClient, gateway_auth: dict[str, str], family_body: FamilyBody
) -> None:
    """Fields the simulator does not check pass, and optional fields may be null."""
    body = family_body(
        "text2video",
        camera_control={"type": "simple", "config": {"zoom": 5}},
        watermark_info={"enabled": False},
        callback_url="https://client.test/cb",
    )
    body.update(mode=None, sound=None, negative_prompt=None, external_task_id=None)
    response = await post(client, gateway_auth, "text2video", body)
    assert response.status_code == 200, response.text


async def test_an_invalid_marker_is_rejected_on_a_family(
    client: httpx.AsyncClient, gateway_auth: dict[str, str], family_body: FamilyBody
) -> None:
    """A mistyped marker answers 1201 naming it, as on motion-control."""
    body = family_body("omni-video", prompt="go [sim:fial]")
    assert_rejected(await post(client, gateway_auth, "omni-video", body), "[sim:fial]")
