"""Typed model inputs, one Struct per MindVideo model.

The JSON Schemas under ``schemas/`` are the contract and are enforced by
``adapter.service.schema``; these Structs are what a validated input becomes, so the
providers can map typed fields. ``tests/test_inputs.py`` checks that both agree.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

AspectRatio = Literal["16:9", "9:16", "1:1"]


class WatermarkInfo(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    enabled: bool = False


class MotionControlInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``kling-v2-6-motion-control``: a character image performs a reference video's motion."""

    image_url: str
    video_url: str
    character_orientation: Literal["image", "video"]
    mode: Literal["std", "pro"]
    keep_original_sound: Literal["yes", "no"] = "yes"
    prompt: str | None = None
    watermark_info: WatermarkInfo | None = None


class KlingV26Input(msgspec.Struct, frozen=True):
    """``kling-v2-6``: text to video, or image to video when an image is given.

    Its schema has no ``additionalProperties: false``: unknown fields are accepted and ignored.
    """

    prompt: str
    mode: Literal["std", "pro"] = "std"
    seed: int | None = None
    size: AspectRatio = "16:9"
    audio: bool = False
    duration: Literal[5, 10] = 5
    cfg_scale: float = 0.5
    image_url: str | None = None
    image_urls: tuple[str, ...] = ()
    camera_control: dict[str, Any] | None = None
    negative_prompt: str | None = None


class KlingV3Input(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``kling-v3``: text or first/last frame to video, single or multi shot."""

    prompt: str
    mode: Literal["std", "pro", "4k"] = "std"
    audio: bool = False
    duration: int = 5
    shot_type: Literal["customize", "intelligence"] = "intelligence"
    watermark: bool = False
    image_urls: tuple[str, ...] = ()
    multi_shot: bool = False
    aspect_ratio: AspectRatio = "16:9"
    element_list: tuple[dict[str, Any], ...] = ()
    multi_prompt: tuple[dict[str, Any], ...] = ()
    negative_prompt: str | None = None
    last_frame_image: str | None = None
    first_frame_image: str | None = None


class WanI2VFlashInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``wan2-6-i2v-flash``: one first-frame image to video, with or without audio."""

    image_urls: tuple[str, ...]
    seed: int | None = None
    audio: bool = True
    prompt: str | None = None
    duration: int = 5
    template: str | None = None
    audio_url: str | None = None
    shot_type: Literal["single", "multi"] = "single"
    watermark: bool = False
    resolution: Literal["720p", "1080p"] = "1080p"
    prompt_extend: bool = True
    negative_prompt: str | None = None


#: Each model slug and the Struct its validated input converts to.
INPUT_TYPES: dict[str, type[msgspec.Struct]] = {
    "kling-v2-6-motion-control": MotionControlInput,
    "kling-v2-6": KlingV26Input,
    "kling-v3": KlingV3Input,
    "wan2-6-i2v-flash": WanI2VFlashInput,
}
