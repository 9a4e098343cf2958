"""fal request bodies: the named field mappings model specs choose from, and their endpoints.

A spec's ``[[upstream]] api = "fal"`` entry names a mapping and gives, as ``model_name``, the
fal endpoint id, where ``{tier}`` and ``{kind}`` stand for what the mapping picks from the
input: ``{tier}`` is the Kling mode (``std`` -> ``standard``, ``pro``, ``4k``) and ``{kind}``
is ``text-to-video`` or ``image-to-video``. Field mapping: providers-research.md sections 2
and 5 (fal-ai/fal-js ``types/endpoints.ts``@381105e1).

An input fal cannot take as it is (a tier or duration its endpoint lacks, an option it has
no field for) raises ``Unservable`` before anything is sent (see ``adapter.providers.inputs``):
the provider answers it as unavailable, so the router tries the next provider and the task is
never made without what it asked for.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from adapter.core.values import Carrier, VideoJob
from adapter.providers.fal import wire as fal_wire
from adapter.providers.fal.wire import FalInput
from adapter.providers.inputs import Unservable, kling_frames, strings, wan_flash_limits

Values = Mapping[str, Any]

#: Our Kling ``mode`` -> fal's tier path segment.
TIERS: Mapping[str, str] = MappingProxyType({"std": "standard", "pro": "pro", "4k": "4k"})
T2V, I2V = "text-to-video", "image-to-video"
#: Kling's default ``cfg_scale`` (the schema applies it): fal's i2v has no field for another.
KLING_CFG_SCALE = 0.5
#: The namespaces whose endpoint ids have one more leading segment (fal_client ``AppId``).
_NAMESPACES = frozenset({"workflows", "comfy"})


class Plan(NamedTuple):
    """A job as fal makes it: the endpoint id's placeholders, filled, and the body."""

    fields: Mapping[str, str]
    body: FalInput


def app_of(endpoint_id: str) -> str:
    """The ``{owner}/{app}`` of an endpoint id, under which fal keeps its requests."""
    parts = endpoint_id.strip("/").split("/")
    size = 3 if parts[0] in _NAMESPACES else 2
    if len(parts) < size or not all(parts[:size]):
        raise ValueError(f"{endpoint_id!r} is not a fal endpoint id (owner/app[/path])")
    return "/".join(parts[:size])


def _tier(values: Values) -> str:
    return TIERS[str(values.get("mode", "std"))]


# --- motion control -------------------------------------------------------------------------


def motion_control(job: VideoJob) -> Plan:
    """``image_url``, ``video_url``, ``character_orientation``, ``keep_original_sound`` as a
    boolean, ``prompt``; the tier is the path."""
    params = job.input
    if (params.get("watermark_info") or {}).get("enabled"):
        raise Unservable("fal's Kling motion control has no watermark option")
    body = fal_wire.MotionControlInput(
        image_url=params["image_url"],
        video_url=params["video_url"],
        character_orientation=params["character_orientation"],
        keep_original_sound=params.get("keep_original_sound", "yes") != "no",
        prompt=params.get("prompt"),
    )
    return Plan({"tier": _tier(params)}, body)


# --- kling-v2-6: pro only -------------------------------------------------------------------


def kling_v26(job: VideoJob) -> Plan:
    """Text to video, or image to video with ``image_url`` (else ``image_urls[0]``)."""
    params = job.input
    if params.get("mode", "std") != "pro":
        raise Unservable("fal has Kling 2.6 text/image to video in pro mode only")
    if params.get("camera_control"):
        raise Unservable("fal's Kling 2.6 has no camera_control")
    images = strings(params, "image_urls")
    image = params.get("image_url") or (images[0] if images else None)
    cfg_scale = params.get("cfg_scale", KLING_CFG_SCALE)
    if image and cfg_scale != KLING_CFG_SCALE:
        raise Unservable("fal's Kling 2.6 image to video has no cfg_scale")
    common = _kling_common(params)
    if image:
        return Plan({"kind": I2V}, fal_wire.KlingInput(start_image_url=image, **common))
    body = fal_wire.KlingInput(
        aspect_ratio=params.get("size", "16:9"), cfg_scale=cfg_scale, **common
    )
    return Plan({"kind": T2V}, body)


# --- kling-v3 -------------------------------------------------------------------------------


