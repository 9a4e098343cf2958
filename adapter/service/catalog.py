"""The models this adapter serves: schema, typed input, price and media rules for each."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import msgspec

from adapter.errors import InvalidRequest, UnknownModel
from adapter.inputs import INPUT_TYPES
from adapter.service.pricing import PriceRule, load_pricing
from adapter.service.schema import compile_schema


class MediaRules(msgspec.Struct, frozen=True):
    """Which input fields hold media, and how long a reference video may be."""

    images: tuple[str, ...] = ()
    videos: tuple[str, ...] = ()
    #: The input field whose value picks the allowed video length, and the bounds per value.
    video_seconds_by: str | None = None
    video_seconds: Mapping[str, tuple[float, float]] = {}

    def video_bounds(self, values: Mapping[str, Any]) -> tuple[float, float] | None:
        if self.video_seconds_by is None:
            return None
        return self.video_seconds.get(str(values.get(self.video_seconds_by)))


#: Per-model media rules: Kling motion control's limits (upstream page, seed 000).
MEDIA_RULES: dict[str, MediaRules] = {
    "kling-v2-6-motion-control": MediaRules(
        images=("image_url",),
        videos=("video_url",),
        video_seconds_by="character_orientation",
        video_seconds={"image": (3.0, 10.0), "video": (3.0, 30.0)},
    ),
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

    def validate(self, value: Any) -> dict[str, Any]:
        """Check ``value`` against the schema; return it with defaults applied."""
        if not isinstance(value, dict):
            raise InvalidRequest("input must be an object.", "input")
        checked: dict[str, Any] = self.check(value, "input")
        return checked

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
            )
        return cls(specs)

    def get(self, slug: str) -> ModelSpec:
        try:
            return self._specs[slug]
        except KeyError:
            raise UnknownModel(slug) from None

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self._specs.values())
