"""Replicate wire shapes: the model inputs we send, the create body, and the API's answers.

The input structs follow the models' OpenAPI input schemas (providers-research.md section 4);
they use ``omit_defaults=True`` so an option left unset is not sent, but the mappings always
set the switches whose default differs from ours (``generate_audio``, ``audio_enabled``,
``resolution``). Response structs are loose: unknown fields are skipped and every field is
optional (Replicate's own Python types still lack the ``aborted`` status).
"""

from __future__ import annotations

from typing import Any

import msgspec

# --- requests -------------------------------------------------------------------------------


class MotionControlInput(msgspec.Struct, frozen=True, omit_defaults=True):
    """``kwaivgi/kling-v2.6-motion-control``."""

    image: str
    video: str
    mode: str
    character_orientation: str
    keep_original_sound: bool
    prompt: str | None = None


class KlingInput(msgspec.Struct, frozen=True, omit_defaults=True):
    """``kwaivgi/kling-v2.6`` and ``kwaivgi/kling-v3-video``: the fields of both; each
    mapping fills only those its model has (``mode``, ``end_image`` and ``multi_prompt`` are
    v3's)."""

    prompt: str
    duration: int
    generate_audio: bool
    mode: str | None = None
    negative_prompt: str | None = None
    aspect_ratio: str | None = None
    start_image: str | None = None
    end_image: str | None = None
    #: v3's shots, as a JSON *string* of ``[{"prompt", "duration"}]``.
    multi_prompt: str | None = None


class WanFlashInput(msgspec.Struct, frozen=True, omit_defaults=True):
    """``wan-video/wan2.6-i2v-flash``."""

    image: str
    prompt: str
    duration: int
    resolution: str
    audio_enabled: bool
    enable_prompt_expansion: bool
    multi_shots: bool
    negative_prompt: str | None = None
    audio: str | None = None
    seed: int | None = None


class Shot(msgspec.Struct, frozen=True):
    """One shot of v3's ``multi_prompt``: no ``index``; ``duration`` in whole seconds."""

    prompt: str
    duration: int


ReplicateInput = MotionControlInput | KlingInput | WanFlashInput


class CreateBody(msgspec.Struct, frozen=True, omit_defaults=True):
    """``POST /v1/models/{owner}/{name}/predictions``."""

    input: ReplicateInput
    webhook: str | None = None
    webhook_events_filter: list[str] | None = None


# --- responses ------------------------------------------------------------------------------


class Urls(msgspec.Struct, frozen=True):
    get: str | None = None
    cancel: str | None = None


class Prediction(msgspec.Struct, frozen=True):
    """A prediction: ``starting`` / ``processing`` / ``succeeded`` / ``failed`` /
    ``canceled`` / ``aborted``; ``output`` is a URL for these models (a list on others)."""

    id: str | None = None
    status: str | None = None
    output: Any = None
    error: Any = None
    data_removed: bool = False
    urls: Urls | None = None


class Problem(msgspec.Struct, frozen=True):
    """An error answer (RFC 7807 problem details): ``{type, title, status, detail}``; a 429
    has ``detail`` only."""

    type: str | None = None
    title: str | None = None
    detail: str | None = None
    status: int | None = None


encode = msgspec.json.Encoder().encode
decode_prediction = msgspec.json.Decoder(Prediction).decode
decode_problem = msgspec.json.Decoder(Problem).decode
