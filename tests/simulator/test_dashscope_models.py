"""The simulated DashScope's models beyond image to video: each one's body, checked per model."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapter.simulator.clock import ManualClock
from adapter.simulator.dashscope_wire import MODELS, T2V_SIZES
from tests.simulator.dashscope_client import SUBMIT, TASKS, submit

pytestmark = pytest.mark.anyio

REF = "https://example.com/ref.png"
VIDEO = "https://example.com/source.mp4"
DATA_IMAGE = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAE="

#: A valid body of each model added after ``wan2.6-i2v-flash``, with every option it has.
BODIES: dict[str, dict[str, Any]] = {
    "wan2.5-t2v-preview": {
        "model": "wan2.5-t2v-preview",
        "input": {
            "prompt": "a kitten runs in the snow",
            "negative_prompt": "blurry",
            "audio_url": "https://example.com/song.mp3",
        },
        "parameters": {
            "size": "832*480",
            "duration": 10,
            "prompt_extend": True,
            "audio": True,
            "watermark": False,
            "seed": 2_147_483_647,
        },
    },
    "wan2.7-r2v": {
        "model": "wan2.7-r2v",
        "input": {
            "prompt": "character1 waves at character2",
            "negative_prompt": "blurry",
            "media": [
                {"type": "reference_image", "url": REF},
                {"type": "reference_video", "url": "https://example.com/ref-video-8s.mp4"},
                {"type": "reference_image", "url": DATA_IMAGE},
            ],
        },
        "parameters": {
            "resolution": "720P",
            "ratio": "9:16",
            "duration": 2,
            "prompt_extend": False,
            "watermark": True,
            "seed": 0,
        },
    },
    "wan2.7-videoedit": {
        "model": "wan2.7-videoedit",
        "input": {
            "prompt": "make it night",
            "media": [
                {"type": "video", "url": VIDEO},
                {"type": "reference_image", "url": REF},
                {"type": "reference_image", "url": REF},
                {"type": "reference_image", "url": DATA_IMAGE},
            ],
        },
        "parameters": {
            "resolution": "1080P",
            "ratio": "1:1",
            "duration": 15,
            "prompt_extend": True,
            "watermark": False,
            "seed": 7,
        },
    },
    "happyhorse-1.0-t2v": {
        "model": "happyhorse-1.0-t2v",
        "input": {"prompt": "a horse gallops on a beach"},
        "parameters": {
            "resolution": "720P",
            "ratio": "4:3",
            "duration": 3,
            "watermark": True,
            "seed": 42,
        },
    },
}


def assert_invalid(response: httpx.Response, named: str) -> None:
    """HTTP 400 ``InvalidParameter`` whose message names ``named``."""
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["code"] == "InvalidParameter"
    assert named in answer["message"], answer["message"]


def body(model: str, *, inputs: dict[str, Any] | None = None, **parameters: Any) -> dict[str, Any]:
    """``BODIES[model]`` with ``input`` / ``parameters`` fields replaced or (``None``) removed."""
    base = BODIES[model]
    given = {**base["input"], **(inputs or {})}
    params = {**base["parameters"], **parameters}
    return {
        "model": model,
        "input": {key: value for key, value in given.items() if value is not None},
        "parameters": {key: value for key, value in params.items() if value is not None},
    }


async def finished(
    client: httpx.AsyncClient, clock: ManualClock, auth: dict[str, str], payload: dict[str, Any]
) -> dict[str, Any]:
    """Submit ``payload``, let it run out, and return the last query's answer."""
    task_id = await submit(client, auth, payload)
    clock.advance(3)
    answer: dict[str, Any] = (await client.get(TASKS + task_id, headers=auth)).json()
    assert answer["output"]["task_status"] == "SUCCEEDED", answer
    return answer


def test_the_simulator_has_the_five_models() -> None:
    assert set(MODELS) == {"wan2.6-i2v-flash", *BODIES}
    assert len(T2V_SIZES) == 13


@pytest.mark.parametrize(
    ("model", "seconds", "sr"),
    [
        ("wan2.5-t2v-preview", 10, 480),
        ("wan2.7-r2v", 2, 720),
        ("wan2.7-videoedit", 15, 1080),
        ("happyhorse-1.0-t2v", 3, 720),
    ],
)
async def test_every_option_of_each_model_is_accepted_and_runs_to_a_video(
    client: httpx.AsyncClient,
    clock: ManualClock,
    dashscope_auth: dict[str, str],
    model: str,
    seconds: int,
    sr: int,
) -> None:
    """The video lasts ``parameters.duration``; SR is the resolution (a size's smaller side)."""
    answer = await finished(client, clock, dashscope_auth, BODIES[model])
    assert answer["output"]["video_url"].endswith(f"-{seconds}s.mp4")
    assert answer["usage"] == {"duration": seconds, "video_count": 1, "SR": sr}


