"""Kling-style wire shapes: what we send, and every body shape a Kling upstream answers with.

Request structs use ``omit_defaults=True`` so optional fields are left out, not sent as null.
Response structs are deliberately loose: no ``forbid_unknown_fields`` (upstreams add fields,
msgspec skips unknown ones), every field optional, and unions where sources disagree on a
type (``duration`` is ``"5"`` or ``5``; ``code`` is ``0`` or ``"success"``). One
``TaskBody`` covers the four shapes of upstream-contracts.md section 2.3:

- A. Kling-native ``{code: int, data: {task_id, task_status, task_status_msg, task_result}}``
- B. new-api TaskDto ``{code: "success", data: {status: "IN_PROGRESS", fail_reason,
  result_url, data: <raw upstream JSON>}}``
- C. simple envelope ``{code: "success", data: {status: "processing", url, error}}``
- D. OpenAI-video ``{id, task_id, object: "video", status, metadata: {url}, error, seconds}``
"""

from __future__ import annotations

from typing import Any

import msgspec

# --- requests -------------------------------------------------------------------------------


class WatermarkInfo(msgspec.Struct, frozen=True):
    enabled: bool


class MotionControlRequest(msgspec.Struct, frozen=True, omit_defaults=True):
    """``POST /v1/videos/motion-control`` (official) or ``/kling/v1/...`` (gateway)."""

    model_name: str
    image_url: str
    video_url: str
    character_orientation: str
    mode: str
    keep_original_sound: str
    prompt: str | None = None
    watermark_info: WatermarkInfo | None = None
    #: ``model_name`` again, for gateways: stock new-api reads ``model`` and refuses without it.
    model: str | None = None
    callback_url: str | None = None
    external_task_id: str | None = None


class Text2VideoRequest(msgspec.Struct, frozen=True, omit_defaults=True):
    """``POST /v1/videos/text2video``: there is no image, so the caller picks the frame."""

    model_name: str
    prompt: str
    mode: str
    duration: str
    sound: str
    aspect_ratio: str
    negative_prompt: str | None = None
    cfg_scale: float | None = None
    camera_control: dict[str, Any] | None = None
    multi_shot: bool | None = None
    shot_type: str | None = None
    multi_prompt: list[dict[str, Any]] | None = None
    watermark_info: WatermarkInfo | None = None
    #: ``model_name`` again, for gateways: stock new-api reads ``model`` and refuses without it.
    model: str | None = None
    callback_url: str | None = None
    external_task_id: str | None = None


class Image2VideoRequest(msgspec.Struct, frozen=True, omit_defaults=True):
    """``POST /v1/videos/image2video``: no ``aspect_ratio``, the image decides it."""

    model_name: str
    prompt: str
    mode: str
    duration: str
    sound: str
    #: First frame; Kling needs this or ``image_tail``.
    image: str | None = None
    #: Last frame.
    image_tail: str | None = None
    negative_prompt: str | None = None
    cfg_scale: float | None = None
    camera_control: dict[str, Any] | None = None
    multi_shot: bool | None = None
    shot_type: str | None = None
    multi_prompt: list[dict[str, Any]] | None = None
    element_list: list[dict[str, Any]] | None = None
    watermark_info: WatermarkInfo | None = None
    #: ``model_name`` again, for gateways: stock new-api reads ``model`` and refuses without it.
    model: str | None = None
    callback_url: str | None = None
    external_task_id: str | None = None


class OmniImage(msgspec.Struct, frozen=True, omit_defaults=True):
    """An ``image_list`` item: a frame (``type`` first_frame or end_frame) or a reference."""

    image_url: str
    type: str | None = None


