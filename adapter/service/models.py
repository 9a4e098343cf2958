"""The models this adapter can make right now: in the catalog, and served by a provider."""

from __future__ import annotations

from adapter.core.errors import ModelNotFound, ModelNotServed, UnknownModel
from adapter.core.values import Mode
from adapter.service.catalog import Catalog, ModelSpec
from adapter.service.routing import Router


class ModelDirectory:
    """What ``GET /api/v1/models`` shows, and the check a submit makes first."""

    __slots__ = ("_catalog", "_router")

    def __init__(self, catalog: Catalog, router: Router) -> None:
        self._catalog = catalog
        self._router = router

    def served(self, mode: Mode | None) -> list[ModelSpec]:
        """Every model with at least one provider of ``mode`` (of either mode: ``None``), in
        catalog order."""
        modes: tuple[Mode, ...] = ("live", "test") if mode is None else (mode,)
        return [
            spec
            for spec in self._catalog
            if any(self._router.serves(spec.slug, each) for each in modes)
        ]

    def get(self, slug: str, mode: Mode) -> ModelSpec:
        """A model served in ``mode``, or ``ModelNotFound``."""
        try:
            return self.for_submit(slug, mode)
        except UnknownModel:
            raise ModelNotFound(slug, self._catalog.why_unserved(slug)) from None

    def for_submit(self, slug: str, mode: Mode) -> ModelSpec:
        """The model to submit to; ``UnknownModel`` or ``ModelNotServed`` if there is none."""
        try:
            spec = self._catalog.get(slug)
        except UnknownModel:
            if (why := self._catalog.why_unserved(slug)) is not None:
                listed = "GET /api/v1/models lists the served ones."
                raise UnknownModel(slug, f"{why} {listed}") from None
            served = ", ".join(spec.slug for spec in self.served(mode)) or "none"
            raise UnknownModel(
                slug,
                f"Unknown model {slug!r}; the models served here are: {served} "
                "(GET /api/v1/models lists them with their inputs).",
            ) from None
        if not self._router.serves(slug, mode):
            # Test keys have no provider at all only where no simulator runs beside others.
            raise ModelNotServed(slug, no_simulator=not self._router.providers(mode))
        return spec
