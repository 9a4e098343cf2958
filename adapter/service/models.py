"""The models this adapter can make right now: in the catalog, and served by a provider."""

from __future__ import annotations

from adapter.core.errors import ModelNotFound, ModelNotServed, UnknownModel
from adapter.service.catalog import Catalog, ModelSpec
from adapter.service.routing import Router


class ModelDirectory:
    """What ``GET /api/v1/models`` shows, and the check a submit makes first."""

    __slots__ = ("_catalog", "_router")

    def __init__(self, catalog: Catalog, router: Router) -> None:
        self._catalog = catalog
        self._router = router

    def served(self) -> list[ModelSpec]:
        """Every model with at least one provider, in catalog order."""
        return [spec for spec in self._catalog if self._router.serves(spec.slug)]

    def serves(self, slug: str) -> bool:
        """Whether ``slug`` is a served model."""
        return self._router.serves(slug) and self._catalog.has(slug)

    def get(self, slug: str) -> ModelSpec:
        """A served model, or ``ModelNotFound``."""
        try:
            return self.for_submit(slug)
        except UnknownModel:
            raise ModelNotFound(slug, self._catalog.why_unserved(slug)) from None

    def for_submit(self, slug: str) -> ModelSpec:
        """The model to submit to; ``UnknownModel`` or ``ModelNotServed`` if there is none."""
        try:
            spec = self._catalog.get(slug)
        except UnknownModel:
            if (why := self._catalog.why_unserved(slug)) is not None:
                listed = "GET /api/v1/models lists the served ones."
                raise UnknownModel(slug, f"{why} {listed}") from None
            served = ", ".join(spec.slug for spec in self.served()) or "none"
            raise UnknownModel(
                slug,
                f"Unknown model {slug!r}; the models served here are: {served} "
                "(GET /api/v1/models lists them with their inputs).",
            ) from None
        if not self._router.serves(slug):
            raise ModelNotServed(slug)
        return spec
