"""Kling request bodies: the named field mappings model specs choose from, and their routes.

A model's spec names a mapping (``[[upstream]] mapping = "kling-v3"``); a model whose input
has a sibling's shape names the sibling's mapping, with its own ``model_name``. Each mapping
reads the checked input (the schema's defaults applied) and builds the body of the family
it picks. A *route* is that family (``/v1/videos/{route}``); the official API queries a
task only on it, so it is a pure function of the input: the submit and a later ``lookup``
of the same job agree. Field mapping: upstream-contracts.md section 6. Media are sent as
URLs or raw base64 (``raw_media``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Literal, NamedTuple, cast, get_args

from adapter.core.values import Carrier, VideoJob
from adapter.providers.kling import wire as kling_wire
from adapter.providers.kling.wire import KlingRequest, OmniImage, WatermarkInfo

Route = Literal["motion-control", "text2video", "image2video", "omni-video"]
Values = Mapping[str, Any]


class Names(NamedTuple):
    """The model's names upstream: its own, and the one it has on the omni-video family."""

    model_name: str
    omni_model_name: str


def raw_media(value: str) -> str:
    """Kling takes media as a URL or as *raw* base64: a data URI loses its ``data:`` header."""
    if value[:5].lower() == "data:":
        header, sep, payload = value.partition(",")
        if sep and header.lower().endswith(";base64"):
            return payload
    return value


def _sound(audio: Any) -> str:
    return "on" if audio else "off"


def _strings(values: Values, field: str) -> list[str]:
    return [item for item in values.get(field) or () if item]


# --- motion-control ---------------------------------------------------------------------------


def motion_control_route(values: Values) -> Route:
    return "motion-control"


def motion_control_body(
    job: VideoJob, route: Route, names: Names
) -> kling_wire.MotionControlRequest:
    params = job.input
    watermark = params.get("watermark_info")
    return kling_wire.MotionControlRequest(
        model_name=names.model_name,
        image_url=raw_media(params["image_url"]),
        video_url=raw_media(params["video_url"]),
        character_orientation=params["character_orientation"],
        mode=params["mode"],
        keep_original_sound=params.get("keep_original_sound", "yes"),
        prompt=params.get("prompt"),
        watermark_info=WatermarkInfo(bool(watermark.get("enabled"))) if watermark else None,
        callback_url=job.callback_url,
        external_task_id=job.external_id,
    )


# --- kling-v2-6: text2video, or image2video with an image -----------------------------------


def _v26_image(values: Values) -> str | None:
    images = _strings(values, "image_urls")
    image: str | None = values.get("image_url") or (images[0] if images else None)
    return image


def kling_v26_route(values: Values) -> Route:
    """``image2video`` when an image is given (``image_url``, else ``image_urls[0]``)."""
    return "image2video" if _v26_image(values) else "text2video"


def kling_v26_body(job: VideoJob, route: Route, names: Names) -> KlingRequest:
    """``seed`` is not sent: Kling has none (the service layer tells the user)."""
    params = job.input
    common = _generation_fields(job, names.model_name)
    common.update(cfg_scale=params.get("cfg_scale"), camera_control=params.get("camera_control"))
    image = _v26_image(params)
    if route == "image2video" and image:
        return kling_wire.Image2VideoRequest(image=raw_media(image), **common)
    return kling_wire.Text2VideoRequest(aspect_ratio=params.get("size", "16:9"), **common)


# --- kling-v3: text2video / image2video, or omni-video for references -------------------------


class V3Plan(NamedTuple):
    """Where a kling-v3 job's images go, and so which route it takes."""

    route: Route
    first: str | None
    last: str | None
    #: Reference images (``image_list`` entries without a type): omni-video only.
    references: tuple[str, ...]


def v3_plan(values: Values) -> V3Plan:
    """Frames are the explicit first/last frame, else ``image_urls[0]``/``[1]``.

    With an explicit frame, every ``image_urls`` item is a reference image; without one, the
    items after the second are. text2video/image2video take no reference images, and
    text2video takes no ``element_list``, so those inputs go to omni-video.
    """
    urls = tuple(_strings(values, "image_urls"))
    explicit_first = values.get("first_frame_image") or None
    explicit_last = values.get("last_frame_image") or None
    if explicit_first or explicit_last:
        first, last, references = explicit_first, explicit_last, urls
    else:
        first = urls[0] if urls else None
        last = urls[1] if len(urls) > 1 else None
        references = urls[2:]
    route: Route
    if references or (values.get("element_list") and first is None):
        route = "omni-video"
    elif first or last:
        route = "image2video"
    else:
        route = "text2video"
    return V3Plan(route, first, last, references)