class OmniVideoRequest(msgspec.Struct, frozen=True, omit_defaults=True):
    """``POST /v1/videos/omni-video``: frames and reference images together in ``image_list``."""

    model_name: str
    prompt: str
    mode: str
    duration: str
    sound: str
    aspect_ratio: str
    negative_prompt: str | None = None
    multi_shot: bool | None = None
    shot_type: str | None = None
    multi_prompt: list[dict[str, Any]] | None = None
    image_list: list[OmniImage] | None = None
    element_list: list[dict[str, Any]] | None = None
    watermark_info: WatermarkInfo | None = None
    #: ``model_name`` again, for gateways: stock new-api reads ``model`` and refuses without it.
    model: str | None = None
    callback_url: str | None = None
    external_task_id: str | None = None


#: Every request body; each names its model in ``model_name`` (and, for gateways, ``model``).
KlingRequest = MotionControlRequest | Text2VideoRequest | Image2VideoRequest | OmniVideoRequest


# --- responses ------------------------------------------------------------------------------


class ErrorInfo(msgspec.Struct, frozen=True):
    """``{message, type, code}``: new-api middleware errors and the OpenAI-video ``error``."""

    message: str | None = None
    type: str | None = None
    code: int | str | None = None


class ErrorBody(msgspec.Struct, frozen=True):
    """The fields every error family uses; decodes any JSON object with sane types for them.

    Kling-native ``{code: int, message, request_id}``, new-api task errors
    ``{code: "<string>", message, data: null}`` and middleware ``{error: {message, type, code}}``.
    """

    code: int | str | None = None
    message: str | None = None
    request_id: str | None = None
    error: ErrorInfo | str | None = None


class KlingVideo(msgspec.Struct, frozen=True):
    url: str | None = None
    id: str | None = None
    duration: float | str | None = None


class TaskResult(msgspec.Struct, frozen=True):
    videos: list[KlingVideo] = []


class Metadata(msgspec.Struct, frozen=True):
    """OpenAI-video ``metadata`` and the simple envelope's ``metadata``."""

    url: str | None = None
    duration: float | str | None = None


class DashScopeOutput(msgspec.Struct, frozen=True):
    """DashScope's ``output``, found inside a TaskDto's raw ``data``."""

    task_id: str | None = None
    task_status: str | None = None
    video_url: str | None = None


class TaskInfo(msgspec.Struct, frozen=True):
    """Kling's ``task_info``: the id the task was submitted under."""

    external_task_id: str | None = None


class TaskData(msgspec.Struct, frozen=True):
    """``data`` of shapes A, B and C, merged: each shape fills its own fields."""

    task_id: str | None = None
    # A. Kling-native
    task_info: TaskInfo | None = None
    task_status: str | None = None
    task_status_msg: str | None = None
    task_result: TaskResult | None = None
    created_at: float | str | None = None
    # B. TaskDto (and C's ``status``)
    status: str | None = None
    fail_reason: str | None = None
    result_url: str | None = None
    #: The raw body of the last upstream poll, decoded on demand as another ``TaskBody``
    #: (empty when absent: msgspec cannot make ``Raw`` optional).
    data: msgspec.Raw = msgspec.Raw()
    # C. simple envelope
    url: str | None = None
    error: ErrorInfo | str | None = None
    metadata: Metadata | None = None


class TaskBody(ErrorBody, frozen=True):
    """Any successful answer about one task, in any of the four shapes."""

    data: TaskData | None = None
    # D. OpenAI-video
    id: str | int | None = None
    task_id: str | None = None
    object: str | None = None
    status: str | None = None
    metadata: Metadata | None = None
    seconds: float | str | None = None
    created_at: float | str | None = None
    # DashScope, when a TaskDto wraps its raw body
    output: DashScopeOutput | None = None


class ListBody(msgspec.Struct, frozen=True):
    """The official API's list of a family's tasks: ``{code: 0, data: [<task data>...]}``."""

    code: int | str | None = None
    message: str | None = None
    request_id: str | None = None
    data: list[TaskData] | None = None


encode = msgspec.json.Encoder().encode
decode_list = msgspec.json.Decoder(ListBody).decode
decode_task = msgspec.json.Decoder(TaskBody).decode
decode_error = msgspec.json.Decoder(ErrorBody).decode
