"""Kling request bodies: one builder per MindVideo model, and how each picks its route.

A *route* is the Kling path family (``/v1/videos/{route}``) a task is created on; the official
API queries a task only on that family, so it must be a pure function of the job's input: the
submit and a later ``lookup`` of the same job then agree. Field mapping: upstream-contracts.md
section 6. Media are sent as URLs or raw base64 (``raw_media``).
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple, TypeVar

import msgspec

from adapter.inputs import KlingV3Input, KlingV26Input, MotionControlInput
from adapter.model import VideoJob
from adapter.providers import kling_wire
from adapter.providers.kling_wire import OmniImage, WatermarkInfo

Route = Literal["motion-control", "text2video", "image2video", "omni-video"]

_Input = TypeVar("_Input", bound=msgspec.Struct)


def raw_media(value: str) -> str:
    """Kling takes media as a URL or as *raw* base64: a data URI loses its ``data:`` header."""
    if value[:5].lower() == "data:":
        header, sep, payload = value.partition(",")
        if sep and header.lower().endswith(";base64"):
            return payload
    return value


def _input(job: VideoJob, kind: type[_Input]) -> _Input:
    if not isinstance(job.input, kind):
        raise TypeError(f"{job.model} needs a {kind.__name__}, got {type(job.input).__name__}")
    return job.input


def _sound(audio: bool) -> str:
    return "on" if audio else "off"


# --- kling-v2-6-motion-control ----------------------------------------------------------------


def motion_control_body(job: VideoJob, model_name: str) -> kling_wire.MotionControlRequest:
    params = _input(job, MotionControlInput)
    watermark = params.watermark_info
    return kling_wire.MotionControlRequest(
        model_name=model_name,
        image_url=raw_media(params.image_url),
        video_url=raw_media(params.video_url),
        character_orientation=params.character_orientation,
        mode=params.mode,
        keep_original_sound=params.keep_original_sound,
        prompt=params.prompt,
        watermark_info=WatermarkInfo(watermark.enabled) if watermark else None,
        callback_url=job.callback_url,
        external_task_id=job.external_id,
    )


# --- kling-v2-6 ---------------------------------------------------------------------------------


def _v26_image(params: KlingV26Input) -> str | None:
    return params.image_url or (params.image_urls[0] if params.image_urls else None)


def kling_v26_route(job: VideoJob) -> Route:
    """``image2video`` when an image is given (``image_url``, else ``image_urls[0]``)."""
    return "image2video" if _v26_image(_input(job, KlingV26Input)) else "text2video"


def kling_v26_body(
    job: VideoJob, model_name: str
) -> kling_wire.Text2VideoRequest | kling_wire.Image2VideoRequest:
    """``seed`` is not sent: Kling has none (the service layer tells the user)."""
    params = _input(job, KlingV26Input)
    image = _v26_image(params)
    common = _generation_fields(job, params, model_name)
    common.update(cfg_scale=params.cfg_scale, camera_control=params.camera_control)
    if image:
        return kling_wire.Image2VideoRequest(image=raw_media(image), **common)
    return kling_wire.Text2VideoRequest(aspect_ratio=params.size, **common)


# --- kling-v3 -----------------------------------------------------------------------------------


#: A model's name on the omni-video family.
OMNI_MODEL_NAMES = {"kling-v3": "kling-v3-omni"}


class V3Plan(NamedTuple):
    """Where a kling-v3 job's images go, and so which route it takes."""

    route: Route
    first: str | None
    last: str | None
    #: Reference images (``image_list`` entries without a type): omni-video only.
    references: tuple[str, ...]


def v3_plan(params: KlingV3Input) -> V3Plan:
    """Frames are the explicit first/last frame, else ``image_urls[0]``/``[1]``.

    With an explicit frame, every ``image_urls`` item is a reference image; without one, the
    items after the second are. text2video/image2video take no reference images, and
    text2video takes no ``element_list``, so those inputs go to omni-video.
    """
    urls = params.image_urls
    if params.first_frame_image or params.last_frame_image:
        first, last, references = params.first_frame_image, params.last_frame_image, urls
    else:
        first = urls[0] if urls else None
        last = urls[1] if len(urls) > 1 else None
        references = urls[2:]
    first, last = first or None, last or None
    route: Route
    if references or (params.element_list and first is None):
        route = "omni-video"
    elif first or last:
        route = "image2video"
    else:
        route = "text2video"
    return V3Plan(route, first, last, references)


def kling_v3_route(job: VideoJob) -> Route:
    return v3_plan(_input(job, KlingV3Input)).route


def kling_v3_body(
    job: VideoJob, model_name: str
) -> kling_wire.Text2VideoRequest | kling_wire.Image2VideoRequest | kling_wire.OmniVideoRequest:
    params = _input(job, KlingV3Input)
    plan = v3_plan(params)
    common = _generation_fields(job, params, model_name)
    common["watermark_info"] = WatermarkInfo(params.watermark)
    if params.multi_shot:
        common["multi_shot"] = True
        common["shot_type"] = params.shot_type
        common["multi_prompt"] = [_shot(item) for item in params.multi_prompt] or None
    elements = list(params.element_list) or None
    if plan.route == "omni-video":
        # The omni family has its own model names (upstream-contracts 2.1): kling-v3-omni.
        common["model_name"] = OMNI_MODEL_NAMES.get(model_name, model_name)
        return kling_wire.OmniVideoRequest(
            aspect_ratio=params.aspect_ratio,
            image_list=_image_list(plan) or None,
            element_list=elements,
            **common,
        )
    if plan.route == "image2video":
        return kling_wire.Image2VideoRequest(
            image=_raw(plan.first), image_tail=_raw(plan.last), element_list=elements, **common
        )
    return kling_wire.Text2VideoRequest(aspect_ratio=params.aspect_ratio, **common)


def _generation_fields(
    job: VideoJob, params: KlingV26Input | KlingV3Input, model_name: str
) -> dict[str, Any]:
    """The fields every text2video / image2video / omni-video body carries."""
    return {
        "model_name": model_name,
        "prompt": params.prompt,
        "negative_prompt": params.negative_prompt,
        "mode": params.mode,
        "duration": str(params.duration),
        "sound": _sound(params.audio),
        "callback_url": job.callback_url,
        "external_task_id": job.external_id,
    }


def _shot(item: dict[str, Any]) -> dict[str, Any]:
    """A ``multi_prompt`` item as given, but with its ``duration`` as Kling's string."""
    duration = item.get("duration")
    if isinstance(duration, bool) or not isinstance(duration, int | float):
        return dict(item)
    text = str(int(duration)) if float(duration).is_integer() else str(duration)
    return {**item, "duration": text}


def _image_list(plan: V3Plan) -> list[OmniImage]:
    """The frames, typed, then the reference images, untyped."""
    frames = ((plan.first, "first_frame"), (plan.last, "end_frame"))
    typed = [OmniImage(raw_media(url), kind) for url, kind in frames if url]
    return typed + [OmniImage(raw_media(url)) for url in plan.references]


def _raw(value: str | None) -> str | None:
    return raw_media(value) if value else None
