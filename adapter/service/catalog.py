"""The models this adapter serves: schema, typed input, price and media rules for each."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import msgspec

from adapter.errors import InvalidRequest, UnknownModel
from adapter.inputs import INPUT_TYPES
from adapter.model import Notice
from adapter.ports import IMAGE_FORMATS
from adapter.service.pricing import PriceRule, load_pricing
from adapter.service.schema import compile_schema


class MediaRules(msgspec.Struct, frozen=True):
    """Which input fields hold media, and how long a reference video may be."""

    images: tuple[str, ...] = ()
    #: Fields that hold a URL only (no data URI), handed to the upstream unfetched.
    urls: tuple[str, ...] = ()
    #: The image formats the upstream takes in a data URI.
    image_formats: frozenset[str] = IMAGE_FORMATS
    videos: tuple[str, ...] = ()
    #: The input field whose value picks the allowed video length, and the bounds per value.
    video_seconds_by: str | None = None
    video_seconds: Mapping[str, tuple[float, float]] = {}

    def video_bounds(self, values: Mapping[str, Any]) -> tuple[float, float] | None:
        if self.video_seconds_by is None:
            return None
        return self.video_seconds.get(str(values.get(self.video_seconds_by)))


#: Per-model media rules: Kling motion control's limits (upstream page, seed 000). A list
#: field (``image_urls``) has each of its items checked.
MEDIA_RULES: dict[str, MediaRules] = {
    "kling-v2-6-motion-control": MediaRules(
        images=("image_url",),
        videos=("video_url",),
        video_seconds_by="character_orientation",
        video_seconds={"image": (3.0, 10.0), "video": (3.0, 30.0)},
    ),
    "kling-v2-6": MediaRules(images=("image_url", "image_urls")),
    "kling-v3": MediaRules(images=("first_frame_image", "last_frame_image", "image_urls")),
    # DashScope takes JPEG, PNG, BMP and WEBP (Model Studio image-to-video reference), and
    # audio by URL only.
    "wan2-6-i2v-flash": MediaRules(
        images=("image_urls",),
        image_formats=frozenset({"jpg", "png", "bmp", "webp"}),
        urls=("audio_url",),
    ),
}


#: Inputs a model's schema accepts but its upstream cannot honour: accepted, not sent, and
#: a notice on the task says so (README, "Models and their upstreams").
IGNORED_INPUTS: dict[str, dict[str, str]] = {
    "kling-v2-6": {"seed": "Kling has no seed; the video cannot be reproduced from one."},
}


def _one_reference_image(values: Mapping[str, Any]) -> list[Notice]:
    """kling-v2-6 sends one image: ``image_url``, else ``image_urls[0]`` in its place."""
    image_url, image_urls = values.get("image_url"), values.get("image_urls") or []
    if image_url and image_urls and image_urls[0] != image_url:
        return [
            Notice(
                "input_ignored",
                "input.image_urls[0] was not sent upstream: the model takes one reference "
                "image, and input.image_url is it.",
            )
        ]
    return []


#: Notices that depend on how fields combine, per model.
COMBINED_NOTICES: dict[str, Callable[[Mapping[str, Any]], list[Notice]]] = {
    "kling-v2-6": _one_reference_image,
}


class ModelSpec(msgspec.Struct, frozen=True):
    """Everything the service knows about one model."""

    slug: str
    #: The input JSON Schema, exactly as in ``schemas/models/<slug>.json``.
    schema: dict[str, Any]
    check: Callable[[Any, str], Any]
    input_type: type[msgspec.Struct]
    price: PriceRule
    media: MediaRules
    #: Field -> why the upstream cannot honour it (``IGNORED_INPUTS``).
    ignored: Mapping[str, str] = {}
    combined: Callable[[Mapping[str, Any]], list[Notice]] | None = None

    def validate(self, value: Any) -> dict[str, Any]:
        """Check ``value`` against the schema; return it with defaults applied."""
        if not isinstance(value, dict):
            raise InvalidRequest("input must be an object.", "input")
        checked: dict[str, Any] = self.check(value, "input")
        return checked

    def notices(self, values: Mapping[str, Any]) -> tuple[Notice, ...]:
        """What the task will not honour: inputs its upstream lacks, fields the model lacks."""
        found = [
            Notice("input_ignored", f"input.{field} was not sent upstream: {reason}")
            for field, reason in self.ignored.items()
            if values.get(field) is not None
        ]
        known = self.schema.get("properties", {})
        found.extend(
            Notice("input_ignored", f"input.{field} is not a {self.slug} input; it was ignored.")
            for field in values
            if field not in known
        )
        if self.combined is not None:
            found.extend(self.combined(values))
        return tuple(found)

    def typed(self, values: dict[str, Any]) -> msgspec.Struct:
        """The validated input as the model's Struct (``adapter.inputs``)."""
        return msgspec.convert(values, self.input_type)


class Catalog:
    """The served models by slug."""

    __slots__ = ("_specs",)

    def __init__(self, specs: Mapping[str, ModelSpec]) -> None:
        self._specs = dict(specs)

    @classmethod
    def load(cls, schemas_dir: Path) -> Catalog:
        """Read ``models/<slug>.json`` and ``pricing.toml``; every typed model needs both."""
        prices = load_pricing((schemas_dir / "pricing.toml").read_text(encoding="utf-8"))
        specs: dict[str, ModelSpec] = {}
        for slug, input_type in INPUT_TYPES.items():
            path = schemas_dir / "models" / f"{slug}.json"
            schema = json.loads(path.read_text(encoding="utf-8"))
            if slug not in prices:
                raise ValueError(f"{schemas_dir / 'pricing.toml'} has no prices for {slug!r}")
            specs[slug] = ModelSpec(
                slug=slug,
                schema=schema,
                check=compile_schema(schema),
                input_type=input_type,
                price=prices[slug],
                media=MEDIA_RULES.get(slug, MediaRules()),
                ignored=IGNORED_INPUTS.get(slug, {}),
                combined=COMBINED_NOTICES.get(slug),
            )
        return cls(specs)

    def get(self, slug: str) -> ModelSpec:
        try:
            return self._specs[slug]
        except KeyError:
            raise UnknownModel(slug) from None

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self._specs.values())
