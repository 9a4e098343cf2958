"""Replicate inputs: the named field mappings model specs choose from.

A spec's ``[[upstream]] api = "replicate"`` entry names a mapping and gives, as
``model_name``, the official model's ``owner/name`` (``kwaivgi/kling-v2.6``): predictions
are created at ``POST /v1/models/{owner}/{name}/predictions``. Field mapping:
providers-research.md sections 4 and 5 (the models' input schemas).

An input Replicate cannot take as it is raises ``Unservable`` before anything is sent (see
``adapter.providers.inputs``): the provider answers it as unavailable, and the router tries
the next provider.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from adapter.core.values import Carrier, VideoJob
from adapter.providers.inputs import Unservable, kling_frames, strings, wan_flash_limits
from adapter.providers.replicate import wire as rw
from adapter.providers.replicate.wire import ReplicateInput

HOST = "Replicate"
#: Kling's default ``cfg_scale`` (the schema applies it): Replicate has no field for another.
KLING_CFG_SCALE = 0.5
#: Our Kling v3 ``mode`` -> Replicate's (``kling-v3-video`` has no 4k).
V3_MODES: Mapping[str, str] = MappingProxyType({"std": "standard", "pro": "pro"})
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")


def motion_control(job: VideoJob) -> ReplicateInput:
    """``image``, ``video``, ``mode``, ``character_orientation``, ``keep_original_sound`` as
    a boolean, ``prompt``."""
    params = job.input
    if (params.get("watermark_info") or {}).get("enabled"):
        raise Unservable("Replicate's Kling motion control has no watermark option")
    return rw.MotionControlInput(
        image=params["image_url"],
        video=params["video_url"],
        mode=params.get("mode", "std"),
        character_orientation=params["character_orientation"],
        keep_original_sound=params.get("keep_original_sound", "yes") != "no",
        prompt=params.get("prompt"),
    )


def kling_v26(job: VideoJob) -> ReplicateInput:
    """``kwaivgi/kling-v2.6`` has no mode and looks pro-tier (UNCONFIRMED): a std task is not
    sent. ``image_url`` (else ``image_urls[0]``) is ``start_image``; ``size`` is
    ``aspect_ratio``, sent without an image only (Replicate ignores it with one)."""
    params = job.input
    if params.get("mode", "std") != "pro":
        raise Unservable(
            "Replicate's Kling 2.6 has no mode and is taken as pro (UNCONFIRMED); a std task "
            "is not sent there"
        )
    if params.get("camera_control"):
        raise Unservable("Replicate's Kling 2.6 has no camera_control")
    if params.get("cfg_scale", KLING_CFG_SCALE) != KLING_CFG_SCALE:
        raise Unservable("Replicate's Kling 2.6 has no cfg_scale")
    images = strings(params, "image_urls")
    image = params.get("image_url") or (images[0] if images else None)
    return rw.KlingInput(
        aspect_ratio=None if image else params.get("size", "16:9"),
        start_image=image,
        **_kling_common(params),
    )


def kling_v3(job: VideoJob) -> ReplicateInput:
    """``mode`` std -> ``standard`` (no 4k); frames as on Kling; customized shots go as
    ``multi_prompt``, a JSON string of ``[{"prompt", "duration"}]``, beside ``prompt``."""
    params = job.input
    mode = V3_MODES.get(str(params.get("mode", "std")))
    if mode is None:
        raise Unservable("Replicate's Kling v3 has no 4k mode (standard and pro only)")
    if params.get("watermark"):
        raise Unservable("Replicate's Kling v3 has no watermark option")
    if params.get("element_list"):
        raise Unservable("Replicate's Kling v3 has no elements; element_list is not sent there")
    first, last = kling_frames(params, HOST)
    shots = None
    if params.get("multi_shot"):
        if params.get("shot_type", "intelligence") != "customize":
            raise Unservable(
                "Replicate's Kling v3 has no intelligent multi-shot (shots must be given)"
            )
        items = [_shot(item) for item in params.get("multi_prompt") or ()]
        if not items:
            raise Unservable("Replicate's Kling v3 needs the shots of a customized multi-shot")
        shots = rw.encode(items).decode()
    return rw.KlingInput(
        mode=mode,
        aspect_ratio=None if first else params.get("aspect_ratio", "16:9"),
        start_image=first,
        end_image=last,
        multi_prompt=shots,
        **_kling_common(params),
    )


def _shot(item: Mapping[str, Any]) -> rw.Shot:
    return rw.Shot(prompt=str(item.get("prompt") or ""), duration=int(item.get("duration") or 0))


def _kling_common(params: Mapping[str, Any]) -> dict[str, Any]:
    """``prompt``, ``negative_prompt``, ``duration`` (an integer), and ``generate_audio``
    always (its default is on for Kling 2.6 there, ours off)."""
    return {
        "prompt": params["prompt"],
        "negative_prompt": params.get("negative_prompt"),
        "duration": int(params.get("duration", 5)),
        "generate_audio": bool(params.get("audio", False)),
    }


def wan_i2v_flash(job: VideoJob) -> ReplicateInput:
    """``image_urls[0]`` is ``image``; a prompt and 5, 10 or 15 seconds are needed;
    ``resolution`` is always sent (Replicate's default is 720p, ours 1080p)."""
    params = job.input
    duration = wan_flash_limits(params, HOST)
    audio = bool(params.get("audio", True))
    return rw.WanFlashInput(
        image=strings(params, "image_urls")[0],
        prompt=params["prompt"],
        duration=duration,
        resolution=params.get("resolution", "1080p"),
        audio_enabled=audio,
        enable_prompt_expansion=bool(params.get("prompt_extend", True)),
        multi_shots=params.get("shot_type", "single") == "multi",
        negative_prompt=params.get("negative_prompt"),
        # Without audio the video is silent: an audio track would be ignored or refused.
        audio=params.get("audio_url") if audio else None,
        seed=params.get("seed"),
    )


#: The mappings specs name.
MAPPINGS: Mapping[str, Callable[[VideoJob], ReplicateInput]] = MappingProxyType(
    {
        "motion-control": motion_control,
        "kling-v2-6": kling_v26,
        "kling-v3": kling_v3,
        "wan-i2v-flash": wan_i2v_flash,
    }
)


class ReplicateModel(NamedTuple):
    """One model as Replicate makes it: its ``owner/name`` and its mapping."""

    name: str
    plan: Callable[[VideoJob], ReplicateInput]

    @classmethod
    def of(cls, slug: str, carrier: Carrier) -> ReplicateModel:
        mapping = MAPPINGS.get(carrier.mapping)
        if mapping is None:
            raise ValueError(
                f"{slug}: no Replicate mapping {carrier.mapping!r}; there are {sorted(MAPPINGS)}"
            )
        if not _MODEL_NAME.fullmatch(carrier.model_name):
            raise ValueError(
                f"{slug}: {carrier.model_name!r} is not a Replicate model name (owner/name)"
            )
        return cls(carrier.model_name, mapping)
