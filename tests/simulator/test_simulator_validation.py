"""Submit validation of the simulated Kling upstream, answered as Kling does (400, 1200/1201)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.anyio

Order = Callable[..., dict[str, Any]]
GATEWAY_SUBMIT = "/kling/v1/videos/motion-control"


@pytest.mark.parametrize("field", ["image_url", "video_url", "character_orientation", "mode"])
async def test_a_missing_required_field_answers_1201(
    client: httpx.AsyncClient, gateway_auth: dict[str, str], order: Order, field: str
) -> None:
    """Leaving out a required field answers 400, code 1201, naming the field."""
    response = await client.post(GATEWAY_SUBMIT, json=order(**{field: None}), headers=gateway_auth)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 1201
    assert field in body["message"]
    assert body["request_id"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("character_orientation", "left"),
        ("mode", "4k"),
        ("keep_original_sound", "maybe"),
        ("image_url", ""),
        ("video_url", 42),
        ("prompt", "x" * 2501),
        ("external_task_id", ["a"]),
    ],
)
async def test_a_bad_value_answers_1201(
    client: httpx.AsyncClient, gateway_auth: dict[str, str], order: Order, field: str, value: Any
) -> None:
    """A value outside Kling's enums, types or lengths answers 400, code 1201, naming the field."""
    response = await client.post(GATEWAY_SUBMIT, json=order(**{field: value}), headers=gateway_auth)
    assert response.status_code == 400
    assert response.json()["code"] == 1201
    assert field in response.json()["message"]


@pytest.mark.parametrize(
    ("content", "code"), [(b"{not json", 1200), (b"", 1200), (b"[]", 1201), (b"null", 1201)]
)
async def test_a_body_that_is_not_a_json_object_is_rejected(
    client: httpx.AsyncClient, gateway_auth: dict[str, str], content: bytes, code: int
) -> None:
    """Malformed JSON answers code 1200, and JSON that is not an object code 1201."""
    response = await client.post(GATEWAY_SUBMIT, content=content, headers=gateway_auth)
    assert response.status_code == 400
    assert response.json()["code"] == code


async def test_optional_fields_and_unknown_fields_are_accepted(
    client: httpx.AsyncClient, gateway_auth: dict[str, str], order: Order
) -> None:
    """Optional fields may be null or absent, and fields Kling adds later are ignored."""
    body = order(
        prompt=None,
        keep_original_sound=None,
        callback_url="https://client.test/cb",
        model_name="kling-v3",
        element_list=[{"element_id": 1}],
        watermark_info={"enabled": False},
    )
    body["external_task_id"] = None
    response = await client.post(GATEWAY_SUBMIT, json=body, headers=gateway_auth)
    assert response.status_code == 200
    assert response.json()["data"]["task_info"] == {"external_task_id": ""}