def kling_v3(job: VideoJob) -> Plan:
    """Frames are the explicit first/last frame, else ``image_urls[0]``/``[1]`` (as on
    Kling); a first frame picks image to video. Shots go as ``multi_prompt`` (no ``index``,
    the duration a string) in place of ``prompt``, with ``shot_type`` (``intelligence`` ->
    ``intelligent``)."""
    params = job.input
    if params.get("watermark"):
        raise Unservable("fal's Kling v3 has no watermark option")
    if params.get("element_list"):
        raise Unservable(
            "fal's Kling v3 takes elements in another shape; element_list is not sent there"
        )
    first, last = kling_frames(params, "fal")
    common = _kling_common(params)
    shots = (
        [_shot(item) for item in params.get("multi_prompt") or ()]
        if params.get("multi_shot")
        else []
    )
    if params.get("multi_shot"):
        shot_type = params.get("shot_type", "intelligence")
        common["shot_type"] = "intelligent" if shot_type == "intelligence" else shot_type
    if shots:
        common.update(prompt=None, multi_prompt=shots)
    if first:
        body = fal_wire.KlingInput(start_image_url=first, end_image_url=last, **common)
        return Plan({"tier": _tier(params), "kind": I2V}, body)
    body = fal_wire.KlingInput(aspect_ratio=params.get("aspect_ratio", "16:9"), **common)
    return Plan({"tier": _tier(params), "kind": T2V}, body)


def _shot(item: Values) -> fal_wire.Shot:
    duration = item.get("duration")
    if isinstance(duration, int | float) and float(duration).is_integer():
        duration = int(duration)
    return fal_wire.Shot(prompt=str(item.get("prompt") or ""), duration=str(duration))


def _kling_common(params: Values) -> dict[str, Any]:
    """``prompt``, ``negative_prompt``, ``duration`` as a string, and ``generate_audio``
    always (fal's default is on, ours off)."""
    return {
        "prompt": params["prompt"],
        "negative_prompt": params.get("negative_prompt"),
        "duration": str(params.get("duration", 5)),
        "generate_audio": bool(params.get("audio", False)),
    }


# --- wan2-6-i2v-flash -----------------------------------------------------------------------


def wan_i2v_flash(job: VideoJob) -> Plan:
    """``image_urls[0]`` is ``image_url``; fal needs a prompt and 5, 10 or 15 seconds."""
    params = job.input
    duration = wan_flash_limits(params, "fal")
    audio = bool(params.get("audio", True))
    body = fal_wire.WanFlashInput(
        image_url=strings(params, "image_urls")[0],
        prompt=params["prompt"],
        duration=str(duration),
        resolution=params.get("resolution", "1080p"),
        generate_audio=audio,
        enable_prompt_expansion=bool(params.get("prompt_extend", True)),
        multi_shots=params.get("shot_type", "single") == "multi",
        negative_prompt=params.get("negative_prompt"),
        # Without audio the video is silent: an audio track would be ignored or refused.
        audio_url=params.get("audio_url") if audio else None,
        seed=params.get("seed"),
    )
    return Plan({}, body)


# --- the mappings specs name ------------------------------------------------------------------


class BodyMapping(NamedTuple):
    """One named way of turning a model's input into a fal endpoint and body."""

    #: The placeholders of the endpoint id the mapping fills.
    placeholders: frozenset[str]
    plan: Callable[[VideoJob], Plan]


MAPPINGS: Mapping[str, BodyMapping] = MappingProxyType(
    {
        "motion-control": BodyMapping(frozenset({"tier"}), motion_control),
        "kling-v2-6": BodyMapping(frozenset({"kind"}), kling_v26),
        "kling-v3": BodyMapping(frozenset({"tier", "kind"}), kling_v3),
        "wan-i2v-flash": BodyMapping(frozenset(), wan_i2v_flash),
    }
)


class FalModel(NamedTuple):
    """One model as fal makes it: its endpoint id (a template), its app and its mapping."""

    endpoint: str
    #: ``{owner}/{app}``: where the model's requests are queried and cancelled.
    app: str
    plan: Callable[[VideoJob], Plan]

    @classmethod
    def of(cls, slug: str, carrier: Carrier) -> FalModel:
        mapping = MAPPINGS.get(carrier.mapping)
        if mapping is None:
            raise ValueError(
                f"{slug}: no fal mapping {carrier.mapping!r}; there are {sorted(MAPPINGS)}"
            )
        names = {name for _, name, _, _ in string.Formatter().parse(carrier.model_name) if name}
        if names != mapping.placeholders:
            want = ", ".join(f"{{{name}}}" for name in sorted(mapping.placeholders)) or "none"
            raise ValueError(
                f"{slug}: the fal endpoint id {carrier.model_name!r} must have the placeholders "
                f"of mapping {carrier.mapping!r}: {want}"
            )
        app = app_of(carrier.model_name)
        if "{" in app:
            raise ValueError(f"{slug}: the owner/app of {carrier.model_name!r} must be fixed")
        return cls(carrier.model_name, app, mapping.plan)

    def endpoint_of(self, plan: Plan) -> str:
        return self.endpoint.format_map(plan.fields)