def kling_v3_route(values: Values) -> Route:
    return v3_plan(values).route


def kling_v3_body(job: VideoJob, route: Route, names: Names) -> KlingRequest:
    params = job.input
    plan = v3_plan(params)
    common = _generation_fields(job, names.model_name)
    common["watermark_info"] = WatermarkInfo(bool(params.get("watermark")))
    if params.get("multi_shot"):
        common["multi_shot"] = True
        common["shot_type"] = params.get("shot_type")
        common["multi_prompt"] = [_shot(item) for item in params.get("multi_prompt") or ()] or None
    elements = list(params.get("element_list") or ()) or None
    aspect_ratio = params.get("aspect_ratio", "16:9")
    if route == "omni-video":
        # The omni family has its own model names (upstream-contracts 2.1): kling-v3-omni.
        common["model_name"] = names.omni_model_name
        return kling_wire.OmniVideoRequest(
            aspect_ratio=aspect_ratio,
            image_list=_image_list(plan) or None,
            element_list=elements,
            **common,
        )
    if route == "image2video":
        return kling_wire.Image2VideoRequest(
            image=_raw(plan.first), image_tail=_raw(plan.last), element_list=elements, **common
        )
    return kling_wire.Text2VideoRequest(aspect_ratio=aspect_ratio, **common)


def _generation_fields(job: VideoJob, model_name: str) -> dict[str, Any]:
    """The fields every text2video / image2video / omni-video body carries."""
    params = job.input
    return {
        "model_name": model_name,
        "prompt": params["prompt"],
        "negative_prompt": params.get("negative_prompt"),
        "mode": params.get("mode", "std"),
        "duration": str(params.get("duration", 5)),
        "sound": _sound(params.get("audio")),
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


# --- the mappings specs name ------------------------------------------------------------------


class BodyMapping(NamedTuple):
    """One named way of turning a model's input into a Kling body."""

    #: The family a job's input picks.
    route: Callable[[Values], Route]
    #: Every family ``route`` may pick.
    routes: tuple[Route, ...]
    build: Callable[[VideoJob, Route, Names], KlingRequest]


MAPPINGS: Mapping[str, BodyMapping] = MappingProxyType(
    {
        "motion-control": BodyMapping(
            motion_control_route, ("motion-control",), motion_control_body
        ),
        "kling-v2-6": BodyMapping(kling_v26_route, ("text2video", "image2video"), kling_v26_body),
        "kling-v3": BodyMapping(
            kling_v3_route, ("text2video", "image2video", "omni-video"), kling_v3_body
        ),
    }
)


#: Every Kling route (path family).
ROUTES: frozenset[str] = frozenset(get_args(Route))


class KlingModel:
    """One model as Kling makes it: its spec's carrier, resolved to a mapping."""

    __slots__ = ("_mapping", "_route", "names")

    def __init__(self, slug: str, carrier: Carrier) -> None:
        mapping = MAPPINGS.get(carrier.mapping)
        if mapping is None:
            raise ValueError(
                f"{slug}: no Kling mapping {carrier.mapping!r}; there are {sorted(MAPPINGS)}"
            )
        if carrier.route is not None and carrier.route not in ROUTES:
            raise ValueError(f"{slug}: {carrier.route!r} is not a Kling route: {sorted(ROUTES)}")
        self._mapping = mapping
        self._route = cast(Route | None, carrier.route)
        self.names = Names(carrier.model_name, carrier.omni_model_name or carrier.model_name)

    @property
    def families(self) -> tuple[Route, ...]:
        """Every family a task of this model can be created on."""
        return (self._route,) if self._route is not None else self._mapping.routes

    def route_of(self, job: VideoJob) -> Route:
        return self._route if self._route is not None else self._mapping.route(job.input)

    def build(self, job: VideoJob) -> tuple[Route, KlingRequest]:
        route = self.route_of(job)
        return route, self._mapping.build(job, route, self.names)
