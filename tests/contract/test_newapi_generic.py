"""new-api's generic task route in the simulator (``/newapi/v1/video/generations``).

Stock new-api relays one body shape to each vendor channel by model name and wraps the
vendor's refusals; its generic query answers a TaskDto, or on a Gemini channel the simple
shape: docs/upstreams/new-api.md.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import pytest

from adapter.simulator.clock import ManualClock
from tests.contract.simulated import CONFIG, SIM, START

pytestmark = pytest.mark.anyio

ROUTE = f"{SIM}/newapi/v1/video/generations"
AUTH = {"Authorization": f"Bearer {CONFIG.api_key}"}
PUBLIC_ID = re.compile(r"task_[A-Za-z0-9]{32}")
BUSY = "当前分组上游负载已饱和，请稍后再试"

#: Bodies every channel must accept, with the channel's TaskDto ``platform`` and ``action``
#: (``None``: a Gemini channel, answered in the simple shape) and the video's length.
ACCEPTED: list[tuple[dict[str, Any], str | None, str | None, int]] = [
    (
        {
            "model": "wan2.5-t2v-preview",
            "prompt": "p",
            "duration": 5,
            "metadata": {
                "input": {"prompt": "p"},
                "parameters": {
                    "size": "1280*720",
                    "duration": 5,
                    "prompt_extend": True,
                    "audio": True,
                },
            },
        },
        "17",
        "textGenerate",
        5,
    ),
    (
        {
            "model": "wan2.7-r2v",
            "prompt": "p",
            "duration": 5,
            "metadata": {
                "input": {
                    "prompt": "p",
                    "media": [{"type": "reference_image", "url": "https://example.com/c.jpg"}],
                },
                "parameters": {"resolution": "1080P", "ratio": "16:9", "duration": 5},
            },
        },
        "17",
        "generate",
        5,
    ),
    (
        {
            "model": "wan2.7-videoedit",
            "prompt": "p",
            "metadata": {
                "input": {
                    "prompt": "p",
                    "media": [{"type": "video", "url": "https://example.com/o.mp4"}],
                },
                "parameters": {"resolution": "1080P"},
            },
        },
        "17",
        "generate",
        5,
    ),
    (
        {
            "model": "happyhorse-1.0-t2v",
            "prompt": "p",
            "duration": 5,
            "metadata": {
                "input": {"prompt": "p"},
                "parameters": {"resolution": "1080P", "ratio": "16:9", "duration": 5},
            },
        },
        "17",
        "textGenerate",
        5,
    ),
    (
        {
            "model": "wan2.6-i2v-flash",
            "prompt": "p",
            "duration": 5,
            "metadata": {
                "input": {"prompt": "p", "img_url": "https://example.com/a.jpg"},
                "parameters": {"resolution": "1080P", "duration": 5, "audio": True},
            },
        },
        "17",
        "generate",
        5,
    ),
    (
        {
            "model": "viduq3",
            "prompt": "p",
            "duration": 5,
            "size": "720p",
            "images": ["https://example.com/a.png", "https://example.com/b.png"],
        },
        "52",
        "firstTailGenerate",
        5,
    ),
    (
        {"model": "viduq3-pro", "prompt": "p", "duration": 5, "size": "720p"},
        "52",
        "textGenerate",
        5,
    ),
    (
        {
            "model": "veo-3.1-fast-generate-preview",
            "prompt": "p",
            "duration": 8,
            "size": "1280x720",
            "metadata": {"aspectRatio": "16:9", "resolution": "720p", "durationSeconds": 8},
        },
        None,
        None,
        8,
    ),
    (
        {
            "model": "veo-3.1-generate-001",
            "prompt": "p",
            "duration": 8,
            "size": "1920x1080",
            "metadata": {
                "aspectRatio": "16:9",
                "resolution": "1080p",
                "durationSeconds": 8,
                "generateAudio": True,
                "enhancePrompt": True,
                "personGeneration": "disallow",
                "resizeMode": "pad",
                "sampleCount": 1,
            },
        },
        None,
        None,
        8,
    ),
    (
        {
            "model": "doubao-seedance-2-0-fast-260128",
            "prompt": "p",
            "duration": 5,
            "metadata": {
                "duration": 5,
                "resolution": "720p",
                "ratio": "16:9",
                "generate_audio": True,
            },
        },
        "54",
        "textGenerate",
        5,
    ),
    (
        {
            "model": "MiniMax-Hailuo-02",
            "prompt": "p",
            "duration": 5,
            "size": "768p",
            "metadata": {"prompt_optimizer": True},
        },
        "35",
        "textGenerate",
        5,
    ),
]


async def post(http: httpx.AsyncClient, body: object) -> httpx.Response:
    return await http.post(ROUTE, json=body, headers=AUTH)


async def accepted(http: httpx.AsyncClient, body: dict[str, Any]) -> str:
    """Submit ``body``; it must be accepted. Returns new-api's task id."""
    answer = await post(http, body)
    assert answer.status_code == 200, answer.text
    task_id: str = answer.json()["id"]
    return task_id


