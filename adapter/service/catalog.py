"""The models this adapter serves, each one spec: ``schemas/models/<slug>.json`` (its input
JSON Schema) and ``schemas/models/<slug>.toml`` (media rules, prices, ignored inputs, and the
upstream APIs that carry it with their field mapping). A model whose input has a sibling's
shape is those two files and nothing else. ``schemas/unserved.toml`` names the catalogue's
slugs this adapter knows and does not serve, each with the reason a client is told."""

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
    """Which input fields hold media, and how long a reference video may be.

    A field is named as in the input (``image_urls``: a string or a list of them), or as
    ``field[].key`` for the ``key`` of each object in a list (``image_with_roles[].url``).
    """

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
        """Check ``value`` against the schema; return it with defaults applied.

        A value the price table has no rate for is refused too: a partial schema cannot list
        every value its page allows, and a task is never accepted at an unknown price.
        """
        if not isinstance(value, dict):
            raise InvalidRequest("input must be an object.", "input")
        checked: dict[str, Any] = self.check(value, "input")
        if not self.price.is_priced(checked):
            raise self._unpriced(checked)
        return checked

    def _unpriced(self, values: Mapping[str, Any]) -> InvalidRequest:
        fields = self.price.rate_by
        which = "+".join(fields)
        priced = ", ".join(sorted(self.price.rates))
        return InvalidRequest(
            f"input.{which} {self.price.rate_key(values)!r} has no price on this adapter; "
            f"the priced values are: {priced} (an operator adds one in "
            f"schemas/models/{self.slug}.toml).",
            f"input.{fields[0]}",
        )

    def notices(self, values: Mapping[str, Any]) -> tuple[Notice, ...]:
        """What the task will not honour: inputs its upstream lacks, fields the model lacks."""
        found = [
            Notice("input_ignored", f"input.{field} was not sent upstream: {reason}")
            for field, reason in self.ignored.items()
            if values.get(field) is not None
        ]
        known = self.schema.get("properties", {})
        found.extend(self._unknown(field) for field in values if field not in known)
        for rule in self.combined:
            found.extend(rule(values))
        return tuple(found)

    def _unknown(self, field: str) -> Notice:
        """A field the schema does not list: the page may have it, where the schema is partial."""
        if self.schema_source == "partial":
            return Notice(
                "input_unchecked",
                f"input.{field} is not in the part of the {self.slug} schema known here; it was "
                "sent to the upstream unchecked.",
            )
        return Notice("input_ignored", f"input.{field} is not a {self.slug} input; it was ignored.")


class Unserved(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A catalogue slug this adapter does not serve: an ``unserved.toml`` table."""

    family: str
    #: What a client that asks for it is told, whole sentences.
    why: str


class Catalog:
    """The served models by slug, and the catalogue's slugs known not to be served."""

    __slots__ = ("_specs", "_unserved")

    def __init__(
        self, specs: Mapping[str, ModelSpec], unserved: Mapping[str, Unserved] | None = None
    ) -> None:
        self._specs = dict(specs)
        self._unserved = dict(unserved or {})

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
        unserved = load_unserved(schemas_dir / "unserved.toml")
        if both := sorted(specs.keys() & unserved.keys()):
            raise CatalogError(f"{schemas_dir / 'unserved.toml'}: {both} also have a spec file")
        return cls(specs, unserved)

    def why_unserved(self, slug: str) -> str | None:
        """Why a catalogue slug is not served here, when this adapter knows it."""
        unserved = self._unserved.get(slug)
        return unserved.why if unserved else None

    def carried_by(self, api: str) -> dict[str, Carrier]:
        """Every model ``api`` (``kling``, ``dashscope``) makes, and how."""
        return {spec.slug: spec.carriers[api] for spec in self if api in spec.carriers}

    def has(self, slug: str) -> bool:
        return slug in self._specs

    def get(self, slug: str) -> ModelSpec:
        try:
            return self._specs[slug]
        except KeyError:
            raise UnknownModel(slug) from None

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self._specs.values())


class CatalogError(ValueError):
    """A model's spec or schema file is missing or malformed; the message names the file."""


def load_unserved(path: Path) -> dict[str, Unserved]:
    """``unserved.toml``: slug -> why it is not served; none when the file is absent."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise CatalogError(f"{path}: {exc}") from None
    try:
        return msgspec.toml.decode(raw, type=dict[str, Unserved])
    except msgspec.DecodeError as exc:
        raise CatalogError(f"{path}: {exc}") from None


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
