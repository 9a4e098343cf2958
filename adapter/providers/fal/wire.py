"""fal queue wire shapes: the model inputs we send, and the queue's and the models' answers.

The input structs follow the generated endpoint types of fal-ai/fal-js
(``libs/client/src/types/endpoints.ts``@381105e1); they use ``omit_defaults=True`` so an
option left unset is not sent, but ``generate_audio`` is always set by the mappings (fal's
default is ``true``, ours ``false``). Response structs are loose: unknown fields are skipped
and every field is optional, since fal says statuses and error bodies are still changing.
"""

from __future__ import annotations

from typing import Any

import msgspec

# --- requests -------------------------------------------------------------------------------


class MotionControlInput(msgspec.Struct, frozen=True, omit_defaults=True):
    """``fal-ai/kling-video/v2.6/{standard,pro}/motion-control``."""

    image_url: str
    video_url: str
    character_orientation: str
    keep_original_sound: bool
    prompt: str | None = None


class Shot(msgspec.Struct, frozen=True):
    """One ``multi_prompt`` item of Kling v3: no ``index``; ``duration`` a string."""

    prompt: str
    duration: str


class KlingInput(msgspec.Struct, frozen=True, omit_defaults=True):
    """Kling 2.6 pro and v3 text-to-video / image-to-video: the fields of both kinds; each
    mapping fills only those its endpoint has."""

    generate_audio: bool
    duration: str
    prompt: str | None = None
    multi_prompt: list[Shot] | None = None
    shot_type: str | None = None
    negative_prompt: str | None = None
    aspect_ratio: str | None = None
    cfg_scale: float | None = None
    start_image_url: str | None = None
    end_image_url: str | None = None


class WanFlashInput(msgspec.Struct, frozen=True, omit_defaults=True):
    """``wan/v2.6/image-to-video/flash``."""

    image_url: str
    prompt: str
    duration: str
    resolution: str
    generate_audio: bool
    enable_prompt_expansion: bool
    multi_shots: bool
    negative_prompt: str | None = None
    audio_url: str | None = None
    seed: int | None = None


FalInput = MotionControlInput | KlingInput | WanFlashInput


# --- responses ------------------------------------------------------------------------------


class QueueBody(msgspec.Struct, frozen=True):
    """A submit's answer, or a request's status: ``IN_QUEUE`` / ``IN_PROGRESS`` /
    ``COMPLETED`` (a failure is ``COMPLETED`` with ``error`` and ``error_type``)."""

    request_id: str | None = None
    status: str | None = None
    status_url: str | None = None
    response_url: str | None = None
    cancel_url: str | None = None
    queue_position: int | None = None
    error: str | None = None
    error_type: str | None = None


class File(msgspec.Struct, frozen=True):
    """An output file; Wan's has its ``duration`` in seconds."""

    url: str | None = None
    duration: float | None = None


class ResultBody(msgspec.Struct, frozen=True):
    """A model's output, as the result endpoint relays it: ``{"video": {...}}``."""

    video: File | None = None


class Detail(msgspec.Struct, frozen=True):
    """One ``detail`` item of an error: ``{loc, msg, type}``."""

    msg: str | None = None
    type: str | None = None
    loc: list[Any] | None = None


class ErrorBody(msgspec.Struct, frozen=True):
    """An error answer: ``detail`` (a list of items, or a string on older APIs) and maybe
    ``error_type`` (a request error, such as ``request_timeout``)."""

    detail: list[Detail] | str | None = None
    error_type: str | None = None


class CancelBody(msgspec.Struct, frozen=True):
    """A cancel's answer: ``OK``, ``CANCELLATION_REQUESTED``, ``ALREADY_COMPLETED`` or
    ``NOT_FOUND``."""

    status: str | None = None


encode = msgspec.json.Encoder().encode
decode_queue = msgspec.json.Decoder(QueueBody).decode
decode_result = msgspec.json.Decoder(ResultBody).decode
decode_error = msgspec.json.Decoder(ErrorBody).decode
decode_cancel = msgspec.json.Decoder(CancelBody).decode
