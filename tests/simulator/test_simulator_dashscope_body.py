"""DashScope submit validation (400 InvalidParameter) and task cancellation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapter.simulator.clock import ManualClock
from tests.simulator.dashscope_client import SUBMIT, TASKS, Synthesis, submit

pytestmark = pytest.mark.anyio


def assert_invalid(response: httpx.Response, named: str) -> None:
    """HTTP 400 ``InvalidParameter`` whose message names ``named``."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "InvalidParameter"
    assert named in body["message"], body["message"]
    assert body["request_id"]


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"model": "wan2.9-i2v"}, "wan2.9-i2v"),
        ({"img_url": None}, "img_url"),
        ({"img_url": ""}, "img_url"),
        ({"img_url": "ftp://example.com/a.png"}, "img_url"),
        ({"img_url": "data:text/plain;base64,AAAA"}, "img_url"),
        ({"negative_prompt": "x" * 501}, "negative_prompt"),
        ({"audio_url": "song.mp3"}, "audio_url"),
        ({"prompt": 42}, "prompt"),
        ({"parameters": {"resolution": "720p"}}, "resolution"),
        ({"parameters": {"resolution": "480P"}}, "resolution"),
        ({"parameters": {"duration": 1}}, "duration"),
        ({"parameters": {"duration": 16}}, "duration"),
        ({"parameters": {"duration": "5"}}, "duration"),
        ({"parameters": {"duration": 5.5}}, "duration"),
        ({"parameters": {"shot_type": "triple"}}, "shot_type"),
        ({"parameters": {"audio": "yes"}}, "audio"),
        ({"parameters": {"watermark": 1}}, "watermark"),
        ({"parameters": {"prompt_extend": "true"}}, "prompt_extend"),
        ({"parameters": {"seed": -1}}, "seed"),
    ],
)
async def test_an_invalid_body_answers_invalid_parameter_naming_the_field(
    client: httpx.AsyncClient,
    dashscope_auth: dict[str, str],
    synthesis: Synthesis,
    changes: dict[str, Any],
    named: str,
) -> None:
    """A bad model, input or parameter answers 400 InvalidParameter naming what is wrong."""
    response = await client.post(SUBMIT, json=synthesis(**changes), headers=dashscope_auth)
    assert_invalid(response, named)


@pytest.mark.parametrize(
    ("body", "named"), [({"model": "wan2.6-i2v-flash"}, "input"), ({}, "model")]
)
async def test_a_body_missing_model_or_input_is_invalid(
    client: httpx.AsyncClient, dashscope_auth: dict[str, str], body: dict[str, Any], named: str
) -> None:
    """model and input are required."""
    assert_invalid(await client.post(SUBMIT, json=body, headers=dashscope_auth), named)


@pytest.mark.parametrize("content", [b"{not json", b"", b"[]"])
async def test_a_body_that_is_not_a_json_object_is_invalid(
    client: httpx.AsyncClient, dashscope_auth: dict[str, str], content: bytes
) -> None:
    """Malformed JSON, or JSON that is not an object, answers 400 InvalidParameter."""
    response = await client.post(SUBMIT, content=content, headers=dashscope_auth)
    assert response.status_code == 400
    assert response.json()["code"] == "InvalidParameter"


async def test_every_documented_option_is_accepted(
    client: httpx.AsyncClient, dashscope_auth: dict[str, str], synthesis: Synthesis
) -> None:
    """A data-URI image, audio, template and every parameter within range are accepted."""
    body = synthesis(
        img_url="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAE=",
        negative_prompt="blurry",
        audio_url="https://example.com/song.mp3",
        template="flying",
        parameters={
            "resolution": "1080P",
            "duration": 15,
            "prompt_extend": True,
            "shot_type": "multi",
            "audio": False,
            "watermark": False,
            "seed": 2_147_483_647,
        },
        unknown_field="ignored",
    )
    await submit(client, dashscope_auth, body)


async def test_prompt_is_optional(
    client: httpx.AsyncClient,
    clock: ManualClock,
    dashscope_auth: dict[str, str],
    synthesis: Synthesis,
) -> None:
    """Without a prompt the task runs plainly and its output has no orig_prompt."""
    task_id = await submit(
        client, dashscope_auth, synthesis(prompt=None, parameters={"duration": 2})
    )
    clock.advance(3)
    output = (await client.get(TASKS + task_id, headers=dashscope_auth)).json()["output"]
    assert output["task_status"] == "SUCCEEDED"
    assert "orig_prompt" not in output


async def test_a_pending_task_can_be_canceled_and_then_reads_canceled(
    client: httpx.AsyncClient,
    clock: ManualClock,
    dashscope_auth: dict[str, str],
    synthesis: Synthesis,
) -> None:
    """Cancel answers {request_id}; the task reads CANCELED from then on, with an end_time."""
    task_id = await submit(client, dashscope_auth, synthesis())
    clock.advance(0.5)
    cancel = await client.post(f"{TASKS}{task_id}/cancel", headers=dashscope_auth)
    assert cancel.status_code == 200
    assert set(cancel.json()) == {"request_id"}
    clock.advance(3600)
    output = (await client.get(TASKS + task_id, headers=dashscope_auth)).json()["output"]
    assert output["task_status"] == "CANCELED"
    assert output["end_time"] == "2026-03-30 01:24:36.500"
    assert "video_url" not in output


@pytest.mark.parametrize(("wait", "status"), [(1.5, "RUNNING"), (3.0, "SUCCEEDED")])
async def test_only_pending_tasks_can_be_canceled(
    client: httpx.AsyncClient,
    clock: ManualClock,
    dashscope_auth: dict[str, str],
    synthesis: Synthesis,
    wait: float,
    status: str,
) -> None:
    """A RUNNING or finished task answers 400 UnsupportedOperation naming its state."""
    task_id = await submit(client, dashscope_auth, synthesis())
    clock.advance(wait)
    cancel = await client.post(f"{TASKS}{task_id}/cancel", headers=dashscope_auth)
    assert cancel.status_code == 400
    assert cancel.json()["code"] == "UnsupportedOperation"
    assert status in cancel.json()["message"]
    output = (await client.get(TASKS + task_id, headers=dashscope_auth)).json()["output"]
    assert output["task_status"] == status


async def test_canceling_twice_or_an_unknown_task_is_unsupported(
    client: httpx.AsyncClient, dashscope_auth: dict[str, str], synthesis: Synthesis
) -> None:
    """A CANCELED task, or an unknown id, cannot be canceled (400 UnsupportedOperation)."""
    task_id = await submit(client, dashscope_auth, synthesis())
    first = await client.post(f"{TASKS}{task_id}/cancel", headers=dashscope_auth)
    again = await client.post(f"{TASKS}{task_id}/cancel", headers=dashscope_auth)
    unknown = await client.post(f"{TASKS}no-such-task/cancel", headers=dashscope_auth)
    assert first.status_code == 200
    for response, state in ((again, "CANCELED"), (unknown, "UNKNOWN")):
        assert response.status_code == 400
        assert response.json()["code"] == "UnsupportedOperation"
        assert state in response.json()["message"]
