"""The models as the catalogue knows them (``schemas/models``), for tests that make jobs."""

from __future__ import annotations

from typing import Any

from adapter.core.values import Carrier, VideoJob
from adapter.service.catalog import Catalog
from tests.conftest import SCHEMAS

CATALOG = Catalog.load(SCHEMAS)
#: Every model each upstream API carries, and how: what the composition root hands providers.
KLING: dict[str, Carrier] = CATALOG.carried_by("kling")
DASHSCOPE: dict[str, Carrier] = CATALOG.carried_by("dashscope")


def checked(model: str, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` as the model's schema checks them, its defaults applied."""
    return CATALOG.get(model).validate(values)


def job(
    model: str,
    values: dict[str, Any],
    external_id: str = "task_01JDEMO",
    callback_url: str | None = None,
) -> VideoJob:
    return VideoJob(
        model=model,
        input=checked(model, values),
        external_id=external_id,
        callback_url=callback_url,
    )