@pytest.mark.parametrize(
    ("payload", "sr"),
    [
        ({"model": "wan2.5-t2v-preview", "input": {"prompt": "p"}}, 720),
        ({"model": "happyhorse-1.0-t2v", "input": {"prompt": "p"}}, 1080),
        (
            {"model": "wan2.7-r2v", "input": {"media": [{"type": "reference_image", "url": REF}]}},
            1080,
        ),
        (
            {"model": "wan2.7-videoedit", "input": {"media": [{"type": "video", "url": VIDEO}]}},
            1080,
        ),
    ],
)
async def test_defaults_are_5_seconds_at_1280x720_or_1080p(
    client: httpx.AsyncClient,
    clock: ManualClock,
    dashscope_auth: dict[str, str],
    payload: dict[str, Any],
    sr: int,
) -> None:
    """No parameters: 5 s (a video edit's source, taken as 5 s), size 1280*720 or 1080P."""
    answer = await finished(client, clock, dashscope_auth, payload)
    assert answer["output"]["video_url"].endswith("-5s.mp4")
    assert answer["usage"] == {"duration": 5, "video_count": 1, "SR": sr}


async def test_unknown_fields_are_ignored_anywhere(
    client: httpx.AsyncClient, clock: ManualClock, dashscope_auth: dict[str, str]
) -> None:
    payload = body("wan2.7-r2v", inputs={"first_frame_url": 3}, shot_type_x=1, foo={"a": 1})
    payload["extra"] = [1, 2]
    await finished(client, clock, dashscope_auth, payload)


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        (body("wan2.5-t2v-preview", inputs={"prompt": None}), "input.prompt"),
        (body("wan2.5-t2v-preview", inputs={"prompt": "  "}), "input.prompt"),
        (body("wan2.5-t2v-preview", size="1280x720"), "size"),
        (body("wan2.5-t2v-preview", size="1920*1088"), "size"),
        (body("wan2.5-t2v-preview", duration=8), "duration"),
        (body("wan2.5-t2v-preview", audio="yes"), "audio"),
        (body("wan2.5-t2v-preview", seed=-1), "seed"),
        (body("wan2.5-t2v-preview", inputs={"audio_url": "song.mp3"}), "audio_url"),
        (body("wan2.7-r2v", inputs={"media": None}), "input.media"),
        (body("wan2.7-r2v", inputs={"media": []}), "input.media"),
        (
            body("wan2.7-r2v", inputs={"media": [{"type": "reference_image", "url": REF}] * 6}),
            "input.media",
        ),
        (body("wan2.7-r2v", inputs={"media": [{"type": "video", "url": VIDEO}]}), "media[0].type"),
        (
            body("wan2.7-r2v", inputs={"media": [{"type": "reference_image", "url": "a.png"}]}),
            "media[0].url",
        ),
        (body("wan2.7-r2v", inputs={"media": [{"type": "reference_image"}]}), "url"),
        (body("wan2.7-r2v", resolution="480P"), "resolution"),
        (body("wan2.7-r2v", ratio="21:9"), "ratio"),
        (body("wan2.7-r2v", duration=16), "duration"),
        (body("wan2.7-r2v", duration=1), "duration"),
        (body("wan2.7-r2v", ratio="2:1"), "ratio"),
        (body("wan2.7-r2v", prompt_extend="true"), "prompt_extend"),
        (
            body("wan2.7-videoedit", inputs={"media": [{"type": "reference_image", "url": REF}]}),
            "video",
        ),
        (
            body(
                "wan2.7-videoedit",
                inputs={
                    "media": [{"type": "video", "url": VIDEO}, {"type": "video", "url": VIDEO}]
                },
            ),
            "video",
        ),
        (
            body("wan2.7-videoedit", inputs={"media": [{"type": "video", "url": DATA_IMAGE}]}),
            "media[0].url",
        ),
        (
            body(
                "wan2.7-videoedit",
                inputs={
                    "media": [
                        {"type": "video", "url": VIDEO},
                        *[{"type": "reference_image", "url": REF}] * 4,
                    ]
                },
            ),
            "reference_image",
        ),
        (
            body("wan2.7-videoedit", inputs={"media": [{"type": "reference_video", "url": VIDEO}]}),
            "media[0].type",
        ),
        (body("wan2.7-videoedit", duration=1), "duration"),
        (body("wan2.7-videoedit", ratio="2:1"), "ratio"),
        (body("happyhorse-1.0-t2v", inputs={"prompt": ""}), "input.prompt"),
        (body("happyhorse-1.0-t2v", duration=0), "duration"),
        (body("happyhorse-1.0-t2v", duration=16), "duration"),
        (body("happyhorse-1.0-t2v", resolution="1080p"), "resolution"),
        (body("happyhorse-1.0-t2v", watermark=1), "watermark"),
        (body("happyhorse-1.0-t2v", seed=2_147_483_648), "seed"),
    ],
)
async def test_a_wrong_value_answers_invalid_parameter_naming_the_field(
    client: httpx.AsyncClient, dashscope_auth: dict[str, str], payload: dict[str, Any], named: str
) -> None:
    response = await client.post(SUBMIT, json=payload, headers=dashscope_auth)
    assert_invalid(response, named)


async def test_the_image_to_video_model_still_needs_its_image(
    client: httpx.AsyncClient, dashscope_auth: dict[str, str]
) -> None:
    """img_url is required by wan2.6-i2v-flash only: a text-only body is refused there."""
    payload = {"model": "wan2.6-i2v-flash", "input": {"prompt": "p"}}
    assert_invalid(await client.post(SUBMIT, json=payload, headers=dashscope_auth), "img_url")