async def query(http: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
    answer = await http.get(f"{ROUTE}/{task_id}", headers=AUTH)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert (body["code"], body["message"]) == ("success", "")
    data: dict[str, Any] = body["data"]
    return data


def assert_task_error(answer: httpx.Response, status: int, code: str) -> str:
    """new-api's ``{code, message, data: null}`` with HTTP ``status``; returns the message."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"code", "message", "data"}
    assert (body["code"], body["data"]) == (code, None)
    message: str = body["message"]
    return message


def wrapped(answer: httpx.Response, status: int = 400) -> Any:
    """The raw vendor body of a ``fail_to_fetch_task`` refusal."""
    return json.loads(assert_task_error(answer, status, "fail_to_fetch_task"))


@pytest.mark.parametrize(
    ("body", "platform", "action", "seconds"),
    ACCEPTED,
    ids=[f"{case[0]['model']}-{n}" for n, case in enumerate(ACCEPTED)],
)
async def test_each_channel_accepts_its_body_and_runs_it_to_a_video(
    http: httpx.AsyncClient,
    clock: ManualClock,
    body: dict[str, Any],
    platform: str | None,
    action: str | None,
    seconds: int,
) -> None:
    """An OpenAI-video answer under new-api's id, then NOT_START, IN_PROGRESS, SUCCESS."""
    answer = await post(http, body)
    assert answer.status_code == 200, answer.text
    video = answer.json()
    task_id = video["id"]
    assert PUBLIC_ID.fullmatch(task_id)
    assert video == {
        "id": task_id,
        "task_id": task_id,
        "object": "video",
        "model": body["model"],
        "status": "queued",
        "progress": 0,
        "created_at": int(START),
    }
    states = []
    for step in (0.0, 1.5, 2.0):
        clock.advance(step)
        states.append(await query(http, task_id))
    video_url = f"-{seconds}s.mp4"
    if platform is None:  # Gemini: the simple shape
        assert [s["status"] for s in states] == ["queued", "processing", "succeeded"]
        done = states[-1]
        assert done["url"].startswith(f"{SIM}/media/out/") and done["url"].endswith(video_url)
        assert (done["task_id"], done["format"], done["error"], done["metadata"]) == (
            task_id,
            "mp4",
            None,
            None,
        )
        return
    assert [s["status"] for s in states] == ["NOT_START", "IN_PROGRESS", "SUCCESS"]
    done = states[-1]
    assert (done["task_id"], done["platform"], done["action"]) == (task_id, platform, action)
    assert (done["progress"], done["fail_reason"]) == ("100%", "")
    assert done["result_url"].startswith(f"{SIM}/media/out/")
    assert done["result_url"].endswith(video_url)
    video_file = await http.get(done["result_url"])
    assert (video_file.status_code, video_file.headers["content-type"]) == (200, "video/mp4")


async def test_an_ali_task_carries_dashscopes_own_answer(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    """TaskDto ``data`` is DashScope's poll answer; a text-to-video size gives its SR."""
    task_id = await accepted(http, ACCEPTED[0][0])
    clock.advance(3.5)
    done = await query(http, task_id)
    output = done["data"]["output"]
    assert (output["task_status"], output["video_url"]) == ("SUCCEEDED", done["result_url"])
    assert done["data"]["usage"] == {"duration": 5, "video_count": 1, "SR": 720}


@pytest.mark.parametrize(
    ("body", "check"),
    [
        (ACCEPTED[5][0], lambda data, url: data["creations"][0]["url"] == url),
        (ACCEPTED[9][0], lambda data, url: data["content"]["video_url"] == url),
        (ACCEPTED[10][0], lambda data, url: data["status"] == "Success"),
    ],
    ids=["vidu", "doubao", "hailuo"],
)
async def test_other_vendors_poll_answers_are_in_data(
    http: httpx.AsyncClient, clock: ManualClock, body: dict[str, Any], check: Any
) -> None:
    task_id = await accepted(http, body)
    clock.advance(3.5)
    done = await query(http, task_id)
    assert check(done["data"], done["result_url"]), done["data"]


async def test_ali_metadata_merges_into_input_and_parameters_key_by_key(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    """The first image stays ``img_url``, the default duration stays: metadata adds to them."""
    body = {
        "model": "wan2.6-i2v-flash",
        "prompt": "p",
        "images": ["https://example.com/a.jpg"],
        "metadata": {"input": {"negative_prompt": "n"}, "parameters": {"resolution": "720P"}},
    }
    task_id = await accepted(http, body)
    clock.advance(3.5)
    done = await query(http, task_id)
    assert done["result_url"].endswith("-5s.mp4")
    assert done["data"]["usage"]["SR"] == 720


async def test_metadata_may_be_a_json_string(http: httpx.AsyncClient) -> None:
    """A string holding the object counts as the object: a bad value in it is refused."""
    body = {**ACCEPTED[9][0], "metadata": json.dumps({"resolution": "4k"})}
    assert wrapped(await post(http, body))["error"]["code"] == "InvalidParameter"
    body["metadata"] = json.dumps(ACCEPTED[9][0]["metadata"])
    await accepted(http, body)


@pytest.mark.parametrize(("duration", "seconds"), [(None, 5), (10, 10)])
async def test_an_edit_without_a_metadata_duration_gets_new_apis_default(
    http: httpx.AsyncClient, clock: ManualClock, duration: int | None, seconds: int
) -> None:
    """new-api's Ali channel sends ``duration`` or 5, on an edit too."""
    body = {**ACCEPTED[2][0], "duration": duration}
    task_id = await accepted(http, body)
    clock.advance(3.5)
    assert (await query(http, task_id))["result_url"].endswith(f"-{seconds}s.mp4")


@pytest.mark.parametrize("prompt", [None, "", "   "])
async def test_a_body_without_a_prompt_is_refused(
    http: httpx.AsyncClient, prompt: str | None
) -> None:
    body = {"model": "viduq3-pro", "duration": 5, "prompt": prompt}
    message = assert_task_error(await post(http, body), 400, "invalid_request")
    assert message == "prompt is required"


async def test_a_model_no_channel_serves_is_503_model_not_found(http: httpx.AsyncClient) -> None:
    answer = await post(http, {"model": "sora-9", "prompt": "p"})
    assert answer.status_code == 503
    error = answer.json()["error"]
    assert (error["code"], error["type"]) == ("model_not_found", "new_api_error")
    assert error["message"].startswith("No available channel for model sora-9 under group")


async def test_a_body_without_model_is_refused_by_the_middleware(http: httpx.AsyncClient) -> None:
    answer = await post(http, {"prompt": "p"})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["message"].startswith("Model name not specified")


async def test_a_body_that_is_not_json_and_a_wrong_token_are_refused(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.post(ROUTE, content=b"{nope", headers=AUTH)
    assert_task_error(answer, 400, "invalid_request")
    answer = await http.post(
        ROUTE, json=ACCEPTED[6][0], headers={"Authorization": "Bearer sk-wrong"}
    )
    assert answer.status_code == 401


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"duration": 3601}, "invalid_seconds"),
        ({"duration": "-1"}, "invalid_seconds"),
        ({"seconds": 5}, "invalid_request"),
        ({"images": "https://example.com/a.png"}, "invalid_request"),
    ],
)
async def test_new_apis_own_checks_of_the_request(
    http: httpx.AsyncClient, changes: dict[str, Any], code: str
) -> None:
    assert_task_error(await post(http, {**ACCEPTED[6][0], **changes}), 400, code)


