"""Typed model inputs, one Struct per MindVideo model.

The JSON Schemas under ``schemas/`` are the contract and are enforced by
``adapter.service.schema``; these Structs are what a validated input becomes, so the
providers can map typed fields. ``tests/test_inputs.py`` checks that both agree.
"""

from __future__ import annotations

from typing import Literal

import msgspec


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


#: Each model slug and the Struct its validated input converts to.
INPUT_TYPES: dict[str, type[msgspec.Struct]] = {
    "kling-v2-6-motion-control": MotionControlInput,
}
