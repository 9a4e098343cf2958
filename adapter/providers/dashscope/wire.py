"""DashScope wire shapes: the video-synthesis request, and the answers about a task.

Upstream-contracts.md sections 1.8 and 4. Request structs use ``omit_defaults=True`` so unset
options are left out, not sent as null. Response structs are deliberately loose: no
``forbid_unknown_fields`` (DashScope adds fields, msgspec skips unknown ones), every field
optional, and ``code`` may be a string or a number. ``usage`` varies by API version, so it is
kept raw and read on demand: an odd usage block never makes a finished task unreadable.
"""

from __future__ import annotations

from typing import Any

import msgspec

# --- requests -------------------------------------------------------------------------------


class I2VInput(msgspec.Struct, frozen=True, omit_defaults=True):
    """``input`` of an image-to-video task: the first frame and the texts."""

    #: A URL, or a ``data:image/...;base64,...`` URI: DashScope takes both as they are.
    img_url: str
    prompt: str | None = None
    negative_prompt: str | None = None
    audio_url: str | None = None
    template: str | None = None


class I2VParameters(msgspec.Struct, frozen=True, omit_defaults=True):
    """``parameters`` of an image-to-video task."""

    #: ``720P`` or ``1080P``: upper-case ``P``.
    resolution: str | None = None
    duration: int | None = None
    prompt_extend: bool | None = None
    shot_type: str | None = None
    audio: bool | None = None
    watermark: bool | None = None
    seed: int | None = None


class TextInput(msgspec.Struct, frozen=True, omit_defaults=True):
    """``input`` of a text-to-video task (``wan2.5-t2v-*``, ``happyhorse-*-t2v``)."""

    prompt: str | None = None
    negative_prompt: str | None = None
    audio_url: str | None = None


class Media(msgspec.Struct, frozen=True):
    """One item of ``input.media`` (Wan 2.7): ``reference_image``, ``video``, ...."""

    type: str
    url: str


class MediaInput(msgspec.Struct, frozen=True, omit_defaults=True):
    """``input`` of a Wan 2.7 task: its images and videos as ``media`` items (none given,
    none sent: DashScope says what the model needs)."""

    media: list[Media] | None = None
    prompt: str | None = None
    negative_prompt: str | None = None


class SynthesisRequest(msgspec.Struct, frozen=True):
    """``POST /api/v1/services/aigc/video-generation/video-synthesis``.

    ``parameters`` is a plain object for the models whose options are only partly known here:
    the known ones, and the input's unmapped fields as they came.
    """

    model: str
    input: I2VInput | TextInput | MediaInput
    parameters: I2VParameters | dict[str, Any]


# --- responses ------------------------------------------------------------------------------


class TaskOutput(msgspec.Struct, frozen=True):
    """``output``: the task, and on failure its own ``code`` and ``message``."""

    task_id: str | None = None
    task_status: str | None = None
    video_url: str | None = None
    code: str | int | None = None
    message: str | None = None


class Usage(msgspec.Struct, frozen=True):
    """The length keys ``usage`` has had: ``duration`` (new-api), ``output_video_duration``
    (new-api test), ``video_duration`` (SDK), in that order of preference."""

    duration: float | str | None = None
    output_video_duration: float | str | None = None
    video_duration: float | str | None = None


class TaskBody(msgspec.Struct, frozen=True):
    """Any answer: a submit or query (``output``), or a refusal (top-level ``code``)."""

    request_id: str | None = None
    output: TaskOutput | None = None
    #: Decoded with ``decode_usage`` when needed (empty when absent).
    usage: msgspec.Raw = msgspec.Raw()
    code: str | int | None = None
    message: str | None = None


class ErrorBody(msgspec.Struct, frozen=True):
    """``{request_id, code, message}``: a refusal (HTTP 4xx/5xx, or a 2xx without a task)."""

    request_id: str | None = None
    code: str | int | None = None
    message: str | None = None


encode = msgspec.json.Encoder().encode
decode_task = msgspec.json.Decoder(TaskBody).decode
decode_error = msgspec.json.Decoder(ErrorBody).decode
decode_usage = msgspec.json.Decoder(Usage).decode