async def test_a_numeric_string_duration_is_a_duration(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    task_id = await accepted(http, {**ACCEPTED[6][0], "duration": "8"})
    clock.advance(3.5)
    assert (await query(http, task_id))["result_url"].endswith("-8s.mp4")


async def test_an_ali_refusal_is_dashscopes_error_wrapped(http: httpx.AsyncClient) -> None:
    body = {
        "model": "wan2.6-i2v-flash",
        "prompt": "p",
        "images": ["https://example.com/a.jpg"],
        "metadata": {"parameters": {"resolution": "480P"}},
    }
    raw = wrapped(await post(http, body))
    assert raw["code"] == "InvalidParameter" and "resolution" in raw["message"]
    assert raw["request_id"]


@pytest.mark.parametrize(
    "changes",
    [
        {"size": "720p"},  # a t2v model needs W*H
        {"metadata": {"model": "wan2.6-i2v-flash"}},
        {"metadata": {"parameters": "1080P"}},
    ],
)
async def test_an_ali_body_new_api_cannot_build_is_500(
    http: httpx.AsyncClient, changes: dict[str, Any]
) -> None:
    body = {"model": "wan2.5-t2v-preview", "prompt": "p", **changes}
    assert_task_error(await post(http, body), 500, "build_request_failed")


@pytest.mark.parametrize("size", ["720p", "1280*720", "1000x500"])
async def test_a_gemini_size_that_is_not_1080p_wxh_reads_as_720p(
    http: httpx.AsyncClient, size: str
) -> None:
    """Stock new-api takes a size that is not ``WxH`` (or a small one) as 720p 16:9."""
    body = {"model": "veo-3.1-fast-generate-preview", "prompt": "p", "size": size}
    await accepted(http, body)


async def test_a_gemini_size_picks_the_resolution_by_its_longer_side(
    http: httpx.AsyncClient,
) -> None:
    """3840 wide is 4k, which the simulated Veo refuses: the size was read, not ignored."""
    body = {"model": "veo-3.1-fast-generate-preview", "prompt": "p", "size": "3840x2160"}
    raw = wrapped(await post(http, body))
    assert raw["error"]["status"] == "INVALID_ARGUMENT" and "4k" in raw["error"]["message"]


async def test_gemini_metadata_of_the_wrong_type_fails_the_build(http: httpx.AsyncClient) -> None:
    body = {**ACCEPTED[7][0], "metadata": {"durationSeconds": "8"}}
    assert_task_error(await post(http, body), 500, "build_request_failed")


@pytest.mark.parametrize(
    "metadata", [{"durationSeconds": 5}, {"aspectRatio": "1:1"}, {"resolution": "4k"}]
)
async def test_veo_refuses_values_it_does_not_have(
    http: httpx.AsyncClient, metadata: dict[str, Any]
) -> None:
    [name] = metadata
    raw = wrapped(await post(http, {**ACCEPTED[7][0], "metadata": metadata}))
    assert name in raw["error"]["message"]


@pytest.mark.parametrize(
    ("metadata", "named"),
    [
        ({"resolution": "4k"}, "resolution"),
        ({"duration": 13}, "duration"),
        ({"ratio": "2:1"}, "ratio"),
    ],
)
async def test_doubao_refuses_a_bad_metadata_value(
    http: httpx.AsyncClient, metadata: dict[str, Any], named: str
) -> None:
    body = {**ACCEPTED[9][0], "metadata": {**ACCEPTED[9][0]["metadata"], **metadata}}
    raw = wrapped(await post(http, body))
    assert raw["error"]["code"] == "InvalidParameter" and named in raw["error"]["message"]


async def test_doubao_ignores_top_level_duration_and_takes_strings(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    body = {**ACCEPTED[9][0], "duration": 99, "metadata": {"duration": "7", "watermark": "true"}}
    task_id = await accepted(http, body)
    clock.advance(3.5)
    assert (await query(http, task_id))["result_url"].endswith("-7s.mp4")


@pytest.mark.parametrize(
    "body",
    [
        {"model": "viduq3", "prompt": "p"},  # viduq3 needs an image
        {"model": "viduq3-pro", "prompt": "p", "size": "1080P"},
        {"model": "viduq3-pro", "prompt": "p", "duration": 17},
    ],
)
async def test_vidu_refuses_what_it_does_not_do(
    http: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    assert wrapped(await post(http, body))["err_code"] == "InvalidParameter"


async def test_a_lone_image_stands_for_images(http: httpx.AsyncClient) -> None:
    """new-api copies ``image`` into ``images``: Vidu's image to video, action generate."""
    body = {"model": "viduq3", "prompt": "p", "image": "https://example.com/a.png"}
    task_id = await accepted(http, body)
    assert (await query(http, task_id))["action"] == "generate"


async def test_vidu_drops_metadata_keys_it_does_not_have(http: httpx.AsyncClient) -> None:
    body = {**ACCEPTED[6][0], "metadata": {"aspect_ratio": 7, "audio": "x", "seed": 3}}
    await accepted(http, body)


async def test_minimax_refusals_are_400_with_its_code(http: httpx.AsyncClient) -> None:
    body = {**ACCEPTED[10][0], "metadata": {"resolution": "4K"}}
    assert "resolution" in assert_task_error(await post(http, body), 400, "2013")


@pytest.mark.parametrize("index", [0, 5, 9])
async def test_the_fail_marker_ends_the_task_failed_with_its_reason(
    http: httpx.AsyncClient, clock: ManualClock, index: int
) -> None:
    body = {**ACCEPTED[index][0], "prompt": "p [sim:fail=no face found]"}
    if index == 0:
        body["metadata"] = {"parameters": {"size": "1280*720"}}  # the marker reaches DashScope
    task_id = await accepted(http, body)
    clock.advance(3.5)
    done = await query(http, task_id)
    assert (done["status"], done["fail_reason"], done["result_url"]) == (
        "FAILURE",
        "no face found",
        "no face found",
    )


async def test_a_gemini_task_fails_in_the_simple_shape(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    task_id = await accepted(http, {**ACCEPTED[7][0], "prompt": "p [sim:fail]"})
    clock.advance(3.5)
    done = await query(http, task_id)
    assert (done["status"], done["error"], done["url"]) == (
        "failed",
        "content risk control",
        "",
    )


async def test_the_429_marker_is_new_apis_busy_answer(http: httpx.AsyncClient) -> None:
    answer = await post(http, {**ACCEPTED[6][0], "prompt": "p [sim:429]"})
    assert assert_task_error(answer, 429, "fail_to_fetch_task") == BUSY


async def test_the_500_marker_and_a_bad_marker_are_wrapped_refusals(
    http: httpx.AsyncClient,
) -> None:
    raw = wrapped(await post(http, {**ACCEPTED[6][0], "prompt": "p [sim:500]"}), 500)
    assert "[sim:500]" in raw["message"]
    raw = wrapped(await post(http, {**ACCEPTED[7][0], "prompt": "p [sim:nonsense]"}))
    assert "unknown simulator marker" in raw["error"]["message"]


async def test_stay_queued_and_slow_markers(http: httpx.AsyncClient, clock: ManualClock) -> None:
    task_id = await accepted(http, {**ACCEPTED[9][0], "prompt": "p [sim:stay-queued]"})
    clock.advance(1000)
    assert (await query(http, task_id))["status"] == "NOT_START"
    began = time.monotonic()
    await accepted(http, {**ACCEPTED[9][0], "prompt": "p [sim:slow=0.2]"})
    assert time.monotonic() - began >= 0.2


async def test_an_id_new_api_never_issued_is_task_not_exist(http: httpx.AsyncClient) -> None:
    answer = await http.get(f"{ROUTE}/task_NeverIssuedByThisGateway00000000", headers=AUTH)
    assert assert_task_error(answer, 400, "task_not_exist") == "task_not_exist"
