"""new-api's task submit body, per vendor channel: what each of its task adaptors reads.

Facts from new-api's source (docs/upstreams/new-api.md, ``2b0efd8``): the generic route takes
``model``, ``prompt`` (required), ``duration`` (an integer), ``size``, ``images`` and
``metadata``; each vendor adaptor reads them its own way:

- **ali** (Wan, HappyHorse): ``metadata`` is merged over the whole DashScope body, so the
  DashScope body this adapter would send DashScope itself goes in ``metadata.input`` and
  ``metadata.parameters``: one mapping for both hosts.
- **vidu**: ``size`` is the resolution; the image count picks the endpoint; flat ``metadata``
  (``seed``, ...). ``aspect_ratio`` and ``audio`` have no place there: the spec files name them
  as ignored, and they are not sent.
- **veo** (Gemini, Vertex): ``size`` in pixels (``1280x720``), options in camelCase
  ``metadata`` (``aspectRatio``, ``generateAudio``, ``durationSeconds``, ...); there is no
  ``enhancePrompt`` and ``sampleCount`` is always 1.
- **seedance** (Doubao): top-level ``duration`` and ``size`` are ignored; Ark's own snake_case
  options go in ``metadata`` (``duration``, ``resolution``, ``ratio``, ``generate_audio``).
- **hailuo** (MiniMax): ``size`` is matched by its digits (``768p``); flat ``metadata``
  (``prompt_optimizer``, ``first_frame_image``, ...). ``metadata.model`` would replace the
  model, so an input field of that name is never sent.

Input fields a mapping does not place go to ``metadata`` as they came (under ali, into
``parameters``), so that the fields a partial schema lets through reach the vendor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

import msgspec

from adapter.core.values import Carrier, VideoJob
from adapter.providers.dashscope.provider import MAPPINGS as DASHSCOPE_MAPPINGS
from adapter.providers.extras import present, unmapped

#: The one route a task is created on, and queried by.
ROUTE = "video-generations"

Values = Mapping[str, Any]


class SubmitRequest(msgspec.Struct, frozen=True, omit_defaults=True):
    """``POST /v1/video/generations``: new-api's task submit request (the fields used here)."""

    model: str
    prompt: str | None = None
    duration: int | None = None
    size: str | None = None
    images: list[str] | None = None
    metadata: dict[str, Any] | None = None


def _common(job: VideoJob, model: str, **fields: Any) -> SubmitRequest:
    """``model``, the prompt and the duration (a positive one), with ``fields``."""
    params = job.input
    duration = params.get("duration")
    return SubmitRequest(
        model=model, prompt=params.get("prompt"), duration=duration or None, **fields
    )


def _extras(params: Values, placed: tuple[str, ...]) -> dict[str, Any]:
    """The unplaced fields; never ``model``, which would replace the model name."""
    return unmapped(params, (*placed, "prompt", "duration", "model"))


def ali_body(dashscope_mapping: str) -> Callable[[VideoJob, str], SubmitRequest]:
    """The DashScope body of ``dashscope_mapping``, carried in ``metadata``."""
    build = DASHSCOPE_MAPPINGS[dashscope_mapping].build

    def body(job: VideoJob, model: str) -> SubmitRequest:
        request = build(job, model)
        metadata = {
            "input": msgspec.to_builtins(request.input),
            "parameters": msgspec.to_builtins(request.parameters),
        }
        return _common(job, model, metadata=metadata)

    return body


#: Vidu inputs stock new-api has no field for (its Vidu request struct lacks them).
VIDU_DROPPED = ("aspect_ratio", "audio")


def vidu_body(job: VideoJob, model: str) -> SubmitRequest:
    """Vidu: ``size`` is the resolution, ``images`` the reference or frame images."""
    params = job.input
    images = list(params.get("image_urls") or ()) or None
    placed = ("resolution", "image_urls", *VIDU_DROPPED)
    return _common(
        job,
        model,
        size=params.get("resolution"),
        images=images,
        metadata=_extras(params, placed) or None,
    )


#: Veo's frame sizes by resolution and aspect ratio (Gemini's ``size``: width x height).
VEO_SIZES: Mapping[tuple[str, str], str] = MappingProxyType(
    {
        ("720p", "16:9"): "1280x720",
        ("720p", "9:16"): "720x1280",
        ("1080p", "16:9"): "1920x1080",
        ("1080p", "9:16"): "1080x1920",
    }
)


#: Veo inputs stock new-api's Veo body has no field for. ``sample_count`` is always 1 there,
#: and the schemas hold it to 1; ``enhance_prompt`` is named ignored by the spec files.
VEO_DROPPED = ("enhance_prompt", "sample_count")


def veo_body(job: VideoJob, model: str) -> SubmitRequest:
    """Veo: the options in camelCase ``metadata`` (Veo's own names), which new-api prefers to
    ``size``; ``size`` in pixels too where the table has it, for gateways that read only it."""
    params = job.input
    resolution = str(params.get("resolution", "720p")).lower()
    aspect = str(params.get("aspect_ratio", "16:9"))
    size = VEO_SIZES.get((resolution, aspect))
    options = present(
        aspectRatio=aspect,
        resolution=resolution,
        durationSeconds=params.get("duration"),
    )
    extras = _extras(params, ("resolution", "aspect_ratio", *VEO_DROPPED))
    options.update((_camel(key), value) for key, value in extras.items())
    return _common(job, model, size=size, metadata=options)


def seedance_body(job: VideoJob, model: str) -> SubmitRequest:
    """Seedance: Ark's options in ``metadata``; its ``ratio`` is MindVideo's ``aspect_ratio``
    (or ``size``), its ``generate_audio`` MindVideo's ``audio`` where a page names it so."""
    params = job.input
    options = present(
        duration=params.get("duration"),
        resolution=params.get("resolution"),
        ratio=params.get("aspect_ratio", params.get("size")),
        generate_audio=params.get("generate_audio", params.get("audio")),
    )
    placed = ("resolution", "aspect_ratio", "size", "generate_audio", "audio")
    options.update(_extras(params, placed))
    images = list(params.get("image_urls") or ()) or None
    return _common(job, model, images=images, metadata=options)


def hailuo_body(job: VideoJob, model: str) -> SubmitRequest:
    """Hailuo: ``size`` is the resolution; other options flat in ``metadata``."""
    params = job.input
    extras = _extras(params, ("resolution",))
    return _common(job, model, size=params.get("resolution"), metadata=extras or None)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


#: The mappings model specs name (``[[upstream]] api = "newapi"``).
MAPPINGS: Mapping[str, Callable[[VideoJob, str], SubmitRequest]] = MappingProxyType(
    {
        **{name: ali_body(name) for name in DASHSCOPE_MAPPINGS},
        "vidu": vidu_body,
        "veo": veo_body,
        "seedance": seedance_body,
        "hailuo": hailuo_body,
    }
)


class NewApiModel(NamedTuple):
    """One model as new-api makes it: its name there and its mapping."""

    model: str
    build_with: Callable[[VideoJob, str], SubmitRequest]

    @classmethod
    def of(cls, slug: str, carrier: Carrier, name: str | None = None) -> NewApiModel:
        """``name``: the channel's name for the model, where not the catalogue's."""
        mapping = MAPPINGS.get(carrier.mapping)
        if mapping is None:
            raise ValueError(
                f"{slug}: no new-api mapping {carrier.mapping!r}; there are {sorted(MAPPINGS)}"
            )
        return cls(name or carrier.model_name, mapping)

    def build(self, job: VideoJob) -> SubmitRequest:
        return self.build_with(job, self.model)


encode = msgspec.json.Encoder().encode
