"""The models this adapter serves, each one spec: ``schemas/models/<slug>.json`` (its input
JSON Schema) and ``schemas/models/<slug>.toml`` (media rules, prices, ignored inputs, and the
upstream APIs that carry it with their field mapping). A model whose input has a sibling's
shape is those two files and nothing else."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import msgspec

from adapter.core.errors import InvalidRequest, UnknownModel
from adapter.core.values import Carrier, Notice
from adapter.ports import IMAGE_FORMATS
from adapter.service.pricing import PriceRule, PriceTable, PricingError
from adapter.service.schema import compile_schema


class MediaRules(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
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


#: Notices that depend on how fields combine, by the name a spec's ``notices`` lists.
NOTICE_RULES: dict[str, Callable[[Mapping[str, Any]], list[Notice]]] = {
    "one-reference-image": _one_reference_image,
}

SchemaSource = Literal["page", "partial", "derived"]


class SpecFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``schemas/models/<slug>.toml``: everything about a model but its input schema."""

    title: str
    #: ``page``: the model page's whole schema, verbatim; ``partial``: what the stored copy of
    #: the page shows, the rest let through; ``derived``: built from a sibling's (see source).
    schema_source: SchemaSource
    #: Where the schema (and the example price) came from.
    source: str
    media: MediaRules = MediaRules()
    #: Field -> why no upstream honours it: accepted, not sent, with an ``input_ignored`` notice.
    ignored: dict[str, str] = {}
    #: Named notices that depend on how fields combine (``NOTICE_RULES``).
    notices: tuple[str, ...] = ()
    pricing: PriceTable
    #: How each upstream API that carries the model makes it.
    upstream: tuple[Carrier, ...]


class ModelSpec(msgspec.Struct, frozen=True):
    """Everything the service knows about one model: its schema file and its spec file."""

    slug: str
    #: The input JSON Schema, exactly as in ``schemas/models/<slug>.json``.
    schema: dict[str, Any]
    check: Callable[[Any, str], Any]
    price: PriceRule
    media: MediaRules
    schema_source: SchemaSource
    source: str
    title: str = ""
    #: Field -> why the upstream cannot honour it.
    ignored: Mapping[str, str] = {}
    combined: tuple[Callable[[Mapping[str, Any]], list[Notice]], ...] = ()
    #: API (``kling``, ``dashscope``) -> how it makes the model.
    carriers: Mapping[str, Carrier] = {}

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
        for rule in self.combined:
            found.extend(rule(values))
        return tuple(found)


class Catalog:
    """The served models by slug."""

    __slots__ = ("_specs",)

    def __init__(self, specs: Mapping[str, ModelSpec]) -> None:
        self._specs = dict(specs)

    @classmethod
    def load(cls, schemas_dir: Path) -> Catalog:
        """Read every model: ``models/<slug>.toml`` (its spec) beside ``models/<slug>.json``.

        Raises:
            CatalogError: a spec or schema is missing or malformed; the message names the file.
        """
        folder = schemas_dir / "models"
        specs: dict[str, ModelSpec] = {}
        for path in sorted(folder.glob("*.toml")):
            specs[path.stem] = load_spec(path.stem, path, folder / f"{path.stem}.json")
        if orphans := sorted(p.name for p in folder.glob("*.json") if p.stem not in specs):
            raise CatalogError(f"{folder}: {', '.join(orphans)} has no spec file (<slug>.toml)")
        if not specs:
            raise CatalogError(f"{folder} holds no model spec (<slug>.toml)")
        return cls(specs)

    def carried_by(self, api: str) -> dict[str, Carrier]:
        """Every model ``api`` (``kling``, ``dashscope``) makes, and how."""
        return {spec.slug: spec.carriers[api] for spec in self if api in spec.carriers}

    def get(self, slug: str) -> ModelSpec:
        try:
            return self._specs[slug]
        except KeyError:
            raise UnknownModel(slug) from None

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self._specs.values())


class CatalogError(ValueError):
    """A model's spec or schema file is missing or malformed; the message names the file."""


def load_spec(slug: str, spec_path: Path, schema_path: Path) -> ModelSpec:
    """One model from its two files."""
    try:
        file = msgspec.toml.decode(spec_path.read_bytes(), type=SpecFile)
    except (OSError, msgspec.DecodeError) as exc:
        raise CatalogError(f"{spec_path}: {exc}") from None
    try:
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
        check = compile_schema(schema)
    except (OSError, ValueError) as exc:
        raise CatalogError(f"{schema_path}: {exc}") from None
    unknown = [name for name in file.notices if name not in NOTICE_RULES]
    if unknown:
        raise CatalogError(f"{spec_path}: unknown notices {unknown}; known: {sorted(NOTICE_RULES)}")
    apis = [carrier.api for carrier in file.upstream]
    if len(set(apis)) < len(apis):
        raise CatalogError(f"{spec_path}: an upstream API is listed twice")
    try:
        price = file.pricing.rule()
    except PricingError as exc:
        raise CatalogError(f"{spec_path}: {exc}") from None
    return ModelSpec(
        slug=slug,
        schema=schema,
        check=check,
        price=price,
        media=file.media,
        schema_source=file.schema_source,
        source=file.source,
        title=file.title,
        ignored=file.ignored,
        combined=tuple(NOTICE_RULES[name] for name in file.notices),
        carriers={carrier.api: carrier for carrier in file.upstream},
    )
